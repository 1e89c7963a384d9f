"""The plan on a fake cloud: risk, refusals, capacity and force-down."""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core.errors import Refused, UsageError
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.models import (
    Action,
    EvacuateOptions,
    Fit,
    Flavor,
    Image,
    LockState,
    Result,
    Room,
    Server,
    ServerFilter,
    WaitPolicy,
)
from osc_evacuate.core.refusals import capacity_refusal
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute, server

TINY = Flavor(vcpus=1, ram=512, disk=1, name="tiny")
ROOMY = Room(
    "c2",
    {
        "VCPU": (64.0, 0.0),
        "MEMORY_MB": (65536.0, 0.0),
        "DISK_GB": (1000.0, 0.0),
    },
)


def sized(sid: str, flavor: Flavor = TINY, image: str = "img") -> Server:
    return dataclasses.replace(server(sid), flavor=flavor, image_id=image)


def plan(api: FakeCompute, **request: object) -> engine.Plan:
    req = engine.Request(options=EvacuateOptions(), **request)  # type: ignore[arg-type]
    return engine.plan_hosts(api, ["c1"], req, FakeClock())


def cloud(*servers: Server) -> FakeCompute:
    api = FakeCompute(*servers)
    api.placement = {"c2": ROOMY}
    return api


def test_risks_and_fits_read_nothing_per_server() -> None:
    api = cloud(sized("local"), sized("volume", image=""))
    api.glance["img"] = Image("img", "cirros")
    planned = plan(api)
    risk = {r.before.id: r.risk for r in planned.rows}
    assert risk == {
        "local": "local disk lost",
        "volume": "volume-backed: disk kept",
    }
    assert {r.fit for r in planned.rows} == {Fit.FITS}
    assert planned.capacity.source == "placement"
    assert api.calls["images"] == 1
    assert api.calls["rooms"] == 1
    assert api.calls["hypervisors"] == 1
    assert api.calls["evacuate"] == 0


@pytest.mark.parametrize(
    ("flavor", "image"),
    [
        (dataclasses.replace(TINY, extra_specs={"hw:tpm_version": "2.0"}), {}),
        (TINY, {"hw_tpm_version": "2.0"}),
    ],
)
def test_a_vtpm_server_is_skipped_not_sent(
    flavor: Flavor, image: dict[str, object]
) -> None:
    api = cloud(sized("a", flavor), sized("b", image="plain"))
    api.glance["img"] = Image("img", "vtpm", image)
    report = engine.evacuate_host(
        api, "c1", engine.Request(EvacuateOptions()), FakeClock()
    )
    a, b = report.rows
    assert (a.action, a.result) == (Action.SKIPPED, Result.SKIPPED)
    assert "vTPM" in (a.error or "") and "tpm_version=2.0" in (a.error or "")
    assert (a.risk or "").startswith("refused by Nova: it has a vTPM")
    assert b.result is Result.SUBMITTED
    assert api.calls["evacuate"] == 1


def test_no_room_refuses_before_any_request_unless_ignored() -> None:
    api = cloud(sized("a"), sized("b", Flavor(vcpus=1, ram=60000, disk=1)))
    small = {**ROOMY.resources, "MEMORY_MB": (32768.0, 0.0)}
    api.placement = {"c2": Room("c2", small)}
    planned = plan(api)
    fits = {r.before.id: r.fit for r in planned.rows}
    assert fits == {"a": Fit.FITS, "b": Fit.NO_ROOM}
    request = engine.Request(EvacuateOptions())
    why = capacity_refusal(planned, request.ignore_capacity)
    assert why is not None and why.startswith("1 of the 2 servers")
    with pytest.raises(Refused, match="--ignore-capacity"):
        engine.carry_out(api, planned, request, FakeClock())
    assert api.calls["evacuate"] == 0
    ignored = dataclasses.replace(request, ignore_capacity=True)
    engine.carry_out(api, planned, ignored, FakeClock())
    assert api.calls["evacuate"] == 2


def test_without_placement_hypervisor_figures_judge() -> None:
    api = cloud(sized("a"))
    api.placement = None
    planned = plan(api)
    assert planned.capacity.source == "hypervisor statistics"
    # The fake's hypervisors give no figures: nothing known is free.
    assert planned.rows[0].fit is Fit.NO_ROOM


def test_flavors_before_2_47_are_read_once_each() -> None:
    old = [
        dataclasses.replace(server(s), image_id="img", flavor_id="f1")
        for s in "abc"
    ]
    api = cloud(*old)
    api.flavor_store["f1"] = TINY
    planned = plan(api)
    assert api.calls["flavors"] == 1
    assert {r.fit for r in planned.rows} == {Fit.FITS}


def test_an_ironic_host_is_refused() -> None:
    api = cloud(sized("a"))
    api.hypervisor_types["c1"] = "ironic"
    with pytest.raises(Refused, match="drives Ironic bare-metal nodes"):
        plan(api)
    assert api.calls["evacuate"] == 0


def test_force_down_is_planned_and_sent_before_the_first_evacuation() -> None:
    api = cloud(sized("a"))
    api.services[0] = dataclasses.replace(
        api.services[0], state="up", forced_down=False
    )
    with pytest.raises(Refused, match="--force-down"):
        plan(api)
    planned = plan(api, force_down=True, disabled_reason="fenced")
    [change] = planned.service_changes
    assert change.request.body == {
        "forced_down": True,
        "status": "disabled",
        "disabled_reason": "fenced",
    }
    assert planned.service_version == mv("2.53")
    assert api.calls["update_service"] == 0  # a plan changes nothing
    request = engine.Request(EvacuateOptions(), force_down=True)
    engine.carry_out(api, planned, request, FakeClock())
    assert api.calls["update_service"] == 1
    assert api.calls["evacuate"] == 1


def test_force_down_of_a_host_forced_down_already_changes_nothing() -> None:
    api = cloud(sized("a"))  # c1 is forced down in the fake
    assert plan(api, force_down=True).service_changes == ()


def down(api: FakeCompute, *hosts: str) -> None:
    api.services = [
        dataclasses.replace(s, state="down", forced_down=True)
        if s.host in hosts
        else s
        for s in api.services
    ]


def test_two_hosts_one_plan_one_capacity_check_one_poll_loop() -> None:
    api = cloud(sized("a"), dataclasses.replace(sized("b"), host="c3"))
    down(api, "c3")
    request = engine.Request(EvacuateOptions(), wait=WaitPolicy(timeout=600))
    report = engine.evacuate_hosts(api, ["c1", "c3"], request, FakeClock())
    assert report.sources == ("c1", "c3")
    assert {r.before.id: r.before.host for r in report.rows} == {
        "a": "c1",
        "b": "c3",
    }
    assert {r.result for r in report.rows} == {Result.VERIFIED}
    assert api.calls["rooms"] == 1
    # Each poll: the servers once, and the records of each host.
    polls = api.calls["servers_changed_since"]
    assert api.calls["migrations"] == 2 + 2 * polls


@pytest.mark.parametrize(
    ("named", "down_too", "guard", "refused"),
    [
        (["c1"], [], engine.Guard(), False),
        # 4 hosts: more than 3.
        (["c1", "c3", "c4", "c5"], [], engine.Guard(), True),
        (
            ["c1", "c3", "c4", "c5"],
            [],
            engine.Guard(max_hosts=4, max_fraction=0.6),
            False,
        ),
        # 1 named + 1 already down = 2 of 7: not more than a third.
        (["c1"], ["c3"], engine.Guard(), False),
        # 1 named + 2 already down = 3 of 7: more than a third.
        (["c1"], ["c3", "c4"], engine.Guard(), True),
        (["c1"], ["c3", "c4", "c5"], engine.Guard(max_hosts=9), True),
        (["c1"], ["c3"], engine.Guard(max_fraction=0.25), True),
    ],
)
def test_the_mass_failure_guard(
    named: list[str],
    down_too: list[str],
    guard: engine.Guard,
    refused: bool,
) -> None:
    api = cloud(sized("a"))
    down(api, *named, *down_too)
    request = engine.Request(EvacuateOptions(), guard=guard)
    if not refused:
        engine.plan_hosts(api, named, request, FakeClock())
        return
    with pytest.raises(Refused, match="mass failure") as exc:
        engine.plan_hosts(api, named, request, FakeClock())
    assert f"{len(named) + len(down_too)} computes would be down" in str(
        exc.value
    )
    accepted = dataclasses.replace(request, accept_mass_failure=True)
    engine.plan_hosts(api, named, accepted, FakeClock())


def test_filters_choose_what_is_sent_and_say_why_the_rest_is_not() -> None:
    ha = dataclasses.replace(sized("ha"), metadata={"HA_Enabled": "True"})
    amphora = dataclasses.replace(
        sized("lb"), metadata={"HA_Enabled": "True"}, tags=frozenset({"lb"})
    )
    plain = sized("plain")
    api = cloud(ha, amphora, plain)
    filters = ServerFilter(
        properties=(("HA_Enabled", "True"),), exclude_tags=frozenset({"lb"})
    )
    planned = plan(api, filters=filters)
    why = {r.before.id: (r.action, r.error) for r in planned.rows}
    assert why == {
        "ha": (Action.SUBMITTED, None),
        "lb": (Action.SKIPPED, "excluded by --exclude-tag lb"),
        "plain": (Action.SKIPPED, "excluded by --property HA_Enabled=True"),
    }
    # Only what is sent is packed.
    assert [r.fit for r in planned.rows] == [Fit.FITS, None, None]


def test_a_server_named_that_is_not_on_the_host_is_an_error() -> None:
    api = cloud(sized("a"), sized("b"))
    planned = plan(api, server_names=("vm-b",))
    assert [r.action for r in planned.rows] == [
        Action.SKIPPED,
        Action.SUBMITTED,
    ]
    with pytest.raises(UsageError, match="--server elsewhere is not on c1"):
        plan(api, server_names=("elsewhere",))


def test_lock_holds_each_server_until_its_row_ends() -> None:
    theirs = dataclasses.replace(
        sized("theirs"), locked=True, locked_reason="owner: do not touch"
    )
    api = cloud(sized("a"), theirs)
    request = engine.Request(
        EvacuateOptions(),
        wait=WaitPolicy(timeout=600),
        lock=True,
    )
    report = engine.evacuate_host(api, "c1", request, FakeClock())
    a, b = report.rows
    assert a.lock is LockState.UNLOCKED
    assert b.lock is LockState.ALREADY
    assert (api.calls["lock"], api.calls["unlock"]) == (1, 1)
    assert api.servers["a"].locked is False
    assert api.servers["theirs"].locked is True
    assert {r.result for r in report.rows} == {Result.VERIFIED}


def test_lock_needs_wait() -> None:
    api = cloud(sized("a"))
    with pytest.raises(UsageError, match="--lock needs --wait"):
        plan(api, lock=True)
