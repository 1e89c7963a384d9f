"""Per-server results: one row of the host command's output each."""

from __future__ import annotations

import dataclasses
import enum
import logging

from osc_evacuate.core.capacity import Fit
from osc_evacuate.core.models import Migration, Server, TargetState

LOG = logging.getLogger(__name__)


class Action(enum.Enum):
    SUBMITTED = "submitted"  # this run sent the evacuate request
    SKIPPED = "skipped"  # not evacuable; left alone
    RESUMED = "resumed"  # an earlier evacuation still running: waited for
    NONE = "none"  # evacuated earlier; nothing to do


class LockState(enum.Enum):
    """What --lock did to the server (locks.py)."""

    LOCKED = "locked"  # by this run (or an earlier one), still locked
    UNLOCKED = "locked, then unlocked"
    ALREADY = "already locked: left locked"
    FAILED = "not locked"  # the lock request failed: lock_error says why


class Result(enum.Enum):
    SUBMITTED = "submitted"  # accepted by Nova, not waited for
    IN_PROGRESS = "in progress"  # an earlier evacuation, not waited for
    VERIFIED = "verified"  # migration done, moved, in the promised state
    FAILED = "failed"
    TIMED_OUT = "timed out"
    SKIPPED = "skipped"
    ALREADY_EVACUATED = "already evacuated"
    DELETED = "deleted"  # deleted (by its owner) before it was proven
    INTERRUPTED = "interrupted"  # Ctrl-C before it was sent or answered
    # Nova will not finish it: its destination is down, or no progress.
    STUCK = "stuck"
    # Sent, but Nova refused the polls for good (401, 403, 400...) or did
    # not answer them for too long: nothing proves how it went.
    NOT_PROVEN = "not proven"

    @property
    def pending(self) -> bool:
        return self in (Result.SUBMITTED, Result.IN_PROGRESS)


def expected_status(before: Server, target: TargetState) -> str:
    """The status an evacuated server must end in under the policy.

    Servers that were ERROR end ACTIVE under preserve: evacuation rebuilds
    them, and ERROR is not a power state to restore.
    """
    if target is TargetState.STOPPED or before.vm_state == "stopped":
        return "SHUTOFF"
    return "ACTIVE"


@dataclasses.dataclass
class ServerOutcome:
    before: Server
    action: Action
    result: Result
    expected_status: str | None = None
    error: str | None = None
    migration: Migration | None = None
    after: Server | None = None
    seconds: float | None = None
    request_id: str | None = None
    admin_pass: str | None = dataclasses.field(default=None, repr=False)
    # Evacuation records of this server that predate this run's request.
    known_migrations: frozenset[int] = frozenset()
    started: float | None = None  # clock.monotonic() at submission
    attempts: int = 0
    stop_requested: bool = False
    # An evacuate request sent and not answered yet (lost on Ctrl-C).
    in_flight: bool = False
    fault_polls: int = 0  # polls spent waiting for a failure's fault
    # The plan's judgement (risk.py, capacity.py): what evacuating it
    # puts at risk, and whether it fits where it can go.
    risk: str | None = None
    fit: Fit | None = None
    lock: LockState | None = None  # None: no --lock
    lock_error: str | None = None
    # Skipped by a filter of host evacuate, not because Nova would refuse.
    filtered: bool = False

    @property
    def destination(self) -> str | None:
        if (
            self.after
            and self.after.host
            and self.after.host != (self.before.host)
        ):
            return self.after.host
        return self.migration.dest_compute if self.migration else None

    @property
    def status_after(self) -> str | None:
        return self.after.status if self.after else None

    def observe(self, record: Migration | None, server: Server | None) -> bool:
        """Keep what a poll showed; True when Nova showed something new.

        None means the poll did not show it: the last sighting stands.
        """
        news = (record is not None and record != self.migration) or (
            server is not None and server != self.after
        )
        if record is not None:
            self.migration = record
        if server is not None:
            self.after = server
        return news

    def set_aside_migration(self) -> None:
        """Wait for the next request's record, no longer this one."""
        if self.migration is not None:
            self.known_migrations = self.known_migrations | {self.migration.id}
        self.migration = None

    def finish(self, result: Result, now: float, error: str | None) -> None:
        self.result = result
        self.error = error
        if self.started is not None:
            self.seconds = round(now - self.started, 1)
        LOG.debug(
            "%s ends %s%s",
            self.before.id,
            result.value,
            f": {error}" if error else "",
        )


def mark_interrupted(row: ServerOutcome) -> None:
    """Say what Ctrl-C left the row at: never sent, sent with no answer
    (Nova may have started it), or accepted and not yet proven."""
    if row.action is Action.SUBMITTED and row.attempts == 0:
        row.result = Result.INTERRUPTED
        row.error = "interrupted before its evacuation was sent"
    elif row.in_flight:
        row.result = Result.INTERRUPTED
        row.error = (
            "interrupted while its evacuation request was on its way; "
            "Nova may have started it: run the command again to find out"
        )
    elif row.result.pending:
        row.error = (
            "interrupted before it was proven: run the command again "
            "with --wait to finish"
        )


@dataclasses.dataclass(frozen=True)
class Progress:
    verified: int
    failed: int
    remaining: int


def progress_of(rows: list[ServerOutcome]) -> Progress:
    return Progress(
        verified=sum(r.result is Result.VERIFIED for r in rows),
        failed=sum(r.result in (Result.FAILED, Result.STUCK) for r in rows),
        remaining=sum(r.result.pending for r in rows),
    )
