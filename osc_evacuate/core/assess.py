"""The plan's judgement of each row: its risk, what Nova would refuse for
its flavor or image, and whether the rows to submit fit where Nova's
scheduler can put them, and why not.

The reads cost the same whatever the number of servers: flavors (only
before 2.47, when servers name theirs by id) and images grouped by id,
Placement twice, the server groups once, and the compute services and
hypervisors the preflight already read. Only when some rule could hold a
server: the servers of each compute node (one list, when a server group
has members among them) and the failed hosts' servers at 2.96 for their
pinned zones (when the hosts are not all in one zone). The reads beside
the servers are plan_reads.py's; what is judged is risk.py's, demand.py's,
groups.py's and capacity.py's; this module gathers their inputs and
returns the rows with their judgement.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

from osc_evacuate.core import (
    attached,
    capacity,
    demand,
    groups,
    plan_reads,
    risk,
)
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.groups import Where
from osc_evacuate.core.models import (
    NOT_NEEDED,
    Action,
    CapacityCheck,
    ComputeService,
    EvacuateOptions,
    Fit,
    Flavor,
    Hypervisor,
    PlannedRow,
    Server,
)
from osc_evacuate.core.models.cloud import ServerGroup
from osc_evacuate.core.plan import skipped
from osc_evacuate.core.plan_reads import Found

LOG = logging.getLogger(__name__)

# A row the check could not judge: its flavor is not known; or nothing
# was judged (the check says why).
NO_FLAVOR = capacity.Judgement(Fit.UNKNOWN, "flavor not known")
NOT_JUDGED = capacity.Judgement(Fit.UNKNOWN)


def assess(
    api: ComputeAPI,
    rows: Sequence[PlannedRow],
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService],
    hypervisors: list[Hypervisor],
    found: Found,
) -> tuple[list[PlannedRow], CapacityCheck]:
    """The rows with their risk (skipped where Nova would refuse for their
    flavor or image) and, for those to submit, their fit; and how the fit
    was judged.

    services: every compute service, the sources' included (their zones
    are judged); found: what beside() read for these rows."""
    out = [
        _risk(row, found, options.shared_storage)
        if row.action is not Action.NONE
        else row
        for row in rows
    ]
    return _capacity(api, out, options, sources, services, found, hypervisors)


def beside(
    api: ComputeAPI,
    rows: Sequence[PlannedRow],
    room: plan_reads.RoomReads,
) -> Found:
    """What assess judges the rows by, read at once (plan_reads.py): the
    flavors and images of every row judged and the attachments of those
    to submit, with the room under way."""
    return plan_reads.read(
        api,
        [r.before for r in rows if r.action is not Action.NONE],
        [r.before for r in rows if r.action is Action.SUBMITTED],
        room,
    )


def capacity_of(
    api: ComputeAPI,
    rows: Sequence[PlannedRow],
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService],
    hypervisors: list[Hypervisor],
    room: plan_reads.RoomReads,
    flavors: Mapping[str, Flavor],
) -> tuple[list[PlannedRow], CapacityCheck]:
    """The capacity check alone, for a job that judges its own risks (a
    drain): each row to submit with its fit, and how it was judged;
    flavors: those read already, by id."""
    todo = [r.before for r in rows if r.action is Action.SUBMITTED]
    found = plan_reads.read(
        api, todo, todo, room, attachments=False, known=flavors
    )
    return _capacity(
        api, list(rows), options, sources, services, found, hypervisors
    )


def _risk(row: PlannedRow, found: Found, shared_storage: bool) -> PlannedRow:
    server = row.before
    flavor = _flavor_of(server, found.flavors)
    image = found.images.get(server.image_id or "")
    refused = (
        row.error
        if row.action is Action.SKIPPED and not row.filtered
        else None
    )
    if refused is None and row.action is Action.SUBMITTED:
        refused = risk.nova_refuses(flavor, image) or attached.refusal(
            server, found.attached
        )
        if refused is not None:
            row = skipped(row, refused, filtered=False)
    said = risk.risk(server, flavor, refused, shared_storage)
    submitted = row.action is Action.SUBMITTED
    unseen = demand.unseen(flavor) if flavor and submitted else None
    volumes = attached.risk(server, found.attached) if submitted else None
    joined = "; ".join(x for x in (said, unseen, volumes) if x) or None
    return dataclasses.replace(row, risk=joined)


def _flavor_of(server: Server, flavors: dict[str, Flavor]) -> Flavor | None:
    return server.flavor or flavors.get(server.flavor_id or "")


def _capacity(
    api: ComputeAPI,
    rows: list[PlannedRow],
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService],
    found: Found,
    hypervisors: list[Hypervisor],
) -> tuple[list[PlannedRow], CapacityCheck]:
    """Each row to submit's fit, and why (see capacity.py)."""
    todo = [r for r in rows if r.action is Action.SUBMITTED]
    asks = {}
    for row in todo:
        flavor = _flavor_of(row.before, found.flavors)
        if flavor is not None:
            image = found.images.get(row.before.image_id or "")
            asks[row.id] = demand.ask_of(
                flavor,
                row.before.volume_backed,
                image.properties if image else None,
            )
    if not asks:
        check = NOT_NEEDED if not todo else CapacityCheck(None, 0, "flavors")
        return _fitted(rows, {}), check
    try:
        hosts, check, room = _room(
            options, sources, services, (found.room, hypervisors)
        )
    except ComputeAPIError as exc:
        LOG.debug("capacity not judged: %s", exc)
        return _fitted(rows, {}), CapacityCheck(None, 0, str(exc))
    where = _where(
        api,
        list(asks),
        options,
        (sources, services, hosts, hypervisors),
        found.room.groups(),
    )
    judged = capacity.pack(asks, room, where)
    for row in todo:
        judged.setdefault(row.id, NO_FLAVOR)
    LOG.debug(
        "capacity by %s on %d hosts (%s): %s",
        check.source,
        check.hosts,
        ", ".join(hosts),
        {f.value: sum(j.fit is f for j in judged.values()) for f in Fit},
    )
    return _fitted(rows, judged), check


def _room(
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService],
    read: tuple[plan_reads.RoomReads, list[Hypervisor]],
) -> tuple[list[str], CapacityCheck, list[capacity.HostRoom]]:
    """The hosts that can take the servers, and the room on each:
    Placement's, or the hypervisors' where Placement cannot say. read: the
    room's reads under way, and the hypervisors."""
    under_way, hypervisors = read
    hosts = _candidates(options, sources, services)
    rooms = under_way.rooms()
    if rooms is not None:
        nodes = _nodes(hosts, hypervisors)
        return (
            hosts,
            CapacityCheck("placement", len(hosts)),
            capacity.rooms_from_placement(nodes, rooms),
        )
    return (
        hosts,
        CapacityCheck("hypervisor statistics", len(hosts)),
        capacity.rooms_from_hypervisors(hosts, hypervisors),
    )


def _fitted(
    rows: list[PlannedRow], judged: dict[str, capacity.Judgement]
) -> list[PlannedRow]:
    """Each row to submit with its fit (UNKNOWN where not judged)."""
    return [
        dataclasses.replace(
            row,
            fit=judged.get(row.id, NOT_JUDGED).fit,
            fit_why=judged.get(row.id, NOT_JUDGED).why,
        )
        if row.action is Action.SUBMITTED
        else row
        for row in rows
    ]


def _where(
    api: ComputeAPI,
    servers: list[str],
    options: EvacuateOptions,
    read: tuple[
        set[str], Sequence[ComputeService], list[str], list[Hypervisor]
    ],
    found: Sequence[ServerGroup],
) -> dict[str, Where]:
    """Where Nova's scheduler may put each server (groups.py), from the
    pins of the servers (only when zones could matter), the server groups
    found and (only for a group among the servers) where every server
    runs. read: the sources, services, candidate hosts and hypervisors."""
    sources, services, hosts, hypervisors = read
    zones = {s.host: s.zone for s in services}
    pinned: dict[str, str | None] = {}
    if not options.force and groups.zones_matter(hosts, sources, zones):
        pinned = _pinned(api, sources)
    hard = [
        g
        for g in found
        if g.policy in (groups.AFFINITY, groups.ANTI_AFFINITY)
        and g.members & set(servers)
    ]
    hosts_of = _hosts_of(api, hypervisors) if hard else None
    return groups.where_each_goes(
        servers,
        pinned,
        {h: zones.get(h) for h in hosts},
        hard,
        hosts_of,
        sources,
        options.force,
    )


def _pinned(api: ComputeAPI, sources: set[str]) -> dict[str, str | None]:
    """The pinned zone of every server on the hosts (none known before
    2.96: then zones are not judged)."""
    out: dict[str, str | None] = {}
    for host in sorted(sources):
        found = plan_reads.read_or_none(
            f"pinned zones on {host}", api.pinned_zones, host
        )
        out.update(found or {})
    return out


def _hosts_of(
    api: ComputeAPI, hypervisors: list[Hypervisor]
) -> dict[str, str] | None:
    """The host of every server of the cloud, by server id: one list of
    the compute nodes and their servers (None before 2.53)."""
    by_node = plan_reads.read_or_none("servers by node", api.servers_by_node)
    if by_node is None:
        return None
    hosts = {hv.node: hv.host for hv in hypervisors}
    return {
        sid: hosts.get(node, node)
        for node, sids in by_node.items()
        for sid in sids
    }


def _candidates(
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService],
) -> list[str]:
    """The hosts that can take the servers: the target, or every compute
    that is up and enabled, but the hosts being evacuated."""
    if options.host:
        return [options.host]
    return sorted(
        s.host
        for s in services
        if s.is_up and s.status == "enabled" and s.host not in sources
    )


def _nodes(
    hosts: list[str], hypervisors: list[Hypervisor]
) -> dict[str, list[str]]:
    """Each candidate host's compute nodes (Placement's providers); an
    ironic one takes no evacuated server, so it has none."""
    nodes: dict[str, list[str]] = {h: [] for h in hosts}
    for hv in hypervisors:
        if hv.host in nodes and not hv.bare_metal:
            nodes[hv.host].append(hv.node)
    return nodes
