"""One carrying out of a plan, whatever the job: send, then prove.

The parts are the same for every job: the ledger of rows (ledger.py),
the submitter that sends one request per row (submit.py), and with
--wait the poll loop (waiter.py) over the poll window, the row tracker and
the destination watch. What is a job's own is what its requests are
(Submission), which records prove them and which verdict table judges
them, and what each verdict that acts does (handlers): a subclass says
so, and nothing here branches on the job.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import POLL_OVERLAP, Clock
from osc_evacuate.core.destinations import DestinationWatch
from osc_evacuate.core.ledger import Ledger
from osc_evacuate.core.models import (
    Plan,
    Report,
    Result,
    ServerOutcome,
    WaitPolicy,
)
from osc_evacuate.core.sending import Message, Sending
from osc_evacuate.core.submit import NotSent, Sent, Submitter
from osc_evacuate.core.tracker import RowTracker
from osc_evacuate.core.verdict import RULES, Kind, Rule
from osc_evacuate.core.waiter import Ending, Handler, Poller
from osc_evacuate.core.window import PollWindow, Window, window_start

LOG = logging.getLogger(__name__)

ProgressCallback = Callable[[Sequence[ServerOutcome]], None]


class JobRun:
    """A run's rows, requests and wait; subclasses add the job's own."""

    # The verdict table, and the kinds of migration record that prove.
    rules: Sequence[Rule] = RULES
    record_types: tuple[str, ...] = ("evacuation",)
    noun = "evacuation"  # what a request asks for, in the rows' words

    def __init__(
        self,
        api: ComputeAPI,
        plan: Plan,
        wait: WaitPolicy | None,
        clock: Clock,
        on_progress: ProgressCallback,
        submitter: Submitter,
    ) -> None:
        self.api, self.plan, self.clock = api, plan, clock
        self.wait = wait
        self.on_progress = on_progress
        self.submitter = submitter
        self.ledger = Ledger(plan.rows)
        self.on_the_wire: frozenset[str] = frozenset()
        self.tracker: RowTracker | None = None

    # -- hooks ------------------------------------------------------------

    def before_sending(self) -> None:
        """Hook: what goes before the first request (locks...)."""

    def prepare(self, row: ServerOutcome) -> Sequence[Message]:
        """Hook: run in the worker before the row's request; its messages
        (a NotSent among them: the request is not sent)."""
        return ()

    def handlers(self) -> Mapping[Kind, Handler]:
        """Hook: what each verdict that acts does."""
        return {}

    def row_ended(self, row: ServerOutcome) -> None:
        """Hook: each row as it ends."""

    def on_message(self, message: Message) -> None:
        """Hook: a worker's message other than a Sent."""

    # -- the run ----------------------------------------------------------

    def go(self) -> int:
        """Send and, with --wait, prove while sending; the polls it took."""
        # Nova's time before the first request of this run goes out: the
        # polls see every change this run makes, and no record of an
        # earlier run, however old, widens their window.
        start = window_start(self.api, POLL_OVERLAP)
        self.before_sending()
        sending = self.submitter.start(
            self.ledger.rows(), self._message, prepare=self.prepare
        )
        try:
            if self.wait is None:
                sending.finish()
                return 0
            poller = self._poller(self.wait, start, sending)
            poller.wait()
        except BaseException:
            sending.stop()
            raise
        return poller.polls

    def _poller(
        self, wait: WaitPolicy, start: Window, sending: Sending
    ) -> Poller:
        self.tracker = RowTracker(
            self.api,
            self.ledger.rows(),
            start.began,
            self.clock.monotonic(),
        )
        window = PollWindow(
            self.api,
            self.plan.sources,
            start,
            self.clock,
            wait.retry,
            POLL_OVERLAP,
            self.record_types,
        )
        return Poller(
            window,
            self.tracker,
            DestinationWatch(self.api),
            self.ledger,
            self.clock,
            wait,
            handlers=self.handlers(),
            on_progress=self.on_progress,
            on_end=self.row_ended,
            rules=self.rules,
            sending=sending,
        )

    def _message(self, message: Message) -> None:
        """A worker's message, applied in this thread."""
        if isinstance(message, Sent):
            ending = self.sent(message)
            if ending is not None:
                result, error = ending
                now = self.clock.monotonic()
                self.ledger.finish(message.server_id, result, now, error)
        elif isinstance(message, NotSent):
            now = self.clock.monotonic()
            self.ledger.finish(
                message.server_id, Result.FAILED, now, message.error
            )
            self.row_ended(self.ledger[message.server_id])
        else:
            self.on_message(message)
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

    def send_again(self, row: ServerOutcome) -> Ending | None:
        """Send the row's request anew: its record set aside (the tracker
        has), wait for the new one."""
        assert self.tracker is not None  # only the wait sends again
        self.ledger.put(dataclasses.replace(row, migration=None))
        sent = self.submitter.send(
            self.ledger[row.id], self.tracker.known(row)
        )
        return None if sent is None else self.sent(sent)

    def interrupted(self) -> None:
        """Ctrl-C: say what it left each row at."""
        self.on_the_wire = self.submitter.in_flight
        for row in self.ledger.rows():
            wire = row.id in self.on_the_wire
            self.ledger.put(interrupted(row, wire, self.noun))

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


def interrupted(
    row: ServerOutcome, on_the_wire: bool, noun: str
) -> ServerOutcome:
    """What Ctrl-C left the row at: sent with no answer (Nova may have
    started it), never sent, or accepted and not yet proven."""
    from osc_evacuate.core.models import Action

    if on_the_wire:
        return dataclasses.replace(
            row,
            result=Result.INTERRUPTED,
            error=(
                f"interrupted while its {noun} request was on its way; "
                "Nova may have started it: run the command again to find out"
            ),
        )
    if row.action is Action.SUBMITTED and row.attempts == 0:
        return dataclasses.replace(
            row,
            result=Result.INTERRUPTED,
            error=f"interrupted before its {noun} was sent",
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
