"""The capacity check's arithmetic: demands, rooms and the packing."""

from __future__ import annotations

import pytest

from osc_evacuate.core.capacity import (
    HostRoom,
    demand_of,
    pack,
    rooms_from_hypervisors,
    rooms_from_placement,
    smallest,
)
from osc_evacuate.core.models import Fit, Flavor, Hypervisor, Room

TINY = Flavor(vcpus=1, ram=512, disk=1)


@pytest.mark.parametrize(
    ("flavor", "volume_backed", "demand"),
    [
        (TINY, False, {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}),
        # A volume is the root disk: no DISK_GB for it.
        (TINY, True, {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 0}),
        # Ephemeral and swap (in whole GB, rounded up) stay local.
        (
            Flavor(vcpus=2, ram=2048, disk=20, ephemeral=5, swap=1500),
            True,
            {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 7},
        ),
        # resources:<class> extra specs replace what the flavor asks.
        (
            Flavor(
                vcpus=4,
                ram=4096,
                disk=40,
                extra_specs={"resources:VCPU": "0", "resources:PCPU": "4"},
            ),
            False,
            {"VCPU": 0, "MEMORY_MB": 4096, "DISK_GB": 40},
        ),
    ],
)
def test_a_server_asks_what_nova_s_scheduler_claims(
    flavor: Flavor, volume_backed: bool, demand: dict[str, int]
) -> None:
    assert demand_of(flavor, volume_backed) == demand


def test_the_smallest_demand_is_taken_class_by_class() -> None:
    demands = [
        {"VCPU": 1, "MEMORY_MB": 4096, "DISK_GB": 0},
        {"VCPU": 4, "MEMORY_MB": 512, "DISK_GB": 10},
    ]
    assert smallest(demands) == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 0}


def host(name: str, vcpu: float, ram: float, disk: float) -> HostRoom:
    """A host with this much capacity, all of it free."""
    capacity = {"VCPU": vcpu, "MEMORY_MB": ram, "DISK_GB": disk}
    return HostRoom(name, dict(capacity), dict(capacity))


def asks(vcpu: int, ram: int, disk: int = 0) -> dict[str, int]:
    return {"VCPU": vcpu, "MEMORY_MB": ram, "DISK_GB": disk}


# Servers (name: demand), hosts, and each server's fit.
PACKINGS = {
    "everything fits with room to spare": (
        {"a": asks(1, 512), "b": asks(1, 512)},
        [host("h1", 8, 8192, 100)],
        {"a": Fit.FITS, "b": Fit.FITS},
    ),
    "no host at all: no room": (
        {"a": asks(1, 512)},
        [],
        {"a": Fit.NO_ROOM},
    ),
    "the largest goes first and takes the room": (
        {"small": asks(1, 1024), "large": asks(1, 4096)},
        [host("h1", 8, 4096, 100)],
        {"large": Fit.TIGHT, "small": Fit.NO_ROOM},
    ),
    "spread across hosts, as the RAM weigher does": (
        {"a": asks(1, 3000), "b": asks(1, 3000)},
        [host("h1", 8, 4096, 100), host("h2", 8, 4096, 100)],
        {"a": Fit.FITS, "b": Fit.FITS},
    ),
    "filling a host to its last tenth is tight": (
        {"a": asks(1, 3900)},
        [host("h1", 8, 4096, 100)],
        {"a": Fit.TIGHT},
    ),
    "a host it would fill is passed over for one it would not": (
        # The most free memory, but its only VCPU would be taken.
        {"a": asks(1, 1000), "b": asks(1, 1000)},
        [host("one-cpu", 1, 8192, 100), host("roomy", 8, 4096, 100)],
        {"a": Fit.FITS, "b": Fit.FITS},
    ),
    "any class short is no room": (
        {"a": asks(4, 512, 10)},
        [host("h1", 2, 8192, 100), host("h2", 8, 8192, 5)],
        {"a": Fit.NO_ROOM},
    ),
}


@pytest.mark.parametrize("case", PACKINGS)
def test_packing(case: str) -> None:
    demands, hosts, fits = PACKINGS[case]
    assert pack(demands, hosts) == fits


def test_placement_rooms_sum_a_host_s_nodes_and_miss_none() -> None:
    rooms = {
        "n1": Room("n1", {"VCPU": (8.0, 2.0), "MEMORY_MB": (4096.0, 0.0)}),
        "n2": Room("n2", {"VCPU": (8.0, 8.0), "DISK_GB": (100.0, 10.0)}),
    }
    [h1, h2] = rooms_from_placement({"h1": ["n1", "n2"], "h2": ["n3"]}, rooms)
    assert h1.free == {"VCPU": 6.0, "MEMORY_MB": 4096.0, "DISK_GB": 90.0}
    assert h1.capacity["VCPU"] == 16.0
    # A node Placement did not list has room for none of them.
    assert h2.free == {"VCPU": 0.0, "MEMORY_MB": 0.0, "DISK_GB": 0.0}
    assert not h2.takes(asks(1, 1))


def test_hypervisor_rooms_judge_memory_and_disk_not_vcpu() -> None:
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
    # Its VCPUs are all used, at a ratio not known here: not judged.
    assert room.takes(asks(8, 1024, 10))
    assert not room.takes(asks(1, 4000))
