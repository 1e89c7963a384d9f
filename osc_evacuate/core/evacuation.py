"""The evacuation job: carry out a plan (preflight.plan_hosts,
server_plan.plan_server).

carry_out refuses what does not fit, forces the hosts' services down,
sends the evacuations (locking each server first with --lock), and with
--wait proves every one in one poll loop for all the hosts. What is
evacuation's own is here: what a sent request does to a row, and the
handlers of the verdicts that act (stop a server that landed running
where stopped was promised; send again after NoValidHost or a reset).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence

from osc_evacuate.core import phases, spares
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import Clock, SystemClock
from osc_evacuate.core.errors import ComputeAPIError, Refused
from osc_evacuate.core.journal import Journal
from osc_evacuate.core.locks import UNLOCK_ON_INTERRUPT, Locked, Locks
from osc_evacuate.core.models import (
    Action,
    HostFencing,
    Plan,
    Report,
    Request,
    Result,
    ServerOutcome,
    WaitPolicy,
)
from osc_evacuate.core.refusals import plan_refusal
from osc_evacuate.core.rescue import Rescued, Rescues
from osc_evacuate.core.retry import retrying
from osc_evacuate.core.rules import evacuate_body
from osc_evacuate.core.run import JobRun, ProgressCallback
from osc_evacuate.core.sending import Message
from osc_evacuate.core.submit import Submission, Submitter
from osc_evacuate.core.verdict import Kind
from osc_evacuate.core.waiter import Ending, Handler

LOG = logging.getLogger(__name__)

__all__ = ["FenceAll", "ProgressCallback", "Run", "carry_out"]

FenceAll = Callable[[Sequence[HostFencing]], None]


def carry_out(
    api: ComputeAPI,
    plan: Plan,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
    fence: FenceAll = lambda fencing: None,
    journal: Journal | None = None,
) -> Report:
    """Refuse a host not known fenced or servers that do not fit; fence
    the hosts the plan fences by command (fencing.Fencer.fence_all); change
    the hosts' compute services; then submit and (with --wait) prove."""
    why = plan_refusal(plan, request)
    if why is not None:
        raise Refused(why)
    fence(plan.fencing)
    for change in plan.service_changes:
        assert plan.service_version is not None  # set with the changes
        LOG.debug(
            "compute service of %s: %s %s %s",
            change.host,
            change.request.method,
            change.request.path,
            change.request.body,
        )
        api.update_service(plan.service_version, change.request)
    clock = clock or SystemClock()

    def once(part: Plan, wait: WaitPolicy | None) -> Report:
        asked = dataclasses.replace(request, wait=wait)
        run = Run(api, part, asked, clock, on_progress, journal)
        try:
            polls = run.go()
        except KeyboardInterrupt:
            LOG.debug("interrupted: reporting what is known")
            run.interrupted()
            return run.report(0, interrupted=True)
        run.release_locks(within=None)
        return run.report(polls)

    # --priority-property: a phase at a time; else all at once.
    report = phases.in_phases(plan, request.wait, clock, once)
    # --spare: a spare that received nothing is disabled again.
    return spares.give_back(api, plan.spares, report)


class Run(JobRun):
    """Evacuation's own: --lock, and the stop and send-again handlers."""

    def __init__(
        self,
        api: ComputeAPI,
        plan: Plan,
        request: Request,
        clock: Clock,
        on_progress: ProgressCallback,
        journal: Journal | None,
    ) -> None:
        version = plan.microversion
        submitter = Submitter(
            api,
            Submission(version, evacuate_body(version, request.options)),
            clock,
            request.max_parallel,
            journal,
        )
        super().__init__(
            api, plan, request.wait, clock, on_progress, submitter
        )
        self.locks = Locks(api, api.version_range()) if request.lock else None
        self.rescues = Rescues(api)

    def before_sending(self) -> None:
        """--lock: lock the servers whose earlier evacuation is resumed
        (the others are locked by their worker, just before they go)."""
        if self.locks is not None:
            for row in self.ledger.rows():
                if row.action is Action.RESUMED:
                    self.apply(self.locks.take(row))

    def prepare(self, row: ServerOutcome) -> Sequence[Message]:
        """Lock it (--lock), then reset it (--rescue)."""
        locked = self.locks.take(row) if self.locks is not None else None
        return [m for m in (locked, self.rescues.reset(row)) if m is not None]

    def handlers(self) -> Mapping[Kind, Handler]:
        return {Kind.STOP: self._stop, Kind.RESUBMIT: self.send_again}

    def on_message(self, message: Message) -> None:
        if isinstance(message, (Locked, Rescued)):
            self.apply(message)

    def apply(self, message: Locked | Rescued | None) -> None:
        if message is not None:
            row = self.ledger[message.server_id]
            self.ledger.put(message.applied(row))

    def row_ended(self, row: ServerOutcome) -> None:
        """--rescue: put it back in the state it had; --lock: unlock each
        server as soon as its row ends."""
        self.apply(self.rescues.restore(row))
        if self.locks is not None:
            self.apply(self.locks.release(self.ledger[row.id]))

    def _stop(self, row: ServerOutcome) -> Ending | None:
        """Stop a server that landed ACTIVE under the stopped policy."""
        LOG.debug("stopping %s", row.id)
        assert self.wait is not None
        try:
            retrying(
                lambda: self.api.stop_server(row.id),
                self.clock,
                self.wait.retry,
            )
        except ComputeAPIError as exc:
            return Result.FAILED, f"stop failed: {exc}"
        return None

    def interrupted(self) -> None:
        """Ctrl-C: say what it left each row at, and unlock."""
        super().interrupted()
        self.release_locks(within=UNLOCK_ON_INTERRUPT)

    def release_locks(self, within: float | None) -> None:
        if self.locks is not None:
            for message in self.locks.release_all(self.ledger.rows(), within):
                self.apply(message)
