"""Truth under faults (issue 7): a wait ends, and says what Nova proves:
a destination that dies or is a heartbeat late, an evacuation stuck with
no progress or reset by the operator, a landing in the wrong state."""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core.clock import nova_time
from osc_evacuate.core.destinations import DEST_CHECK_AFTER, DEST_CHECK_EVERY
from osc_evacuate.core.models import (
    Action,
    ComputeService,
    Result,
    TargetState,
)
from osc_evacuate.core.verdict import STUCK_AFTER
from tests.unit import engine
from tests.unit.engine_runs import FOREVER, results, run
from tests.unit.fake_compute import FakeClock, FakeCompute, server


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
