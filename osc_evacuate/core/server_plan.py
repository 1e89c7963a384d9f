"""What a run of server evacuate reads before it sends anything,
assembled into a Plan: the server (by name or ID), then at once its
evacuation records, the compute services, the hypervisors and the
capacity check's room (host_reads.reading_server). A server whose host
is up is refused, but one that landed there by an earlier evacuation is
reported as done.
"""

from __future__ import annotations

import logging

from osc_evacuate.core import (
    assess,
    history,
    host_reads,
    plan,
    preflight,
    refusals,
)
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import Clock, SystemClock
from osc_evacuate.core.errors import Refused
from osc_evacuate.core.journal import Journal
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    Action,
    ComputeService,
    Migration,
    Plan,
    Request,
    Server,
)

LOG = logging.getLogger(__name__)


def plan_server(
    api: ComputeAPI,
    name_or_id: str,
    request: Request,
    clock: Clock | None = None,
    journal: Journal | None = None,
) -> Plan:
    """The server, and what a run would do with it."""
    version = preflight.choose_version(api, request, "--host")
    server = refusals.only_match(name_or_id, api.find_servers(name_or_id))
    options = request.options
    with host_reads.reading_server(
        api, server, clock or SystemClock()
    ) as read:
        everything = read.services()
        services = [s for s in everything if s.host == server.host]
        earlier = _landed_earlier(server, read.records(), services)
        if earlier is not None:
            return _already_evacuated(server, earlier, request, version)
        why = plan.refusal(server)
        if why is not None:
            raise Refused(_server_refused(server, why))
        sources: tuple[str, ...] = (server.host,) if server.host else ()
        hypervisors = read.hypervisors()
        for host in sources:
            refusals.refuse_ironic(host, hypervisors)
        refusals.check_target(
            options.host, options.force, set(sources), everything
        )
        mine = [m for m in read.records() if m.source_compute == server.host]
        journal = journal or Journal(None)
        pending = preflight.pending_requests(journal, [server])
        rows = plan.plan_servers([server], mine, options.target_state, pending)
        rows, check = assess.assess(
            api,
            rows,
            options,
            set(sources),
            everything,
            hypervisors,
            assess.beside(api, rows, read.room),
        )
    (row,) = rows
    if row.action is Action.SKIPPED:
        # What Nova would refuse for its flavor or image (a vTPM).
        raise Refused(_server_refused(server, row.error or ""))
    return Plan(
        sources, version, (row,), preflight.target_of(request), capacity=check
    )


def _landed_earlier(
    server: Server,
    migrations: list[Migration],
    services: list[ComputeService],
) -> Migration | None:
    """The earlier evacuation the server landed from, when its host is up
    (then it is the healthy destination: report it, never evacuate it
    again); a host up with no such record is refused."""
    up = [s for s in services if s.is_up]
    if not up:
        return None
    landed = history.evacuated_off(server, migrations)
    if landed is None:
        refusals.refuse_if_up(up[0])
    return landed


def _already_evacuated(
    server: Server, landed: Migration, request: Request, version: Microversion
) -> Plan:
    LOG.debug(
        "%s was evacuated from %s by migration %s",
        server.id,
        landed.source_compute,
        landed.id,
    )
    row = plan.already_evacuated_row(
        server, landed, request.options.target_state, request.wait is not None
    )
    source = landed.source_compute or ""
    return Plan((source,), version, (row,), preflight.target_of(request))


def _server_refused(server: Server, why: str) -> str:
    return f"server {server.name} ({server.id}) is {server.status}: {why}"
