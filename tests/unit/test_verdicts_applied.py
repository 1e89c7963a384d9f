"""The poller applies the verdicts: what an operator sees of each (the
pause between polls, retries, faults that never show) and what the
waiter logs of each poll."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from osc_evacuate.core import defaults
from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    EvacuateOptions,
    Migration,
    Result,
    WaitPolicy,
)
from osc_evacuate.core.verdict import FAULT_POLLS
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute, server


def test_debug_log_tells_each_poll_and_verdict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeCompute(server("a"), server("b"))
    api.no_valid_host = {"b"}
    request = engine.Request(
        options=EvacuateOptions(password="s3cr3t-Pa55"),
        wait=WaitPolicy(timeout=600),
    )
    with caplog.at_level(logging.DEBUG, logger="osc_evacuate"):
        engine.evacuate_host(api, "c1", request, FakeClock())
    waiter = [
        r.getMessage() for r in caplog.records if r.name.endswith("waiter")
    ]
    assert any(
        "2 evacuation records, 2 servers changed since" in m
        and m.endswith("2 pending")
        for m in waiter
    )
    assert any(
        "a: verified (landed in the promised state)" in m for m in waiter
    )
    assert any(
        "b: failed (evacuation failed): No valid host was found." in m
        for m in waiter
    )
    assert "s3cr3t-Pa55" not in caplog.text


def wait_for(
    api: FakeCompute, clock: FakeClock, retries: int = 0
) -> engine.Report:
    request = engine.Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600, retries=retries),
    )
    return engine.evacuate_host(api, "c1", request, clock)


def test_the_pause_stays_short_while_nova_shows_progress() -> None:
    # Each poll of the fake shows a record one step further: never idle.
    api = FakeCompute(server("a"))
    clock = FakeClock()
    report = wait_for(api, clock)
    assert report.rows[0].result is Result.VERIFIED
    assert clock.sleeps == [defaults.POLL_INTERVAL] * (report.polls - 1)


def test_a_fault_that_never_shows_fails_after_a_few_polls() -> None:
    api = FakeCompute(server("a"))
    api.no_valid_host = {"a"}
    advance = api._advance

    def without_faults() -> None:
        advance()
        for sid, seen in api.servers.items():
            api.servers[sid] = dataclasses.replace(seen, fault=None)

    api._advance = without_faults  # type: ignore[method-assign]
    clock = FakeClock()
    report = wait_for(api, clock, retries=1)
    row = report.rows[0]
    assert (row.result, row.error) == (Result.FAILED, "migration error")
    # One poll sees it accepted, one sees it fail, then FAULT_POLLS more;
    # waiting for the fault is not idling: the pause does not grow.
    assert report.polls == 2 + FAULT_POLLS
    assert clock.sleeps == [defaults.POLL_INTERVAL] * (report.polls - 1)
    assert api.calls["evacuate"] == 1  # no fault, no proof a retry helps


def test_retries_bound_the_evacuations_sent() -> None:
    api = FakeCompute(server("a"))
    evacuate = api.evacuate

    def never_a_host(
        server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        api.no_valid_host.add(server_id)
        return evacuate(server_id, version, body)

    api.evacuate = never_a_host  # type: ignore[method-assign]
    report = wait_for(api, FakeClock(), retries=1)
    row = report.rows[0]
    assert row.result is Result.FAILED
    assert (row.error or "").startswith("No valid host was found.")
    assert api.calls["evacuate"] == 2


def test_a_retry_is_judged_by_its_own_record() -> None:
    # The retry's record shows up some polls late; meanwhile the failed
    # record must not fail the row again.
    api = FakeCompute(server("a"))
    api.no_valid_host = {"a"}
    read = api.migrations
    hidden_reads = [FAULT_POLLS + 1]

    def lagging(
        migration_type: str,
        source_host: str | None = None,
        instance_uuid: str | None = None,
        changes_since: str | None = None,
    ) -> list[Migration]:
        found = read(migration_type, source_host, instance_uuid, changes_since)
        if len(found) > 1 and hidden_reads[0] > 0:
            hidden_reads[0] -= 1
            return [m for m in found if m.id != 2]
        return found

    api.migrations = lagging  # type: ignore[method-assign]
    report = wait_for(api, FakeClock(), retries=1)
    assert report.rows[0].result is Result.VERIFIED
    assert report.rows[0].migration is not None
    assert report.rows[0].migration.id == 2
    assert api.calls["evacuate"] == 2
