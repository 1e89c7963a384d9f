"""What a poll proves of one server's live or cold migration: the drain's
verdict table (verdict.py has evacuation's, and the rows both share).

A migration is proven only when its record is `completed` (live) or
`confirmed` (cold), the server is on another host with no task under way,
and its status is the one it had. A record that says done while the
server is still on the host is a failure, never success: once the polls
have had time to show the move (SETTLE seconds of no progress), it fails.

A cold migration stops at `finished`, the server in VERIFY_RESIZE on its
new host: confirmResize ends it (CONFIRM). A live migration that fails
leaves the server running where it was: with --cold-fallback it is
migrated cold instead (FALLBACK), else it fails with the record's status.

Pure: no I/O, no clock, no API.
"""

from __future__ import annotations

import logging

from osc_evacuate.core.observation import Observation, RowPolicy
from osc_evacuate.core.verdict import HEAD, TAIL, Kind, Rule

LOG = logging.getLogger(__name__)

# Seconds a record may read done with its server not shown moved before
# that is a failure: polls read the server within a few seconds of its
# move, and read it on its own after a few polls (tracker.UNSEEN_POLLS).
SETTLE = 30.0
VERIFY_RESIZE = "VERIFY_RESIZE"
FINISHED = "finished"
LIVE = "live-migration"


def _failed(seen: Observation, policy: RowPolicy) -> bool:
    return seen.record is not None and seen.record.failed


def _live_failed_fallback(seen: Observation, policy: RowPolicy) -> bool:
    return (
        _failed(seen, policy)
        and policy.fallback
        and seen.record is not None
        and seen.record.migration_type == LIVE
    )


def _failed_retry_left(seen: Observation, policy: RowPolicy) -> bool:
    return _failed(seen, policy) and policy.retries_left > 0


def _awaiting_confirm(seen: Observation, policy: RowPolicy) -> bool:
    return (
        seen.record is not None
        and seen.record.status == FINISHED
        and seen.status == VERIFY_RESIZE
        and seen.server is not None
        and seen.server.host != seen.source_host
        and policy.confirms_sent == 0
    )


def _moved_as_it_was(seen: Observation, policy: RowPolicy) -> bool:
    return seen.landed and seen.status == policy.expected_status


def _moved_otherwise(seen: Observation, policy: RowPolicy) -> bool:
    return seen.landed and seen.status != policy.expected_status


def _done_not_moved(seen: Observation, policy: RowPolicy) -> bool:
    return (
        seen.record is not None
        and seen.record.succeeded
        and seen.server is not None
        and seen.server.host == seen.source_host
        and seen.server.task_state is None
        and seen.idle >= SETTLE
    )


def _failure(seen: Observation) -> str | None:
    assert seen.record is not None  # failed: a record
    what = (
        "live migration"
        if seen.record.migration_type == LIVE
        else ("cold migration")
    )
    text = f"{what} {seen.record.id} {seen.record.status}"
    return text + (f": {seen.fault}" if seen.fault else "")


def _wrong_state(seen: Observation) -> str | None:
    assert seen.server is not None  # landed: seen
    return f"moved to {seen.server.host}, but {seen.server.status} there"


def _not_moved(seen: Observation) -> str | None:
    assert seen.record is not None and seen.server is not None
    return (
        f"migration {seen.record.id} reads {seen.record.status}, but the "
        f"server is still on {seen.server.host}"
    )


RULES: tuple[Rule, ...] = (
    *HEAD,
    # Failed: the server is where it was. Cold instead, once more, or
    # fail, saying how.
    Rule(
        "live migration failed: migrate it cold (--cold-fallback)",
        _live_failed_fallback,
        Kind.FALLBACK,
        _failure,
    ),
    Rule(
        "migration failed, a retry left",
        _failed_retry_left,
        Kind.RESUBMIT,
        _failure,
    ),
    Rule("migration failed", _failed, Kind.FAILED, _failure),
    # A cold migration waits for its confirmation.
    Rule(
        "cold migration finished: confirm it",
        _awaiting_confirm,
        Kind.CONFIRM,
    ),
    # Done and moved: proven as it was, or failed in another state.
    Rule("moved in the state it had", _moved_as_it_was, Kind.VERIFIED),
    Rule(
        "moved in another state", _moved_otherwise, Kind.FAILED, _wrong_state
    ),
    # Done on paper, not moved: a failure, never success.
    Rule(
        "done, but the server did not move",
        _done_not_moved,
        Kind.FAILED,
        _not_moved,
    ),
    *TAIL,
)
