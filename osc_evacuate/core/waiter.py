"""Wait until every row is proven: the poll loop.

Each pass fetches what changed (window.py), turns it into each row's new
sighting (tracker.py), asks whether idle destinations are up
(destinations.py), and has the verdict table (verdict.decide) say what
each pending row's sighting proves. The loop applies the verdict: a
verdict that ends the row ends it in the ledger; one that acts is handed
to the job's handler for its Kind (stop the server, send it again...).
Then it reports progress and sleeps, backing off while nothing changes.

A new job is new rows in the verdict table and new handlers, never a
branch here.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence

from osc_evacuate.core.clock import Clock, nova_time
from osc_evacuate.core.destinations import DEST_CHECK_AFTER, DestinationWatch
from osc_evacuate.core.ledger import Ledger
from osc_evacuate.core.models import Action, Result, ServerOutcome, WaitPolicy
from osc_evacuate.core.sending import Sending
from osc_evacuate.core.tracker import RowTracker
from osc_evacuate.core.verdict import RULES, Kind, Rule, Verdict, decide
from osc_evacuate.core.window import PollAnswer, PollWindow

LOG = logging.getLogger(__name__)

# A handler acts for a verdict; it may end the row (a stop that failed).
Ending = tuple[Result, str | None]
Handler = Callable[[ServerOutcome], Ending | None]
RowsCallback = Callable[[Sequence[ServerOutcome]], None]


@dataclasses.dataclass
class Poller:
    window: PollWindow
    tracker: RowTracker
    watch: DestinationWatch
    ledger: Ledger
    clock: Clock
    policy: WaitPolicy
    # What the job does for each verdict Kind that acts on a row.
    handlers: Mapping[Kind, Handler]
    on_progress: RowsCallback = lambda rows: None
    on_end: Callable[[ServerOutcome], None] = lambda row: None
    # The job's verdict table (evacuation's by default).
    rules: Sequence[Rule] = RULES
    # Requests still going out (None: all were answered before the wait).
    sending: Sending | None = None
    polls: int = 0
    last_answer: float = 0.0  # monotonic time of the last answered poll

    def wait(self) -> None:
        start = self.last_answer = self.clock.monotonic()
        interval = self.policy.interval
        while self.ledger.pending():
            # Messages in: rows sent since the last poll join the proof.
            changed = self._take(0.0) > 0
            watched = self._watched()
            if watched:
                changed |= self._poll(watched)
            self.on_progress(self.ledger.rows())
            if not self.ledger.pending():
                return
            now = self.clock.monotonic()
            if self._sending():
                start = now  # the timeout counts from the last request
            left = self.policy.max_interval
            if self.policy.timeout is not None:
                left = start + self.policy.timeout - now
                if left <= 0:
                    self._time_out(now)
                    return
            interval = (
                self.policy.interval
                if changed
                else min(
                    interval * self.policy.backoff, self.policy.max_interval
                )
            )
            pause = self.policy.sending_interval if self._sending() else 0.0
            self._pause(min(max(interval, pause), left))

    def _sending(self) -> bool:
        return self.sending is not None and self.sending.active

    def _take(self, seconds: float) -> int:
        return self.sending.take(seconds) if self.sending is not None else 0

    def _watched(self) -> list[ServerOutcome]:
        """The pending rows a poll can prove: while requests are still
        going out, not those whose request is not yet accepted."""
        pending = self.ledger.pending()
        if not self._sending():
            return pending
        return [
            r
            for r in pending
            if r.attempts or r.action is not Action.SUBMITTED
        ]

    def _pause(self, seconds: float) -> None:
        """Until the next poll: while sending, taking the workers'
        messages (and no longer than until the last request is answered,
        so that the poll after it comes at once)."""
        if self._sending():
            self._take(seconds)
        else:
            self.clock.sleep(seconds)

    def _poll(self, pending: list[ServerOutcome]) -> bool:
        """Judge and act on every pending row; True when anything changed."""
        self.polls += 1
        since = nova_time(self.window.since)
        answer = self.window.fetch(
            pending,
            lambda row: self.tracker.record_idle(row, self.clock.monotonic()),
        )
        now = self.clock.monotonic()
        self._log_answer(answer, since, len(pending), now)
        news = {row.id: self._sight(row, answer, now) for row in pending}
        idle = self.tracker.idle_destinations(
            [self.ledger[k] for k in news], now, DEST_CHECK_AFTER
        )
        up = self.watch.check(idle, now)
        changed = any(news.values())
        for key in news:
            row = self.ledger[key]
            verdict = decide(
                self.tracker.observation(
                    row, answer, now - self.last_answer, up, now
                ),
                self.tracker.policy(row, self.policy),
                self.rules,
            )
            self._apply(row, verdict, now)
            # Back off only while Nova shows nothing new and nothing is done.
            changed |= verdict.acts
        return changed

    def _sight(
        self, row: ServerOutcome, answer: PollAnswer, now: float
    ) -> bool:
        """Put what the poll showed of the row in the ledger (and read the
        server itself if the polls keep missing it); True when new."""
        row, news = self.tracker.observe(row, answer, now)
        if answer.error is None:
            row, read = self.tracker.read_if_unseen(row)
            news |= read
        self.ledger.put(row)
        return news

    def _log_answer(
        self, answer: PollAnswer, since: str, pending: int, now: float
    ) -> None:
        if answer.error is not None:
            LOG.debug(
                "poll %d: no answer (%s), %d pending",
                self.polls,
                answer.error,
                pending,
            )
            return
        self.last_answer = now
        LOG.debug(
            "poll %d: %d evacuation records, %d servers changed since %s, "
            "%d pending",
            self.polls,
            sum(len(r) for r in answer.records.values()),
            len(answer.servers),
            since,
            pending,
        )

    def _apply(self, row: ServerOutcome, verdict: Verdict, now: float) -> None:
        LOG.debug(
            "poll %d: %s: %s (%s)%s; record %s, status %s on %s",
            self.polls,
            row.id,
            verdict.kind.value,
            verdict.rule,
            f": {verdict.reason}" if verdict.reason else "",
            row.migration.status if row.migration else None,
            row.status_after,
            row.after.host if row.after else None,
        )
        self.tracker.judged(row, verdict.kind, now)
        result = verdict.kind.ends_as
        if result is not None:
            self._end(row.id, result, now, verdict.reason)
            return
        handler = self.handlers.get(verdict.kind)
        ending = handler(row) if handler is not None else None
        if ending is not None:
            result, error = ending
            self._end(row.id, result, self.clock.monotonic(), error)

    def _end(
        self, server_id: str, result: Result, now: float, error: str | None
    ) -> None:
        self.on_end(self.ledger.finish(server_id, result, now, error))

    def _time_out(self, now: float) -> None:
        for row in self.ledger.pending():
            state = row.migration.status if row.migration else "no record"
            after = (
                f", status {row.after.status} (expected {row.expected_status})"
                if row.after
                else ""
            )
            self._end(
                row.id,
                Result.TIMED_OUT,
                now,
                f"timed out with migration {state}{after}",
            )
