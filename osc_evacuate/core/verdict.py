"""What a poll proves of one server's evacuation, decided by a table.

Nova's 200 to an evacuate proves nothing. The migration record, the
server's host and its status prove it together, and only in some
combinations. Judging them apart from the poll loop keeps every outcome
testable on its own (tests/unit/test_verdicts.py walks every combination)
and keeps the loop (waiter.py) to fetching, acting and sleeping.

RULES is read top to bottom; the first row that applies decides. A new
outcome is a new row, with at most a new fact in Observation or RowPolicy
and a new Kind: a server deleted mid-run (status DELETED), an evacuation
stuck in accepted (how long since its record last moved), a server that
landed in the wrong state, a poll Nova refuses for good (poll_error), or a
rerun's proof of an earlier evacuation (decide on the server as it is now).

Pure: no I/O, no clock, no API. Verdicts are logged where they are applied,
with the server they concern.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable

from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Migration, Server
from osc_evacuate.core.outcome import Result

LOG = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host"
# A failed evacuation's fault reaches the server a moment after its record
# reads error: wait this many polls for it before failing without it.
FAULT_POLLS = 3


class Kind(enum.Enum):
    """What the poller does with the row."""

    VERIFIED = "verified"  # end the row: proven
    DELETED = "deleted"  # end the row: the server is gone
    FAILED = "failed"  # end the row: Nova says it did not happen
    RESUBMIT = "resubmit"  # set the failed record aside and POST again
    STOP = "stop"  # landed running under the stopped policy: stop it
    AWAIT_FAULT = "await fault"  # failed, but its fault is not shown yet
    KEEP_WAITING = "keep waiting"  # nothing proven either way yet

    @property
    def ends_as(self) -> Result | None:
        """The row's final result, or None while the wait goes on."""
        return _ENDS.get(self)


_ENDS = {
    Kind.VERIFIED: Result.VERIFIED,
    Kind.DELETED: Result.DELETED,
    Kind.FAILED: Result.FAILED,
}


@dataclasses.dataclass(frozen=True)
class Observation:
    """What the polls have shown of one server so far."""

    record: Migration | None  # the newest record this run waits for
    server: Server | None  # as last seen; None until a poll shows it
    source_host: str | None  # the host it is evacuated from
    poll_error: ComputeAPIError | None = None  # this poll got no answer

    @property
    def status(self) -> str | None:
        return self.server.status if self.server else None

    @property
    def fault(self) -> str | None:
        return self.server.fault if self.server and self.server.fault else None

    @property
    def moved(self) -> bool:
        """On another host, with no task still under way there."""
        return (
            self.server is not None
            and self.server.host != self.source_host
            and self.server.task_state is None
        )

    @property
    def landed(self) -> bool:
        """The record is done and the server has moved: the rebuild ran.

        Neither alone is proof: a server reads ACTIVE on the source host
        while its record is still pre-migrating.
        """
        return self.record is not None and self.record.succeeded and self.moved

    @property
    def went_wrong(self) -> bool:
        """Nova recorded a failure, or rebuilt the server into ERROR."""
        if self.record is None:
            return False
        landed_in_error = (
            self.landed
            and self.server is not None
            and self.server.vm_state == "error"
        )
        return self.record.failed or landed_in_error


@dataclasses.dataclass(frozen=True)
class RowPolicy:
    """What the run promised for one server, and what it has spent."""

    expected_status: str | None  # ACTIVE or SHUTOFF
    retries_left: int  # re-submissions still allowed after NoValidHost
    stop_requested: bool  # a stop was already sent after it landed
    fault_polls: int  # polls already spent waiting for a fault


@dataclasses.dataclass(frozen=True)
class Verdict:
    kind: Kind
    reason: str | None  # the row's error when it fails; a fault, or why
    rule: str  # the row of RULES that decided

    @property
    def acts(self) -> bool:
        """Whether the poller does anything with the row."""
        return self.kind is not Kind.KEEP_WAITING


Predicate = Callable[[Observation, RowPolicy], bool]


def _no_reason(seen: Observation) -> str | None:
    return None


@dataclasses.dataclass(frozen=True)
class Rule:
    name: str  # why, in words: shown at --debug with the verdict
    applies: Predicate
    kind: Kind
    reason: Callable[[Observation], str | None] = _no_reason


def _unanswered(seen: Observation, policy: RowPolicy) -> bool:
    return seen.poll_error is not None


def _deleted(seen: Observation, policy: RowPolicy) -> bool:
    return seen.status == "DELETED"


def _no_record(seen: Observation, policy: RowPolicy) -> bool:
    return seen.record is None


def _fault_pending(seen: Observation, policy: RowPolicy) -> bool:
    return (
        seen.went_wrong
        and seen.fault is None
        and policy.fault_polls < FAULT_POLLS
    )


def _no_valid_host_retry_left(seen: Observation, policy: RowPolicy) -> bool:
    return (
        seen.went_wrong
        and NO_VALID_HOST in (seen.fault or "")
        and policy.retries_left > 0
    )


def _went_wrong(seen: Observation, policy: RowPolicy) -> bool:
    return seen.went_wrong


def _kept_promise(seen: Observation, policy: RowPolicy) -> bool:
    return seen.landed and seen.status == policy.expected_status


def _landed_running_to_stop(seen: Observation, policy: RowPolicy) -> bool:
    return (
        seen.landed
        and policy.expected_status == "SHUTOFF"
        and seen.status == "ACTIVE"
        and not policy.stop_requested
    )


def _always(seen: Observation, policy: RowPolicy) -> bool:
    return True


def _poll_error(seen: Observation) -> str | None:
    return str(seen.poll_error)


def _fault_or_status(seen: Observation) -> str | None:
    status = seen.record.status if seen.record else "missing"
    return seen.fault or f"migration {status}"


RULES: tuple[Rule, ...] = (
    # Nova busy or unreachable: the next poll will tell.
    Rule(
        "Nova did not answer this poll",
        _unanswered,
        Kind.KEEP_WAITING,
        _poll_error,
    ),
    # Nova soft-deletes the records with the server: nothing more to see.
    Rule(
        "the server was deleted",
        _deleted,
        Kind.DELETED,
        lambda seen: "deleted while it was being evacuated",
    ),
    Rule("no record of this run's request yet", _no_record, Kind.KEEP_WAITING),
    # A failure: its fault says whether another try can help.
    Rule(
        "failed; its fault is not shown yet", _fault_pending, Kind.AWAIT_FAULT
    ),
    Rule(
        "no valid host, and a retry left",
        _no_valid_host_retry_left,
        Kind.RESUBMIT,
        _fault_or_status,
    ),
    Rule("evacuation failed", _went_wrong, Kind.FAILED, _fault_or_status),
    # Done and moved: proven in the promised state, or stopped to reach it.
    Rule("landed in the promised state", _kept_promise, Kind.VERIFIED),
    Rule(
        "landed running, promised stopped", _landed_running_to_stop, Kind.STOP
    ),
    # Still on its way, still on the source host, a task under way, or
    # landed in another state: nothing proven yet.
    Rule("not proven yet", _always, Kind.KEEP_WAITING),
)


def decide(seen: Observation, policy: RowPolicy) -> Verdict:
    """The first row of RULES that applies to what was seen."""
    for rule in RULES:
        if rule.applies(seen, policy):
            return Verdict(rule.kind, rule.reason(seen), rule.name)
    raise AssertionError("the last rule of RULES applies to everything")
