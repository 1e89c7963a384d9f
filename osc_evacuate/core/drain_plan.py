"""Everything a drain reads before it moves anything, assembled into a Plan.

A drain empties a living host: its nova-compute must be up (a dead host
is host evacuate's), it is disabled first so that the scheduler puts
nothing new on it, and each of its servers is moved by live or cold
migration (drain_rows.py decides which). The plan reads the services,
the hypervisors, the servers and both kinds of migration records from
the host, at once (host_reads.py), then what the servers have attached
that Nova will not move (attached_reads.py), and judges capacity as an
evacuation's plan does; a dry run shows it; drain.carry_out carries it
out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from osc_evacuate.core import (
    assess,
    host_reads,
    plan,
    refusals,
    rules,
    selection_reads,
)
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.attached import NONE, Attachments
from osc_evacuate.core.clock import Clock, SystemClock
from osc_evacuate.core.computes import find_compute_service
from osc_evacuate.core.drain_rows import drain_rows, with_attachments
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.journal import Journal
from osc_evacuate.core.models import (
    COLD_MIGRATION,
    LIVE_MIGRATION,
    SCHEDULER,
    Action,
    ComputeService,
    DrainRequest,
    EvacuateOptions,
    Flavor,
    HostChange,
    Method,
    Migration,
    Plan,
    PlannedRow,
    Server,
    ServiceRequest,
)
from osc_evacuate.core.preflight import pending_requests
from osc_evacuate.core.rules import migrate

LOG = logging.getLogger(__name__)


def plan_drain(
    api: ComputeAPI,
    hosts: Sequence[str],
    request: DrainRequest,
    clock: Clock | None = None,
    journal: Journal | None = None,
) -> Plan:
    """Every server of the hosts, and how a drain would move each."""
    sources = tuple(dict.fromkeys(hosts))
    cloud = api.version_range()
    version = migrate.choose_drain_version(
        request.options,
        cloud,
        request.pinned,
        cold=Method.COLD in request.methods,
    )
    if request.filters.by_tags:
        rules.require_tags(cloud)
    kinds = (LIVE_MIGRATION, COLD_MIGRATION)
    with host_reads.reading(
        api, sources, kinds, clock or SystemClock()
    ) as read:
        everything = read.services()
        services = {h: find_compute_service(everything, h) for h in sources}
        for service in services.values():
            refusals.refuse_if_down(service)
        hypervisors = read.hypervisors()
        for host in sources:
            refusals.refuse_ironic(host, hypervisors)
        target = request.options.host
        refusals.check_target(target, False, set(sources), everything)
        on_host, records = read.servers(), read.records()
    rows, flavors = _rows(
        api, on_host, records, request, journal or Journal(None)
    )
    assessed, check = assess.capacity_of(
        api,
        rows,
        EvacuateOptions(host=target),
        set(sources),
        everything,
        hypervisors,
        read.room,
        flavors,
    )
    changes = tuple(
        HostChange(host, change)
        for host in sources
        for change in _disable(api, services[host], request)
    )
    return Plan(
        sources,
        version,
        tuple(assessed),
        target or SCHEDULER,
        capacity=check,
        service_changes=changes,
        service_version=(rules.service_version(cloud) if changes else None),
    )


def _rows(
    api: ComputeAPI,
    on_host: dict[str, list[Server]],
    records_of: dict[str, list[Migration]],
    request: DrainRequest,
    journal: Journal,
) -> tuple[list[PlannedRow], dict[str, Flavor]]:
    """The rows of the servers still on the hosts, filtered, and the
    flavors read for them (before 2.47), by id."""
    sources = tuple(on_host)
    everyone = [s for servers in on_host.values() for s in servers]
    flavors = api.flavors(
        {s.flavor_id for s in everyone if s.flavor is None and s.flavor_id}
    )
    rows: list[PlannedRow] = []
    for host, servers in on_host.items():
        records = records_of[host]
        LOG.debug(
            "%d servers on %s, %d migration records from it",
            len(servers),
            host,
            len(records),
        )
        found = drain_rows(
            servers,
            records,
            flavors,
            request.methods,
            request.options.block_migration,
            request.cold_fallback,
        )
        pending = pending_requests(journal, servers)
        rows += [plan.earlier(row, pending.get(row.id)) for row in found]
    filters = request.filters
    if request.server_names:
        ids = refusals.resolve_servers(
            request.server_names, everyone, list(sources)
        )
        filters = dataclasses.replace(filters, servers=ids)
    kept = plan.filtered(plan.by_host(rows, sources), filters)
    selected = selection_reads.select(api, kept, filters)
    attached = _attachments(api, selected)
    rows = [
        with_attachments(row, attached, request.cold_fallback)
        for row in selected
    ]
    return rows, flavors


def _attachments(api: ComputeAPI, rows: list[PlannedRow]) -> Attachments:
    """What the servers to move have attached; their volumes are not
    read (encryption is no risk to a migration the tool can see)."""
    todo = [r.before for r in rows if r.action is Action.SUBMITTED]
    if not todo:
        return NONE
    try:
        return api.attachments(todo, volumes=False)
    except ComputeAPIError as exc:
        LOG.debug("attachments: not read (%s)", exc)
        return NONE


def _disable(
    api: ComputeAPI, service: ComputeService, request: DrainRequest
) -> list[ServiceRequest]:
    """Disable the host first, so that nothing new lands on it; a host
    disabled already is left as it is (its reason kept)."""
    if service.status == "disabled":
        LOG.debug("%s is disabled already: left so", service.host)
        return []
    version = rules.service_version(api.version_range())
    return rules.service_requests(
        version,
        service.id,
        service.host,
        disabled_reason=request.disabled_reason,
    )
