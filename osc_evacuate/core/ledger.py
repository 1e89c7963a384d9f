"""The rows of one run as they stand, kept by the one thread that runs it.

Every row is a frozen ServerOutcome; a change is a new row put in place of
the old, and only the job's own thread puts rows. Worker threads (the
submissions, the unlocks after Ctrl-C) never touch a row: they send a
message (submit.Sent, locks.Locked) that this thread applies.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from osc_evacuate.core.models import (
    PlannedRow,
    Result,
    ServerOutcome,
)

LOG = logging.getLogger(__name__)


class Ledger:
    def __init__(self, planned: Sequence[PlannedRow]) -> None:
        # Insertion order is the report's order.
        self._rows = {p.id: ServerOutcome.of(p) for p in planned}
        # When the request now carrying each row went out (monotonic).
        self._started: dict[str, float] = {}

    def __getitem__(self, server_id: str) -> ServerOutcome:
        return self._rows[server_id]

    def rows(self) -> tuple[ServerOutcome, ...]:
        return tuple(self._rows.values())

    def pending(self) -> list[ServerOutcome]:
        return [r for r in self._rows.values() if r.result.pending]

    def put(self, row: ServerOutcome) -> None:
        self._rows[row.id] = row

    def started(self, server_id: str, at: float) -> None:
        """A request for the row went out at this monotonic time."""
        self._started[server_id] = at

    def finish(
        self, server_id: str, result: Result, now: float, error: str | None
    ) -> ServerOutcome:
        """End the row: its result, why, and the seconds since its last
        request went out."""
        started = self._started.get(server_id)
        row = dataclasses.replace(
            self._rows[server_id],
            result=result,
            error=error,
            seconds=None if started is None else round(now - started, 1),
        )
        self.put(row)
        LOG.debug(
            "%s ends %s%s",
            server_id,
            result.value,
            f": {error}" if error else "",
        )
        return row
