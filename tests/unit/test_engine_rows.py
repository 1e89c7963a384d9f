"""The evacuation engine's rows, on an in-memory compute API with a fake
clock: what each server ends as, the retries and resubmissions, reruns."""

from __future__ import annotations

import pytest

from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Action, Result, TargetState, WaitPolicy
from tests.unit.engine_runs import results, run
from tests.unit.fake_compute import FakeClock, FakeCompute, server


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
