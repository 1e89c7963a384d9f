"""Decide, per server, what an evacuation run does with it: its row.

Reruns are safe because the plan reads the evacuation records first: what
was evacuated is reported and left alone, what is still on its way is
waited for, and only the rest is submitted.

Pure: servers and records in, frozen PlannedRows out. The reads are
preflight.py's.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence

from osc_evacuate.core import history
from osc_evacuate.core.models import (
    Action,
    Migration,
    PlannedRow,
    Result,
    Server,
    ServerFilter,
    TargetState,
)
from osc_evacuate.core.observation import Observation, RowPolicy
from osc_evacuate.core.verdict import FAULT_POLLS, Kind, decide

LOG = logging.getLogger(__name__)
_EVACUABLE = "active, stopped or error"


def expected_status(before: Server, target: TargetState) -> str:
    """The status an evacuated server must end in under the policy.

    Servers that were ERROR end ACTIVE under preserve: evacuation rebuilds
    them, and ERROR is not a power state to restore.
    """
    if target is TargetState.STOPPED or before.vm_state == "stopped":
        return "SHUTOFF"
    return "ACTIVE"


def plan_servers(
    on_host: Iterable[Server],
    migrations: list[Migration],
    target: TargetState,
    pending: Mapping[str, float] | None = None,
) -> list[PlannedRow]:
    """Rows for the servers still on the failed host.

    pending: seconds an earlier run's unanswered request for a server may
    still reach Nova (journal.py): such a server is waited for, not sent.
    """
    latest = history.latest_by_instance(migrations)
    ids = history.ids_by_instance(migrations)
    rows = [
        _row(server, latest.get(server.id), ids.get(server.id, set()), target)
        for server in on_host
    ]
    return [earlier(row, (pending or {}).get(row.id)) for row in rows]


def earlier(row: PlannedRow, pending: float | None) -> PlannedRow:
    """The row, waited for rather than sent when an earlier run's request
    for it may still reach Nova for pending seconds (journal.py)."""
    if pending is None or row.action is not Action.SUBMITTED:
        return row
    LOG.debug(
        "plan %s: an earlier request may land for %.0f s more: waited for",
        row.id,
        pending,
    )
    return dataclasses.replace(
        row,
        action=Action.RESUMED,
        result=Result.IN_PROGRESS,
        earlier_pending=pending,
        error=(
            "an earlier run's evacuate request, never answered, may still "
            f"reach Nova for {pending:.0f} s: not sent again before then "
            "(a run with --wait waits for it)"
        ),
    )


def _row(
    server: Server,
    mig: Migration | None,
    known: set[int],
    target: TargetState,
) -> PlannedRow:
    if mig is not None and not mig.finished:
        # An earlier run sent it: that attempt counts against --retries.
        row = PlannedRow(
            before=server,
            action=Action.RESUMED,
            result=Result.IN_PROGRESS,
            expected_status=expected_status(server, target),
            migration=mig,
            known_migrations=frozenset(known - {mig.id}),
            attempts=1,
        )
    elif (why := refusal(server)) is not None:
        row = PlannedRow(server, Action.SKIPPED, Result.SKIPPED, error=why)
    else:
        row = PlannedRow(
            before=server,
            action=Action.SUBMITTED,
            result=Result.SUBMITTED,
            expected_status=expected_status(server, target),
            known_migrations=frozenset(known),
        )
    LOG.debug(
        "plan %s (%s): %s%s",
        server.id,
        server.status,
        row.action.value,
        _why(row),
    )
    return row


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


def by_host(
    rows: Sequence[PlannedRow], sources: Sequence[str]
) -> list[PlannedRow]:
    """Host by host, by name: Nova's order (newest first, servers booted
    in the same second in any order) would change from run to run."""
    order = {host: n for n, host in enumerate(sources)}
    return sorted(
        rows,
        key=lambda r: (order.get(r.before.host or "", 0), r.before.name, r.id),
    )


def skipped(row: PlannedRow, why: str, filtered: bool) -> PlannedRow:
    """The row, no longer sent: skipped, and why."""
    LOG.debug("plan %s: skipped, %s", row.id, why)
    return dataclasses.replace(
        row,
        action=Action.SKIPPED,
        result=Result.SKIPPED,
        expected_status=None,
        error=why,
        filtered=filtered,
    )


def filtered(
    rows: Sequence[PlannedRow], filters: ServerFilter
) -> list[PlannedRow]:
    """Rows this run would send that a filter leaves out: skipped, with
    the filter that did."""
    out = []
    for row in rows:
        why = None
        if filters and row.action is Action.SUBMITTED:
            why = filters.left_out(row.before)
        out.append(row if why is None else skipped(row, why, filtered=True))
    return out


def _why(row: PlannedRow) -> str:
    if row.action is Action.RESUMED and row.migration is not None:
        return (
            f", migration {row.migration.id} is still {row.migration.status}"
        )
    if row.action is Action.SKIPPED:
        return f", {row.error}"
    return f", to end {row.expected_status}"


def already_evacuated_row(
    server: Server, mig: Migration, target: TargetState, waiting: bool
) -> PlannedRow:
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
    promised = _promised_now(server, target)
    verdict = decide(
        Observation(mig, server, mig.source_compute),
        # Judged once, as it is: no retry, no stop, no fault to wait for.
        RowPolicy(promised, 0, stops_sent=0, fault_polls=FAULT_POLLS),
    )
    evacuated = f"evacuated by migration {mig.id}"
    action, result, error = Action.NONE, Result.ALREADY_EVACUATED, None
    if verdict.kind is Kind.DELETED:
        result, error = Result.DELETED, f"{evacuated}, then deleted"
    elif verdict.kind is Kind.STOP and waiting:
        # It landed running; the promise is SHUTOFF: the wait stops it.
        action, result = Action.RESUMED, Result.IN_PROGRESS
    elif verdict.kind is Kind.KEEP_WAITING and server.task_state:
        result = Result.IN_PROGRESS
        error = f"{evacuated}; task_state {server.task_state} now"
    elif verdict.kind is not Kind.VERIFIED:
        result = Result.FAILED
        error = (
            f"{evacuated}, but it is {server.status} now, not {promised}"
            + (f": {server.fault}" if server.fault else "")
        )
    LOG.debug(
        "plan %s: %s (%s: %s)",
        server.id,
        result.value,
        verdict.rule,
        error or server.status,
    )
    return PlannedRow(
        before=before,
        action=action,
        result=result,
        expected_status=promised,
        error=error,
        migration=mig,
        after=server,
        attempts=1,
    )


def _promised_now(server: Server, target: TargetState) -> str:
    """The status that keeps the promise today. Under preserve the status
    before the outage is unknown, so any but ERROR keeps it."""
    if target is TargetState.STOPPED:
        return "SHUTOFF"
    return "ACTIVE" if server.vm_state == "error" else server.status
