"""--spare and --spares-from-reason: just enough spares enabled when the
servers would have no room, the rows saying so; a spare that received
nothing disabled again with its reason."""

from __future__ import annotations

import dataclasses

from osc_evacuate.core import spares
from osc_evacuate.core.models import (
    ComputeService,
    EvacuateOptions,
    Request,
    WaitPolicy,
)
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute
from tests.unit.test_assess import room, sized


def spare(
    host: str, reason: str = "reserved for HA", **more: object
) -> ComputeService:
    found = ComputeService(
        f"id-{host}", host, "up", "disabled", False, disabled_reason=reason
    )
    return dataclasses.replace(found, **more)  # type: ignore[arg-type]


FAILED = ComputeService("s1", "c1", "down", "enabled", True)


def test_candidates_are_disabled_up_and_in_a_failed_host_s_zone() -> None:
    services = [
        FAILED,
        spare("s-a"),
        spare("s-b", reason="maintenance"),
        spare("s-c", state="down"),
        spare("s-d", zone="az2"),
        spare("s-e", status="enabled"),
    ]
    by_reason = spares.candidates(services, (), "RESERVED", {"c1"})
    assert [s.host for s in by_reason] == ["s-a"]
    named = spares.candidates(
        services, ("s-b", "s-c", "s-d", "s-e"), None, {"c1"}
    )
    assert [s.host for s in named] == ["s-b"]


def cloud(count: int, *spare_hosts: str) -> FakeCompute:
    """c1 failed with count tiny servers; no room anywhere but on the
    spares, each with room for two."""
    api = FakeCompute(*(sized(str(n)) for n in range(count)))
    api.services = [*api.services, *(spare(h) for h in spare_hosts)]
    api.placement = {
        h: dataclasses.replace(
            room(h), resources={**room(h).resources, "VCPU": (2.0, 0.0)}
        )
        for h in spare_hosts
    }
    return api


def request(*named: str, reason: str | None = None) -> Request:
    return Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600),
        spares=named,
        spares_reason=reason,
    )


def test_just_enough_spares_are_enabled_and_the_rows_say_so() -> None:
    api = cloud(3, "s-a", "s-b", "s-c")
    plan = engine.plan_hosts(api, ["c1"], request(reason="reserved"))
    assert [s.host for s in plan.spares] == ["s-a", "s-b"]
    assert spares.no_room(plan.rows) == 0
    assert all(
        (r.fit_why or "").endswith(
            "room only with spare s-a, s-b, enabled by this run"
        )
        for r in plan.rows
    )
    enabling = [c for c in plan.service_changes if c.host.startswith("s-")]
    assert [(c.host, c.request.body) for c in enabling] == [
        ("s-a", {"status": "enabled"}),
        ("s-b", {"status": "enabled"}),
    ]
    # Judged with no spare, one and two: what is read beside the servers
    # was read once.
    reads = ("rooms", "server_groups", "images", "attachments")
    assert {name: api.calls[name] for name in reads} == dict.fromkeys(reads, 1)


def test_no_spare_is_enabled_when_the_servers_fit_or_none_helps() -> None:
    fits = cloud(1, "s-a")
    fits.placement = {**(fits.placement or {}), "c2": room("c2")}
    assert engine.plan_hosts(fits, ["c1"], request("s-a")).spares == ()
    useless = cloud(1)
    useless.services = [*useless.services, spare("s-z")]
    assert engine.plan_hosts(useless, ["c1"], request("s-z")).spares == ()


def test_a_spare_that_received_nothing_is_disabled_again() -> None:
    # The fake scheduler sends every server to c2: s-a receives nothing.
    api = cloud(1, "s-a")
    report = engine.evacuate_host(api, "c1", request("s-a"), FakeClock())
    assert {r.result.value for r in report.rows} == {"verified"}
    bodies = [r.body for _, r in api.service_changes if "s-a" in r.path]
    assert bodies == [
        {"status": "enabled"},
        {"status": "disabled", "disabled_reason": "reserved for HA"},
    ]
    (outcome,) = report.spares
    assert str(outcome) == "spare s-a: received nothing, disabled again"


def test_spares_need_wait() -> None:
    from osc_lib import exceptions

    from osc_evacuate.commands.host import EvacuateHost
    from tests.unit.command_runs import command

    api = FakeCompute(sized("a"))
    for argv in (["--spare", "s-a"], ["--spares-from-reason", "reserved"]):
        cmd, args = command(EvacuateHost, api, ["c1", *argv])
        try:
            cmd.run(args)
        except exceptions.CommandError as exc:
            assert "need --wait" in str(exc)
        else:
            raise AssertionError(f"{argv}: not refused")
    assert api.calls["evacuate"] == 0
