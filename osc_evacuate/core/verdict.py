"""What a poll proves of one server's evacuation, decided by a table.

Nova's 200 to an evacuate proves nothing. The migration record, the
server's host and its status prove it together, and only in some
combinations. Judging them apart from the poll loop keeps every outcome
testable on its own (tests/unit/test_verdicts.py walks every combination)
and keeps the loop (waiter.py) to fetching, acting and sleeping.

RULES is read top to bottom; the first row that applies decides. A new
outcome is a new row, with at most a new fact in Observation or RowPolicy
and a new Kind: a server deleted mid-run (status DELETED), an evacuation
stuck (its destination down, or no progress for a while), a server that
landed in the wrong state, a poll Nova refuses for good (poll_error), or a
rerun's proof of an earlier evacuation (decide on the server as it is now).

Pure: no I/O, no clock, no API. What was seen (observation.py) comes in
with durations measured (Observation.idle, .unanswered); verdicts are
logged where they are applied, with the server they concern.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core import defaults
from osc_evacuate.core.models import Result
from osc_evacuate.core.observation import (
    EarlierRequest,
    Observation,
    RowPolicy,
)

LOG = logging.getLogger(__name__)

NO_VALID_HOST = "No valid host"
# A failed evacuation's fault reaches the server a moment after its record
# reads error: wait this many polls for it before failing without it.
FAULT_POLLS = 3
STUCK_AFTER = defaults.STUCK_AFTER
# Stop requests for a server that landed running where stopped was
# promised: a stop that does not take is sent once more, then it fails.
MAX_STOPS = 2
RESET = "openstack server set --state error"


class Kind(enum.Enum):
    """What the poller does with the row."""

    VERIFIED = "verified"  # end the row: proven
    DELETED = "deleted"  # end the row: the server is gone
    FAILED = "failed"  # end the row: Nova says it did not happen
    STUCK = "stuck"  # end the row: Nova will not finish it
    NOT_PROVEN = "not proven"  # end the row: Nova will not tell
    RESUBMIT = "resubmit"  # set its record aside (failed, stuck), POST again
    STOP = "stop"  # landed running under the stopped policy: stop it
    CONFIRM = "confirm"  # a cold migration waits for confirmResize
    FALLBACK = "fall back"  # a live migration failed: migrate it cold
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
    Kind.STUCK: Result.STUCK,
    Kind.NOT_PROVEN: Result.NOT_PROVEN,
}


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
    return (
        seen.poll_error is not None
        and seen.poll_error.transient
        and seen.unanswered < policy.stuck_after
    )


def _refused(seen: Observation, policy: RowPolicy) -> bool:
    return seen.poll_error is not None and not seen.poll_error.transient


def _unanswered_too_long(seen: Observation, policy: RowPolicy) -> bool:
    return seen.poll_error is not None


def _deleted(seen: Observation, policy: RowPolicy) -> bool:
    return seen.status == "DELETED"


def _earlier_on_its_way(seen: Observation, policy: RowPolicy) -> bool:
    return seen.record is None and seen.earlier is EarlierRequest.ON_ITS_WAY


def _earlier_never_landed(seen: Observation, policy: RowPolicy) -> bool:
    return seen.record is None and seen.earlier is EarlierRequest.NEVER_LANDED


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


def _running_where_stopped(seen: Observation, policy: RowPolicy) -> bool:
    return (
        seen.landed
        and policy.expected_status == "SHUTOFF"
        and seen.status == "ACTIVE"
    )


def _landed_running_to_stop(seen: Observation, policy: RowPolicy) -> bool:
    return _running_where_stopped(seen, policy) and policy.stops_sent == 0


def _stop_did_not_take(seen: Observation, policy: RowPolicy) -> bool:
    # Nova marks the server powering-off before it answers a stop: seen
    # since with no task and still ACTIVE, the stop failed on its host.
    return (
        _running_where_stopped(seen, policy)
        and 0 < policy.stops_sent < MAX_STOPS
        and seen.seen_since_stop
    )


def _landed_in_another_state(seen: Observation, policy: RowPolicy) -> bool:
    return (
        seen.landed
        and seen.status != policy.expected_status
        and (policy.stops_sent == 0 or seen.seen_since_stop)
    )


def _destination_down(seen: Observation, policy: RowPolicy) -> bool:
    return seen.destination_down


def _no_progress(seen: Observation, policy: RowPolicy) -> bool:
    return seen.idle >= policy.stuck_after


def _stuck_and_reset(seen: Observation, policy: RowPolicy) -> bool:
    # The operator did what a stuck row's error says: its old evacuation
    # is dead (its destination down or silent), so send a new one.
    stuck = _destination_down(seen, policy) or _no_progress(seen, policy)
    return seen.unfinished and seen.reset and stuck


def _always(seen: Observation, policy: RowPolicy) -> bool:
    return True


def _poll_error(seen: Observation) -> str | None:
    return str(seen.poll_error)


def _refusal(seen: Observation) -> str | None:
    return (
        f"the wait cannot go on: Nova refused the poll: {seen.poll_error}; "
        "the evacuation was sent: run the command again with --wait once "
        "this is fixed"
    )


def _silence(seen: Observation) -> str | None:
    return (
        f"the wait cannot go on: no answer to the polls for "
        f"{seen.unanswered:.0f} s ({seen.poll_error}); the evacuation was "
        "sent: run the command again with --wait once Nova answers"
    )


def _wrong_state(seen: Observation) -> str | None:
    assert seen.server is not None  # landed: seen
    text = f"landed {seen.server.status} on {seen.server.host}"
    return text + (f": {seen.fault}" if seen.fault else "")


def _stuck(seen: Observation) -> str | None:
    """What is stuck, and what to do about it."""
    server = seen.server
    record = seen.record
    if record is None:
        where = "no evacuation record"
    else:
        where = f"migration {record.id} {record.status}"
        if record.dest_compute:
            where += f" to {record.dest_compute}"
    if seen.destination_down:
        why = f"{where}, whose nova-compute is down"
        first = f"fence {record.dest_compute if record else ''}, then "
    else:
        why = f"{where}, no progress for {seen.idle:.0f} s"
        first = "if nothing is running it, "
    if server is not None:
        task = f", task {server.task_state}" if server.task_state else ""
        why += f"; server {server.status}{task} on {server.host}"
    if not seen.unfinished:
        # Done (or never recorded): evacuating again is not the cure.
        return f"stuck: {why}. Check the server, then run this command again"
    assert record is not None  # unfinished: a record
    return (
        f"stuck: {why}. To evacuate it anew: {first}reset it "
        f"({RESET} {record.instance_uuid}) and run this command again"
    )


def _stuck_reset(seen: Observation) -> str | None:
    assert seen.record is not None  # unfinished: a record
    return f"migration {seen.record.id} was stuck, and the server was reset"


def _fault_or_status(seen: Observation) -> str | None:
    status = seen.record.status if seen.record else "missing"
    return seen.fault or f"migration {status}"


# The rows every job shares, first: Nova not answering, the server
# gone, no record yet (or an earlier request that may still land).
HEAD: tuple[Rule, ...] = (
    # Nova busy or unreachable: the next poll will tell, for a while.
    Rule(
        "Nova did not answer this poll",
        _unanswered,
        Kind.KEEP_WAITING,
        _poll_error,
    ),
    # A token refused, a policy, a request Nova cannot parse: no poll
    # will do better, and waiting on would be hanging.
    Rule("Nova refused the poll", _refused, Kind.NOT_PROVEN, _refusal),
    Rule(
        "Nova has not answered for too long",
        _unanswered_too_long,
        Kind.NOT_PROVEN,
        _silence,
    ),
    # Nova soft-deletes the records with the server: nothing more to see.
    Rule(
        "the server was deleted",
        _deleted,
        Kind.DELETED,
        lambda seen: "deleted while it was being evacuated",
    ),
    # An earlier run's request, never answered, may still reach Nova:
    # sending another would start the server twice. Once it cannot, send.
    Rule(
        "an earlier request may still land",
        _earlier_on_its_way,
        Kind.KEEP_WAITING,
    ),
    Rule(
        "an earlier request never landed",
        _earlier_never_landed,
        Kind.RESUBMIT,
        lambda seen: "the earlier request never reached Nova: sent anew",
    ),
    Rule("no record of this run's request yet", _no_record, Kind.KEEP_WAITING),
)

# And last: Nova will not finish it (its destination down, no
# progress), or nothing proven yet.
TAIL: tuple[Rule, ...] = (
    Rule(
        "stuck: its destination is down",
        _destination_down,
        Kind.STUCK,
        _stuck,
    ),
    Rule("stuck: no progress", _no_progress, Kind.STUCK, _stuck),
    # Still on its way, still on the source host, a task still under way,
    # or a stop not yet carried out: nothing proven yet.
    Rule("not proven yet", _always, Kind.KEEP_WAITING),
)

# Evacuation's own rows between them.
RULES: tuple[Rule, ...] = (
    *HEAD,
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
    # Done and moved: proven in the promised state, or stopped to reach it
    # (once more if the stop did not take), or failed in another state.
    Rule("landed in the promised state", _kept_promise, Kind.VERIFIED),
    Rule(
        "landed running, promised stopped", _landed_running_to_stop, Kind.STOP
    ),
    Rule("the stop did not take", _stop_did_not_take, Kind.STOP),
    Rule(
        "landed in another state",
        _landed_in_another_state,
        Kind.FAILED,
        _wrong_state,
    ),
    # Nova will not finish it: reset by the operator, evacuate it anew;
    # else say so, and what to do.
    Rule(
        "stuck, and the server was reset",
        _stuck_and_reset,
        Kind.RESUBMIT,
        _stuck_reset,
    ),
    *TAIL,
)


def decide(
    seen: Observation, policy: RowPolicy, rules: Sequence[Rule] = RULES
) -> Verdict:
    """The first row of the table (evacuation's RULES unless another job
    gives its own) that applies to what was seen."""
    for rule in rules:
        if rule.applies(seen, policy):
            return Verdict(rule.kind, rule.reason(seen), rule.name)
    raise AssertionError("the last rule of RULES applies to everything")
