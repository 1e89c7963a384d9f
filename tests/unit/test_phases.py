"""--priority-property: phases, highest first, a phase sent only once the
one before has ended; the wait shared by them all."""

from __future__ import annotations

import dataclasses

import pytest
from osc_lib import exceptions

from osc_evacuate.commands.host import EvacuateHost
from osc_evacuate.core import phases
from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.errors import Refused
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    EvacuateOptions,
    Report,
    Request,
    Server,
    WaitPolicy,
)
from tests.unit import engine
from tests.unit.command_runs import command
from tests.unit.fake_compute import FakeClock, FakeCompute, server

# metadata value: priority
PRIORITIES = {
    "3": 3.0,
    "-1.5": -1.5,
    "True": 1.0,
    "yes": 1.0,
    "FALSE": 0.0,
    " 2 ": 2.0,
}


@pytest.mark.parametrize("value", PRIORITIES)
def test_a_priority_is_a_number_or_true_or_false(value: str) -> None:
    found = dataclasses.replace(server("a"), metadata={"prio": value})
    assert phases.priority(found, "prio") == PRIORITIES[value]


@pytest.mark.parametrize("value", ["high", "nan", "inf", ""])
def test_anything_else_is_no_priority(value: str) -> None:
    found = dataclasses.replace(server("a"), metadata={"prio": value})
    with pytest.raises(ValueError):
        phases.priority(found, "prio")


def with_priority(
    sid: str, value: str | None, vm_state: str = "active"
) -> Server:
    meta = {} if value is None else {"prio": value}
    return dataclasses.replace(server(sid, vm_state), metadata=meta)


def request(wait: float | None = 600) -> Request:
    return Request(
        options=EvacuateOptions(),
        wait=None if wait is None else WaitPolicy(timeout=wait),
        priority_property="prio",
    )


def test_phases_go_highest_first_those_without_the_key_last() -> None:
    api = FakeCompute(
        with_priority("a", "1"),
        with_priority("b", "3"),
        with_priority("c", None),
        with_priority("d", "3"),
        with_priority("e", "2", "paused"),  # skipped: no phase
    )
    plan = engine.plan_hosts(api, ["c1"], request())
    assert {r.id: r.phase for r in plan.rows} == {
        "a": 2,
        "b": 1,
        "c": 3,
        "d": 1,
        "e": None,
    }


def test_a_value_that_is_no_priority_refuses_the_plan() -> None:
    api = FakeCompute(with_priority("a", "high"), with_priority("b", "1"))
    with pytest.raises(Refused, match=r"prio: .* vm-a \('high'\)"):
        engine.plan_hosts(api, ["c1"], request())


def test_a_phase_is_sent_only_once_the_one_before_has_ended() -> None:
    api = FakeCompute(
        with_priority("a", "1"),
        with_priority("b", "2"),
        with_priority("c", "2"),
    )
    sent_when: dict[str, set[str]] = {}
    evacuate = api.evacuate

    def noting(
        server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        # Which servers were proven on another host when this one went.
        sent_when[server_id] = {
            s.id for s in api.servers.values() if s.host != "c1"
        }
        return evacuate(server_id, version, body)

    api.evacuate = noting  # type: ignore[method-assign]
    report = engine.evacuate_host(api, "c1", request(), FakeClock())
    assert {r.id: (r.result.value, r.phase) for r in report.rows} == {
        "a": ("verified", 2),
        "b": ("verified", 1),
        "c": ("verified", 1),
    }
    assert sent_when["b"] == sent_when["c"] == set()
    assert sent_when["a"] == {"b", "c"}


def test_the_wait_is_shared_a_phase_never_reached_says_so() -> None:
    api = FakeCompute(with_priority("a", "1"), with_priority("b", "2"))
    api.stalls = {"b": "pre-migrating"}  # phase 1 never ends by itself
    report = engine.evacuate_host(api, "c1", request(wait=60), FakeClock())
    rows = {r.id: r for r in report.rows}
    assert rows["b"].result.value != "verified"
    assert rows["a"].result.value == "failed"
    assert rows["a"].error == "not sent: the --wait ran out before phase 2"
    assert api.calls["evacuate"] == 1


def test_in_phases_without_phases_runs_once() -> None:
    api = FakeCompute(server("a"))
    plan = engine.plan_hosts(api, ["c1"], Request(options=EvacuateOptions()))
    seen: list[int] = []

    def once(part: engine.Plan, wait: WaitPolicy | None) -> Report:
        seen.append(len(part.rows))
        return Report(part.sources, part.microversion, ())

    phases.in_phases(plan, None, FakeClock(), once)
    assert seen == [1]


def test_priority_property_needs_wait() -> None:
    api = FakeCompute(server("a"))
    argv = ["c1", "--priority-property", "prio"]
    cmd, args = command(EvacuateHost, api, argv)
    with pytest.raises(exceptions.CommandError, match="needs --wait"):
        cmd.run(args)
    assert api.calls["evacuate"] == 0
