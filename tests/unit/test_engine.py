"""The evacuation engine on an in-memory compute API with a fake clock."""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from typing import Any

import pytest

from osc_evacuate.core import evacuation
from osc_evacuate.core.errors import (
    ComputeAPIError,
    NotFound,
    Refused,
    UsageError,
)
from osc_evacuate.core.models import EvacuateOptions, TargetState
from osc_evacuate.core.outcome import Action, Result
from osc_evacuate.core.waiter import WaitPolicy
from tests.unit.fake_compute import FakeClock, FakeCompute, server

WAIT = WaitPolicy(timeout=600)


def run(
    api: FakeCompute,
    wait: WaitPolicy | None = WAIT,
    clock: FakeClock | None = None,
    **options: object,
) -> evacuation.Report:
    request = evacuation.Request(
        options=EvacuateOptions(**options),  # type: ignore[arg-type]
        wait=wait,
    )
    return evacuation.evacuate_host(api, "c1", request, clock or FakeClock())


def results(report: evacuation.Report) -> dict[str, str]:
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
    assert sleeps[0] == 1.0
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
    assert api.calls["evacuate"] == 0
    assert api.calls["servers_on_host"] == 0


def test_unknown_host_suggests_close_names() -> None:
    api = FakeCompute()
    request = evacuation.Request(options=EvacuateOptions())
    with pytest.raises(NotFound, match="Did you mean: c1"):
        evacuation.evacuate_host(api, "c11", request, FakeClock())


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

    request = evacuation.Request(options=EvacuateOptions(), max_parallel=1)
    report = evacuation.evacuate_host(
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
