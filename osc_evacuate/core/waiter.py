"""Wait until every evacuation is proven: the poll loop.

Each poll costs two requests whatever the number of servers: the
evacuation records from the source host and the servers changed since the
run began (more only past 1000 of either, a page each). What a poll proves
of each server is not decided here but by verdict.decide, a table tested on
its own; this loop only fetches, applies verdicts, reports progress and
sleeps, backing off while nothing changes.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import Clock
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Migration, Server
from osc_evacuate.core.outcome import Result, ServerOutcome
from osc_evacuate.core.retry import RetryPolicy, retrying
from osc_evacuate.core.verdict import (
    Kind,
    Observation,
    RowPolicy,
    Verdict,
    decide,
)

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class WaitPolicy:
    timeout: float | None = None  # seconds; None waits as long as it takes
    interval: float = 1.0  # first pause between polls
    max_interval: float = 10.0  # the pause grows to this while idle
    backoff: float = 1.5
    retries: int = 0  # re-submissions after NoValidHost
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)


@dataclasses.dataclass(frozen=True)
class PollAnswer:
    """What one poll read: every record and changed server, or an error."""

    records: dict[str, list[Migration]]  # by server id
    servers: dict[str, Server]  # by id
    error: ComputeAPIError | None = None

    def newest_record(self, row: ServerOutcome) -> Migration | None:
        """The newest record of the row's server this run waits for."""
        mine = [
            m
            for m in self.records.get(row.before.id, [])
            if m.id not in row.known_migrations
        ]
        return max(mine, key=lambda m: m.id, default=None)


@dataclasses.dataclass
class Poller:
    api: ComputeAPI
    source_host: str | None
    since: str  # Nova timestamp: changes-since of the servers poll
    clock: Clock
    policy: WaitPolicy
    resubmit: Callable[[ServerOutcome], None]
    on_progress: Callable[[Sequence[ServerOutcome]], None] = lambda r: None
    polls: int = 0

    def wait(self, rows: Sequence[ServerOutcome]) -> None:
        start = self.clock.monotonic()
        interval = self.policy.interval
        while True:
            pending = [r for r in rows if r.result.pending]
            if not pending:
                return
            changed = self._poll(pending)
            self.on_progress(rows)
            if not any(r.result.pending for r in rows):
                return
            now = self.clock.monotonic()
            if self.policy.timeout is not None:
                left = start + self.policy.timeout - now
                if left <= 0:
                    self._time_out(rows, now)
                    return
            else:
                left = self.policy.max_interval
            interval = (
                self.policy.interval
                if changed
                else min(
                    interval * self.policy.backoff, self.policy.max_interval
                )
            )
            self.clock.sleep(min(interval, left))

    def _poll(self, pending: list[ServerOutcome]) -> bool:
        """Judge and act on every pending row; True when anything changed."""
        self.polls += 1
        answer = self._fetch()
        if answer.error is None:
            LOG.debug(
                "poll %d: %d evacuation records, %d servers changed since "
                "%s, %d pending",
                self.polls,
                sum(len(r) for r in answer.records.values()),
                len(answer.servers),
                self.since,
                len(pending),
            )
        else:
            LOG.debug(
                "poll %d: no answer (%s), %d pending",
                self.polls,
                answer.error,
                len(pending),
            )
        changed = False
        for row in pending:
            news = answer.error is None and row.observe(
                answer.newest_record(row), answer.servers.get(row.before.id)
            )
            verdict = decide(
                Observation(
                    row.migration, row.after, row.before.host, answer.error
                ),
                self._row_policy(row),
            )
            self._apply(row, verdict)
            # Back off only while Nova shows nothing new and nothing is done.
            changed |= news or verdict.acts
        return changed

    def _fetch(self) -> PollAnswer:
        try:
            migrations = retrying(
                lambda: self.api.evacuation_migrations(
                    source_host=self.source_host
                ),
                self.clock,
                self.policy.retry,
            )
            servers = retrying(
                lambda: self.api.servers_changed_since(self.since),
                self.clock,
                self.policy.retry,
            )
        except ComputeAPIError as exc:
            return PollAnswer({}, {}, exc)
        records: dict[str, list[Migration]] = {}
        for record in migrations:
            records.setdefault(record.instance_uuid, []).append(record)
        return PollAnswer(records, {s.id: s for s in servers})

    def _row_policy(self, row: ServerOutcome) -> RowPolicy:
        return RowPolicy(
            expected_status=row.expected_status,
            # attempts counts the POSTs this run sent for the row.
            retries_left=max(0, self.policy.retries + 1 - row.attempts),
            stop_requested=row.stop_requested,
            fault_polls=row.fault_polls,
        )

    def _apply(self, row: ServerOutcome, verdict: Verdict) -> None:
        LOG.debug(
            "poll %d: %s: %s (%s)%s; record %s, status %s on %s",
            self.polls,
            row.before.id,
            verdict.kind.value,
            verdict.rule,
            f": {verdict.reason}" if verdict.reason else "",
            row.migration.status if row.migration else None,
            row.status_after,
            row.after.host if row.after else None,
        )
        result = verdict.kind.ends_as
        if result is not None:
            row.finish(result, self.clock.monotonic(), verdict.reason)
        elif verdict.kind is Kind.AWAIT_FAULT:
            row.fault_polls += 1
        elif verdict.kind is Kind.RESUBMIT:
            row.set_aside_migration()
            self.resubmit(row)
        elif verdict.kind is Kind.STOP:
            self._stop(row)

    def _stop(self, row: ServerOutcome) -> None:
        """Stop a server that landed ACTIVE under the stopped policy."""
        row.stop_requested = True
        try:
            retrying(
                lambda: self.api.stop_server(row.before.id),
                self.clock,
                self.policy.retry,
            )
        except ComputeAPIError as exc:
            row.finish(
                Result.FAILED, self.clock.monotonic(), f"stop failed: {exc}"
            )

    def _time_out(self, rows: Sequence[ServerOutcome], now: float) -> None:
        for row in rows:
            if not row.result.pending:
                continue
            state = row.migration.status if row.migration else "no record"
            row.finish(
                Result.TIMED_OUT,
                now,
                f"timed out with migration {state}"
                + (
                    f", status {row.after.status}"
                    f" (expected {row.expected_status})"
                    if row.after
                    else ""
                ),
            )
