"""Will the servers fit on the hosts that can take them? Judged before any
evacuation is sent, so that NoValidHost does not surface server by server
after the requests are gone.

Free room, per resource class, is ``(total - reserved) * allocation_ratio
- used``: Placement's ``capacity - used``, as the provider summaries of
its allocation candidates give them for every provider at once. Without
Placement (no endpoint, not allowed), os-hypervisors' own figures stand in
(Nova gives them up to 2.87), at an allocation ratio of 1.0, the default
of memory and disk; a host's VCPU ratio is not known there, so VCPU is
not judged then.

The servers are packed largest first (memory, then VCPU, then disk), each
on the candidate host that keeps the most memory free, as Nova's RAM
weigher spreads them, but on one that stays out of its last TIGHT share
of every resource when any can. A server fits, is tight (it fits only by
taking a host into its last TIGHT share), or finds no room.

Pure: the demands and the rooms come in, verdicts go out.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence

from osc_evacuate.core.models import Fit, Flavor, Hypervisor, Room

LOG = logging.getLogger(__name__)

VCPU, MEMORY_MB, DISK_GB = "VCPU", "MEMORY_MB", "DISK_GB"
RESOURCE_CLASSES = (VCPU, MEMORY_MB, DISK_GB)
# A host left with less than this share of a resource is near full.
TIGHT = 0.10
# Flavor extra specs that replace what the flavor asks for (Nova's own
# "resources:<class>=<amount>"; 0 asks for none).
RESOURCES_SPEC = "resources:"


Demand = Mapping[str, int]


def demand_of(flavor: Flavor, volume_backed: bool) -> dict[str, int]:
    """What Nova's scheduler claims for a server of this flavor, as
    nova.scheduler.utils.resources_from_flavor works it out: the root disk
    only when it is not a volume, swap in whole GB."""
    disk = (0 if volume_backed else flavor.disk) + flavor.ephemeral
    demand = {
        VCPU: flavor.vcpus,
        MEMORY_MB: flavor.ram,
        DISK_GB: disk + math.ceil(flavor.swap / 1024),
    }
    for key, value in flavor.extra_specs.items():
        rc = key.removeprefix(RESOURCES_SPEC)
        if key.startswith(RESOURCES_SPEC) and rc in demand:
            try:
                demand[rc] = int(value)
            except ValueError:
                LOG.debug("ignoring %s=%r: not a number", key, value)
    return demand


def smallest(demands: Sequence[Demand]) -> dict[str, int]:
    """What every server asks at least, class by class: a host without
    room for that has room for none of them."""
    return {rc: min(d.get(rc, 0) for d in demands) for rc in RESOURCE_CLASSES}


@dataclasses.dataclass
class HostRoom:
    """One candidate host: its capacity and what is free, by class. A
    class missing from capacity is not judged (not known)."""

    host: str
    capacity: dict[str, float]
    free: dict[str, float]

    def takes(self, demand: Demand) -> bool:
        return all(
            self.free[rc] >= amount
            for rc, amount in demand.items()
            if rc in self.free and amount
        )

    def stays_roomy(self, demand: Demand) -> bool:
        """After taking demand, is it still out of its last TIGHT share?"""
        return all(
            self.free[rc] - demand.get(rc, 0) >= TIGHT * self.capacity[rc]
            for rc in self.free
        )

    def take(self, demand: Demand) -> None:
        for rc in self.free:
            self.free[rc] -= demand.get(rc, 0)


def rooms_from_placement(
    nodes: Mapping[str, Sequence[str]], rooms: Mapping[str, Room]
) -> list[HostRoom]:
    """Each candidate host's room, summed over its nodes; a node Placement
    did not list has room for none of the servers."""
    out = []
    for host, names in nodes.items():
        capacity = dict.fromkeys(RESOURCE_CLASSES, 0.0)
        free = dict.fromkeys(RESOURCE_CLASSES, 0.0)
        for name in names:
            room = rooms.get(name)
            if room is None:
                continue
            for rc in RESOURCE_CLASSES:
                total, used = room.resources.get(rc, (0.0, 0.0))
                capacity[rc] += total
                free[rc] += total - used
        out.append(HostRoom(host, capacity, free))
    return out


def rooms_from_hypervisors(
    hosts: Sequence[str], hypervisors: Sequence[Hypervisor]
) -> list[HostRoom]:
    """Each candidate host's room from os-hypervisors' figures: memory and
    disk at ratio 1.0; VCPU not judged (its ratio is not known here)."""
    out = []
    for host in hosts:
        capacity = {MEMORY_MB: 0.0, DISK_GB: 0.0}
        free = {MEMORY_MB: 0.0, DISK_GB: 0.0}
        for hv in hypervisors:
            if hv.host != host:
                continue
            for rc, total, used in (
                (MEMORY_MB, hv.memory_mb, hv.memory_mb_used),
                (DISK_GB, hv.local_gb, hv.local_gb_used),
            ):
                capacity[rc] += total or 0
                free[rc] += (total or 0) - (used or 0)
        out.append(HostRoom(host, capacity, free))
    return out


def _size(demand: Demand) -> tuple[int, int, int]:
    return (
        demand.get(MEMORY_MB, 0),
        demand.get(VCPU, 0),
        demand.get(DISK_GB, 0),
    )


def pack(
    demands: Mapping[str, Demand], hosts: Sequence[HostRoom]
) -> dict[str, Fit]:
    """Each server's fit, packing the largest first (see the module doc).

    The hosts' free room is used up as the servers are placed."""
    fits = {}
    for key in sorted(demands, key=lambda k: _size(demands[k]), reverse=True):
        demand = demands[key]
        able = [h for h in hosts if h.takes(demand)]
        if not able:
            fits[key] = Fit.NO_ROOM
            continue
        roomy = [h for h in able if h.stays_roomy(demand)]
        chosen = max(roomy or able, key=lambda h: h.free.get(MEMORY_MB, 0.0))
        chosen.take(demand)
        fits[key] = Fit.FITS if roomy else Fit.TIGHT
        LOG.debug("capacity: %s %s on %s", key, fits[key].value, chosen.host)
    return fits
