"""The parts of the wait, each on its own: the ledger of rows, the
submitter's messages, the poll window, the destination watch and the row
tracker (test_engine_*.py test the loop that joins them)."""

from __future__ import annotations

import dataclasses
import datetime
import threading

import pytest

from osc_evacuate.core.clock import POLL_OVERLAP, nova_time
from osc_evacuate.core.destinations import DEST_CHECK_EVERY, DestinationWatch
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.ledger import Ledger
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.models import (
    Action,
    ComputeService,
    Migration,
    PlannedRow,
    Result,
    RetryPolicy,
    ServerOutcome,
    WaitPolicy,
)
from osc_evacuate.core.records import NEW_RECORD_GRACE
from osc_evacuate.core.submit import Sent, Submission, Submitter
from osc_evacuate.core.tracker import UNSEEN_POLLS, RowTracker
from osc_evacuate.core.verdict import Kind
from osc_evacuate.core.window import PollAnswer, PollWindow, window_start
from tests.unit.fake_compute import FakeClock, FakeCompute, server

NO_PAUSE = RetryPolicy(attempts=2, first_delay=0.0)


def planned(sid: str, **fields: object) -> PlannedRow:
    row = PlannedRow(server(sid), Action.SUBMITTED, Result.SUBMITTED)
    return dataclasses.replace(row, **fields)  # type: ignore[arg-type]


def record(
    mid: int,
    sid: str,
    status: str,
    updated: str | None = None,
    dest: str | None = "c2",
) -> Migration:
    return Migration(
        mid, sid, status, "c1", dest, "2026-01-01T00:00:00", updated
    )


# -- The ledger: one owner, frozen rows replaced --


def test_the_ledger_replaces_rows_and_times_them_from_their_request() -> None:
    ledger = Ledger([planned("a"), planned("b", result=Result.SKIPPED)])
    first = ledger["a"]
    assert [r.id for r in ledger.pending()] == ["a"]
    ledger.started("a", 10.0)
    ended = ledger.finish("a", Result.VERIFIED, 12.34, None)
    assert ended.seconds == 2.3 and ledger["a"] is ended
    # The row the ledger handed out before is unchanged: it was replaced.
    assert first.result is Result.SUBMITTED and first.seconds is None
    assert ledger.pending() == []
    with pytest.raises(dataclasses.FrozenInstanceError):
        ended.result = Result.FAILED  # type: ignore[misc]


# -- The submitter: workers send messages, never change a row --


def test_workers_send_messages_that_the_caller_applies_in_its_thread() -> None:
    api = FakeCompute(server("a"), server("b"))
    clock = FakeClock()
    submitter = Submitter(api, Submission(mv("2.94"), {}), clock, 2)
    rows = [ServerOutcome.of(planned("a")), ServerOutcome.of(planned("b"))]
    seen: list[tuple[object, str]] = []
    submitter.send_all(
        rows,
        lambda m: seen.append((m, threading.current_thread().name)),
    )
    assert {m.server_id for m, _ in seen if isinstance(m, Sent)} == {"a", "b"}
    assert all(isinstance(m, Sent) and m.accepted for m, _ in seen)
    assert {name for _, name in seen} == {threading.current_thread().name}
    # The rows it was given are what they were.
    assert [r.result for r in rows] == [Result.SUBMITTED] * 2
    assert submitter.in_flight == frozenset()


def test_a_lost_answer_that_landed_is_accepted_and_not_sent_again() -> None:
    api = FakeCompute(server("a"))
    api.lose_answer = True
    submitter = Submitter(api, Submission(mv("2.94"), {}), FakeClock(), 1)
    sent = submitter.send(ServerOutcome.of(planned("a")), frozenset())
    assert sent is not None and sent.accepted
    assert api.calls["evacuate"] == 1


def test_a_refusal_is_a_failed_message_with_nova_s_request_id() -> None:
    api = FakeCompute(server("a"))
    api.post_errors = [ComputeAPIError("Locked", 409, "req-9")]
    submission = Submission(mv("2.94"), {}, NO_PAUSE)
    submitter = Submitter(api, submission, FakeClock(), 1)
    sent = submitter.send(ServerOutcome.of(planned("a")), frozenset())
    assert sent == Sent(
        "a",
        0.0,
        accepted=False,
        request_id="req-9",
        error="Locked (HTTP 409) (Request-ID: req-9)",
        refused=True,  # Nova's no: it surely did nothing
    )


def test_once_cancelled_nothing_more_is_sent() -> None:
    api = FakeCompute(server("a"))
    submitter = Submitter(api, Submission(mv("2.94"), {}), FakeClock(), 1)
    submitter.cancel.set()
    assert submitter.send(ServerOutcome.of(planned("a")), frozenset()) is None
    assert api.calls["evacuate"] == 0


# -- The poll window: Nova's time, changes-since, the record cache --


def window(api: FakeCompute, clock: FakeClock) -> PollWindow:
    start = window_start(api, POLL_OVERLAP)
    return PollWindow(api, ("c1",), start, clock, NO_PAUSE, POLL_OVERLAP)


def test_the_first_window_starts_at_nova_s_time_less_the_overlap() -> None:
    clock = FakeClock()
    api = FakeCompute(clock=clock)
    clock.now = 100.0
    start = window_start(api, POLL_OVERLAP)
    nova = api.nova_now()
    assert nova is not None
    assert start.began == nova and start.since == nova - POLL_OVERLAP


def test_each_poll_reads_from_nova_s_time_before_the_last() -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    polls = window(api, clock)
    first = polls.since
    row = ServerOutcome.of(planned("a"))
    polls.fetch([row], lambda r: 0.0)
    assert api.since_asked == [nova_time(first)]
    clock.now = 30.0
    mark = api.nova_now()
    assert mark is not None
    answer = polls.fetch([row], lambda r: 0.0)
    assert answer.error is None
    # Each read asks from Nova's time before the read before it (less the
    # overlap): the first poll's, which the run began with.
    assert api.since_asked == [nova_time(first), nova_time(first)]
    assert polls.since == mark - POLL_OVERLAP


def test_records_are_read_in_full_for_a_row_long_without_one() -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    polls = window(api, clock)
    waiting = ServerOutcome.of(planned("a"))
    polls.fetch([waiting], lambda r: 0.0)  # the first poll: in full
    assert api.records_since_asked == []
    # Just sent: its record shows in a changes read once the conductor
    # takes it up (and stamps it).
    polls.fetch([waiting], lambda r: NEW_RECORD_GRACE - 1)
    assert len(api.records_since_asked) == 1
    # Still none after the grace: a record Nova never changed is invisible
    # to changes-since, so the records are read in full.
    polls.fetch([waiting], lambda r: NEW_RECORD_GRACE)
    assert len(api.records_since_asked) == 1
    has_one = dataclasses.replace(waiting, migration=record(1, "a", "done"))
    polls.fetch([has_one], lambda r: NEW_RECORD_GRACE)
    assert len(api.records_since_asked) == 2


def test_a_poll_nova_does_not_answer_says_why() -> None:
    api = FakeCompute(server("a"))
    api.poll_errors = [ComputeAPIError("busy", 503)]
    api.poll_errors_forever = True  # every try of the poll
    polls = window(api, FakeClock())
    answer = polls.fetch([ServerOutcome.of(planned("a"))], lambda r: 0.0)
    assert answer.error is not None and answer.error.status == 503
    assert answer.servers == {} and answer.records == {}


# -- The destination watch --


def services(api: FakeCompute, c2: str, forced: bool = False) -> None:
    api.services = [
        ComputeService("s2", "c2", c2, "enabled", forced),
    ]


def test_destinations_are_read_only_when_idle_and_not_too_often() -> None:
    api = FakeCompute()
    watch = DestinationWatch(api)
    assert watch.check(set(), 0.0) == {}
    assert api.calls["services"] == 0
    assert watch.check({"c2"}, 0.0) == {"c2": True}
    assert watch.check({"c2"}, DEST_CHECK_EVERY - 1) == {}
    assert api.calls["services"] == 1
    assert watch.check({"c2"}, DEST_CHECK_EVERY) == {"c2": True}


def test_forced_down_is_dead_at_once_a_silent_one_after_a_second_look() -> (
    None
):
    api = FakeCompute()
    services(api, "down", forced=True)
    assert DestinationWatch(api).check({"c2"}, 0.0) == {"c2": False}
    services(api, "down")
    watch = DestinationWatch(api)
    assert watch.check({"c2"}, 0.0) == {}  # a beat late, maybe
    assert watch.check({"c2"}, DEST_CHECK_EVERY) == {"c2": False}
    services(api, "up")
    assert watch.check({"c2"}, 2 * DEST_CHECK_EVERY) == {"c2": True}


# -- The row tracker --


def answer(*records: Migration, **servers: object) -> PollAnswer:
    by_server: dict[str, list[Migration]] = {}
    for found in records:
        by_server.setdefault(found.instance_uuid, []).append(found)
    return PollAnswer(by_server, dict(servers))  # type: ignore[arg-type]


def test_a_row_takes_only_a_record_of_this_run_s_request() -> None:
    old = record(1, "a", "error")
    row = ServerOutcome.of(planned("a", known_migrations=frozenset({1})))
    tracker = RowTracker(FakeCompute(), [row], began=None)
    seen, news = tracker.observe(row, answer(old), 0.0)
    assert seen.migration is None and not news
    mine = record(2, "a", "accepted")
    seen, news = tracker.observe(seen, answer(old, mine), 1.0)
    assert seen.migration == mine and news


def test_an_old_record_that_moved_since_the_run_began_is_taken() -> None:
    began = datetime.datetime(2026, 1, 1, 0, 10)
    moved = record(1, "a", "pre-migrating", updated="2026-01-01T00:11:00")
    row = ServerOutcome.of(planned("a", known_migrations=frozenset({1})))
    tracker = RowTracker(FakeCompute(), [row], began=began)
    seen, _ = tracker.observe(row, answer(moved), 0.0)
    assert seen.migration == moved


def test_a_resubmitted_row_sets_its_record_aside() -> None:
    failed = record(2, "a", "error")
    row = ServerOutcome.of(planned("a"))
    tracker = RowTracker(FakeCompute(), [row], began=None)
    seen, _ = tracker.observe(row, answer(failed), 0.0)
    tracker.judged(seen, Kind.RESUBMIT, 5.0)
    assert tracker.known(seen) == frozenset({2})
    fresh = dataclasses.replace(seen, migration=None)
    again, news = tracker.observe(fresh, answer(failed), 6.0)
    assert again.migration is None and not news


def test_counts_follow_the_verdicts() -> None:
    row = ServerOutcome.of(planned("a", expected_status="ACTIVE"))
    tracker = RowTracker(FakeCompute(), [row], began=None)
    tracker.observe(row, answer(), 0.0)
    tracker.judged(row, Kind.AWAIT_FAULT, 1.0)
    tracker.judged(row, Kind.STOP, 2.0)
    policy = tracker.policy(row, WaitPolicy(retries=2))
    assert (policy.fault_polls, policy.stops_sent) == (1, 1)
    assert tracker.idle(row, 2.5) == 0.5
    seen = tracker.observation(row, answer(), 0.0, {}, 2.5)
    assert not seen.seen_since_stop


def test_a_landed_server_the_polls_miss_is_read_on_its_own() -> None:
    api = FakeCompute(server("a"))
    api.servers["a"] = dataclasses.replace(api.servers["a"], host="c2")
    done = record(1, "a", "done")
    row = dataclasses.replace(ServerOutcome.of(planned("a")), migration=done)
    tracker = RowTracker(api, [row], began=None)
    tracker.observe(row, answer(done), 0.0)
    for _ in range(UNSEEN_POLLS - 1):
        row, news = tracker.read_if_unseen(row)
        assert not news
    row, news = tracker.read_if_unseen(row)
    assert news and row.after is not None and row.after.host == "c2"
    assert api.calls["get_server"] == 1
