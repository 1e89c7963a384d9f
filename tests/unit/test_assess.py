"""The capacity check on a fake cloud (assess.py): every resource class,
availability zones and server groups, in a constant number of reads; and
the reads themselves on the wire (nova.py, side_reads.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from osc_evacuate.core import side_reads
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import (
    EvacuateOptions,
    Fit,
    Flavor,
    Image,
    Room,
    Server,
)
from osc_evacuate.core.models.cloud import ServerGroup
from osc_evacuate.core.nova import NovaComputeAPI
from osc_evacuate.core.transport import Transport
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute, server
from tests.unit.fake_session import ENDPOINT, FakeSession
from tests.unit.nova_wire import version_doc

TINY = Flavor(vcpus=1, ram=512, disk=1, name="tiny")
CUSTOM = Flavor(
    vcpus=1,
    ram=512,
    disk=1,
    extra_specs={"resources:CUSTOM_X": "1"},
    name="custom",
)


def room(node: str, **more: tuple[float, float]) -> Room:
    """Room for 64 tiny servers, and more."""
    return Room(
        node,
        {
            "VCPU": (64.0, 0.0),
            "MEMORY_MB": (32768.0, 0.0),
            "DISK_GB": (1000.0, 0.0),
            **more,
        },
    )


def sized(sid: str, flavor: Flavor = TINY) -> Server:
    return dataclasses.replace(server(sid), flavor=flavor, image_id="img")


def cloud(*servers: Server, rooms: tuple[str, ...] = ("c2",)) -> FakeCompute:
    api = FakeCompute(*servers)
    api.placement = {node: room(node) for node in rooms}
    return api


def plan(api: FakeCompute, **options: Any) -> engine.Plan:
    request = engine.Request(options=EvacuateOptions(**options))
    return engine.plan_hosts(api, ["c1"], request, FakeClock())


def fits(planned: engine.Plan) -> dict[str, Fit | None]:
    return {r.id: r.fit for r in planned.rows}


def zoned(api: FakeCompute, zones: dict[str, str]) -> None:
    api.services = [
        dataclasses.replace(s, zone=zones.get(s.host, "nova"))
        for s in api.services
    ]


def test_a_custom_class_refuses_where_only_vcpu_and_ram_fit() -> None:
    api = cloud(sized("x1", CUSTOM), sized("x2", CUSTOM), sized("plain"))
    api.placement = {
        "c2": room("c2", CUSTOM_X=(1.0, 0.0)),
        "c3": room("c3"),
    }
    planned = plan(api)
    assert fits(planned) == {
        "plain": Fit.FITS,
        "x1": Fit.TIGHT,
        "x2": Fit.NO_ROOM,
    }
    assert [r.id for r in planned.no_room] == ["x2"]


def test_the_rules_read_nothing_per_server() -> None:
    api = cloud(*(sized(f"s{n}") for n in range(30)))
    zoned(api, {"c1": "az1"})
    planned = plan(api)
    assert set(fits(planned).values()) == {Fit.FITS}
    assert api.calls["server_groups"] == 1
    # No group among them: where every server runs is not read.
    assert api.calls["servers_by_node"] == 0
    # Zones differ: the failed host's servers' pins are read, once.
    assert api.calls["pinned_zones"] == 1
    # Compute services: the preflight's, and its failed host's zone.
    assert api.calls["services"] <= 2
    assert api.calls["rooms"] == 1


def test_pins_are_not_read_when_every_host_is_in_one_zone() -> None:
    api = cloud(sized("a"))
    assert fits(plan(api)) == {"a": Fit.FITS}
    request = engine.Request(options=EvacuateOptions())
    planned = engine.plan_server(api, "a", request, FakeClock())
    assert fits(planned) == {"a": Fit.FITS}
    assert api.calls["pinned_zones"] == 0


def test_a_pinned_server_stays_in_its_zone() -> None:
    api = cloud(sized("pinned"), sized("free"), rooms=("c2", "c3"))
    zoned(api, {"c1": "az1", "c2": "az2", "c3": "az3"})
    api.pinned = {"pinned": "az1"}
    assert fits(plan(api)) == {"pinned": Fit.NO_ROOM, "free": Fit.FITS}
    api.pinned = {"pinned": "az3"}
    assert fits(plan(api)) == {"pinned": Fit.FITS, "free": Fit.FITS}


def test_zones_are_not_judged_before_2_96_nor_for_a_forced_host() -> None:
    api = cloud(sized("pinned"))
    zoned(api, {"c1": "az1", "c2": "az2"})
    api.pinned = None  # a cloud before 2.96
    assert fits(plan(api)) == {"pinned": Fit.FITS}
    api.pinned = {"pinned": "az1"}
    forced = plan(api, host="c2", force=True)
    assert fits(forced) == {"pinned": Fit.FITS}


def test_anti_affinity_members_land_on_distinct_hosts() -> None:
    members = [sized(f"m{n}") for n in range(3)]
    api = cloud(*members, rooms=("c2", "c3", "c4"))
    ids = frozenset(s.id for s in members) | {"elsewhere"}
    api.groups = (ServerGroup("g1", "web", "anti-affinity", ids),)
    # A fourth member runs on c4 already.
    api.node_servers = {"c4": frozenset({"elsewhere"})}
    planned = plan(api)
    assert sorted(f.value for f in fits(planned).values() if f) == [
        "fits",
        "fits",
        "no room",
    ]
    assert api.calls["servers_by_node"] == 1


def test_affinity_members_find_no_host_off_the_one_they_share() -> None:
    api = cloud(sized("a"), sized("b"), sized("other"))
    api.groups = (ServerGroup("g2", "db", "affinity", frozenset("ab")),)
    api.node_servers = {"c1": frozenset({"a", "b", "other"})}
    assert fits(plan(api)) == {
        "a": Fit.NO_ROOM,
        "b": Fit.NO_ROOM,
        "other": Fit.FITS,
    }


def test_rules_not_read_are_not_judged() -> None:
    api = cloud(sized("a"), sized("b"))
    api.groups = (ServerGroup("g2", "db", "affinity", frozenset("ab")),)
    api.node_servers = None  # a cloud before 2.53
    assert set(fits(plan(api)).values()) == {Fit.FITS}

    def refused() -> list[ServerGroup]:
        raise ComputeAPIError("403 Forbidden", status=403)

    api.node_servers = {"c1": frozenset("ab")}
    api.server_groups = refused  # type: ignore[method-assign]
    assert set(fits(plan(api)).values()) == {Fit.FITS}


def test_pci_devices_are_a_risk_not_a_demand() -> None:
    pci = Flavor(1, 512, 1, extra_specs={"pci_passthrough:alias": "a1:1"})
    api = cloud(sized("pci", pci))
    api.glance["img"] = Image("img", "cirros")
    [row] = plan(api).rows
    assert row.fit is Fit.FITS
    assert row.risk == (
        "local disk lost; PCI devices not counted (pci_passthrough:alias=a1:1)"
    )


# -- The reads on the wire --------------------------------------------------


def test_server_groups_pages_by_offset_until_an_empty_page() -> None:
    page = [{"id": f"g{n}", "name": "n", "policy": "affinity"} for n in "12"]
    session = FakeSession(
        version_doc("2.104"),
        (200, {"server_groups": page}),
        (200, {"server_groups": []}),
    )
    found = NovaComputeAPI(session).server_groups()
    assert [g.id for g in found] == ["g1", "g2"]
    first, second = (s.query for s in session.sent[1:])
    assert first == {"all_projects": ["True"], "offset": ["0"]}
    assert second["offset"] == ["2"]
    assert session.sent[1].headers["OpenStack-API-Version"] == "compute 2.80"


def test_server_groups_before_2_64_name_their_policy_in_a_list() -> None:
    raw = {"id": "g", "policies": ["anti-affinity"], "members": ["a"]}
    session = FakeSession(
        version_doc("2.60"),
        (200, {"server_groups": [raw]}),
        (200, {"server_groups": [raw]}),  # an offset ignored: ends too
    )
    [group] = NovaComputeAPI(session).server_groups()
    assert group == ServerGroup("g", "", "anti-affinity", frozenset("a"), 1)


def test_servers_by_node_with_servers_from_2_53() -> None:
    nodes = [
        {"id": "u1", "hypervisor_hostname": "n1", "servers": [{"uuid": "a"}]},
        {"id": "u2", "hypervisor_hostname": "n2"},
    ]
    session = FakeSession(version_doc("2.104"), (200, {"hypervisors": nodes}))
    found = NovaComputeAPI(session).servers_by_node()
    assert found == {"n1": frozenset({"a"}), "n2": frozenset()}
    [_, sent] = session.sent
    assert sent.path.startswith("/os-hypervisors?")
    assert sent.query["with_servers"] == ["True"]
    assert sent.headers["OpenStack-API-Version"] == "compute 2.87"
    old = FakeSession(version_doc("2.52"))
    assert NovaComputeAPI(old).servers_by_node() is None
    assert len(old.sent) == 1  # the version document only


def test_pinned_zones_read_at_2_96() -> None:
    servers = [
        {"id": "a", "pinned_availability_zone": "az1"},
        {"id": "b", "pinned_availability_zone": None},
    ]
    session = FakeSession(version_doc("2.104"), (200, {"servers": servers}))
    found = NovaComputeAPI(session).pinned_zones("c1")
    assert found == {"a": "az1", "b": None}
    [_, sent] = session.sent
    assert sent.path.startswith("/servers/detail?")
    assert sent.query["host"] == ["c1"]
    assert sent.headers["OpenStack-API-Version"] == "compute 2.96"
    old = FakeSession(version_doc("2.95"))
    assert NovaComputeAPI(old).pinned_zones("c1") is None


def summary(root: str, **resources: tuple[int, int]) -> dict[str, Any]:
    return {
        "root_provider_uuid": root,
        "resources": {
            rc: {"capacity": cap, "used": used}
            for rc, (cap, used) in resources.items()
        },
    }


def test_rooms_sum_each_node_s_provider_tree_at_1_29() -> None:
    providers = [
        {"uuid": "r1", "name": "node1", "root_provider_uuid": "r1"},
        {"uuid": "g1", "name": "node1_pgpu", "root_provider_uuid": "r1"},
        {"uuid": "s1", "name": "shared-disk", "root_provider_uuid": "s1"},
    ]
    summaries = {
        "r1": summary("r1", VCPU=(8, 2), MEMORY_MB=(4096, 0)),
        "g1": summary("r1", VGPU=(4, 1)),
        "s1": summary("s1", DISK_GB=(1000, 0)),
    }
    session = FakeSession(
        (200, {"resource_providers": providers}),
        (200, {"provider_summaries": summaries}),
    )
    placement = Transport(
        session, service_type="placement", endpoint_override=ENDPOINT
    )
    rooms = side_reads.rooms(placement, {"MEMORY_MB": 1})
    assert rooms == {
        "node1": Room(
            "node1",
            {
                "VCPU": (8.0, 2.0),
                "MEMORY_MB": (4096.0, 0.0),
                "VGPU": (4.0, 1.0),
            },
        ),
        # Its own tree's: no compute node's, so no host's.
        "shared-disk": Room("shared-disk", {"DISK_GB": (1000.0, 0.0)}),
    }
    _, candidates = session.sent
    assert candidates.query["resources"] == ["MEMORY_MB:1"]
    for sent in session.sent:
        assert sent.headers["OpenStack-API-Version"] == "placement 1.29"


@pytest.mark.parametrize("status", [403, 404])
def test_rooms_none_when_placement_says_no(status: int) -> None:
    session = FakeSession((status, {"error": "no"}))
    placement = Transport(
        session, service_type="placement", endpoint_override=ENDPOINT
    )
    assert side_reads.rooms(placement, {"MEMORY_MB": 1}) is None
