"""Where Nova's scheduler may put each evacuated server, room aside: its
availability zone, and its server group's policy.

What an evacuation honours (Nova 34). The conductor schedules the
server's own RequestSpec, the failed host ignored
(nova.conductor.manager.ComputeTaskManager.rebuild_instance, then
_schedule_instances), and the destination checks the groups again:

Availability zone
    The request filter map_az_to_placement_aggregate
    (nova.scheduler.request_filter) holds the server to the aggregates of
    ``request_spec.availability_zone``: the zone it was pinned to when it
    booted (its user's choice, [DEFAULT]default_schedule_zone, or its
    volume's zone when cross_az_attach is off), None when it was not
    pinned. Servers show it as ``pinned_availability_zone`` from 2.96.
    ``OS-EXT-AZ:availability_zone`` is where a server runs now, its host's
    zone, which an unpinned server may leave: a server is held to a zone
    only when it is known pinned to it, so not before 2.96. A forced host
    (--force) skips the scheduler, zones and all. A zone is a compute
    service's ``zone``: a pin to Nova's default zone, which no aggregate
    carries, does not hold Nova's scheduler, and holds it here.
Anti-affinity
    ServerGroupAntiAffinityFilter (nova.scheduler.filters.affinity_filter)
    passes a host holding fewer than max_server_per_host members of the
    group (1 unless its rules say more, 2.64+), and the destination checks
    again, counting evacuations under way to it
    (nova.compute.manager.ComputeManager._validate_instance_group_policy,
    which rebuild_instance runs for an evacuation, forced host or not). So
    the members evacuated together land on distinct hosts, and none on a
    host that already holds its share of them.
Affinity
    ServerGroupAffinityFilter passes only the group's hosts, where its
    members run (nova.scheduler.utils.setup_instance_group): the failed
    host, which the conductor ignores, unless some run elsewhere; and the
    destination wants a host where another member runs. Members evacuated
    off the host they share find none: Nova fails each with NoValidHost
    and leaves it in ERROR (its own functional test,
    test_evacuate_with_affinity_no_valid_host). Nova does not move the
    group together; only a member whose fellows already run elsewhere can
    join them, and with a forced host a group's only member goes anywhere.

soft-affinity and soft-anti-affinity only weigh the hosts: not judged.

Pure: the pins, the hosts' zones, the groups and where their members run
come in; each server's Where goes out, for capacity.pack.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence, Set

from osc_evacuate.core.models.cloud import ServerGroup

LOG = logging.getLogger(__name__)

AFFINITY, ANTI_AFFINITY = "affinity", "anti-affinity"
# Where a placement rule puts each server, by group id: how many members
# the packing placed on each host so far.
Placed = dict[str, collections.Counter[str]]


@dataclasses.dataclass(frozen=True)
class Spread:
    """An anti-affinity group: at most `most` of its members on a host."""

    group: str  # its id
    rule: str  # in words, e.g. "anti-affinity group web"
    most: int
    on_host: Mapping[str, int]  # members not evacuated now, by host


@dataclasses.dataclass(frozen=True)
class Where:
    """What holds one server: each rule that limits it to some hosts
    (in words, and the hosts it allows), and the groups it spreads with."""

    limits: tuple[tuple[str, frozenset[str]], ...] = ()
    spreads: tuple[Spread, ...] = ()

    def barred(self, host: str, placed: Placed) -> list[str]:
        """The rules that keep it off host, placed: the members this
        packing has put on each host so far."""
        out = [rule for rule, hosts in self.limits if host not in hosts]
        for spread in self.spreads:
            here = placed.get(spread.group, collections.Counter())[host]
            if spread.on_host.get(host, 0) + here >= spread.most:
                out.append(spread.rule)
        return out

    def place(self, host: str, placed: Placed) -> None:
        for spread in self.spreads:
            placed.setdefault(spread.group, collections.Counter())[host] += 1


ANYWHERE = Where()


def zone_rule(zone: str) -> str:
    return f"availability zone {zone}"


def group_rule(group: ServerGroup) -> str:
    return f"{group.policy} group {group.name or group.id}"


def zones_matter(
    hosts: Iterable[str],
    sources: Iterable[str],
    zones: Mapping[str, str | None],
) -> bool:
    """Whether a pin could keep a server off some candidate host: the
    candidates and the failed hosts are not all in one zone, or a failed
    host's zone is not known."""
    sources = list(sources)
    if any(host not in zones for host in sources):
        return True
    return len({zones.get(h) for h in [*hosts, *sources]}) > 1


def where_each_goes(
    servers: Iterable[str],
    pinned: Mapping[str, str | None],
    zones: Mapping[str, str | None],
    groups: Sequence[ServerGroup],
    hosts_of: Mapping[str, str] | None,
    sources: Set[str],
    forced: bool,
) -> dict[str, Where]:
    """Each server's Where, for those some rule holds (see the module doc).

    pinned: each server's pinned zone (None or absent: not pinned, or not
    known); zones: each candidate host's zone; hosts_of: the host of
    every server of the cloud (None: not known: then only the members
    evacuated together are spread, and affinity is not judged); forced:
    the destination is forced (--force), past the scheduler."""
    wanted = set(servers)
    limits: dict[str, list[tuple[str, frozenset[str]]]] = {
        sid: [] for sid in wanted
    }
    spreads: dict[str, list[Spread]] = {sid: [] for sid in wanted}
    for sid in wanted:
        zone = None if forced else pinned.get(sid)
        if zone:
            allowed = frozenset(h for h, z in zones.items() if z == zone)
            limits[sid].append((zone_rule(zone), allowed))
    for group in groups:
        members = group.members & wanted
        if not members:
            continue
        if group.policy == ANTI_AFFINITY:
            spread = _spread(group, wanted, hosts_of)
            for sid in members:
                spreads[sid].append(spread)
        elif group.policy == AFFINITY and hosts_of is None:
            LOG.debug("%s: where its members run is not known", group.id)
        elif group.policy == AFFINITY and hosts_of is not None:
            for sid in members:
                fellows = _together(group, sid, hosts_of, sources, forced)
                if fellows is not None:
                    limits[sid].append((group_rule(group), fellows))
    out = {
        sid: Where(tuple(limits[sid]), tuple(spreads[sid]))
        for sid in sorted(wanted)
        if limits[sid] or spreads[sid]
    }
    for sid, where in out.items():
        LOG.debug(
            "placement rules of %s: %s",
            sid,
            [rule for rule, _ in where.limits]
            + [s.rule for s in where.spreads],
        )
    return out


def _spread(
    group: ServerGroup,
    wanted: Set[str],
    hosts_of: Mapping[str, str] | None,
) -> Spread:
    """The group's members not evacuated now, counted by host."""
    on_host: collections.Counter[str] = collections.Counter()
    if hosts_of is None:
        LOG.debug("%s: where its members run is not known", group.id)
    else:
        on_host.update(
            hosts_of[m] for m in group.members - wanted if m in hosts_of
        )
    return Spread(group.id, group_rule(group), group.max_per_host, on_host)


def _together(
    group: ServerGroup,
    sid: str,
    hosts_of: Mapping[str, str],
    sources: Set[str],
    forced: bool,
) -> frozenset[str] | None:
    """The hosts an affinity member may go to: where its fellows run, but
    the failed hosts; None (anywhere) when forced and it has no fellow."""
    fellows = {hosts_of[m] for m in group.members - {sid} if m in hosts_of}
    if forced and not fellows:
        return None
    return frozenset(fellows - sources)
