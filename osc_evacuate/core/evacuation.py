"""The evacuation job: carry out a plan (preflight.plan_hosts, plan_server).

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
from collections.abc import Callable, Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import POLL_OVERLAP, Clock, SystemClock
from osc_evacuate.core.destinations import DestinationWatch
from osc_evacuate.core.errors import ComputeAPIError, Refused
from osc_evacuate.core.journal import Journal
from osc_evacuate.core.ledger import Ledger
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
from osc_evacuate.core.retry import retrying
from osc_evacuate.core.rules import evacuate_body
from osc_evacuate.core.submit import Sent, Submission, Submitter
from osc_evacuate.core.tracker import RowTracker
from osc_evacuate.core.verdict import Kind
from osc_evacuate.core.waiter import Ending, Poller
from osc_evacuate.core.window import PollWindow, Window, window_start

LOG = logging.getLogger(__name__)

ProgressCallback = Callable[[Sequence[ServerOutcome]], None]
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
    run = Run(api, plan, request, clock or SystemClock(), on_progress, journal)
    try:
        polls = run.go()
    except KeyboardInterrupt:
        LOG.debug("interrupted: reporting what is known")
        run.interrupted()
        return run.report(0, interrupted=True)
    run.release_locks(within=None)
    return run.report(polls)


class Run:
    """One carrying out of a plan: its rows, its requests, its wait."""

    def __init__(
        self,
        api: ComputeAPI,
        plan: Plan,
        request: Request,
        clock: Clock,
        on_progress: ProgressCallback,
        journal: Journal | None,
    ) -> None:
        self.api, self.plan, self.clock = api, plan, clock
        self.wait = request.wait
        self.on_progress = on_progress
        self.ledger = Ledger(plan.rows)
        self.on_the_wire: frozenset[str] = frozenset()
        self.locks = Locks(api, api.version_range()) if request.lock else None
        version = plan.microversion
        self.submitter = Submitter(
            api,
            Submission(version, evacuate_body(version, request.options)),
            clock,
            request.max_parallel,
            journal,
        )

    def go(self) -> int:
        """Send, then wait; the polls it took."""
        # Nova's time before the first request of this run goes out: the
        # polls see every change this run makes, and no record of an
        # earlier run, however old, widens their window.
        start = window_start(self.api, POLL_OVERLAP)
        if self.locks is not None:
            for row in self.ledger.rows():
                if row.action is Action.RESUMED:
                    self.apply(self.locks.take(row))
        self.submitter.send_all(
            self.ledger.rows(),
            self._message,
            prepare=self.locks.take if self.locks is not None else None,
        )
        if self.wait is None:
            return 0
        poller = self._poller(self.wait, start)
        poller.wait()
        return poller.polls

    def _poller(self, wait: WaitPolicy, start: Window) -> Poller:
        tracker = RowTracker(
            self.api,
            self.ledger.rows(),
            start.began,
            self.clock.monotonic(),
        )
        self.tracker = tracker
        window = PollWindow(
            self.api,
            self.plan.sources,
            start,
            self.clock,
            wait.retry,
            POLL_OVERLAP,
        )
        return Poller(
            window,
            tracker,
            DestinationWatch(self.api),
            self.ledger,
            self.clock,
            wait,
            handlers={Kind.STOP: self._stop, Kind.RESUBMIT: self._resubmit},
            on_progress=self.on_progress,
            on_end=self._ended,
        )

    def _message(self, message: object) -> None:
        """A worker's message, applied in this thread."""
        if isinstance(message, Sent):
            ending = self.sent(message)
            if ending is not None:
                result, error = ending
                now = self.clock.monotonic()
                self.ledger.finish(message.server_id, result, now, error)
        elif isinstance(message, Locked):
            self.apply(message)
        self.on_progress(self.ledger.rows())

    def sent(self, sent: Sent) -> Ending | None:
        """What a request did to its row; how the row ends if it failed."""
        row = self.ledger[sent.server_id]
        self.ledger.started(sent.server_id, sent.at)
        self.ledger.put(
            dataclasses.replace(
                row,
                attempts=row.attempts + 1,
                result=Result.SUBMITTED,
                error=None,
                request_id=sent.request_id or row.request_id,
                admin_pass=sent.admin_pass or row.admin_pass,
            )
        )
        return None if sent.accepted else (Result.FAILED, sent.error)

    def apply(self, message: Locked | None) -> None:
        if message is not None:
            row = self.ledger[message.server_id]
            self.ledger.put(message.applied(row))

    def _ended(self, row: ServerOutcome) -> None:
        """--lock: unlock each server as soon as its row ends."""
        if self.locks is not None:
            self.apply(self.locks.release(row))

    def _resubmit(self, row: ServerOutcome) -> Ending | None:
        """Send it again: its record set aside, wait for the new one."""
        self.ledger.put(dataclasses.replace(row, migration=None))
        sent = self.submitter.send(row.before, self.tracker.known(row))
        return None if sent is None else self.sent(sent)

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
        self.on_the_wire = self.submitter.in_flight
        for row in self.ledger.rows():
            self.ledger.put(interrupted(row, row.id in self.on_the_wire))
        self.release_locks(within=UNLOCK_ON_INTERRUPT)

    def release_locks(self, within: float | None) -> None:
        if self.locks is not None:
            for message in self.locks.release_all(self.ledger.rows(), within):
                self.apply(message)

    def report(self, polls: int, interrupted: bool = False) -> Report:
        return Report(
            self.plan.sources,
            self.plan.microversion,
            self.ledger.rows(),
            polls,
            interrupted,
            fencing=self.plan.fencing,
            on_the_wire=tuple(sorted(self.on_the_wire)),
        )


def interrupted(row: ServerOutcome, on_the_wire: bool) -> ServerOutcome:
    """What Ctrl-C left the row at: sent with no answer (Nova may have
    started it), never sent, or accepted and not yet proven."""
    if on_the_wire:
        return dataclasses.replace(
            row,
            result=Result.INTERRUPTED,
            error=(
                "interrupted while its evacuation request was on its way; "
                "Nova may have started it: run the command again to find out"
            ),
        )
    if row.action is Action.SUBMITTED and row.attempts == 0:
        return dataclasses.replace(
            row,
            result=Result.INTERRUPTED,
            error="interrupted before its evacuation was sent",
        )
    if row.result.pending:
        return dataclasses.replace(
            row,
            error=(
                "interrupted before it was proven: run the command again "
                "with --wait to finish"
            ),
        )
    return row
