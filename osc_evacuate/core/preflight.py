"""Everything a run reads before it sends anything, assembled into a Plan.

A plan (plan_hosts here; server_plan.plan_server) sends nothing that
changes anything. It reads the hosts' compute services, the hypervisors,
the servers and their evacuation records; refusals.py judges what must
stop the run, plan.py decides each server's row, assess.py judges risk
and capacity. A dry run shows the plan; evacuation.carry_out carries it
out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from osc_evacuate.core import (
    assess,
    history,
    host_reads,
    phases,
    plan,
    refusals,
    rescue,
    rules,
    selection_reads,
    spares,
)
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import (
    CLOCK_SKEW,
    Clock,
    SystemClock,
    nova_time,
    parse_nova_time,
)
from osc_evacuate.core.computes import find_compute_service
from osc_evacuate.core.errors import NotFound
from osc_evacuate.core.fencing import how_fenced
from osc_evacuate.core.journal import Journal
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    EVACUATION,
    SCHEDULER,
    CapacityCheck,
    ComputeService,
    HostChange,
    HostFencing,
    Hypervisor,
    Migration,
    Plan,
    PlannedRow,
    Request,
    Server,
    ServiceRequest,
)
from osc_evacuate.core.plan_reads import RoomReads

LOG = logging.getLogger(__name__)


def plan_hosts(
    api: ComputeAPI,
    hosts: Sequence[str],
    request: Request,
    clock: Clock | None = None,
    journal: Journal | None = None,
) -> Plan:
    """Every server of the hosts, and what a run would do with each."""
    sources = tuple(dict.fromkeys(hosts))
    version = choose_version(api, request, "--target-host")
    if request.filters.by_tags:
        rules.require_tags(api.version_range())
    read = _first_reads(api, sources, request, clock or SystemClock())
    services, everything, hypervisors, on_host, records, room = read
    rows = _rows(on_host, records, request, journal or Journal(None))
    rows = selection_reads.select(api, rows, request.filters)
    rows += _evacuated_earlier(api, on_host, records, request)
    rows = plan.by_host(rows, sources)
    assessed, check, chosen = _judged(
        api, rows, request, set(sources), (everything, hypervisors, room)
    )
    changes = (
        *(
            HostChange(host, change)
            for host in sources
            for change in _service_changes(api, services[host], request)
        ),
        *spares.changes(api, chosen),
    )
    return Plan(
        sources,
        version,
        tuple(assessed),
        target_of(request),
        capacity=check,
        service_changes=changes,
        service_version=(
            rules.service_version(api.version_range()) if changes else None
        ),
        fencing=tuple(
            HostFencing(h, how_fenced(services[h], request)) for h in sources
        ),
        spares=tuple(chosen),
    )


def _judged(
    api: ComputeAPI,
    rows: list[PlannedRow],
    request: Request,
    sources: set[str],
    read: tuple[list[ComputeService], list[Hypervisor], RoomReads],
) -> tuple[list[PlannedRow], CapacityCheck, list[ComputeService]]:
    """The rows with their risk and fit (assess.py), with the spares that
    give room to those without (--spare, spares.py), and their phase
    (--priority-property, phases.py); read: the services and hypervisors
    read already, and the room's reads under way. What is read beside
    the servers is read once, however often the rows are judged."""
    services, hypervisors, room = read
    beside = assess.beside(api, rows, room)

    def judge(
        now: Sequence[ComputeService],
    ) -> tuple[list[PlannedRow], CapacityCheck]:
        return assess.assess(
            api, rows, request.options, sources, now, hypervisors, beside
        )

    assessed, check = judge(services)
    chosen: list[ComputeService] = []
    if (request.spares or request.spares_reason) and spares.no_room(assessed):
        found = spares.candidates(
            services, request.spares, request.spares_reason, sources
        )
        assessed, check, chosen = spares.choose(
            services, found, (assessed, check), judge
        )
    if request.priority_property:
        assessed = phases.phased(assessed, request.priority_property)
    return assessed, check, chosen


def _rows(
    on_host: dict[str, list[Server]],
    records: dict[str, list[Migration]],
    request: Request,
    journal: Journal,
) -> list[PlannedRow]:
    """The rows of the servers still on the hosts, filtered."""
    filters = request.filters
    if request.server_names:
        everyone = [s for servers in on_host.values() for s in servers]
        ids = refusals.resolve_servers(
            request.server_names, everyone, list(on_host)
        )
        filters = dataclasses.replace(filters, servers=ids)
    rows: list[PlannedRow] = []
    for host, servers in on_host.items():
        LOG.debug(
            "%d servers on %s, %d evacuation records from it",
            len(servers),
            host,
            len(records[host]),
        )
        target = request.options.target_state
        pending = pending_requests(journal, servers)
        found = plan.plan_servers(servers, records[host], target, pending)
        rows += rescue.planned(found, target, request.rescue)
    return plan.filtered(rows, filters)


def pending_requests(
    journal: Journal, servers: list[Server]
) -> dict[str, float]:
    """Seconds each earlier unanswered request may still reach Nova."""
    now = journal.now()
    found = journal.pending(s.id for s in servers)
    return {sid: entry.until - now for sid, entry in found.items()}


def _service_of(
    api: ComputeAPI, services: Sequence[ComputeService], host: str
) -> ComputeService:
    """The host's service; where it is missing on a cloud older than
    2.69, say that a cell Nova cannot reach hides its computes."""
    try:
        return find_compute_service(services, host)
    except NotFound as exc:
        cloud = api.version_range()
        if rules.features.DOWN_CELLS.first in cloud:
            raise
        raise NotFound(
            f"{exc} Below compute API microversion "
            f"{rules.features.DOWN_CELLS.first} (this cloud: {cloud}) Nova "
            "lists nothing of a cell it cannot reach: if the host's cell is "
            "down, evacuate once it is back"
        ) from exc


FirstReads = tuple[
    dict[str, ComputeService],
    list[ComputeService],
    list[Hypervisor],
    dict[str, list[Server]],
    dict[str, list[Migration]],
    RoomReads,
]


def _first_reads(
    api: ComputeAPI, sources: Sequence[str], request: Request, clock: Clock
) -> FirstReads:
    """The services, the hypervisors, and each host's servers and records,
    read at once (host_reads.py). They are judged in the order they were
    once read in, one after another: a host refused (up, in a cell Nova
    cannot reach, bare metal) is refused before the servers' answer is
    looked at, so that a failed list never hides why."""
    kinds = (EVACUATION,)
    with host_reads.reading(api, sources, kinds, clock) as read:
        everything = read.services()
        services = {h: _service_of(api, everything, h) for h in sources}
        for service in services.values():
            _log_service(service)
            refusals.refuse_if_up(service, request.force_down)
        refusals.check_guard(everything, sources, request)
        hypervisors = read.hypervisors()
        for host in sources:
            refusals.refuse_ironic(host, hypervisors)
        options = request.options
        refusals.check_target(
            options.host, options.force, set(sources), everything
        )
        return (
            services,
            everything,
            hypervisors,
            read.servers(),
            read.records(),
            read.room,
        )


def choose_version(
    api: ComputeAPI, request: Request, host_option: str
) -> Microversion:
    version = rules.choose_microversion(
        request.options, api.version_range(), request.pinned, host_option
    )
    refusals.check_request(request, version)
    return version


def _log_service(service: ComputeService) -> None:
    LOG.debug(
        "nova-compute on %s: %s, %s, forced_down=%s, updated_at %s",
        service.host,
        service.state,
        service.status,
        service.forced_down,
        service.updated_at,
    )


def _evacuated_earlier(
    api: ComputeAPI,
    on_host: dict[str, list[Server]],
    records: dict[str, list[Migration]],
    request: Request,
) -> list[PlannedRow]:
    """Rows for the servers evacuated off the hosts earlier in this outage,
    judged as they are now: one read of the servers changed since the
    oldest of their records."""
    done: dict[str, Migration] = {}
    for host, migrations in records.items():
        done |= history.evacuated_this_outage(
            migrations, {s.id for s in on_host[host]}
        )
    if not done:
        return []
    # A server's updated_at follows its evacuation record's creation; the
    # margin covers clocks that differ between Nova's hosts.
    oldest = min(parse_nova_time(m.created_at) for m in done.values())
    since = nova_time(oldest - CLOCK_SKEW)
    changed = {s.id: s for s in api.servers_changed_since(since)}
    target = request.options.target_state
    return [
        plan.already_evacuated_row(
            changed[uuid], mig, target, request.wait is not None
        )
        for uuid, mig in done.items()
        if uuid in changed
    ]


def target_of(request: Request) -> str:
    return request.options.host or SCHEDULER


def _service_changes(
    api: ComputeAPI, service: ComputeService, request: Request
) -> list[ServiceRequest]:
    """What --force-down (and --disable-reason) change on the service."""
    if not request.force_down:
        return []
    version = rules.service_version(api.version_range())
    forced = None if service.forced_down else True
    changes = rules.service_requests(
        version,
        service.id,
        service.host,
        forced_down=forced,
        disabled_reason=request.disabled_reason,
    )
    LOG.debug(
        "--force-down: nova-compute on %s is %s; %d changes at %s",
        service.host,
        "forced down already" if service.forced_down else service.state,
        len(changes),
        version,
    )
    return changes
