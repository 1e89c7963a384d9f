"""Wait until every evacuation is proven: the poll loop.

Each poll costs two requests whatever the number of servers: the
evacuation records from the source host changed since the last poll
(records.py says when it reads them all instead) and the servers changed
since the last poll (more only past 1000 of either, a page each). So what
a poll reads follows what changed, not the number of servers. What a poll
proves of each server is not decided here but by verdict.decide, a table
tested on its own; this loop only fetches, measures, applies verdicts,
reports progress and sleeps, backing off while nothing changes.

Time, measured honestly (see clock.py):

- The servers poll's changes-since window is in Nova's time: it starts at
  Nova's time when the run began and moves forward after each poll to
  Nova's time just before that poll's servers read, less an overlap for
  clocks that differ between Nova's hosts. A poll returns what changed
  since the last one, and the client's own clock plays no part.
- How long a row has shown no progress: Nova's timestamps for what
  happened before this run (an old record's age), the local monotonic
  clock for what this run saw.
- Whether an evacuation's destination is up: one read of the compute
  services, only once some row has been idle DEST_CHECK_AFTER seconds, and
  at most every DEST_CHECK_EVERY seconds: not a request per poll. A
  destination forced down is dead (the operator says so); one Nova reads
  down by its heartbeat alone may be busy and a beat late, so it is dead
  only when a read DEST_CHECK_EVERY later still finds it down.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import (
    Clock,
    nova_time,
    parse_nova_time,
    utc_now,
)
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import ComputeService, Migration, Server
from osc_evacuate.core.outcome import Action, Result, ServerOutcome
from osc_evacuate.core.records import Read, RecordCache, choose_read
from osc_evacuate.core.retry import RetryPolicy, retrying
from osc_evacuate.core.verdict import (
    STUCK_AFTER,
    Kind,
    Observation,
    RowPolicy,
    Verdict,
    decide,
)

LOG = logging.getLogger(__name__)

# Idle seconds before asking whether a row's destination is up, and the
# least time between two such asks.
DEST_CHECK_AFTER = 30.0
DEST_CHECK_EVERY = 30.0
# Only when Nova's answers carry no Date: the old margin on the local
# clock, for the first window (later ones follow servers' `updated`).
UNDATED_MARGIN = datetime.timedelta(minutes=5)
# Polls a row may show its record done but not its server moved before
# the server is read on its own: its `updated` may predate the window.
UNSEEN_POLLS = 3
# Records of an earlier request that may carry this run's: the conductor
# takes a server's first `accepted` record, whichever request made it.
_REUSED = frozenset({"pre-migrating", "done"})
_LONG_AGO = datetime.datetime.min


@dataclasses.dataclass(frozen=True)
class WaitPolicy:
    timeout: float | None = None  # seconds; None waits as long as it takes
    interval: float = 1.0  # first pause between polls
    max_interval: float = 10.0  # the pause grows to this while idle
    backoff: float = 1.5
    retries: int = 0  # re-submissions after NoValidHost
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    # Seconds with no progress, or no answer, after which a row ends.
    stuck_after: float = STUCK_AFTER


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

    def record_of(
        self,
        row: ServerOutcome,
        reusable: frozenset[int] = frozenset(),
        began: datetime.datetime | None = None,
    ) -> Migration | None:
        """The record that carries this run's request for the row.

        A record this run did not know of; or one it knew (reusable) that
        moved on since the run began: Nova's conductor rebuilds with a
        server's first `accepted` record, so a new request may carry an
        old, stuck one on while its own stays accepted. Of those, the one
        that changed last.
        """
        mine = [
            m
            for m in self.records.get(row.before.id, [])
            if m.id not in row.known_migrations
            or (m.id in reusable and _moved_since(m, began))
        ]
        return max(mine, key=lambda m: (_changed_at(m), m.id), default=None)


def _changed_at(record: Migration) -> datetime.datetime:
    """When Nova last changed the record (its creation if never since)."""
    return _parsed(record.updated_at or record.created_at) or _LONG_AGO


def _moved_since(record: Migration, began: datetime.datetime | None) -> bool:
    changed = _parsed(record.updated_at)
    return (
        record.status in _REUSED
        and began is not None
        and changed is not None
        and changed >= began
    )


def _parsed(stamp: str | None) -> datetime.datetime | None:
    if not stamp:
        return None
    try:
        return parse_nova_time(stamp)
    except ValueError:
        return None


@dataclasses.dataclass
class _Tracking:
    """What the poller measures of one row between polls (local monotonic
    times, set back by Nova's age of what it had not seen change)."""

    progress_at: float  # the record or the server last changed
    record_at: float  # the record last changed
    stops: int = 0  # stop requests sent since it landed
    seen_since_stop: bool = True
    # Polls in a row with its record done and its server not shown moved.
    unseen: int = 0


@dataclasses.dataclass
class Poller:
    api: ComputeAPI
    sources: tuple[str, ...]  # the hosts evacuated: their records polled
    window: Window
    clock: Clock
    policy: WaitPolicy
    resubmit: Callable[[ServerOutcome], None]
    on_progress: Callable[[Sequence[ServerOutcome]], None] = lambda r: None
    # Clocks of Nova's hosts may differ by this much: each window starts
    # this far before Nova's time of the last poll.
    overlap: datetime.timedelta = datetime.timedelta(minutes=1)
    # Called with each row as it ends (--lock: unlock it).
    on_end: Callable[[ServerOutcome], None] | None = None
    polls: int = 0

    def __post_init__(self) -> None:
        self.since = self.window.since
        self._cache = RecordCache(self.overlap)
        self._tracking: dict[str, _Tracking] = {}
        self._reusable: dict[str, frozenset[int]] = {}
        self._last_answer = 0.0
        self._services_read_at: float | None = None
        # Destinations read down by their heartbeat: when first so.
        self._silent_since: dict[str, float] = {}

    def wait(self, rows: Sequence[ServerOutcome]) -> None:
        start = self.clock.monotonic()
        self._last_answer = start
        # Records known before this run's requests: the conductor may
        # carry this run's request on one of them (PollAnswer.record_of).
        self._reusable = {r.before.id: r.known_migrations for r in rows}
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
        since = self.since
        answer = self._fetch(pending)
        now = self.clock.monotonic()
        if answer.error is None:
            self._last_answer = now
            LOG.debug(
                "poll %d: %d evacuation records, %d servers changed since "
                "%s, %d pending",
                self.polls,
                sum(len(r) for r in answer.records.values()),
                len(answer.servers),
                nova_time(since),
                len(pending),
            )
        else:
            LOG.debug(
                "poll %d: no answer (%s), %d pending",
                self.polls,
                answer.error,
                len(pending),
            )
        news = {
            row.before.id: self._observe(row, answer, now) for row in pending
        }
        if answer.error is None:
            for row in pending:
                news[row.before.id] |= self._read_if_unseen(row)
        up = self._destinations_up(pending, now)
        changed = False
        for row in pending:
            verdict = decide(
                self._observation(row, answer, now, up),
                self._row_policy(row),
            )
            self._apply(row, verdict, now)
            # Back off only while Nova shows nothing new and nothing is done.
            changed |= news[row.before.id] or verdict.acts
        return changed

    def _fetch(self, pending: list[ServerOutcome]) -> PollAnswer:
        # Nova's time before the records reads (its last answer's Date):
        # the next records window starts there, less the overlap.
        records_mark = self.api.nova_now()
        try:
            # A page per source host (one for all, on a server's own run).
            for source in self.sources or (None,):
                self._read_records(source, pending)
            # Nova's time before the servers read: the next window starts
            # there (less the overlap), so no change falls between two.
            mark = self.api.nova_now()
            since = nova_time(self.since)
            servers = retrying(
                lambda: self.api.servers_changed_since(since),
                self.clock,
                self.policy.retry,
            )
        except ComputeAPIError as exc:
            return PollAnswer({}, {}, exc)
        self._move_window(mark, servers)
        self._cache.advance(records_mark)
        return PollAnswer(self._cache.by_server(), {s.id: s for s in servers})

    def _read_records(
        self, source: str | None, pending: list[ServerOutcome]
    ) -> None:
        """Read the source's records, in full or only those changed since
        the last poll (records.choose_read), into the cache."""
        now = self.clock.monotonic()
        rows = [r for r in pending if source in (None, r.before.host)]
        since = self._cache.since
        choice = choose_read(
            window=since is not None,
            last_full=self._cache.last_full(source),
            now=now,
            rows_without_record=sum(r.migration is None for r in rows),
            longest_idle=max(
                (self._record_idle(r, now) for r in rows), default=0.0
            ),
        )
        changes = (
            nova_time(since)
            if choice.read is Read.CHANGES and since is not None
            else None
        )
        LOG.debug(
            "poll %d: records of %s: %s read (%s)%s",
            self.polls,
            source or "every host",
            choice.read.value,
            choice.why,
            f", changed since {changes}" if changes else "",
        )
        records = retrying(
            lambda: self.api.evacuation_migrations(
                source_host=source, changes_since=changes
            ),
            self.clock,
            self.policy.retry,
        )
        self._cache.keep(source, records, choice.read, now)

    def _move_window(
        self, mark: datetime.datetime | None, servers: list[Server]
    ) -> None:
        """The next poll asks for what changed after this one's read."""
        if mark is None:
            # No Date from Nova: the newest change it showed is its time.
            stamps = [s for s in (_parsed(v.updated) for v in servers) if s]
            if not stamps:
                return
            mark = max(stamps)
        start = mark - self.overlap
        if start > self.since:
            LOG.debug(
                "the next poll asks for changes since %s", nova_time(start)
            )
            self.since = start

    def _observe(
        self, row: ServerOutcome, answer: PollAnswer, now: float
    ) -> bool:
        """Keep what the poll showed of the row; True when it moved on."""
        key = row.before.id
        news = False
        record_before = row.migration
        if answer.error is None:
            record = answer.record_of(
                row, self._reusable.get(key, frozenset()), self.window.began
            )
            server = answer.servers.get(key)
            news = row.observe(record, server)
            if server is not None and key in self._tracking:
                self._tracking[key].seen_since_stop = True
        track = self._tracking.get(key)
        if track is None:
            # First judged: idle since Nova last recorded a change.
            server_age, record_age = self._nova_ages(row)
            known = [a for a in (server_age, record_age) if a is not None]
            self._tracking[key] = _Tracking(
                progress_at=now - min(known, default=0.0),
                record_at=now - (record_age or 0.0),
            )
            if record_age:
                LOG.debug(
                    "%s: record unchanged for %.0f s by Nova's time",
                    key,
                    record_age,
                )
            return news
        if news:
            track.progress_at = now
        if row.migration != record_before:
            track.record_at = now
        return news

    def _read_if_unseen(self, row: ServerOutcome) -> bool:
        """Read the server itself when its record has been done for
        UNSEEN_POLLS polls and no servers poll showed it move: a compute
        whose clock runs behind the API's by more than the overlap stamps
        its change before the window. True when the read showed news."""
        track = self._tracking[row.before.id]
        record, server = row.migration, row.after
        landed = (
            server is not None
            and server.host != row.before.host
            and server.task_state is None
        )
        if record is None or not record.succeeded or landed:
            track.unseen = 0
            return False
        track.unseen += 1
        if track.unseen < UNSEEN_POLLS:
            return False
        track.unseen = 0
        LOG.debug(
            "%s: migration %s done %d polls, the server not shown moved: "
            "read it (a compute's clock behind the API's?)",
            row.before.id,
            record.id,
            UNSEEN_POLLS,
        )
        try:
            found = self.api.get_server(row.before.id)
        except ComputeAPIError as exc:
            LOG.debug("%s: not read: %s", row.before.id, exc)
            return False
        if found is None:
            return False
        return row.observe(None, found)

    def _nova_ages(
        self, row: ServerOutcome
    ) -> tuple[float | None, float | None]:
        """Seconds since Nova last changed the row's server, and its
        record; None when Nova's time or the timestamp is not known."""
        nova_now = self.api.nova_now()
        server = row.after or row.before
        changed = (
            _parsed(server.updated),
            _changed_at(row.migration) if row.migration else None,
        )
        ages = [
            None
            if nova_now is None or stamp is None or stamp == _LONG_AGO
            else max(0.0, (nova_now - stamp).total_seconds())
            for stamp in changed
        ]
        return ages[0], ages[1]

    def _destinations_up(
        self, pending: list[ServerOutcome], now: float
    ) -> dict[str, bool]:
        """Whether the destination of each idle evacuation is up: read only
        when one has been idle a while, and not more often than every
        DEST_CHECK_EVERY seconds. Empty when not read this poll."""
        idle = {
            row.migration.dest_compute
            for row in pending
            if row.migration is not None
            and not row.migration.finished
            and row.migration.dest_compute
            and self._record_idle(row, now) >= DEST_CHECK_AFTER
        }
        if not idle:
            return {}
        last = self._services_read_at
        if last is not None and now - last < DEST_CHECK_EVERY:
            return {}
        self._services_read_at = now
        try:
            services = self.api.compute_services()
        except ComputeAPIError as exc:
            LOG.debug("destinations %s: not known (%s)", sorted(idle), exc)
            return {}
        up = {
            s.host: judged
            for s in services
            if s.host in idle
            and (judged := self._judge_destination(s, now)) is not None
        }
        LOG.debug("idle evacuations' destinations up: %s", up)
        return up

    def _judge_destination(
        self, service: ComputeService, now: float
    ) -> bool | None:
        """Up, down, or None: read down by its heartbeat for the first
        time, and so not known yet."""
        if service.is_up:
            self._silent_since.pop(service.host, None)
            return True
        if service.forced_down:
            return False
        first = self._silent_since.setdefault(service.host, now)
        if now - first >= DEST_CHECK_EVERY:
            return False
        LOG.debug(
            "%s reads down by its heartbeat: asked again in %.0f s before "
            "its evacuations are called stuck",
            service.host,
            DEST_CHECK_EVERY,
        )
        return None

    def _idle(self, row: ServerOutcome, now: float) -> float:
        track = self._tracking.get(row.before.id)
        return now - track.progress_at if track else 0.0

    def _record_idle(self, row: ServerOutcome, now: float) -> float:
        track = self._tracking.get(row.before.id)
        return now - track.record_at if track else 0.0

    def _observation(
        self,
        row: ServerOutcome,
        answer: PollAnswer,
        now: float,
        up: dict[str, bool],
    ) -> Observation:
        track = self._tracking.get(row.before.id)
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
            unanswered=now - self._last_answer,
            idle=self._idle(row, now),
            destination_up=up.get(dest) if dest else None,
            seen_since_stop=track.seen_since_stop if track else True,
        )

    def _row_policy(self, row: ServerOutcome) -> RowPolicy:
        track = self._tracking.get(row.before.id)
        return RowPolicy(
            expected_status=row.expected_status,
            # attempts counts the POSTs this run sent for the row.
            retries_left=max(0, self.policy.retries + 1 - row.attempts),
            stops_sent=track.stops if track else 0,
            fault_polls=row.fault_polls,
            stuck_after=self.policy.stuck_after,
        )

    def _apply(self, row: ServerOutcome, verdict: Verdict, now: float) -> None:
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
        track = self._tracking[row.before.id]
        result = verdict.kind.ends_as
        if result is not None:
            row.finish(result, now, verdict.reason)
            self._ended(row)
        elif verdict.kind is Kind.AWAIT_FAULT:
            row.fault_polls += 1
        elif verdict.kind is Kind.RESUBMIT:
            record = row.migration
            if record is not None and not record.finished:
                # Stuck, not failed: the conductor may yet take it up
                # for the new request.
                key = row.before.id
                self._reusable[key] = self._reusable.get(key, frozenset()) | {
                    record.id
                }
            row.set_aside_migration()
            track.progress_at = track.record_at = now
            self.resubmit(row)
        elif verdict.kind is Kind.STOP:
            track.progress_at = now
            self._stop(row, track)

    def _stop(self, row: ServerOutcome, track: _Tracking) -> None:
        """Stop a server that landed ACTIVE under the stopped policy."""
        row.stop_requested = True
        track.stops += 1
        track.seen_since_stop = False
        LOG.debug("stopping %s (stop %d)", row.before.id, track.stops)
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
            self._ended(row)

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
            self._ended(row)

    def _ended(self, row: ServerOutcome) -> None:
        if self.on_end is not None:
            self.on_end(row)
