"""What the wait measures of each row between polls: the row tracker.

For each row: which of its records carry this run's request, how long its
record and its server have shown no change, the stops sent since it landed,
the polls spent waiting for a failure's fault or for a landed server to
show. It turns what a poll read into the row's new sighting and into the
verdict table's inputs (observation.py), and keeps its own counts as the
verdicts are applied.

Time, measured honestly (see clock.py): Nova's timestamps for what
happened before this run (an old record's age), the local monotonic clock
for what this run saw.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import (
    Action,
    Method,
    Migration,
    Server,
    WaitPolicy,
)
from osc_evacuate.core.models import ServerOutcome as Row
from osc_evacuate.core.observation import (
    EarlierRequest,
    Observation,
    RowPolicy,
)
from osc_evacuate.core.verdict import Kind
from osc_evacuate.core.window import PollAnswer, parsed

LOG = logging.getLogger(__name__)

# Polls a row may show its record done but not its server moved before
# the server is read on its own: its `updated` may predate the window (a
# compute whose clock runs behind the API's by more than the overlap).
UNSEEN_POLLS = 3
# Records of an earlier request that may carry this run's: the conductor
# takes a server's first `accepted` record, whichever request made it.
_REUSED = frozenset({"pre-migrating", "done"})
_LONG_AGO = datetime.datetime.min


@dataclasses.dataclass
class Tracking:
    """One row's wait bookkeeping (local monotonic times, set back by
    Nova's age of what it had not seen change)."""

    progress_at: float  # the record or the server last changed
    record_at: float  # the record last changed
    known: frozenset[int]  # records that predate this run's request
    reusable: frozenset[int]  # of those, ones that may carry it yet
    stops: int = 0  # stop requests sent since it landed
    seen_since_stop: bool = True
    unseen: int = 0  # polls with its record done, its server not moved
    fault_polls: int = 0  # polls spent waiting for a failure's fault
    confirms: int = 0  # confirmResize requests sent
    # Until when an earlier run's unanswered request may still land
    # (monotonic); None: none, or this run sent its own since.
    earlier_until: float | None = None


class RowTracker:
    def __init__(
        self,
        api: ComputeAPI,
        rows: Sequence[Row],
        began: datetime.datetime | None,
        started: float = 0.0,
    ) -> None:
        """began: Nova's time as the run began; started: the wait's start
        (monotonic), from which an earlier request's time left counts."""
        self.api = api
        self.began = began
        self._earlier = {
            r.id: started + r.planned.earlier_pending
            for r in rows
            if r.planned.earlier_pending is not None
        }
        self._tracks: dict[str, Tracking] = {}

    def known(self, row: Row) -> frozenset[int]:
        """Its records that predate this run's latest request."""
        track = self._tracks.get(row.id)
        # Not yet polled: the row's own, which a request refused outright
        # may have added to while others were still being sent.
        return track.known if track else row.known_migrations

    def observe(
        self, row: Row, answer: PollAnswer, now: float
    ) -> tuple[Row, bool]:
        """The row as this poll showed it, and whether it moved on."""
        before = row.migration
        news = False
        track = self._tracks.get(row.id)
        if answer.error is None:
            server = answer.servers.get(row.id)
            row, news = sighted(row, self._record_of(row, answer), server)
            if server is not None and track is not None:
                track.seen_since_stop = True
        if track is None:
            self._tracks[row.id] = self._first(row, now)
            return row, news
        if news:
            track.progress_at = now
        if row.migration != before:
            track.record_at = now
        return row, news

    def _record_of(self, row: Row, answer: PollAnswer) -> Migration | None:
        """The record that carries this run's request for the row.

        A record this run did not know of; or one it knew (reusable) that
        moved on since the run began: Nova's conductor rebuilds with a
        server's first `accepted` record, so a new request may carry an
        old, stuck one on while its own stays accepted. Of those, the one
        that changed last.
        """
        track = self._tracks.get(row.id)
        known = self.known(row)
        reusable = track.reusable if track else known
        return record_of(
            answer.records.get(row.id, []), known, reusable, self.began
        )

    def _first(self, row: Row, now: float) -> Tracking:
        """First judged: idle since Nova last recorded a change."""
        server_age, record_age = _nova_ages(self.api.nova_now(), row)
        ages = [a for a in (server_age, record_age) if a is not None]
        if record_age:
            LOG.debug(
                "%s: record unchanged for %.0f s by Nova's time",
                row.id,
                record_age,
            )
        known = row.known_migrations
        return Tracking(
            progress_at=now - min(ages, default=0.0),
            record_at=now - (record_age or 0.0),
            known=known,
            reusable=known,
            earlier_until=self._earlier.get(row.id),
        )

    def read_if_unseen(self, row: Row) -> tuple[Row, bool]:
        """Read the server itself when its record has been done for
        UNSEEN_POLLS polls and no servers poll showed it move. The row as
        read, and whether the read showed news."""
        track = self._tracks[row.id]
        record, server = row.migration, row.after
        landed = (
            server is not None
            and server.host != row.before.host
            and server.task_state is None
        )
        if record is None or not record.succeeded or landed:
            track.unseen = 0
            return row, False
        track.unseen += 1
        if track.unseen < UNSEEN_POLLS:
            return row, False
        track.unseen = 0
        LOG.debug(
            "%s: migration %s done %d polls, the server not shown moved: "
            "read it (a compute's clock behind the API's?)",
            row.id,
            record.id,
            UNSEEN_POLLS,
        )
        try:
            found = self.api.get_server(row.id)
        except ComputeAPIError as exc:
            LOG.debug("%s: not read: %s", row.id, exc)
            return row, False
        return sighted(row, None, found) if found else (row, False)

    def idle(self, row: Row, now: float) -> float:
        track = self._tracks.get(row.id)
        return now - track.progress_at if track else 0.0

    def record_idle(self, row: Row, now: float) -> float:
        track = self._tracks.get(row.id)
        return now - track.record_at if track else 0.0

    def idle_destinations(
        self, rows: Sequence[Row], now: float, after: float
    ) -> set[str]:
        """Destinations of unfinished evacuations idle `after` seconds."""
        return {
            row.migration.dest_compute
            for row in rows
            if row.migration is not None
            and not row.migration.finished
            and row.migration.dest_compute
            and self.record_idle(row, now) >= after
        }

    def observation(
        self,
        row: Row,
        answer: PollAnswer,
        unanswered: float,
        destinations_up: dict[str, bool],
        now: float,
    ) -> Observation:
        track = self._tracks.get(row.id)
        server = row.after
        if server is None and row.action is Action.RESUMED:
            # Read as it is now when the run began: a poll shows it only
            # once it changes.
            server = row.before
        dest = row.migration.dest_compute if row.migration else None
        return Observation(
            record=row.migration,
            server=server,
            source_host=row.before.host,
            poll_error=answer.error,
            unanswered=unanswered,
            idle=self.idle(row, now),
            destination_up=destinations_up.get(dest) if dest else None,
            seen_since_stop=track.seen_since_stop if track else True,
            earlier=_earlier(track, now),
        )

    def policy(self, row: Row, wait: WaitPolicy) -> RowPolicy:
        track = self._tracks.get(row.id)
        return RowPolicy(
            expected_status=row.expected_status,
            # attempts counts every request sent for the row.
            retries_left=max(0, wait.retries + 1 - row.attempts),
            stops_sent=track.stops if track else 0,
            fault_polls=track.fault_polls if track else 0,
            stuck_after=wait.stuck_after,
            confirms_sent=track.confirms if track else 0,
            fallback=wait.cold_fallback and row.method is Method.LIVE,
        )

    def judged(self, row: Row, kind: Kind, now: float) -> None:
        """Keep count of what a verdict does to the row."""
        track = self._tracks[row.id]
        if kind is Kind.AWAIT_FAULT:
            track.fault_polls += 1
        elif kind is Kind.CONFIRM:
            track.confirms += 1
            track.progress_at = now
        elif kind is Kind.STOP:
            track.progress_at = now
            track.stops += 1
            track.seen_since_stop = False
        elif kind in (Kind.RESUBMIT, Kind.FALLBACK):
            record = row.migration
            if record is not None:
                # Wait for the next request's record, not this one; a
                # stuck one (not failed) the conductor may yet take up.
                track.known |= {record.id}
                if not record.finished:
                    track.reusable |= {record.id}
            track.progress_at = track.record_at = now
            track.earlier_until = None  # this run's own request now


def _earlier(track: Tracking | None, now: float) -> EarlierRequest:
    until = track.earlier_until if track else None
    if until is None:
        return EarlierRequest.NONE
    if now < until:
        return EarlierRequest.ON_ITS_WAY
    return EarlierRequest.NEVER_LANDED


def record_of(
    records: list[Migration],
    known: frozenset[int],
    reusable: frozenset[int],
    began: datetime.datetime | None,
) -> Migration | None:
    """Of a server's records, the one that carries this run's request:
    new, or known and reusable but moved since the run began; of those,
    a succeeded one first (two requests that both reached Nova, an
    earlier run's lost one say, leave one done and one failed: "already
    exists"; the done one is the evacuation), then the last changed."""
    mine = [
        m
        for m in records
        if m.id not in known or (m.id in reusable and _moved_since(m, began))
    ]
    return max(
        mine,
        key=lambda m: (m.succeeded, _changed_at(m), m.id),
        default=None,
    )


def sighted(
    row: Row, record: Migration | None, server: Server | None
) -> tuple[Row, bool]:
    """The row with what a poll showed of it, and whether that was new.

    None means the poll did not show it: the last sighting stands.
    """
    news = (record is not None and record != row.migration) or (
        server is not None and server != row.after
    )
    if not news:
        return row, False
    return (
        dataclasses.replace(
            row,
            migration=record or row.migration,
            after=server or row.after,
        ),
        True,
    )


def _nova_ages(
    nova_now: datetime.datetime | None, row: Row
) -> tuple[float | None, float | None]:
    """Seconds since Nova last changed the row's server, and its
    record; None when Nova's time or the timestamp is not known."""
    server = row.after or row.before
    changed = (
        parsed(server.updated),
        _changed_at(row.migration) if row.migration else None,
    )
    ages = [
        None
        if nova_now is None or stamp is None or stamp == _LONG_AGO
        else max(0.0, (nova_now - stamp).total_seconds())
        for stamp in changed
    ]
    return ages[0], ages[1]


def _changed_at(record: Migration) -> datetime.datetime:
    """When Nova last changed the record (its creation if never since)."""
    return parsed(record.updated_at or record.created_at) or _LONG_AGO


def _moved_since(record: Migration, began: datetime.datetime | None) -> bool:
    changed = parsed(record.updated_at)
    return (
        record.status in _REUSED
        and began is not None
        and changed is not None
        and changed >= began
    )
