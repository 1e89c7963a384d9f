"""A run's rows, one per server: what the plan decided (PlannedRow), what
the run made of it (ServerOutcome), and the Plan and Report that hold them.

Both kinds of row are frozen. The plan's is final once planned; the run's
changes only by being replaced, by the one thread that runs the job
(ledger.py), so no worker thread ever changes a row in place. The wait's
own bookkeeping (timers, stops sent, polls spent) is not here: it belongs
to the part of the wait that keeps it (tracker.py).
"""

from __future__ import annotations

import dataclasses
import enum

from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models.cloud import (
    ComputeService,
    Migration,
    Server,
    ServiceRequest,
)
from osc_evacuate.core.models.job import Method


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


class Fit(enum.Enum):
    """Whether a server fits where it can go (capacity.py)."""

    FITS = "fits"
    TIGHT = "tight"  # fits only by filling a host to its last share
    NO_ROOM = "no room"
    UNKNOWN = "unknown"  # its flavor or the hosts' room is not known


@dataclasses.dataclass(frozen=True)
class Rescue:
    """--rescue: the state a server Nova would refuse had, before it was
    reset to error to be evacuated (rescue.py)."""

    vm_state: str
    task_state: str | None
    status: str

    def __str__(self) -> str:
        task = f", task_state {self.task_state}" if self.task_state else ""
        return f"{self.status} (vm_state {self.vm_state}{task})"


@dataclasses.dataclass(frozen=True)
class PlannedRow:
    """What the plan decided for one server, before anything is sent."""

    before: Server  # as the plan read it (rebuilt, if it has left)
    action: Action
    result: Result  # SUBMITTED: to be sent; else how it stands already
    expected_status: str | None = None  # the status that proves it
    error: str | None = None  # why it is skipped, or what is wrong now
    # Resumed: the earlier evacuation's record; evacuated earlier: the
    # record that did it, and the server as it is now.
    migration: Migration | None = None
    after: Server | None = None
    # Evacuation records of this server that predate this run's request.
    known_migrations: frozenset[int] = frozenset()
    attempts: int = 0  # requests earlier runs sent (they count too)
    # Seconds an earlier run's unanswered request may still reach Nova
    # (journal.py), as the plan read it; None: no such request.
    earlier_pending: float | None = None
    # The plan's judgement (risk.py, capacity.py): what evacuating it
    # puts at risk, and whether it fits where it can go.
    risk: str | None = None
    fit: Fit | None = None
    # Why it is tight or finds no room: the classes short, or the rule
    # that keeps it off the hosts with room (capacity.Judgement.why).
    fit_why: str | None = None
    # Which evacuable mark let it in (--evacuable-mark; selection.py).
    selected_by: str | None = None
    # --rescue: reset to error before its evacuation (rescue.py).
    rescue: Rescue | None = None
    # --priority-property: its phase, 1 first (phases.py); None: none.
    phase: int | None = None
    # Skipped by a filter of host evacuate, not because Nova would refuse.
    filtered: bool = False
    # host drain: how it is moved (None: evacuated).
    method: Method | None = None

    @property
    def id(self) -> str:
        return self.before.id


@dataclasses.dataclass(frozen=True)
class ServerOutcome:
    """One row of the report: the plan's row and what the run made of it.

    Replaced, never changed, by the job's own thread (ledger.py).
    """

    planned: PlannedRow
    result: Result
    error: str | None = None
    migration: Migration | None = None  # the record that carries it
    after: Server | None = None  # the server as the polls last saw it
    attempts: int = 0  # requests sent for it, by this run and earlier
    seconds: float | None = None  # from its last request to its end
    # Nova's x-openstack-request-id of the evacuate request that did the
    # work (or, when Nova refused it, of the refused one).
    request_id: str | None = None
    admin_pass: str | None = dataclasses.field(default=None, repr=False)
    lock: LockState | None = None  # None: no --lock
    lock_error: str | None = None
    # host drain: how it is moved, and why cold when live was planned.
    method: Method | None = None
    fell_back: str | None = None
    # --rescue: what was done to it, in words (rescue.py).
    rescued: str | None = None
    # Records of this run's requests that no longer carry it (a refused
    # live migration's, once it falls back cold).
    set_aside: frozenset[int] = frozenset()

    @property
    def known_migrations(self) -> frozenset[int]:
        """Records that predate the row's current request."""
        return self.planned.known_migrations | self.set_aside

    @classmethod
    def of(cls, planned: PlannedRow) -> ServerOutcome:
        """The row as the plan leaves it, before the run."""
        return cls(
            planned=planned,
            result=planned.result,
            error=planned.error,
            migration=planned.migration,
            after=planned.after,
            attempts=planned.attempts,
            method=planned.method,
        )

    @property
    def id(self) -> str:
        return self.planned.before.id

    @property
    def before(self) -> Server:
        return self.planned.before

    @property
    def action(self) -> Action:
        return self.planned.action

    @property
    def expected_status(self) -> str | None:
        return self.planned.expected_status

    @property
    def risk(self) -> str | None:
        return self.planned.risk

    @property
    def fit(self) -> Fit | None:
        return self.planned.fit

    @property
    def fit_why(self) -> str | None:
        return self.planned.fit_why

    @property
    def selected_by(self) -> str | None:
        return self.planned.selected_by

    @property
    def phase(self) -> int | None:
        return self.planned.phase

    @property
    def destination(self) -> str | None:
        after, source = self.after, self.before.host
        if after is not None and after.host and after.host != source:
            return after.host
        return self.migration.dest_compute if self.migration else None

    @property
    def status_after(self) -> str | None:
        return self.after.status if self.after else None


@dataclasses.dataclass(frozen=True)
class Progress:
    verified: int
    failed: int
    remaining: int

    @classmethod
    def of(cls, rows: tuple[ServerOutcome, ...]) -> Progress:
        return cls(
            verified=sum(r.result is Result.VERIFIED for r in rows),
            failed=sum(
                r.result in (Result.FAILED, Result.STUCK) for r in rows
            ),
            remaining=sum(r.result.pending for r in rows),
        )


@dataclasses.dataclass(frozen=True)
class CapacityCheck:
    """How the rows' fit was judged: from what, over how many hosts."""

    source: str | None  # "placement", "hypervisor statistics"; None: not
    hosts: int = 0
    why_not: str | None = None  # why it was not judged, when not


NOT_NEEDED = CapacityCheck(None, why_not="nothing to submit")


@dataclasses.dataclass(frozen=True)
class HostChange:
    """A change to a source host's compute service (--force-down)."""

    host: str
    request: ServiceRequest


class Fencing(enum.Enum):
    """What makes a source host safe to evacuate: its servers must not run
    there any more (fencing.py)."""

    FORCED_DOWN = "forced down"  # marked so before this run
    FORCE_DOWN = "forced down by this run (--force-down)"
    OPERATOR = "fenced, says the operator (--fenced)"
    COMMAND = "fenced by --fence-command"
    CHECKED = "fenced by --fence-command, --fence-check says off"
    NOT_FENCED = "not fenced: down by its heartbeat only"


@dataclasses.dataclass(frozen=True)
class HostFencing:
    host: str
    fencing: Fencing


# The target of a run that names no host.
SCHEDULER = "scheduler"


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a run would do, before it does anything."""

    sources: tuple[str, ...]  # the hosts evacuated
    microversion: Microversion
    rows: tuple[PlannedRow, ...]
    target: str  # the host asked for, or SCHEDULER
    capacity: CapacityCheck = NOT_NEEDED
    # Sent before any evacuation, at service_version.
    service_changes: tuple[HostChange, ...] = ()
    service_version: Microversion | None = None
    # How each source host is (or is to be) fenced.
    fencing: tuple[HostFencing, ...] = ()
    # --spare: the spare hosts the run enables first (spares.py).
    spares: tuple[ComputeService, ...] = ()

    def fencing_of(self, host: str | None) -> Fencing | None:
        return next((f.fencing for f in self.fencing if f.host == host), None)

    @property
    def no_room(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.fit is Fit.NO_ROOM]

    @property
    def to_send(self) -> list[PlannedRow]:
        return [r for r in self.rows if r.action is Action.SUBMITTED]


@dataclasses.dataclass(frozen=True)
class SpareOutcome:
    """What became of a spare host this run enabled (spares.py)."""

    host: str
    received: int | None  # servers on it after the wait; None: not read
    disabled_again: bool  # it received nothing
    error: str | None = None

    def __str__(self) -> str:
        if self.error is not None:
            return f"spare {self.host}: enabled; not read after: {self.error}"
        if self.disabled_again:
            return f"spare {self.host}: received nothing, disabled again"
        return f"spare {self.host}: enabled, {self.received} server(s) on it"


@dataclasses.dataclass(frozen=True)
class Report:
    """What a run did: every row as it ended."""

    sources: tuple[str, ...]
    microversion: Microversion
    rows: tuple[ServerOutcome, ...]
    polls: int = 0
    interrupted: bool = False  # Ctrl-C: the rows say what is known
    fencing: tuple[HostFencing, ...] = ()  # how each host was fenced
    # Ctrl-C: servers whose request was sent and not answered.
    on_the_wire: tuple[str, ...] = ()
    # host drain: servers still on the hosts when it ended (with --wait).
    left: tuple[str, ...] = ()
    # --spare: what became of each spare this run enabled.
    spares: tuple[SpareOutcome, ...] = ()

    def fencing_of(self, host: str | None) -> Fencing | None:
        return next((f.fencing for f in self.fencing if f.host == host), None)
