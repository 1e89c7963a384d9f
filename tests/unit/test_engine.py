"""The evacuation engine on an in-memory compute API with a fake clock."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import itertools
import threading
import time
from typing import Any

import pytest

from osc_evacuate.core import defaults
from osc_evacuate.core.clock import nova_time, parse_nova_time, utc_now
from osc_evacuate.core.destinations import DEST_CHECK_AFTER, DEST_CHECK_EVERY
from osc_evacuate.core.errors import (
    ComputeAPIError,
    NotFound,
    Refused,
    UsageError,
)
from osc_evacuate.core.models import (
    Action,
    ComputeService,
    EvacuateOptions,
    Result,
    Server,
    TargetState,
    WaitPolicy,
)
from osc_evacuate.core.verdict import STUCK_AFTER
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute, server, stamp

WAIT = WaitPolicy(timeout=600)


def run(
    api: FakeCompute,
    wait: WaitPolicy | None = WAIT,
    clock: FakeClock | None = None,
    **options: object,
) -> engine.Report:
    request = engine.Request(
        options=EvacuateOptions(**options),  # type: ignore[arg-type]
        wait=wait,
    )
    return engine.evacuate_host(api, "c1", request, clock or FakeClock())


def results(report: engine.Report) -> dict[str, str]:
    return {r.before.id: r.result.value for r in report.rows}


def test_every_evacuable_server_is_verified_in_its_state() -> None:
    api = FakeCompute(
        server("a"),
        server("b", "stopped"),
        server("c", "error"),
        server("d", "paused"),
    )
    report = run(api)
    assert results(report) == {
        "a": "verified",
        "b": "verified",
        "c": "verified",
        "d": "skipped",
    }
    after = {r.before.id: r.status_after for r in report.rows}
    assert after == {"a": "ACTIVE", "b": "SHUTOFF", "c": "ACTIVE", "d": None}
    skipped = report.rows[3]
    assert skipped.action is Action.SKIPPED
    assert "vm_state paused is not evacuable" in (skipped.error or "")
    assert api.calls["evacuate"] == 3


def test_active_on_the_source_host_is_not_proof() -> None:
    api = FakeCompute(server("a"))
    clock = FakeClock()
    report = run(api, clock=clock)
    row = report.rows[0]
    # pre-migrating already reads ACTIVE; only done + moved verifies.
    assert row.result is Result.VERIFIED
    assert row.migration is not None and row.migration.status == "done"
    assert row.destination == "c2"
    assert report.polls == 3


@pytest.mark.parametrize("count", [5, 50])
def test_requests_per_poll_do_not_grow_with_servers(count: int) -> None:
    api = FakeCompute(*(server(str(i)) for i in range(count)))
    report = run(api)
    assert all(r.result is Result.VERIFIED for r in report.rows)
    # One initial migrations read, then two requests per poll.
    assert api.calls["migrations"] == 1 + report.polls
    assert api.calls["servers_changed_since"] == report.polls
    assert api.calls["get_server"] == 0
    assert report.polls == 3


def test_no_valid_host_fails_with_novas_fault() -> None:
    api = FakeCompute(server("a"), server("b"))
    api.no_valid_host = {"a"}
    report = run(api)
    assert results(report) == {"a": "failed", "b": "verified"}
    assert "No valid host was found." in (report.rows[0].error or "")


def test_retries_resubmit_after_no_valid_host() -> None:
    api = FakeCompute(server("a"))
    api.no_valid_host = {"a"}
    report = run(api, wait=WaitPolicy(timeout=600, retries=1))
    assert results(report) == {"a": "verified"}
    assert api.calls["evacuate"] == 2


def test_timeout_is_reported_as_such() -> None:
    api = FakeCompute(server("a"))
    clock = FakeClock()
    report = run(api, wait=WaitPolicy(timeout=0.5), clock=clock)
    row = report.rows[0]
    assert row.result is Result.TIMED_OUT
    assert "timed out with migration" in (row.error or "")
    assert clock.now == pytest.approx(0.5)


def test_without_wait_rows_are_submitted_only() -> None:
    api = FakeCompute(server("a"))
    report = run(api, wait=None)
    assert results(report) == {"a": "submitted"}
    assert report.polls == 0


def test_poll_interval_backs_off_while_nothing_changes() -> None:
    api = FakeCompute(server("a"))
    # A migration that never moves past "accepted".
    api._advance = lambda: None  # type: ignore[method-assign]
    clock = FakeClock()
    run(api, wait=WaitPolicy(timeout=60), clock=clock)
    sleeps = clock.sleeps
    assert sleeps[0] == defaults.POLL_INTERVAL
    assert sleeps[1] > sleeps[0]
    assert max(sleeps) <= 10.0
    assert sleeps[-2] == 10.0


def test_unanswered_post_that_landed_is_not_repeated() -> None:
    api = FakeCompute(server("a"))
    api.lose_answer = True
    report = run(api)
    assert results(report) == {"a": "verified"}
    assert api.calls["evacuate"] == 1


def test_unanswered_post_that_did_not_land_is_retried() -> None:
    api = FakeCompute(server("a"))
    api.post_errors = [ComputeAPIError("connection refused")]
    report = run(api)
    assert results(report) == {"a": "verified"}
    assert api.calls["evacuate"] == 2


def test_permanent_refusal_fails_the_row_without_retry() -> None:
    api = FakeCompute(server("a"))
    api.post_errors = [ComputeAPIError("Instance is locked", 409)]
    report = run(api)
    assert results(report) == {"a": "failed"}
    assert report.rows[0].error == "Instance is locked (HTTP 409)"
    assert api.calls["evacuate"] == 1


def test_rerun_reports_already_evacuated_and_submits_nothing() -> None:
    api = FakeCompute(server("a"), server("b", "stopped"))
    run(api)
    api.calls.clear()
    report = run(api)
    assert results(report) == {
        "a": "already evacuated",
        "b": "already evacuated",
    }
    assert api.calls["evacuate"] == 0


def test_rerun_waits_for_evacuations_still_in_flight() -> None:
    api = FakeCompute(server("a"))
    run(api, wait=None)  # submitted, then interrupted
    report = run(api)
    assert results(report) == {"a": "verified"}
    assert report.rows[0].action is Action.RESUMED
    assert api.calls["evacuate"] == 1


def test_stopped_policy_stops_servers_that_land_running() -> None:
    api = FakeCompute(server("a"), server("b", "error"))
    report = run(api, target_state=TargetState.STOPPED, host=None)
    # Nova's 2.95 is the default here; ex-ERROR servers still land ACTIVE.
    assert report.microversion.minor == 95
    assert results(report) == {"a": "verified", "b": "verified"}
    assert {r.status_after for r in report.rows} == {"SHUTOFF"}


def test_host_still_up_is_refused_before_anything() -> None:
    api = FakeCompute(server("a"), up=True)
    with pytest.raises(Refused, match="openstack compute service set --down"):
        run(api)
    # The plan's first reads go out together (the servers too), but
    # nothing that changes anything does.
    assert api.calls["evacuate"] == 0
    assert api.calls["update_service"] == 0


def test_unknown_host_suggests_close_names() -> None:
    api = FakeCompute()
    request = engine.Request(options=EvacuateOptions())
    with pytest.raises(NotFound, match="Did you mean: c1"):
        engine.evacuate_host(api, "c11", request, FakeClock())


def test_interrupt_stops_further_submissions() -> None:
    api = FakeCompute(*(server(str(i)) for i in range(10)))
    gate = threading.Event()
    evacuate = api.evacuate

    def gated(*args: Any) -> Any:
        if api.calls["evacuate"] >= 2:
            gate.wait(10)  # the third waits while Ctrl-C is handled
        return evacuate(*args)

    api.evacuate = gated  # type: ignore[method-assign,assignment]
    done: list[object] = []

    def interrupt_after_two(rows: object) -> None:
        done.append(rows)
        if len(done) == 2:
            threading.Timer(0.2, gate.set).start()
            raise KeyboardInterrupt

    request = engine.Request(options=EvacuateOptions(), max_parallel=1)
    report = engine.evacuate_host(
        api, "c1", request, FakeClock(), on_progress=interrupt_after_two
    )
    assert report.interrupted
    gate.wait(10)
    time.sleep(0.3)  # the third, on the wire, may finish; nothing follows
    assert api.calls["evacuate"] == 3
    errors = collections.Counter(
        (r.result.value, r.error) for r in report.rows
    )
    assert errors == {
        (
            "submitted",
            "interrupted before it was proven: run the command "
            "again with --wait to finish",
        ): 2,
        (
            "interrupted",
            "interrupted while its evacuation request was on "
            "its way; Nova may have started it: run the command again to "
            "find out",
        ): 1,
        ("interrupted", "interrupted before its evacuation was sent"): 7,
    }


def test_a_server_accepted_first_is_proven_while_others_are_sent() -> None:
    """The proof starts with the first accepted request: a server is
    verified (and reported) before the last request is even answered."""
    api = FakeCompute(server("a"), server("b"))
    gate = threading.Event()
    evacuate = api.evacuate

    def gated(server_id: str, *args: Any) -> Any:
        if server_id == "b":
            gate.wait(5)  # b's answer waits for a's proof
        return evacuate(server_id, *args)

    api.evacuate = gated  # type: ignore[method-assign,assignment]
    sent_when_a_verified: list[int] = []

    def progress(rows: Any) -> None:
        verified = {r.id for r in rows if r.result is Result.VERIFIED}
        if "a" in verified and not sent_when_a_verified:
            sent_when_a_verified.append(api.calls["evacuate"])
            gate.set()

    request = engine.Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600, sending_interval=0.01),
        max_parallel=1,
    )
    report = engine.evacuate_host(
        api, "c1", request, FakeClock(), on_progress=progress
    )
    assert results(report) == {"a": "verified", "b": "verified"}
    assert sent_when_a_verified == [1]  # b's request not yet through


def test_polls_while_sending_keep_to_the_sending_interval() -> None:
    """Each poll competes with the evacuations for Nova's API: while a
    request is still going out, polls come no more often than every
    sending_interval (not every interval)."""
    api = FakeCompute(server("a"), server("b"))
    evacuate = api.evacuate
    polls_before_b: list[int] = []

    def slow_b(server_id: str, *args: Any) -> Any:
        if server_id == "b":
            time.sleep(2.5)  # b's answer takes long
            polls_before_b.append(api.calls["migrations"])
        return evacuate(server_id, *args)

    api.evacuate = slow_b  # type: ignore[method-assign,assignment]
    request = engine.Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600, interval=0.5, sending_interval=5.0),
        max_parallel=1,
    )
    report = engine.evacuate_host(api, "c1", request, FakeClock())
    assert results(report) == {"a": "verified", "b": "verified"}
    # The plan's one read, and at most one poll in the 2.5 s (every 0.5 s
    # would have made four).
    assert polls_before_b and polls_before_b[0] <= 2


def test_target_host_must_be_up_and_enabled_unless_forced() -> None:
    api = FakeCompute(server("a"))
    api.services[1] = dataclasses.replace(api.services[1], status="disabled")
    with pytest.raises(UsageError, match="nova-compute is up and disabled"):
        run(api, host="c2")
    assert api.calls["evacuate"] == 0
    # --force skips the scheduler: a disabled spare host may take them.
    report = run(api, host="c2", force=True)
    assert results(report) == {"a": "verified"}
    assert report.microversion.minor == 67


# Truth under faults (issue 7): a wait ends, and says what Nova proves.

FOREVER = WaitPolicy(timeout=None)  # plain --wait


def down(api: FakeCompute, host: str) -> None:
    api.services = [
        dataclasses.replace(s, state="down", forced_down=True)
        if s.host == host
        else s
        for s in api.services
    ]


def add_compute(api: FakeCompute, host: str) -> None:
    api.services.append(
        ComputeService(f"s-{host}", host, "up", "enabled", False)
    )


def test_a_destination_that_dies_mid_rebuild_ends_the_row_stuck() -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), server("b"), clock=clock)
    api.stall("a", "pre-migrating")
    down(api, "c2")  # a's rebuild there never finishes; b's already did
    report = run(api, wait=FOREVER, clock=clock)
    a, b = report.rows
    assert (a.result, b.result) == (Result.STUCK, Result.VERIFIED)
    assert a.error == (
        "stuck: migration 1 pre-migrating to c2, whose nova-compute is "
        "down; server REBUILD, task rebuild_spawning on c1. To evacuate it "
        "anew: fence c2, then reset it (openstack server set --state error "
        "a) and run this command again"
    )
    # Asked once it had been idle a while, not on every poll (the other
    # read is the pre-flight check of c1).
    assert api.calls["services"] == 1 + 1
    assert DEST_CHECK_AFTER <= clock.now < DEST_CHECK_AFTER + 15
    assert api.calls["evacuate"] == 2


def late_heartbeat(api: FakeCompute, host: str) -> None:
    """Nova reads the compute down by its heartbeat alone: nobody forced
    it down, so it may only be busy, and a beat late."""
    api.services = [
        dataclasses.replace(s, state="down") if s.host == host else s
        for s in api.services
    ]


def test_a_destination_a_heartbeat_late_is_asked_again_not_called_dead(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    api.stall("a", "pre-migrating")
    late_heartbeat(api, "c2")
    real = api.compute_services
    asked_at: list[float] = []

    def services(host: str | None = None) -> list[ComputeService]:
        answer = real(host)
        if host is None:
            asked_at.append(clock.now)
        if len(asked_at) == 2:  # the first is the plan's
            # Its heartbeat comes back, and the rebuild goes on.
            api.services = [
                dataclasses.replace(s, state="up") if s.host == "c2" else s
                for s in api.services
            ]
            for flight in api.flights.values():
                flight.stall_at = None
        return answer

    monkeypatch.setattr(api, "compute_services", services)
    report = run(api, wait=FOREVER, clock=clock)
    [row] = report.rows
    assert row.result is Result.VERIFIED
    assert row.destination == "c2"
    assert len(asked_at) == 1 + 1
    assert api.calls["evacuate"] == 1


def test_a_destination_silent_on_two_reads_is_down() -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    api.stall("a", "pre-migrating")
    late_heartbeat(api, "c2")
    report = run(api, wait=FOREVER, clock=clock)
    [row] = report.rows
    assert row.result is Result.STUCK
    assert "to c2, whose nova-compute is down" in (row.error or "")
    # Seen down by its heartbeat, then again DEST_CHECK_EVERY later.
    assert api.calls["services"] == 1 + 2
    assert DEST_CHECK_AFTER + DEST_CHECK_EVERY <= clock.now
    assert clock.now < DEST_CHECK_AFTER + DEST_CHECK_EVERY + 15
    assert api.calls["evacuate"] == 1


def test_no_progress_ends_the_row_stuck_rather_than_waiting_for_ever() -> None:
    # The request was lost: its record stays accepted, with no destination.
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    api.stall("a", "accepted")
    report = run(api, wait=FOREVER, clock=clock)
    [row] = report.rows
    assert row.result is Result.STUCK
    assert (row.error or "").startswith(
        "stuck: migration 1 accepted, no progress for 60"
    )
    assert "if nothing is running it, reset it" in (row.error or "")
    assert STUCK_AFTER <= clock.now < STUCK_AFTER + 15
    # No destination to ask about: the pre-flight check of c1 only.
    assert api.calls["services"] == 1


def stuck_two_hours_ago(status: str) -> tuple[FakeCompute, FakeClock]:
    """A run without --wait whose evacuation then stuck at status; two
    hours pass (by Nova's clock and ours)."""
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    api.stall("a", status)
    run(api, wait=None, clock=clock)
    clock.sleep(1)
    api._advance()
    clock.sleep(7200)
    return api, clock


@pytest.mark.parametrize("destination", ["down", "up"])
def test_a_rerun_ends_an_old_stuck_record_at_once(destination: str) -> None:
    api, clock = stuck_two_hours_ago("pre-migrating")
    if destination == "down":
        down(api, "c2")
    api.since_asked.clear()
    started = api.now()
    report = run(api, wait=FOREVER, clock=clock)
    [row] = report.rows
    assert row.action is Action.RESUMED
    assert row.result is Result.STUCK
    # Two hours old by Nova's timestamps: stuck at the first poll, whether
    # or not its destination came back.
    assert report.polls == 1
    assert "fence c2" in (row.error or "") or destination == "up"
    assert api.calls["evacuate"] == 1  # nothing sent again
    # The old record is not the poll window: Nova's time of this run is.
    first = engine.POLL_OVERLAP
    assert api.since_asked == [nova_time(started - first)]


def test_a_stuck_server_reset_by_the_operator_is_evacuated_once_more() -> None:
    api, clock = stuck_two_hours_ago("pre-migrating")
    down(api, "c2")
    run(api, wait=FOREVER, clock=clock)  # stuck, as above
    # What the error says: fence c2, reset the server, run again.
    api.stalls.clear()
    api.change("a", status="ERROR", vm_state="error", task_state=None)
    add_compute(api, "c3")
    api.destination = "c3"
    rerun = clock.now
    report = run(api, wait=FOREVER, clock=clock)
    [row] = report.rows
    assert row.result is Result.VERIFIED
    # Sent again at the first poll: the reset is no progress of the old
    # evacuation, whose record has not moved for two hours.
    assert clock.now - rerun < DEST_CHECK_AFTER
    assert row.destination == "c3"
    assert row.migration is not None and row.migration.id == 2
    assert api.calls["evacuate"] == 2
    # Once evacuated, never again.
    again = run(api, wait=FOREVER, clock=clock)
    assert again.rows[0].result is Result.ALREADY_EVACUATED
    assert api.calls["evacuate"] == 2


def test_an_old_accepted_record_carrying_the_new_request_proves_it() -> None:
    # A lost request left record 1 accepted; the operator reset the server
    # and ran again. Nova's conductor rebuilds with the FIRST accepted
    # record, record 1, while the new record 2 stays accepted for ever.
    api, clock = stuck_two_hours_ago("accepted")
    api.stalls.clear()
    api.change("a", status="ERROR", vm_state="error", task_state=None)
    report = run(api, wait=FOREVER, clock=clock)
    [row] = report.rows
    assert row.result is Result.VERIFIED
    assert row.migration is not None and row.migration.id == 1
    assert [m.status for m in api.records] == ["done", "accepted"]
    assert api.calls["evacuate"] == 2


def test_landed_in_another_state_fails_with_the_reason() -> None:
    # Preserve promised ACTIVE; the guest crashed as it landed.
    api = FakeCompute(server("a"), server("b"))
    api.land_as = {"a": "SHUTOFF"}
    report = run(api, wait=FOREVER)
    assert results(report) == {"a": "failed", "b": "verified"}
    assert report.rows[0].error == "landed SHUTOFF on c2"


@pytest.mark.parametrize(
    ("failing", "result"), [(1, "verified"), (2, "failed")]
)
def test_a_stop_that_does_not_take_is_sent_once_more(
    failing: int, result: str
) -> None:
    api = FakeCompute(server("a"))
    api.stops_failing = failing
    report = run(
        api, wait=FOREVER, target_state=TargetState.STOPPED, host=None
    )
    assert results(report) == {"a": result}
    assert api.calls["stop"] == 2
    if result == "failed":
        assert report.rows[0].error == "landed ACTIVE on c2"


@pytest.mark.parametrize(
    "error",
    [
        ComputeAPIError("The request you have made requires auth", 401),
        ComputeAPIError("Policy doesn't allow compute:servers:index", 403),
        ComputeAPIError("marker [4f1a] not found", 400),
        ComputeAPIError(
            "GET /servers/detail: Keystone answered Unauthorized (HTTP 401)",
            sent=False,
            transient=False,
        ),
    ],
)
def test_a_poll_nova_refuses_for_good_ends_the_wait(
    error: ComputeAPIError,
) -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), server("b"), clock=clock)
    api.poll_errors, api.poll_errors_forever = [error], True
    report = run(api, wait=FOREVER, clock=clock)
    assert {r.result for r in report.rows} == {Result.NOT_PROVEN}
    assert report.polls == 1
    assert api.calls["servers_changed_since"] == 1  # not retried
    for row in report.rows:
        assert row.error == (
            f"the wait cannot go on: Nova refused the poll: {error}; the "
            "evacuation was sent: run the command again with --wait once "
            "this is fixed"
        )


def test_polls_nova_never_answers_end_the_wait_in_bounded_time() -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    busy = ComputeAPIError("Service Unavailable", 503)
    api.poll_errors, api.poll_errors_forever = [busy], True
    report = run(api, wait=FOREVER, clock=clock)
    [row] = report.rows
    assert row.result is Result.NOT_PROVEN
    assert (row.error or "").startswith(
        "the wait cannot go on: no answer to the polls for 6"
    )
    assert STUCK_AFTER <= clock.now < STUCK_AFTER + 60


def test_polls_nova_is_too_busy_to_answer_are_waited_out() -> None:
    api = FakeCompute(server("a"))
    busy = ComputeAPIError("Service Unavailable", 503)
    # More than one poll's worth of retries.
    api.poll_errors = [busy] * 6
    report = run(api, wait=FOREVER)
    assert results(report) == {"a": "verified"}


@pytest.mark.parametrize("skew", [-10, 10])
def test_the_poll_window_is_nova_s_time_whatever_the_client_s(
    skew: int,
) -> None:
    # Nova's clock is ten minutes off ours (behind, or ahead).
    clock = FakeClock()
    nova_start = utc_now() + datetime.timedelta(minutes=skew)
    api = FakeCompute(server("a"), server("b"), clock=clock, epoch=nova_start)
    # A busy cloud: servers elsewhere changed two minutes before the run.
    for n in range(30):
        sid = f"busy-{n}"
        api.servers[sid] = dataclasses.replace(
            server(sid, host="c9"),
            updated=stamp(nova_start - datetime.timedelta(minutes=2)),
        )
    api.stall("b", "pre-migrating")  # b takes a while...
    api.stops_failing = 0
    seen: list[int] = []
    poll = api.servers_changed_since

    def counting(since: str) -> list[Server]:
        found = poll(since)
        seen.append(len(found))
        if api.now() > nova_start + datetime.timedelta(seconds=90):
            api.stalls.clear()  # ...then lands
            for flight in api.flights.values():
                flight.stall_at = None
        return found

    api.servers_changed_since = counting  # type: ignore[method-assign]
    report = run(api, wait=FOREVER, clock=clock)

    assert results(report) == {"a": "verified", "b": "verified"}
    asked = [parse_nova_time(s) for s in api.since_asked]
    skew_margin = engine.POLL_OVERLAP
    # The first window opens at Nova's time when the run began...
    assert asked[0] == nova_start.replace(microsecond=0) - skew_margin
    # ...and each moves forward, to Nova's time of the poll before it.
    assert asked == sorted(asked)
    assert asked[-1] > asked[0] + datetime.timedelta(seconds=60)
    for before, after in itertools.pairwise(asked):
        assert after - before <= datetime.timedelta(seconds=11)
    # The busy cloud's old changes are never read again; a poll returns
    # only this run's two servers.
    assert max(seen) <= 2


def test_without_a_date_the_window_follows_nova_s_timestamps() -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock, epoch=utc_now())
    api.dated = False  # a proxy that drops Nova's Date header
    newest: list[datetime.datetime] = []
    poll = api.servers_changed_since

    def noting(since: str) -> list[Server]:
        found = poll(since)
        newest.append(max(parse_nova_time(s.updated or "") for s in found))
        return found

    api.servers_changed_since = noting  # type: ignore[method-assign]
    report = run(api, wait=FOREVER, clock=clock)
    assert results(report) == {"a": "verified"}
    asked = [parse_nova_time(s) for s in api.since_asked]
    # The first window on the local clock, five minutes back as before;
    # each next one from the newest `updated` Nova showed, less the overlap.
    assert asked[0] < api.now() - datetime.timedelta(minutes=4)
    for shown, then in zip(newest, asked[1:], strict=False):
        assert then == (shown - engine.POLL_OVERLAP).replace(microsecond=0)


def test_a_target_in_a_down_cell_is_refused() -> None:
    api = FakeCompute(server("a"))
    api.services.append(ComputeService("", "c9", "unknown", "unknown", False))
    with pytest.raises(UsageError, match="nova-compute is unknown"):
        run(api, host="c9")
    assert api.calls["evacuate"] == 0


def test_each_poll_asks_only_for_what_changed_since_the_last_one() -> None:
    """The servers poll's window trails the poll before it by a few
    seconds, not a minute: on a busy cloud a poll returns the servers that
    changed since the last one, not every one changed in the last minute."""
    clock = FakeClock()
    api = FakeCompute(server("a"), server("b"), clock=clock)
    run(api, wait=FOREVER, clock=clock)
    asked = [parse_nova_time(s) for s in api.since_asked]
    for before, after in itertools.pairwise(asked):
        assert after - before <= datetime.timedelta(seconds=15)
    assert asked[-1] >= api.now() - datetime.timedelta(seconds=20)


def test_a_compute_clock_far_behind_is_caught_by_reading_the_server() -> None:
    """A destination whose clock runs a minute behind stamps the landed
    server before the window: no servers poll shows it. Its record is
    done, so after a few polls the server is read on its own."""
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    api.compute_lag = 60.0
    report = run(api, wait=FOREVER, clock=clock)
    [row] = report.rows
    assert row.result is Result.VERIFIED
    assert api.calls["get_server"] >= 1
    assert clock.now < 60
