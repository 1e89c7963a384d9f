"""Decide, per server, what an evacuation run does with it.

Reruns are safe because the plan reads the evacuation records first: what
was evacuated is reported and left alone, what is still on its way is waited
for, and only the rest is submitted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from osc_evacuate.core.models import (
    MIGRATION_DONE,
    Migration,
    Server,
    TargetState,
)
from osc_evacuate.core.outcome import (
    Action,
    Result,
    ServerOutcome,
    expected_status,
)
from osc_evacuate.core.verdict import (
    FAULT_POLLS,
    Kind,
    Observation,
    RowPolicy,
    decide,
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
            # An earlier run sent it: that attempt counts against --retries.
            row.attempts = 1
        elif (why := refusal(server)) is not None:
            row.action, row.result = Action.SKIPPED, Result.SKIPPED
            row.expected_status = None
            row.error = why
        LOG.debug(
            "plan %s (%s): %s%s",
            server.id,
            server.status,
            row.action.value,
            _why(row, mig),
        )
        rows.append(row)
    return rows


def refusal(server: Server) -> str | None:
    """Why Nova would refuse to evacuate the server, or None.

    Checked before sending: Nova answers these with a 409, or with a 500
    (UnexpectedTaskStateError) that looks like a request that may have
    landed.
    """
    if not server.evacuable:
        return (
            f"vm_state {server.vm_state or 'unknown'} is not evacuable "
            f"(Nova evacuates only {_EVACUABLE} servers)"
        )
    if server.task_state:
        return (
            f"task_state {server.task_state} is in progress, and Nova "
            "would fail the evacuation; once the task cannot finish, reset "
            f"it: openstack server set --state error {server.id}"
        )
    if not server.launched:
        return "it never launched, and Nova refuses to evacuate it"
    return None


def _why(row: ServerOutcome, mig: Migration | None) -> str:
    if row.action is Action.RESUMED and mig is not None:
        return f", migration {mig.id} is still {mig.status}"
    if row.action is Action.SKIPPED:
        return f", {row.error}"
    return f", to end {row.expected_status}"


def evacuated_this_outage(
    migrations: Iterable[Migration], on_host: set[str]
) -> dict[str, Migration]:
    """Servers already evacuated off the host during this outage.

    A record stays "done" until the host's nova-compute starts again and
    cleans up, which turns it "completed": so "done" means this outage,
    whatever the operator did to the service row since (disable, reason,
    forced-down), and "completed" an earlier one.
    """
    found = {}
    for uuid, mig in latest_by_instance(migrations).items():
        if uuid not in on_host and mig.status == MIGRATION_DONE:
            LOG.debug(
                "plan %s: evacuated this outage (migration %s)", uuid, mig.id
            )
            found[uuid] = mig
    return found


def evacuated_off(
    server: Server, migrations: Iterable[Migration]
) -> Migration | None:
    """The evacuation that took the server to where it is now, if any:
    its newest evacuation record succeeded and it left that source."""
    latest = latest_by_instance(migrations).get(server.id)
    if latest is None or not latest.succeeded:
        return None
    if server.host == latest.source_compute:
        return None
    return latest


def already_evacuated_row(
    server: Server, mig: Migration, target: TargetState, waiting: bool
) -> ServerOutcome:
    """A server evacuated earlier in this outage, judged as it is now.

    The same verdicts as the wait's decide it, so "already evacuated" is
    proven by the record and the server's state today, not assumed.
    """
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
    row = ServerOutcome(
        before=before,
        action=Action.NONE,
        result=Result.ALREADY_EVACUATED,
        expected_status=_promised_now(server, target),
        migration=mig,
        after=server,
        attempts=1,
    )
    verdict = decide(
        Observation(mig, server, mig.source_compute),
        RowPolicy(row.expected_status, 0, False, FAULT_POLLS),
    )
    evacuated = f"evacuated by migration {mig.id}"
    if verdict.kind is Kind.DELETED:
        row.result, row.error = Result.DELETED, f"{evacuated}, then deleted"
    elif verdict.kind is Kind.STOP and waiting:
        # It landed running; the promise is SHUTOFF: the wait stops it.
        row.action, row.result = Action.RESUMED, Result.IN_PROGRESS
    elif verdict.kind is Kind.KEEP_WAITING and server.task_state:
        row.result = Result.IN_PROGRESS
        row.error = f"{evacuated}; task_state {server.task_state} now"
    elif verdict.kind is not Kind.VERIFIED:
        row.result = Result.FAILED
        row.error = (
            f"{evacuated}, but it is {server.status} now, not "
            f"{row.expected_status}"
            + (f": {server.fault}" if server.fault else "")
        )
    LOG.debug(
        "plan %s: %s (%s: %s)",
        server.id,
        row.result.value,
        verdict.rule,
        row.error or server.status,
    )
    return row


def _promised_now(server: Server, target: TargetState) -> str:
    """The status that keeps the promise today. Under preserve the status
    before the outage is unknown, so any but ERROR keeps it."""
    if target is TargetState.STOPPED:
        return "SHUTOFF"
    return "ACTIVE" if server.vm_state == "error" else server.status
