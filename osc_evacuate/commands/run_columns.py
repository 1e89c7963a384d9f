"""The columns every job's rows share: the server as it was, and what
became of it. Each command puts its own columns around them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from osc_evacuate.commands import plan_view

if TYPE_CHECKING:
    from osc_evacuate.core.models import ServerOutcome

SERVER = ("ID", "Name", "Project", "Source Host", "Status Before")
OUTCOME = (
    "Action",
    "Migration Status",
    "Destination",
    "Status After",
    "Result",
    "Error",
    "Seconds",
)


def server_cells(row: ServerOutcome) -> tuple[Any, ...]:
    before = row.before
    return (
        before.id,
        before.name,
        before.project_id,
        before.host,
        before.status or None,
    )


def outcome_cells(
    row: ServerOutcome, action: str | None = None
) -> tuple[Any, ...]:
    """What became of the row; its Action in other words when given."""
    return (
        action or row.action.value,
        row.migration.status if row.migration else None,
        row.destination,
        row.status_after,
        row.result.value,
        row.error,
        row.seconds,
    )


def planned(
    columns: Sequence[str], values: Sequence[Any], row: ServerOutcome
) -> list[Any]:
    """A run's values of a planned row, saying what a run would do."""
    out = list(values)
    out[columns.index("Action")] = plan_view.action(row)
    out[columns.index("Result")] = plan_view.result(row)
    return out
