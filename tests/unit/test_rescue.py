"""--rescue: what Nova refuses for its state is reset to error, evacuated,
and put back as it was where that means something; without it, the plan
says --rescue would take it."""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core import rescue
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import (
    EvacuateOptions,
    Report,
    Request,
    TargetState,
    WaitPolicy,
)
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute, server

# (vm_state, task_state, launched): rescued?
RESCUABLE = {
    ("active", "powering-off", True): True,
    ("stopped", "powering-on", True): True,
    ("error", "rebuilding", True): True,
    ("paused", None, True): True,
    ("suspended", None, True): True,
    ("shelved", None, True): True,
    # Nova takes these as they are: nothing to rescue.
    ("active", None, True): False,
    ("stopped", None, True): False,
    ("error", None, True): False,
    # Never rescued: never built, or being deleted.
    ("building", "spawning", False): False,
    ("active", "powering-off", False): False,
    ("soft-delete", None, True): False,
}


@pytest.mark.parametrize("case", RESCUABLE, ids=[str(c) for c in RESCUABLE])
def test_what_is_rescued(case: tuple[str, str | None, bool]) -> None:
    vm_state, task_state, launched = case
    found = dataclasses.replace(
        server("a", vm_state), task_state=task_state, launched=launched
    )
    assert rescue.rescuable(found) is RESCUABLE[case]


# (vm_state, --target-state): the status it must be proven in.
LANDING = {
    ("active", TargetState.PRESERVE): "ACTIVE",
    ("paused", TargetState.PRESERVE): "ACTIVE",
    ("error", TargetState.PRESERVE): "ACTIVE",
    ("stopped", TargetState.PRESERVE): "SHUTOFF",
    ("shelved", TargetState.PRESERVE): "SHUTOFF",
    ("paused", TargetState.STOPPED): "SHUTOFF",
}


@pytest.mark.parametrize("case", LANDING, ids=[str(c) for c in LANDING])
def test_the_status_a_rescued_server_is_proven_in(
    case: tuple[str, TargetState],
) -> None:
    vm_state, target = case
    assert (
        rescue.landing_status(server("a", vm_state), target) == (LANDING[case])
    )


def stuck() -> FakeCompute:
    """A failed c1: a paused server, one stuck powering off, one in error
    stuck rebuilding, one stopped stuck powering on."""
    return FakeCompute(
        server("p", "paused"),
        dataclasses.replace(server("a"), task_state="powering-off"),
        dataclasses.replace(server("e", "error"), task_state="rebuilding"),
        dataclasses.replace(server("s", "stopped"), task_state="powering-on"),
    )


def run(api: FakeCompute, rescued: bool) -> Report:
    request = Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600),
        rescue=rescued,
    )
    return engine.evacuate_host(api, "c1", request, FakeClock())


def test_without_rescue_they_are_skipped_saying_rescue_would_take_them() -> (
    None
):
    api = stuck()
    report = run(api, rescued=False)
    assert {r.result.value for r in report.rows} == {"skipped"}
    assert all(
        (r.error or "").endswith("; --rescue would take it")
        for r in report.rows
    )
    assert api.calls["evacuate"] == api.calls["reset_state"] == 0


def test_with_rescue_each_is_evacuated_and_put_back_as_it_was() -> None:
    api = stuck()
    report = run(api, rescued=True)
    rows = {r.id: r for r in report.rows}
    assert {r.result.value for r in report.rows} == {"verified"}
    assert {sid: r.status_after for sid, r in rows.items()} == {
        "p": "ACTIVE",
        "a": "ACTIVE",
        "e": "ACTIVE",
        "s": "SHUTOFF",
    }
    assert api.servers["e"].vm_state == "error"  # put back
    assert (rows["e"].rescued or "").endswith(
        "; evacuated, then put back in error"
    )
    assert (rows["p"].rescued or "").startswith(
        "reset to error from PAUSED (vm_state paused)"
    )
    assert (rows["s"].rescued or "").endswith("; ends SHUTOFF")
    # One reset each before its evacuation, one more to put e back.
    assert api.calls["reset_state"] == 5
    assert api.calls["evacuate"] == 4


def test_a_server_that_cannot_be_reset_is_never_sent() -> None:
    api = FakeCompute(server("p", "paused"))
    api.reset_errors = [ComputeAPIError("Forbidden", status=403)]
    (row,) = run(api, rescued=True).rows
    assert row.result.value == "failed"
    assert (row.error or "").startswith("--rescue could not reset it: ")
    assert api.calls["evacuate"] == 0
