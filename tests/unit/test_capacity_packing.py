"""The capacity check's packing: the hosts' rooms (from Placement or the
hypervisors) and how the servers are packed into them, by size and by the
rules that hold each."""

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
from osc_evacuate.core.demand import Ask
from osc_evacuate.core.groups import Spread, Where
from osc_evacuate.core.models import Fit, Hypervisor, Room


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
