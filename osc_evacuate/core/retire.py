"""Retiring a dead host: what may be removed, and why. Pure.

A host that never comes back keeps its compute service, its compute
node's resource provider and the allocations on it: the evacuated
servers' (their evacuation records stay ``done``, since only that host's
nova-compute start-up completes them), and any left by a failed clean-up.
What Nova 34's code does, and so what this module allows:

- ``DELETE /os-services/{id}`` (api/openstack/compute/services.py)
  refuses (409) while any server is on the host, or any migration record
  that involves one of its nodes is in progress (any status but
  confirmed, reverted, error, failed, completed, cancelled, done). Else
  it removes the host from its aggregates, deletes its compute nodes'
  providers "cascade" (report.py, delete_resource_provider: the
  allocations of servers on the node, then those of the ``done``
  evacuations from the host, then each provider of the tree), the host
  mapping and the service with its compute node records. A provider
  Placement refuses to delete (409: something is still allocated against
  it) is left without a word.
- ``nova-manage placement audit`` calls an allocation on a compute
  node's provider orphaned when it holds one of Nova's resource classes
  and its consumer is neither a server on that node nor a migration in
  progress there; ``--delete`` takes that provider out of the consumer's
  allocations (the others stay).

So, once refuse() lets the host go (forced down, no server on it, no
migration in progress that involves it), every allocation of Nova's on
its providers is one the audit removes, and the only ones plan() removes:
each is taken out of its consumer's allocations, the consumer's others
kept, as the start-up does for an evacuated server. One that is not
Nova's (no Nova resource class) would keep the provider in Placement:
plan() refuses and removes nothing.

The ``done`` records stay: no API changes a migration's status. They
matter only to a nova-compute that starts under the host's name (see
RECORDS_NOTE).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence

from osc_evacuate.core.errors import NotYet, Refused
from osc_evacuate.core.lifecycle import HostState
from osc_evacuate.core.models import EVACUATION, Server
from osc_evacuate.core.retire_models import (
    NOVA_RESOURCE_CLASSES,
    HostMigration,
    Kind,
    Provider,
    Removal,
    Resources,
    ServersOnHost,
)

LOG = logging.getLogger(__name__)

MOST = 5  # items named in a line
AUDIT = "orphaned by Nova's own audit"

RECORDS_NOTE = (
    "{count} evacuation record(s) from {host} stay done in Nova's "
    "database: Nova's API cannot complete them. They are harmless while no "
    "nova-compute runs as {host}. A host reinstalled under that name "
    "cannot complete them at its first start (it has no compute node "
    "yet): restart its nova-compute once more before any of those servers "
    "is moved onto it (openstack host evacuation show {host} then no "
    "longer says waiting). A start while they are done destroys the guest "
    "of any of those servers it finds there."
)


@dataclasses.dataclass(frozen=True)
class Facts:
    """What is known of the host, to judge the allocations on it."""

    host: str
    providers: Mapping[str, Provider]  # the host's, by uuid
    moves: Sequence[HostMigration]  # every record that involves it
    # Each consumer's server, None when Nova has no server of that id
    # (consumers that are migration records are not looked up).
    servers: Mapping[str, Server | None]


@dataclasses.dataclass(frozen=True)
class Plan:
    host: str
    allocations: tuple[Removal, ...]
    service: Removal
    providers: tuple[Removal, ...]  # children before their parents
    records: tuple[Removal, ...]  # done records, which stay

    @property
    def rows(self) -> tuple[Removal, ...]:
        return (
            *self.allocations,
            self.service,
            *self.providers,
            *self.records,
        )

    @property
    def note(self) -> str | None:
        if not self.records:
            return None
        return RECORDS_NOTE.format(count=len(self.records), host=self.host)


def refuse(state: HostState, moves: Sequence[HostMigration]) -> None:
    """Refused unless the host can be retired: its nova-compute forced
    down (down by its heartbeat alone may come back), nothing under way
    (NotYet), no server on it (ServersOnHost). Pure."""
    refusal = _refusal(state, moves)
    host = state.service.host
    if refusal is None:
        LOG.debug("%s: forced down, nothing on it: may be retired", host)
        return
    LOG.debug("%s: refused (%s)", host, type(refusal).__name__)
    raise refusal


def _refusal(
    state: HostState, moves: Sequence[HostMigration]
) -> Refused | None:
    service = state.service
    host = service.host
    if not service.id:
        return Refused(f"nova-compute on {host} cannot be read (down cell)")
    if service.is_up:
        return Refused(
            f"nova-compute on {host} is up: only a dead host is retired"
        )
    if not service.forced_down:
        return Refused(
            f"{host} is down by its heartbeat only and may come back: "
            "fence it, mark it forced down (openstack compute service set "
            f"--down {host} nova-compute), then run this again"
        )
    if state.under_way:
        return NotYet(
            f"{host} cannot be retired yet: {state.missing}. Wait until "
            f"they are done (openstack host evacuation show {host})"
        )
    moving = [m for m in moves if m.in_progress]
    if moving:
        return NotYet(
            f"{host} cannot be retired yet: {_moves(moving)} involving it "
            f"{'is' if len(moving) == 1 else 'are'} in progress, and Nova "
            "refuses (409) to delete its service until they end"
        )
    if state.servers:
        names = ", ".join(s.name or s.id for s in state.servers[:MOST])
        return ServersOnHost(
            f"{host} cannot be retired: {len(state.servers)} server(s) "
            f"still on it ({names}); Nova refuses (409) to delete its "
            f"service while it hosts any. Evacuate them (openstack host "
            f"evacuate {host} --wait) or delete them, then run this again"
        )
    return None


def _moves(moving: Sequence[HostMigration]) -> str:
    shown = ", ".join(
        f"{m.migration_type} {m.id} of {m.instance_uuid} {m.status}"
        for m in moving[:MOST]
    )
    more = len(moving) - MOST
    return f"{len(moving)} migration record(s) ({shown}" + (
        f" and {more} more)" if more > 0 else ")"
    )


def plan(
    state: HostState,
    facts: Facts,
    allocations: Mapping[str, Mapping[str, Resources]],
) -> Plan:
    """What retiring the host removes, from what was read (allocations:
    by provider, then consumer). Refused, removing nothing, when an
    allocation on its providers is not one Nova's audit removes. Pure."""
    held: dict[str, dict[str, Resources]] = {}
    for provider in sorted(allocations):
        for consumer, resources in allocations[provider].items():
            held.setdefault(consumer, {})[provider] = resources
    removals, kept = [], []
    for consumer in sorted(held):
        judged = judge_allocation(consumer, held[consumer], facts)
        if isinstance(judged, str):
            kept.append(judged)
        else:
            removals.append(judged)
    if kept:
        raise Refused(
            f"{facts.host} cannot be retired: {len(kept)} allocation(s) on "
            f"its resource providers are not orphaned by Nova's audit: "
            f"{'; '.join(kept[:MOST])}. Nothing was removed"
        )
    found = Plan(
        host=facts.host,
        allocations=tuple(removals),
        service=_service(state),
        providers=_providers(facts),
        records=_records(state, facts),
    )
    LOG.debug(
        "%s: %d allocations, %d providers, %d done records left",
        facts.host,
        len(found.allocations),
        len(found.providers),
        len(found.records),
    )
    return found


def judge_allocation(
    consumer: str, held: Mapping[str, Resources], facts: Facts
) -> Removal | str:
    """The removal of the consumer's allocations on the host's providers
    (held: resources by provider), and why Nova's audit calls them
    orphaned; or, as a string, why they must stay. Pure."""
    what = _resources(held, facts.providers)
    classes = {rc for resources in held.values() for rc in resources}
    if not classes & NOVA_RESOURCE_CLASSES:
        return (
            f"{consumer} holds {what}: none of Nova's resource classes, so "
            "not Nova's to remove"
        )
    move = next((m for m in facts.moves if m.uuid == consumer), None)
    if move is not None:
        if move.in_progress:
            return (
                f"{consumer} is {move.migration_type} {move.id}, {move.status}"
            )
        why = (
            f"{what}, held by {move.migration_type} record {move.id}, "
            f"{move.status}: no longer in progress; {AUDIT}"
        )
        name = f"{move.migration_type} {move.id}"
        return Removal(
            Kind.ALLOCATION, consumer, name, why, tuple(sorted(held))
        )
    server = facts.servers.get(consumer)
    if server is None:
        why = (
            f"{what}: Nova has no server or migration of this ID (a deleted "
            f"server's, or left by a failed clean-up); {AUDIT}"
        )
        return Removal(Kind.ALLOCATION, consumer, "", why, tuple(sorted(held)))
    if server.host == facts.host:
        return f"{consumer} is server {server.name}, still on {facts.host}"
    why = f"{what}: {_elsewhere(server, facts)}; {AUDIT}"
    return Removal(
        Kind.ALLOCATION, consumer, server.name, why, tuple(sorted(held))
    )


def _elsewhere(server: Server, facts: Facts) -> str:
    """Where the server is, and its latest evacuation from the host."""
    there = server.host or "no host"
    evacuations = [
        m
        for m in facts.moves
        if m.instance_uuid == server.id
        and m.migration_type == EVACUATION
        and m.source_compute == facts.host
    ]
    if not evacuations:
        return f"{server.name} is on {there}, not on {facts.host}"
    latest = max(evacuations, key=lambda m: m.id)
    if latest.status == "done":
        return (
            f"{server.name} was evacuated to {there} (evacuation "
            f"{latest.id} done): what nova-compute's start-up on "
            f"{facts.host} would remove"
        )
    return (
        f"{server.name} is on {there}, not on {facts.host} (evacuation "
        f"{latest.id} {latest.status})"
    )


def _resources(
    held: Mapping[str, Resources], providers: Mapping[str, Provider]
) -> str:
    """ "VCPU 1, MEMORY_MB 512 on compute01"."""
    parts = []
    for uuid in sorted(held):
        amounts = ", ".join(
            f"{rc} {n}" for rc, n in sorted(held[uuid].items())
        )
        name = providers[uuid].name if uuid in providers else uuid
        parts.append(f"{amounts} on {name}")
    return "; ".join(parts)


def _service(state: HostState) -> Removal:
    host = state.service.host
    why = (
        f"nova-compute of {host}: forced down, no server and no migration "
        "in progress on it. Nova deletes with it the host's compute node "
        "records, host mapping and aggregate memberships, and its nodes' "
        "resource providers"
    )
    return Removal(Kind.SERVICE, state.service.id, host, why)


def _providers(facts: Facts) -> tuple[Removal, ...]:
    """The host's providers, the deepest first (Placement deletes a
    parent only once its children are gone)."""
    providers = facts.providers

    def depth(p: Provider) -> int:
        n, parent = 0, p.parent_uuid
        while parent is not None and parent in providers:
            n, parent = n + 1, providers[parent].parent_uuid
            if n > len(providers):  # a loop: Placement allows none
                break
        return n

    rows = []
    for p in sorted(providers.values(), key=lambda p: (-depth(p), p.name)):
        root = providers.get(p.root_uuid)
        if p.uuid == p.root_uuid:
            whose = f"compute node {p.name} of {facts.host}"
        else:
            whose = f"in the tree of {root.name if root else p.root_uuid}"
        why = (
            f"{whose}: Nova deletes it with the service; left by Nova, it "
            "is deleted once nothing is allocated against it"
        )
        rows.append(Removal(Kind.PROVIDER, p.uuid, p.name, why))
    return tuple(rows)


def _records(state: HostState, facts: Facts) -> tuple[Removal, ...]:
    """The done records from the host: they stay (RECORDS_NOTE)."""
    names = {e.record.instance_uuid: e.name for e in state.start_up}
    rows = []
    for record in sorted(state.done, key=lambda m: m.id):
        server = facts.servers.get(record.instance_uuid)
        name = server.name if server else names.get(record.instance_uuid, "")
        why = (
            f"evacuation of {name or record.instance_uuid} to "
            f"{record.dest_compute or '?'}: stays done, as no API completes "
            f"it; harmless while no nova-compute runs as {facts.host}"
        )
        rows.append(Removal(Kind.RECORD, str(record.id), name, why))
    return tuple(rows)
