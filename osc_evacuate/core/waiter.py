"""Wait until every evacuation is proven: the poll loop.

Each poll costs two requests whatever the number of servers: the
evacuation records from the source host and the servers changed since the
run began (more only past 1000 of either, a page each). A server's status
alone proves nothing (it can read ACTIVE while still on the source host);
the migration record's done does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import Clock
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Migration, Server
from osc_evacuate.core.outcome import Result, ServerOutcome
from osc_evacuate.core.retry import RetryPolicy, retrying

NO_VALID_HOST = "No valid host"
# A failed migration's fault reaches the server a moment later.
FAULT_POLLS = 3


@dataclasses.dataclass(frozen=True)
class WaitPolicy:
    timeout: float | None = None  # seconds; None waits as long as it takes
    interval: float = 1.0  # first pause between polls
    max_interval: float = 10.0  # the pause grows to this while idle
    backoff: float = 1.5
    retries: int = 0  # re-submissions after NoValidHost
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)


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
        self.polls += 1
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
        except ComputeAPIError:
            return False  # Nova is busy; the next poll will tell
        by_id = {s.id: s for s in servers}
        records: dict[str, list[Migration]] = {}
        for record in migrations:
            records.setdefault(record.instance_uuid, []).append(record)
        changed = False
        for row in pending:
            # The newest record this run is waiting for, if Nova made it.
            mine = [
                m
                for m in records.get(row.before.id, [])
                if m.id not in row.known_migrations
            ]
            mig = max(mine, key=lambda m: m.id, default=None)
            changed |= self._update(row, mig, by_id.get(row.before.id))
        return changed

    def _update(
        self,
        row: ServerOutcome,
        mig: Migration | None,
        server: Server | None,
    ) -> bool:
        before = (row.migration, row.after)
        if mig is not None:
            row.migration = mig
        if server is not None:
            row.after = server
        mig, server = row.migration, row.after
        now = self.clock.monotonic()
        if mig is None or mig.id in row.known_migrations:
            return before != (row.migration, row.after)
        moved = (
            server is not None
            and server.host != row.before.host
            and server.task_state is None
        )
        if mig.failed or (mig.succeeded and moved and _errored(server)):
            if server is None or not server.fault:
                row.fault_polls += 1
                if row.fault_polls <= FAULT_POLLS:
                    return True
            fault = server.fault if server and server.fault else None
            if (
                fault
                and NO_VALID_HOST in fault
                and (row.attempts <= self.policy.retries)
            ):
                row.known_migrations = row.known_migrations | {mig.id}
                row.migration = None
                self.resubmit(row)
                return True
            row.finish(Result.FAILED, now, fault or f"migration {mig.status}")
            return True
        if mig.succeeded and moved and server is not None:
            if server.status == row.expected_status:
                row.finish(Result.VERIFIED, now, None)
                return True
            if (
                row.expected_status == "SHUTOFF"
                and server.status == "ACTIVE"
                and not row.stop_requested
            ):
                self._stop(row)
                return True
        return before != (row.migration, row.after)

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


def _errored(server: Server | None) -> bool:
    return server is not None and server.vm_state == "error"
