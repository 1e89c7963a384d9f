"""--rescue: evacuate what Nova would refuse, as Masakari and InstanceHA do.

Nova evacuates only servers whose vm_state is active, stopped or error
and that have no task under way. A host that died mid-task leaves servers
stuck (task_state powering-off, say) or in a state Nova will not take
(paused, suspended...). With --rescue each is reset to error just before
its evacuation is sent, and once it is proven, put back in the state it
had where that means something:

- stopped (or shelved): it must end SHUTOFF, as a stopped server does;
- error: it is reset to error again, and read back to prove it;
- active, paused, suspended...: it ends ACTIVE (a paused or suspended
  guest's memory was lost with its host; pausing a fresh one again would
  mean nothing).

Without --rescue such a server stays skipped, and the plan says that
--rescue would take it. A server that never launched, or is being
deleted, is never rescued.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import (
    Action,
    PlannedRow,
    Rescue,
    Result,
    Server,
    ServerOutcome,
    TargetState,
)
from osc_evacuate.core.submit import NotSent

LOG = logging.getLogger(__name__)

# Never rescued: being deleted, or never built.
NOT_RESCUED = frozenset({"soft-delete", "deleted", "building"})
# Off before: off after (the stop the wait sends, as for any server).
OFF = frozenset({"stopped", "shelved"})
ERROR = "error"
WOULD = "--rescue would take it"


def rescuable(server: Server) -> bool:
    """Whether Nova refuses the server for its state alone, and a reset
    to error would let it be evacuated."""
    refused = not server.evacuable or bool(server.task_state)
    return refused and server.launched and server.vm_state not in NOT_RESCUED


def landing_status(server: Server, target: TargetState) -> str:
    """The status a rescued server must be proven in."""
    off = target is TargetState.STOPPED or server.vm_state in OFF
    return "SHUTOFF" if off else "ACTIVE"


def planned(
    rows: Sequence[PlannedRow], target: TargetState, rescue: bool
) -> list[PlannedRow]:
    """The rows, those Nova refuses for their state rescued (--rescue),
    or said to be rescuable."""
    out = []
    for row in rows:
        server = row.before
        if (
            row.action is not Action.SKIPPED
            or row.filtered
            or not rescuable(server)
        ):
            out.append(row)
        elif not rescue:
            out.append(dataclasses.replace(row, error=f"{row.error}; {WOULD}"))
        else:
            LOG.debug("plan %s: rescued from %s", server.id, server.vm_state)
            out.append(
                dataclasses.replace(
                    row,
                    action=Action.SUBMITTED,
                    result=Result.SUBMITTED,
                    error=None,
                    expected_status=landing_status(server, target),
                    rescue=Rescue(
                        server.vm_state, server.task_state, server.status
                    ),
                )
            )
    return out


@dataclasses.dataclass(frozen=True)
class Rescued:
    """What --rescue did to one server: a message for the job's thread,
    which alone changes the rows (ledger.py)."""

    server_id: str
    words: str
    error: str | None = None

    def applied(self, row: ServerOutcome) -> ServerOutcome:
        if self.error is None:
            return dataclasses.replace(row, rescued=self.words)
        return dataclasses.replace(
            row,
            rescued=self.words,
            result=Result.FAILED,
            error=self.error,
        )


class Rescues:
    """The resets of one run: before each rescued server's evacuation,
    and after it is proven."""

    def __init__(self, api: ComputeAPI) -> None:
        self.api = api

    def reset(self, row: ServerOutcome) -> NotSent | Rescued | None:
        """In the worker, just before the evacuation: reset to error."""
        rescue = row.planned.rescue
        if rescue is None:
            return None
        try:
            self.api.reset_state(row.id, ERROR)
        except ComputeAPIError as exc:
            LOG.debug("rescue %s: reset failed: %s", row.id, exc)
            return NotSent(row.id, f"--rescue could not reset it: {exc}")
        LOG.debug("rescue %s: reset from %s to error", row.id, rescue)
        return Rescued(row.id, f"reset to error from {rescue}")

    def restore(self, row: ServerOutcome) -> Rescued | None:
        """As the row ends verified: put an error server back in error,
        and read it back."""
        rescue = row.planned.rescue
        if rescue is None or row.result is not Result.VERIFIED:
            return None
        said = row.rescued or f"reset to error from {rescue}"
        if rescue.vm_state != ERROR:
            return Rescued(row.id, f"{said}; ends {row.expected_status}")
        try:
            self.api.reset_state(row.id, ERROR)
            now = self.api.get_server(row.id)
        except ComputeAPIError as exc:
            why = f"evacuated, but not put back in error: {exc}"
            return Rescued(row.id, said, why)
        if now is None or now.vm_state != ERROR:
            state = now.vm_state if now else "gone"
            why = f"evacuated, but not put back in error: it is {state}"
            return Rescued(row.id, said, why)
        LOG.debug("rescue %s: put back in error", row.id)
        return Rescued(row.id, f"{said}; evacuated, then put back in error")
