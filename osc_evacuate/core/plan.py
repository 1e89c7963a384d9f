"""Decide, per server, what an evacuation run does with it.

Reruns are safe because the plan reads the evacuation records first: what
was evacuated is reported and left alone, what is still on its way is waited
for, and only the rest is submitted.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable

from osc_evacuate.core.clock import parse_nova_time
from osc_evacuate.core.models import Migration, Server, TargetState
from osc_evacuate.core.outcome import (
    Action,
    Result,
    ServerOutcome,
    expected_status,
)

LOG = logging.getLogger(__name__)
_EVACUABLE = "active, stopped or error"


def latest_by_instance(
    migrations: Iterable[Migration],
) -> dict[str, Migration]:
    latest: dict[str, Migration] = {}
    for mig in migrations:
        old = latest.get(mig.instance_uuid)
        if old is None or mig.id > old.id:
            latest[mig.instance_uuid] = mig
    return latest


def plan_servers(
    on_host: Iterable[Server],
    migrations: list[Migration],
    target: TargetState,
) -> list[ServerOutcome]:
    """Rows for the servers still on the failed host."""
    latest = latest_by_instance(migrations)
    ids: dict[str, set[int]] = {}
    for record in migrations:
        ids.setdefault(record.instance_uuid, set()).add(record.id)
    rows = []
    for server in on_host:
        known = frozenset(ids.get(server.id, ()))
        mig = latest.get(server.id)
        row = ServerOutcome(
            before=server,
            action=Action.SUBMITTED,
            result=Result.SUBMITTED,
            expected_status=expected_status(server, target),
            known_migrations=known,
        )
        if mig is not None and not mig.finished:
            row.action, row.result = Action.RESUMED, Result.IN_PROGRESS
            row.migration = mig
            row.known_migrations = known - {mig.id}
        elif not server.evacuable:
            row.action, row.result = Action.SKIPPED, Result.SKIPPED
            row.expected_status = None
            row.error = (
                f"vm_state {server.vm_state or 'unknown'} is not evacuable "
                f"(Nova evacuates {_EVACUABLE} servers)"
            )
        LOG.debug(
            "plan %s (%s): %s%s",
            server.id,
            server.status,
            row.action.value,
            _why(row, mig),
        )
        rows.append(row)
    return rows


def _why(row: ServerOutcome, mig: Migration | None) -> str:
    if row.action is Action.RESUMED and mig is not None:
        return f", migration {mig.id} is still {mig.status}"
    if row.action is Action.SKIPPED:
        return f", {row.error}"
    return f", to end {row.expected_status}"


def evacuated_since(
    migrations: Iterable[Migration],
    on_host: set[str],
    since: datetime.datetime | None,
) -> dict[str, Migration]:
    """Servers already evacuated off the host during this outage.

    The outage starts at the service's last heartbeat: evacuations are only
    accepted once it stopped, and older records belong to earlier outages.
    """
    found = {}
    for uuid, mig in latest_by_instance(migrations).items():
        if uuid in on_host or not mig.succeeded:
            continue
        if since is None or parse_nova_time(mig.created_at) >= since:
            LOG.debug(
                "plan %s: already evacuated (migration %s %s, since %s)",
                uuid,
                mig.id,
                mig.status,
                since,
            )
            found[uuid] = mig
    return found


def already_evacuated_row(server: Server, mig: Migration) -> ServerOutcome:
    # The "before" view is reconstructed: the server is no longer there.
    before = Server(
        id=server.id,
        name=server.name,
        project_id=server.project_id,
        status="",
        vm_state="",
        task_state=None,
        host=mig.source_compute,
    )
    return ServerOutcome(
        before=before,
        action=Action.NONE,
        result=Result.ALREADY_EVACUATED,
        migration=mig,
        after=server,
    )
