"""What one poll reads, and from when: the poll window.

Each poll costs two requests whatever the number of servers: the
evacuation records of the source hosts changed since the last poll
(records.py says when it reads them all instead), and the servers changed
since the last poll (more only past 1000 of either, a page each).

The window is in Nova's time, never the client's: the first servers poll
asks for what changed since Nova's time as the run began (window_start,
taken before the first request goes out), and each later one since Nova's
time just before the previous poll's servers read, less an overlap for
clocks that differ between Nova's hosts. A poll returns what changed since
the last one, and the client's own clock plays no part.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import Clock, nova_time, parse_nova_time, utc_now
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import (
    EVACUATION,
    Migration,
    RetryPolicy,
    Server,
)
from osc_evacuate.core.models import ServerOutcome as Row
from osc_evacuate.core.records import (
    NEW_RECORD_GRACE,
    Key,
    Read,
    RecordCache,
    choose_read,
)
from osc_evacuate.core.retry import retrying

LOG = logging.getLogger(__name__)

# Only when Nova's answers carry no Date: the old margin on the local
# clock, for the first window (later ones follow servers' `updated`).
UNDATED_MARGIN = datetime.timedelta(minutes=5)


@dataclasses.dataclass(frozen=True)
class Window:
    """Where the first servers poll starts, in Nova's time."""

    since: datetime.datetime  # changes-since of the first servers poll
    began: datetime.datetime | None  # Nova's time as the run began


def window_start(api: ComputeAPI, overlap: datetime.timedelta) -> Window:
    """Nova's time now (its latest answer's Date), less the overlap.

    Take it before the first evacuate request, so that the first poll sees
    every change this run makes.
    """
    now = api.nova_now()
    if now is None:
        LOG.debug(
            "Nova's answers carry no Date: the first poll window follows "
            "the local clock, less %s",
            UNDATED_MARGIN,
        )
        return Window(utc_now() - UNDATED_MARGIN, None)
    LOG.debug("Nova's time at the start: %s", nova_time(now))
    return Window(now - overlap, now)


@dataclasses.dataclass(frozen=True)
class PollAnswer:
    """What one poll read: every record and changed server, or an error."""

    records: dict[str, list[Migration]]  # by server id
    servers: dict[str, Server]  # by id
    error: ComputeAPIError | None = None


class PollWindow:
    """The reads of each poll, and the window they read from."""

    def __init__(
        self,
        api: ComputeAPI,
        sources: tuple[str, ...],
        start: Window,
        clock: Clock,
        retry: RetryPolicy,
        overlap: datetime.timedelta,
        record_types: tuple[str, ...] = (EVACUATION,),
    ) -> None:
        """record_types: the kinds of migration record the job makes."""
        self.api = api
        self.record_types = record_types
        self.sources = sources  # the hosts evacuated: their records read
        self.clock = clock
        self.retry = retry
        self.overlap = overlap
        self.since = start.since  # the next servers poll's changes-since
        self._cache = RecordCache(overlap)

    def fetch(
        self, pending: Sequence[Row], record_idle: Callable[[Row], float]
    ) -> PollAnswer:
        """Read the records and the changed servers, or say why not.

        record_idle: seconds a row's record has shown no change.
        """
        # Nova's time before the records reads (its last answer's Date):
        # the next records window starts there, less the overlap.
        records_mark = self.api.nova_now()
        try:
            # A read per source host (one for all, on a server's own run)
            # and kind of record.
            for source in self.sources or (None,):
                for kind in self.record_types:
                    self._read_records((source, kind), pending, record_idle)
            # Nova's time before the servers read: the next window starts
            # there (less the overlap), so no change falls between two.
            mark = self.api.nova_now()
            since = nova_time(self.since)
            servers = retrying(
                lambda: self.api.servers_changed_since(since),
                self.clock,
                self.retry,
            )
        except ComputeAPIError as exc:
            return PollAnswer({}, {}, exc)
        self._move(mark, servers)
        self._cache.advance(records_mark)
        return PollAnswer(self._cache.by_server(), {s.id: s for s in servers})

    def _read_records(
        self,
        key: Key,
        pending: Sequence[Row],
        record_idle: Callable[[Row], float],
    ) -> None:
        """Read the source's records of a kind, in full or only those
        changed since the last poll (records.choose_read), into the
        cache."""
        source, kind = key
        rows = [r for r in pending if source in (None, r.before.host)]
        since = self._cache.since
        now = self.clock.monotonic()
        choice = choose_read(
            window=since is not None,
            last_full=self._cache.last_full(key),
            now=now,
            rows_without_record=sum(
                r.migration is None and record_idle(r) >= NEW_RECORD_GRACE
                for r in rows
            ),
            longest_idle=max(map(record_idle, rows), default=0.0),
        )
        changes = (
            nova_time(since)
            if choice.read is Read.CHANGES and since is not None
            else None
        )
        LOG.debug(
            "%s records of %s: %s read (%s)%s",
            kind,
            source or "every host",
            choice.read.value,
            choice.why,
            f", changed since {changes}" if changes else "",
        )
        records = retrying(
            lambda: self.api.migrations(
                kind, source_host=source, changes_since=changes
            ),
            self.clock,
            self.retry,
        )
        self._cache.keep(key, records, choice.read, now)

    def _move(
        self, mark: datetime.datetime | None, servers: list[Server]
    ) -> None:
        """The next poll asks for what changed after this one's read."""
        if mark is None:
            # No Date from Nova: the newest change it showed is its time.
            stamps = [s for s in (parsed(v.updated) for v in servers) if s]
            if not stamps:
                return
            mark = max(stamps)
        start = mark - self.overlap
        if start > self.since:
            LOG.debug(
                "the next poll asks for changes since %s", nova_time(start)
            )
            self.since = start


def parsed(stamp: str | None) -> datetime.datetime | None:
    """Nova's timestamp, or None when there is none (or none that
    parses)."""
    if not stamp:
        return None
    try:
        return parse_nova_time(stamp)
    except ValueError:
        return None
