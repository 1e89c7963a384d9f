"""The evacuation engine's polls: how many requests and how often, the
answers Nova refuses or never gives, and the changes-since window kept on
Nova's clock."""

from __future__ import annotations

import dataclasses
import datetime
import itertools

import pytest

from osc_evacuate.core import defaults
from osc_evacuate.core.clock import parse_nova_time, utc_now
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Result, Server, WaitPolicy
from osc_evacuate.core.verdict import STUCK_AFTER
from tests.unit import engine
from tests.unit.engine_runs import FOREVER, results, run
from tests.unit.fake_compute import FakeClock, FakeCompute, server, stamp


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
