"""What the polls have shown of one server's evacuation (Observation), and
what the run promised and has spent on it (RowPolicy): the two inputs of
the verdict table (verdict.py).

Frozen values, with the judgements every rule shares (landed, moved,
went_wrong...) as properties, so that a rule reads as one line.
"""

from __future__ import annotations

import dataclasses
import enum

from osc_evacuate.core import defaults
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Migration, Server


class EarlierRequest(enum.Enum):
    """An earlier run's request, sent and never answered, for a server
    with no record of it yet."""

    NONE = "none"  # no such request
    ON_ITS_WAY = "on its way"  # it may still reach Nova
    NEVER_LANDED = "never landed"  # it can no longer reach Nova


@dataclasses.dataclass(frozen=True)
class Observation:
    """What the polls have shown of one server so far."""

    record: Migration | None  # the newest record this run waits for
    server: Server | None  # as last seen; None until a poll shows it
    source_host: str | None  # the host it is evacuated from
    poll_error: ComputeAPIError | None = None  # this poll got no answer
    # Seconds since a poll last got an answer (0 when this one did).
    unanswered: float = 0.0
    # Seconds since the record or the server last changed: Nova's
    # timestamps for what happened before this run, the local monotonic
    # clock for what this run saw.
    idle: float = 0.0
    # Whether the record's destination has its nova-compute up; None when
    # not known (not asked, no destination yet, Nova did not say).
    destination_up: bool | None = None
    # Whether a poll has shown the server since the last stop was sent.
    seen_since_stop: bool = True
    # An earlier run's request that Nova never answered (journal.py).
    earlier: EarlierRequest = EarlierRequest.NONE

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
    def unfinished(self) -> bool:
        """A record that is neither done nor failed."""
        return self.record is not None and not self.record.finished

    @property
    def destination_down(self) -> bool:
        """Unfinished, and its destination's nova-compute is not up: the
        rebuild there cannot go on."""
        return self.unfinished and self.destination_up is False

    @property
    def reset(self) -> bool:
        """Still on the source host, in ERROR with no task: what
        `openstack server set --state error` leaves of a stuck one."""
        return (
            self.server is not None
            and self.server.host == self.source_host
            and self.server.vm_state == "error"
            and self.server.task_state is None
        )

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
    stops_sent: int  # stop requests sent since it landed
    fault_polls: int  # polls already spent waiting for a fault
    stuck_after: float = defaults.STUCK_AFTER  # no progress so long: stuck
    # A drain's: confirmResize requests sent, and whether a failed live
    # migration may be followed by a cold one (--cold-fallback).
    confirms_sent: int = 0
    fallback: bool = False
