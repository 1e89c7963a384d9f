"""The capacity check's arithmetic: what a server asks (demand.py), the
hosts' rooms, the placement rules (groups.py) and the packing."""

from __future__ import annotations

import collections
from typing import Any

import pytest

from osc_evacuate.core.capacity import (
    HostRoom,
    Judgement,
    pack,
    rooms_from_hypervisors,
    rooms_from_placement,
)
from osc_evacuate.core.demand import Ask, ask_of, unseen
from osc_evacuate.core.groups import (
    Spread,
    Where,
    where_each_goes,
    zones_matter,
)
from osc_evacuate.core.models import Fit, Flavor, Hypervisor, Room
from osc_evacuate.core.models.cloud import ServerGroup

TINY = Flavor(vcpus=1, ram=512, disk=1)


def specs(**extra: str) -> Flavor:
    """A 4-vCPU flavor with these extra specs ("__" for ":")."""
    return Flavor(
        vcpus=4,
        ram=4096,
        disk=40,
        extra_specs={k.replace("__", ":"): v for k, v in extra.items()},
    )


BASE = {"MEMORY_MB": 4096, "DISK_GB": 40}

# flavor, volume-backed, image properties, what Nova's scheduler claims
# (ResourceRequest.from_request_spec), its fallback query's if any.
ASKS: dict[str, tuple[Flavor, bool, dict[str, Any], dict[str, int], Any]] = {
    "vcpu, memory, disk": (
        TINY,
        False,
        {},
        {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1},
        None,
    ),
    "a volume is the root disk: no DISK_GB (no zero amounts)": (
        TINY,
        True,
        {},
        {"VCPU": 1, "MEMORY_MB": 512},
        None,
    ),
    "ephemeral and swap (in whole GB, rounded up) stay local": (
        Flavor(vcpus=2, ram=2048, disk=20, ephemeral=5, swap=1500),
        True,
        {},
        {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 7},
        None,
    ),
    "a custom class is asked besides": (
        specs(resources__CUSTOM_X="1"),
        False,
        {},
        {"VCPU": 4, **BASE, "CUSTOM_X": 1},
        None,
    ),
    "extra specs replace the flavor's own; granular groups add up": (
        specs(
            resources__VCPU="0",
            resources__PCPU="4",
            resources1__VGPU="1",
            resources_gpu2__VGPU="2",
            resources__MEMORY_MB="1024",
        ),
        False,
        {},
        {"PCPU": 4, "MEMORY_MB": 1024, "DISK_GB": 40, "VGPU": 3},
        None,
    ),
    "what Nova drops: unknown classes, no whole amount, negative": (
        specs(
            resources__FOO="1",
            resources__VGPU="one",
            resources__PCI_DEVICE="-1",
            trait__CUSTOM_T="required",
        ),
        False,
        {},
        {"VCPU": 4, **BASE},
        None,
    ),
    "pinned CPUs are PCPU, or VCPU in Nova's second try": (
        specs(hw__cpu_policy="dedicated"),
        False,
        {},
        {"PCPU": 4, **BASE},
        {"VCPU": 4, **BASE},
    ),
    "the image's CPU policy when the flavor has none; isolated threads": (
        specs(hw__emulator_threads_policy="isolate"),
        False,
        {"hw_cpu_policy": "dedicated"},
        {"PCPU": 5, **BASE},
        {"VCPU": 4, **BASE},
    ),
    "the flavor's shared policy wins over the image's": (
        specs(hw__cpu_policy="shared"),
        False,
        {"hw_cpu_policy": "dedicated"},
        {"VCPU": 4, **BASE},
        None,
    ),
    "mixed: the dedicated mask's CPUs pinned, the others shared": (
        specs(hw__cpu_policy="mixed", hw__cpu_dedicated_mask="^0-1"),
        False,
        {},
        {"VCPU": 2, "PCPU": 2, **BASE},
        {"VCPU": 4, **BASE},
    ),
    "mixed by a realtime mask": (
        specs(
            hw__cpu_policy="mixed",
            hw__cpu_realtime="yes",
            hw__cpu_realtime_mask="3",
        ),
        False,
        {},
        {"VCPU": 3, "PCPU": 1, **BASE},
        {"VCPU": 4, **BASE},
    ),
    "memory encryption and persistent memory namespaces": (
        specs(hw__mem_encryption="True", hw__pmem="small, large,small"),
        False,
        {},
        {
            "VCPU": 4,
            **BASE,
            "MEM_ENCRYPTION_CONTEXT": 1,
            "CUSTOM_PMEM_NAMESPACE_SMALL": 2,
            "CUSTOM_PMEM_NAMESPACE_LARGE": 1,
        },
        None,
    ),
    "memory encryption asked by the image": (
        specs(),
        False,
        {"hw_mem_encryption": True},
        {"VCPU": 4, **BASE, "MEM_ENCRYPTION_CONTEXT": 1},
        None,
    ),
}


@pytest.mark.parametrize("case", ASKS)
def test_a_server_asks_what_nova_s_scheduler_claims(case: str) -> None:
    flavor, volume_backed, image, amounts, fallback = ASKS[case]
    assert ask_of(flavor, volume_backed, image) == Ask(amounts, fallback)


def test_pci_aliases_are_not_counted_but_said() -> None:
    pci = specs(pci_passthrough__alias="a1:2")
    assert ask_of(pci, False) == Ask({"VCPU": 4, **BASE})
    assert unseen(pci) == (
        "PCI devices not counted (pci_passthrough:alias=a1:2)"
    )
    assert unseen(TINY) is None


def host(
    name: str, vcpu: float, ram: float, disk: float, **more: float
) -> HostRoom:
    """A host with this much capacity, all of it free."""
    capacity = {"VCPU": vcpu, "MEMORY_MB": ram, "DISK_GB": disk, **more}
    return HostRoom(name, dict(capacity), dict(capacity))


def asks(vcpu: int, ram: int, disk: int = 0, **more: int) -> Ask:
    return Ask({"VCPU": vcpu, "MEMORY_MB": ram, "DISK_GB": disk, **more})


FITS, TIGHT, NO_ROOM = Fit.FITS, Fit.TIGHT, Fit.NO_ROOM
PINNED = Ask({"PCPU": 2, "MEMORY_MB": 9}, {"VCPU": 2, "MEMORY_MB": 9})

# Servers (name: ask), hosts, and each server's judgement.
PACKINGS: dict[str, tuple[dict[str, Ask], list[HostRoom], dict[str, Any]]] = {
    "everything fits with room to spare": (
        {"a": asks(1, 512), "b": asks(1, 512)},
        [host("h1", 8, 8192, 100)],
        {"a": FITS, "b": FITS},
    ),
    "no host at all: no room": (
        {"a": asks(1, 512)},
        [],
        {"a": (NO_ROOM, "no candidate host")},
    ),
    "the largest goes first and takes the room": (
        {"small": asks(1, 1024), "large": asks(1, 4096)},
        [host("h1", 8, 4096, 100)],
        {"large": (TIGHT, "MEMORY_MB"), "small": (NO_ROOM, "MEMORY_MB")},
    ),
    "spread across hosts, as the RAM weigher does": (
        {"a": asks(1, 3000), "b": asks(1, 3000)},
        [host("h1", 8, 4096, 100), host("h2", 8, 4096, 100)],
        {"a": FITS, "b": FITS},
    ),
    "filling a host to its last tenth is tight": (
        {"a": asks(1, 3900)},
        [host("h1", 8, 4096, 100)],
        {"a": (TIGHT, "MEMORY_MB")},
    ),
    "a host it would fill is passed over for one it would not": (
        # The most free memory, but its only VCPU would be taken.
        {"a": asks(1, 1000), "b": asks(1, 1000)},
        [host("one-cpu", 1, 8192, 100), host("roomy", 8, 4096, 100)],
        {"a": FITS, "b": FITS},
    ),
    "short of different classes on each host": (
        {"a": asks(4, 512, 10)},
        [host("h1", 2, 8192, 100), host("h2", 8, 8192, 5)],
        {"a": (NO_ROOM, "VCPU or DISK_GB")},
    ),
    "a custom class no host has: no room, though VCPU and RAM fit": (
        {"a": asks(1, 512, CUSTOM_X=1)},
        [host("h1", 8, 8192, 100), host("h2", 8, 8192, 100)],
        {"a": (NO_ROOM, "CUSTOM_X")},
    ),
    "a custom class used up where it is": (
        {"a": asks(1, 512, CUSTOM_X=1), "b": asks(1, 512, CUSTOM_X=1)},
        [host("h1", 8, 8192, 100, CUSTOM_X=1), host("h2", 8, 8192, 100)],
        {"a": (TIGHT, "CUSTOM_X"), "b": (NO_ROOM, "CUSTOM_X")},
    ),
    "a class the server does not ask, full, does not make it tight": (
        {"a": asks(1, 512)},
        [host("h1", 8, 8192, 100, VGPU=0)],
        {"a": FITS},
    ),
    "pinned CPUs where there are PCPUs, else as VCPUs": (
        # The second finds no PCPU room left, and VCPU room elsewhere.
        {"p1": PINNED, "p2": PINNED},
        [host("new", 0, 1000, 0, PCPU=4), host("old", 8, 500, 0)],
        {"p1": FITS, "p2": FITS},
    ),
}


def judged(expected: dict[str, Any]) -> dict[str, Judgement]:
    return {
        k: Judgement(*v) if isinstance(v, tuple) else Judgement(v)
        for k, v in expected.items()
    }


@pytest.mark.parametrize("case", PACKINGS)
def test_packing(case: str) -> None:
    servers, hosts, expected = PACKINGS[case]
    assert pack(servers, hosts) == judged(expected)


def limit(rule: str, *hosts: str) -> Where:
    return Where(limits=((rule, frozenset(hosts)),))


def spread(most: int = 1, **on_host: int) -> Where:
    return Where(
        spreads=(Spread("g1", "anti-affinity group g1", most, on_host),)
    )


def roomy(*names: str) -> list[HostRoom]:
    return [host(name, 8, 8192, 100) for name in names]


AZ2 = "availability zone az2"
# Servers, hosts, the rules that hold each, and each server's judgement.
RULED: dict[str, tuple[Any, list[HostRoom], dict[str, Where], Any]] = {
    "only the hosts of its zone": (
        {"a": asks(1, 512)},
        [host("h1", 8, 8192, 100), host("h2", 1, 1024, 10)],
        {"a": limit(AZ2, "h2")},
        {"a": (TIGHT, "VCPU")},
    ),
    "room only outside its zone: the zone is why": (
        {"a": asks(2, 512)},
        [host("h1", 8, 8192, 100), host("h2", 1, 1024, 10)],
        {"a": limit(AZ2, "h2")},
        {"a": (NO_ROOM, AZ2)},
    ),
    "no host in its zone, and no room anywhere: both": (
        {"a": asks(16, 512)},
        roomy("h1"),
        {"a": limit(AZ2)},
        {"a": (NO_ROOM, f"{AZ2}, VCPU")},
    ),
    "a custom class only outside its zone: the zone": (
        {"a": asks(1, 512, CUSTOM_X=1)},
        [host("h1", 8, 8192, 100, CUSTOM_X=1), host("h2", 8, 8192, 100)],
        {"a": limit(AZ2, "h2")},
        {"a": (NO_ROOM, AZ2)},
    ),
    "a custom class nowhere: the class": (
        {"a": asks(1, 512, CUSTOM_X=1)},
        [host("h1", 8, 8192, 100), host("h2", 8, 8192, 100, CUSTOM_X=0)],
        {"a": limit(AZ2, "h2")},
        {"a": (NO_ROOM, "CUSTOM_X")},
    ),
    "anti-affinity: one member per host": (
        {"a": asks(1, 512), "b": asks(1, 512), "c": asks(1, 512)},
        roomy("h1", "h2"),
        {k: spread() for k in "abc"},
        {"a": FITS, "b": FITS, "c": (NO_ROOM, "anti-affinity group g1")},
    ),
    "anti-affinity: not where a member already runs": (
        {"a": asks(1, 512), "b": asks(1, 512)},
        roomy("h1", "h2"),
        {k: spread(h1=1) for k in "ab"},
        {"a": FITS, "b": (NO_ROOM, "anti-affinity group g1")},
    ),
    "anti-affinity with max_server_per_host 2": (
        {"a": asks(1, 512), "b": asks(1, 512)},
        roomy("h1", "h2"),
        {k: spread(2, h1=1, h2=2) for k in "ab"},
        {"a": FITS, "b": (NO_ROOM, "anti-affinity group g1")},
    ),
    "a server without rules goes anywhere": (
        {"a": asks(1, 512), "free": asks(1, 512)},
        roomy("h1"),
        {"a": limit("affinity group g2")},
        {"a": (NO_ROOM, "affinity group g2"), "free": FITS},
    ),
}


@pytest.mark.parametrize("case", RULED)
def test_packing_by_the_rules(case: str) -> None:
    servers, hosts, where, expected = RULED[case]
    assert pack(servers, hosts, where) == judged(expected)


def group(
    policy: str, *members: str, gid: str = "g1", most: int = 1
) -> ServerGroup:
    return ServerGroup(gid, f"n{gid}", policy, frozenset(members), most)


ZONES = {"h1": "az1", "h2": "az2", "h3": "az2"}
ANTI = "anti-affinity"
# Servers evacuated, pins, groups, every server's host (None: not known),
# forced; each server's rules, as limits (rule: hosts) and spreads
# (rule: members elsewhere, by host).
WHERE: dict[str, tuple[Any, ...]] = {
    "a pinned zone limits to its hosts": (
        ["a", "b"],
        {"a": "az2", "b": None},
        [],
        {},
        False,
        {"a": ({"availability zone az2": {"h2", "h3"}}, {})},
    ),
    "a forced host skips the zones": (
        ["a"],
        {"a": "az2"},
        [],
        {},
        True,
        {},
    ),
    "anti-affinity: the members elsewhere counted by host": (
        ["a", "b"],
        {},
        [group(ANTI, "a", "b", "c", "d")],
        {"a": "src", "b": "src", "c": "h1", "d": "h1"},
        False,
        {k: ({}, {"anti-affinity group ng1": {"h1": 2}}) for k in ("a", "b")},
    ),
    "anti-affinity: where members run not known: only among them": (
        ["a"],
        {},
        [group(ANTI, "a", "c")],
        None,
        False,
        {"a": ({}, {"anti-affinity group ng1": {}})},
    ),
    "affinity: only where the fellows run, never the failed host": (
        ["a"],
        {},
        [group("affinity", "a", "b", "c")],
        {"a": "src", "b": "src", "c": "h3"},
        False,
        {"a": ({"affinity group ng1": {"h3"}}, {})},
    ),
    "affinity: all on the failed host: nowhere": (
        ["a", "b"],
        {},
        [group("affinity", "a", "b")],
        {"a": "src", "b": "src"},
        False,
        {k: ({"affinity group ng1": set()}, {}) for k in ("a", "b")},
    ),
    "affinity: a lone member, forced, goes anywhere": (
        ["a"],
        {},
        [group("affinity", "a")],
        {"a": "src"},
        True,
        {},
    ),
    "affinity: where members run not known: not judged": (
        ["a"],
        {},
        [group("affinity", "a", "b")],
        None,
        False,
        {},
    ),
    "soft policies and other servers' groups hold nothing": (
        ["a"],
        {},
        [group("soft-anti-affinity", "a"), group(ANTI, "x", gid="g2")],
        {},
        False,
        {},
    ),
}


@pytest.mark.parametrize("case", WHERE)
def test_where_each_server_may_go(case: str) -> None:
    servers, pinned, groups, hosts_of, forced, expected = WHERE[case]
    where = where_each_goes(
        servers, pinned, ZONES, groups, hosts_of, {"src"}, forced
    )
    shown = {
        sid: (
            {rule: set(hosts) for rule, hosts in w.limits},
            {s.rule: dict(s.on_host) for s in w.spreads},
        )
        for sid, w in where.items()
    }
    assert shown == expected


@pytest.mark.parametrize(
    ("hosts", "sources", "zones", "matter"),
    [
        (["h1", "h2"], ["s"], {"h1": "z", "h2": "z", "s": "z"}, False),
        (["h1", "h2"], ["s"], {"h1": "z", "h2": "y", "s": "z"}, True),
        # Every candidate in another zone than the failed host's.
        (["h1"], ["s"], {"h1": "y", "s": "z"}, True),
        # The failed host's zone not known.
        (["h1"], ["s"], {"h1": "z"}, True),
        (["h1"], [], {"h1": None}, False),
    ],
)
def test_zones_matter_only_when_not_all_one(
    hosts: list[str], sources: list[str], zones: dict[str, str], matter: bool
) -> None:
    assert zones_matter(hosts, sources, zones) is matter


def test_placement_rooms_sum_every_class_of_a_host_s_nodes() -> None:
    rooms = {
        "n1": Room("n1", {"VCPU": (8.0, 2.0), "MEMORY_MB": (4096.0, 0.0)}),
        "n2": Room("n2", {"VCPU": (8.0, 8.0), "CUSTOM_X": (2.0, 1.0)}),
    }
    nodes = {"h1": ["n1", "n2"], "h2": ["n3"], "ironic": []}
    h1, h2, ironic = rooms_from_placement(nodes, rooms)
    assert h1.free == {"VCPU": 6.0, "MEMORY_MB": 4096.0, "CUSTOM_X": 1.0}
    assert h1.capacity["VCPU"] == 16.0
    # A class it does not have at all: none of it.
    assert h1.takes(asks(1, 512, 0, CUSTOM_X=1))
    assert not h1.takes(asks(1, 512, 1))
    # A node the probe left out has no memory free; nothing else known.
    assert not h2.takes(asks(1, 1))
    assert h2.lacks(asks(1, 1, 1)) == {"MEMORY_MB"}
    # A host without nodes (ironic's) takes nothing.
    assert not ironic.takes(Ask({"VCPU": 1}))


def test_hypervisor_rooms_judge_memory_and_disk_only() -> None:
    hv = Hypervisor(
        "h1",
        "n1",
        "QEMU",
        vcpus=2,
        vcpus_used=2,
        memory_mb=4096,
        memory_mb_used=1024,
        local_gb=100,
        local_gb_used=90,
    )
    [room] = rooms_from_hypervisors(["h1"], [hv])
    assert room.free == {"MEMORY_MB": 3072.0, "DISK_GB": 10.0}
    # Its VCPUs are all used, at a ratio not known here; a custom class
    # is not known either: neither is judged.
    assert room.takes(asks(8, 1024, 10, CUSTOM_X=1))
    assert not room.takes(asks(1, 4000))


def test_taking_uses_up_the_choice_that_fits() -> None:
    room = host("old", 4, 1024, 10)
    ask = Ask({"PCPU": 2, "MEMORY_MB": 512}, {"VCPU": 2, "MEMORY_MB": 512})
    room.take(ask)
    assert room.free == {"VCPU": 2, "MEMORY_MB": 512, "DISK_GB": 10}
    assert collections.Counter(room.free)["PCPU"] == 0
