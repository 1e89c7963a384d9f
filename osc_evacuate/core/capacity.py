"""Will the servers fit where Nova's scheduler can put them? Judged before
any evacuation is sent, so that NoValidHost does not surface server by
server after the requests are gone.

What a server asks for is demand.py's: what the scheduler claims for it,
every resource class of it.

A host's room is Placement's ``(total - reserved) * allocation_ratio -
used``, for every class of every provider in its compute nodes' trees (a
vGPU or PCI child provider counts for its compute node), as the provider
summaries of its allocation candidates give them for every provider at
once (side_reads.rooms). A class a host does not have at all, it has no
room for. Without Placement (no endpoint, not allowed), os-hypervisors'
own figures stand in (Nova gives them up to 2.87), at an allocation ratio
of 1.0, the default of memory and disk; nothing else is judged then.

The servers are packed largest first (memory, then CPUs, then disk), each
on a host its placement rules allow (groups.py: availability zone,
anti-affinity, affinity) that keeps the most memory free, as Nova's RAM
weigher spreads them, but on one that stays out of its last TIGHT share
of what it asks when any can. A server fits, is tight (it fits only by
taking a host into its last TIGHT share), or finds no room; the
judgement says why: the classes short where it may go, or the rules that
keep it off the hosts with room for it.

Pure: the asks, the rooms and the rules come in, judgements go out.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence

from osc_evacuate.core.demand import (
    DISK_GB,
    MEMORY_MB,
    PCPU,
    VCPU,
    Amounts,
    Ask,
)
from osc_evacuate.core.groups import ANYWHERE, Placed, Where
from osc_evacuate.core.models import Fit, Hypervisor, Room

LOG = logging.getLogger(__name__)

# The order classes are named in; the others follow by name.
NAMED_FIRST = (VCPU, PCPU, MEMORY_MB, DISK_GB)
# A host left with less than this share of a resource is near full.
TIGHT = 0.10
# What Placement is asked for: every compute node with memory left comes
# back with all its room; one it leaves out has none (rooms_from_placement).
PROBE = {MEMORY_MB: 1}


@dataclasses.dataclass(frozen=True)
class Judgement:
    """A server's fit, and why when it is short: the classes it lacks,
    or the rules that keep it off the hosts with room (e.g. "CUSTOM_X",
    "anti-affinity group web", "availability zone az2")."""

    fit: Fit
    why: str | None = None


@dataclasses.dataclass
class HostRoom:
    """One candidate host: its capacity and what is free, by class.

    judged: the classes known; None: every class (one it does not have,
    it has none of)."""

    host: str
    capacity: dict[str, float]
    free: dict[str, float]
    judged: frozenset[str] | None = None

    def _judges(self, rc: str) -> bool:
        return self.judged is None or rc in self.judged

    def short_of(self, amounts: Amounts) -> list[str]:
        return [
            rc
            for rc, n in amounts.items()
            if n and self._judges(rc) and self.free.get(rc, 0.0) < n
        ]

    def use(self, ask: Ask) -> Amounts | None:
        """What it would take of the host: its first choice that fits."""
        return next((a for a in ask.choices() if not self.short_of(a)), None)

    def takes(self, ask: Ask) -> bool:
        return self.use(ask) is not None

    def lacks(self, ask: Ask) -> set[str]:
        """The classes it lacks for ask, by the choice that lacks fewest."""
        return min((set(self.short_of(a)) for a in ask.choices()), key=len)

    def tight_in(self, ask: Ask) -> list[str]:
        """The classes taking ask would take into their last TIGHT share."""
        return [
            rc
            for rc, n in (self.use(ask) or {}).items()
            if n
            and self._judges(rc)
            and self.free.get(rc, 0.0) - n < TIGHT * self.capacity.get(rc, 0)
        ]

    def take(self, ask: Ask) -> None:
        for rc, n in (self.use(ask) or {}).items():
            if self._judges(rc):
                self.free[rc] = self.free.get(rc, 0.0) - n


def rooms_from_placement(
    nodes: Mapping[str, Sequence[str]], rooms: Mapping[str, Room]
) -> list[HostRoom]:
    """Each candidate host's room, every class summed over its nodes. A
    node Placement left out of the PROBE's candidates has no memory free,
    and nothing else about it is known."""
    out = []
    for host, names in nodes.items():
        capacity: dict[str, float] = collections.defaultdict(float)
        free: dict[str, float] = collections.defaultdict(float)
        listed = [rooms[name] for name in names if name in rooms]
        for room in listed:
            for rc, (total, used) in room.resources.items():
                capacity[rc] += total
                free[rc] += total - used
        judged = None if listed or not names else frozenset(PROBE)
        out.append(HostRoom(host, dict(capacity), dict(free), judged))
    return out


def rooms_from_hypervisors(
    hosts: Sequence[str], hypervisors: Sequence[Hypervisor]
) -> list[HostRoom]:
    """Each candidate host's room from os-hypervisors' figures: memory and
    disk at ratio 1.0; nothing else judged (VCPU's ratio is not known)."""
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
        out.append(HostRoom(host, capacity, free, frozenset(capacity)))
    return out


def _size(ask: Ask) -> tuple[int, int, int]:
    amounts = ask.amounts
    return (
        amounts.get(MEMORY_MB, 0),
        amounts.get(VCPU, 0) + amounts.get(PCPU, 0),
        amounts.get(DISK_GB, 0),
    )


def pack(
    asks: Mapping[str, Ask],
    hosts: Sequence[HostRoom],
    where: Mapping[str, Where] | None = None,
) -> dict[str, Judgement]:
    """Each server's judgement, packing the largest first (see the module
    doc), each where its rules (where, by server) allow.

    The hosts' free room is used up as the servers are placed."""
    rules = where or {}
    placed: Placed = {}
    out = {}
    for key in sorted(asks, key=lambda k: _size(asks[k]), reverse=True):
        ask, held = asks[key], rules.get(key, ANYWHERE)
        allowed = [h for h in hosts if not held.barred(h.host, placed)]
        able = [h for h in allowed if h.takes(ask)]
        if not able:
            why = _why_not(ask, held, hosts, allowed, placed)
            out[key] = Judgement(Fit.NO_ROOM, why)
            LOG.debug("capacity: %s no room: %s", key, why)
            continue
        roomy = [h for h in able if not h.tight_in(ask)]
        chosen = max(roomy or able, key=lambda h: h.free.get(MEMORY_MB, 0.0))
        tight = None if roomy else _named(chosen.tight_in(ask))
        chosen.take(ask)
        held.place(chosen.host, placed)
        out[key] = Judgement(Fit.FITS if roomy else Fit.TIGHT, tight)
        LOG.debug(
            "capacity: %s %s on %s", key, out[key].fit.value, chosen.host
        )
    return out


def _why_not(
    ask: Ask,
    held: Where,
    hosts: Sequence[HostRoom],
    allowed: Sequence[HostRoom],
    placed: Placed,
) -> str:
    """Why no host takes it: the rules that bar the hosts with room for
    it; else the classes short where it may go (and the rules, when it may
    go nowhere)."""
    if not hosts:
        return "no candidate host"
    able = [h for h in hosts if h.takes(ask)]
    rules = _unique(
        rule for h in (able or hosts) for rule in held.barred(h.host, placed)
    )
    if able:
        return rules
    short = [h.lacks(ask) for h in (allowed or hosts)]
    everywhere = set.intersection(*short)
    classes = (
        _named(everywhere) if everywhere else _named(set.union(*short), " or ")
    )
    return classes if allowed else ", ".join(x for x in (rules, classes) if x)


def _unique(items: Iterable[str]) -> str:
    return ", ".join(dict.fromkeys(items))


def _named(classes: Iterable[str], sep: str = ", ") -> str:
    def order(rc: str) -> tuple[int, str]:
        named = rc in NAMED_FIRST
        return (NAMED_FIRST.index(rc) if named else len(NAMED_FIRST), rc)

    return sep.join(sorted(set(classes), key=order))
