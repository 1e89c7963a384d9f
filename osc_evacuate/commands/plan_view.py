"""How a --dry-run shows its plan: the columns of a run, then the plan's.

The run's columns say what a run would do (Action "would submit", Result
"planned"); the plan's say which evacuable mark let it in, what it puts
at risk, whether it fits, at
which microversion, in which state it would end, where it would go, and
what would be done to the source's compute service first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from osc_evacuate.core.models import Plan, PlannedRow, ServerOutcome

LOG = logging.getLogger(__name__)

PLAN_COLUMNS = (
    "Selected By",
    "Risk",
    "Capacity",
    "Capacity Limit",
    "Microversion",
    "End State",
    "Target",
    "Host Action",
)
PLANNED = "planned"


def as_run(row: PlannedRow) -> ServerOutcome:
    """The planned row in a run's shape, as a run would start it."""
    from osc_evacuate.core.models import ServerOutcome

    return ServerOutcome.of(row)


def action(row: ServerOutcome) -> str:
    from osc_evacuate.core.models import Action

    would = {Action.SUBMITTED: "would submit", Action.RESUMED: "would resume"}
    return would.get(row.action, row.action.value)


def result(row: ServerOutcome) -> str:
    from osc_evacuate.core.models import Result

    return PLANNED if row.result is Result.SUBMITTED else row.result.value


def fencing(plan: Plan, host: str | None) -> str | None:
    """How a run would fence the row's host, or why it would not."""
    from osc_evacuate.core.models import Fencing

    how = plan.fencing_of(host)
    would = {
        Fencing.FORCE_DOWN: "would force down (--force-down)",
        Fencing.COMMAND: "would run --fence-command",
        Fencing.CHECKED: "would run --fence-command, then --fence-check",
    }
    return None if how is None else would.get(how, how.value)


def host_action(plan: Plan, host: str | None) -> str | None:
    """What --force-down would change on the host's service."""
    changes = [
        change.request.body
        for change in plan.service_changes
        if change.host == host
    ]
    if not changes:
        return None
    forced = any(body.get("forced_down") for body in changes)
    reasons = [b["disabled_reason"] for b in changes if "disabled_reason" in b]
    words = ["force down"] if forced else []
    if reasons:
        words.append(f"disable: {reasons[0]}")
    return ", ".join(words)


def plan_values(plan: Plan, row: ServerOutcome) -> tuple[Any, ...]:
    from osc_evacuate.core.models import Action

    return (
        row.selected_by,
        row.risk,
        row.fit.value if row.fit else None,
        row.fit_why,
        str(plan.microversion),
        row.expected_status,
        plan.target if row.action is Action.SUBMITTED else None,
        host_action(plan, row.before.host),
    )
