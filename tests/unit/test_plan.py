"""The plan on a fake cloud: risk, refusals, capacity and force-down."""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core import evacuation
from osc_evacuate.core.capacity import Fit
from osc_evacuate.core.errors import Refused
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.models import (
    EvacuateOptions,
    Flavor,
    Image,
    Room,
    Server,
)
from osc_evacuate.core.outcome import Action, Result
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


def plan(api: FakeCompute, **request: object) -> evacuation.Plan:
    req = evacuation.Request(options=EvacuateOptions(), **request)  # type: ignore[arg-type]
    return evacuation.plan_host(api, "c1", req, FakeClock())


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
    report = evacuation.evacuate_host(
        api, "c1", evacuation.Request(EvacuateOptions()), FakeClock()
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
    request = evacuation.Request(EvacuateOptions())
    why = planned.refusal(request)
    assert why is not None and why.startswith("1 of the 2 servers")
    with pytest.raises(Refused, match="--ignore-capacity"):
        evacuation.carry_out(api, planned, request, FakeClock())
    assert api.calls["evacuate"] == 0
    ignored = dataclasses.replace(request, ignore_capacity=True)
    evacuation.carry_out(api, planned, ignored, FakeClock())
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
    assert change.body == {
        "forced_down": True,
        "status": "disabled",
        "disabled_reason": "fenced",
    }
    assert planned.service_version == mv("2.53")
    assert api.calls["update_service"] == 0  # a plan changes nothing
    request = evacuation.Request(EvacuateOptions(), force_down=True)
    evacuation.carry_out(api, planned, request, FakeClock())
    assert api.calls["update_service"] == 1
    assert api.calls["evacuate"] == 1


def test_force_down_of_a_host_forced_down_already_changes_nothing() -> None:
    api = cloud(sized("a"))  # c1 is forced down in the fake
    assert plan(api, force_down=True).service_changes == []
