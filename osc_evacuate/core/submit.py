"""Send a job's requests (evacuate, migrate), a bounded number at a
time, never twice.

Worker threads send; each tells how its request went in a message (Sent)
to the job's own thread, which alone changes the rows (ledger.py). Which
requests are on the wire right now is kept under a lock: on Ctrl-C those
are the rows Nova may or may not have started.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Protocol

from osc_evacuate.core.api import ComputeAPI, EvacuateResponse
from osc_evacuate.core.clock import Clock
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.journal import Journal
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    EVACUATION,
    Action,
    RetryPolicy,
    ServerOutcome,
)
from osc_evacuate.core.pacing import Pacer
from osc_evacuate.core.retry import retrying
from osc_evacuate.core.sending import FINISHED, Inbox, Message, Sending

LOG = logging.getLogger(__name__)

# What a job does in the worker before a row's request: its messages.
Prepare = Callable[[ServerOutcome], Sequence[Message]]


@dataclasses.dataclass(frozen=True)
class NotSent:
    """A message of prepare's: a step before the request failed, so the
    request is not sent and the row ends failed."""

    server_id: str
    error: str


class Requests(Protocol):
    """A job's requests: the one each row needs, and the kind of record
    Nova keeps of it (to look for one when an answer was lost)."""

    @property
    def version(self) -> Microversion: ...

    @property
    def retry(self) -> RetryPolicy: ...

    def send(
        self, api: ComputeAPI, row: ServerOutcome
    ) -> EvacuateResponse: ...

    def record_type(self, row: ServerOutcome) -> str: ...


@dataclasses.dataclass(frozen=True)
class Submission:
    """An evacuation's request: the same body for every server."""

    version: Microversion
    # It may carry adminPass: never in a repr, so never in a log.
    body: dict[str, object] = dataclasses.field(repr=False)
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)

    def send(self, api: ComputeAPI, row: ServerOutcome) -> EvacuateResponse:
        return api.evacuate(row.id, self.version, self.body)

    def record_type(self, row: ServerOutcome) -> str:
        return EVACUATION


@dataclasses.dataclass(frozen=True)
class Sent:
    """How one server's request went."""

    server_id: str
    at: float  # monotonic time its first try went out
    accepted: bool  # Nova took it, or it landed though the answer was lost
    request_id: str | None = None
    admin_pass: str | None = dataclasses.field(default=None, repr=False)
    error: str | None = None  # why not, when not accepted
    # Not accepted because Nova answered no (4xx): it surely did nothing.
    refused: bool = False


class Submitter:
    def __init__(
        self,
        api: ComputeAPI,
        submission: Requests,
        clock: Clock,
        max_parallel: int,
        journal: Journal | None = None,
    ) -> None:
        """journal: where each request is written before it goes out and
        struck off once it is settled (journal.py)."""
        self.api = api
        self.submission = submission
        self.clock = clock
        self.max_parallel = max_parallel
        self.journal = journal or Journal(None)
        self.cancel = threading.Event()
        self._lock = threading.Lock()
        self._on_the_wire: set[str] = set()

    @property
    def in_flight(self) -> frozenset[str]:
        """Servers whose request is sent and not answered (nor given up
        on): Nova may have started them."""
        with self._lock:
            return frozenset(self._on_the_wire)

    def send_all(
        self,
        rows: Sequence[ServerOutcome],
        on_message: Callable[[Message], None],
        prepare: Prepare | None = None,
    ) -> None:
        """start, then take every message until the last worker ends."""
        sending = self.start(rows, on_message, prepare)
        try:
            sending.finish()
        except BaseException:
            sending.stop()
            raise

    def start(
        self,
        rows: Sequence[ServerOutcome],
        on_message: Callable[[Message], None],
        prepare: Prepare | None = None,
    ) -> Sending:
        """Start sending every row whose action is SUBMITTED, prepare(row)
        first in the same worker (--lock: lock it; --rescue: reset it),
        unless a step of it failed (NotSent). At most max_parallel at a
        time, fewer while Nova answers more slowly for more (pacing.py).
        on_message gets every message, in the thread that takes them
        (sending.py); on Ctrl-C that thread calls Sending.stop.
        """
        todo = collections.deque(
            r for r in rows if r.action is Action.SUBMITTED
        )
        inbox: Inbox = queue.Queue()
        pacer = Pacer(self.max_parallel)
        workers = max(1, min(self.max_parallel, len(todo))) if todo else 0
        LOG.debug("sending %d requests, %d workers", len(todo), workers)
        for _ in range(workers):
            threading.Thread(
                target=self._work,
                args=(todo, inbox, pacer, prepare),
                daemon=True,
            ).start()
        return Sending(workers, inbox, self.cancel, on_message)

    def _work(
        self,
        todo: collections.deque[ServerOutcome],
        done: Inbox,
        pacer: Pacer,
        prepare: Prepare | None,
    ) -> None:
        try:
            self._send_each(todo, done, pacer, prepare)
        finally:
            done.put(FINISHED)

    def _send_each(
        self,
        todo: collections.deque[ServerOutcome],
        done: Inbox,
        pacer: Pacer,
        prepare: Prepare | None,
    ) -> None:
        while pacer.acquire(self.cancel.is_set):
            try:
                row = todo.popleft()
            except IndexError:
                pacer.unused()
                return
            started = self.clock.monotonic()
            try:
                prepared = prepare(row) if prepare is not None else ()
                for message in prepared:
                    done.put(message)
                if any(isinstance(m, NotSent) for m in prepared):
                    continue
                sent = self.send(row, row.known_migrations)
            except BaseException as exc:  # handed to the job's thread
                done.put(exc)
                return
            finally:
                pacer.release(self.clock.monotonic() - started)
            if sent is not None:
                done.put(sent)

    def send(self, row: ServerOutcome, known: frozenset[int]) -> Sent | None:
        """Send the row's request; None when cancelled before it was told.

        known: its records before this request: a new one means a lost
        answer's request landed after all.
        """
        server = row.before
        at = self.clock.monotonic()
        LOG.debug("sending %s at %s", server.id, self.submission.version)
        for delay in [*self.submission.retry.delays(), None]:
            if self.cancel.is_set():
                return None
            with self._lock:
                self._on_the_wire.add(server.id)
            self.journal.sending(server.id, self.api.answer_timeout())
            try:
                answer = self.submission.send(self.api, row)
            except ComputeAPIError as exc:
                if self.cancel.is_set():
                    return None  # unknown: it stays on the wire
                given_up = self._failed(row, known, exc, at, delay)
                if given_up is not None:
                    return given_up
                assert delay is not None  # retried only with a delay left
                self.clock.sleep(delay)
                continue
            self._answered(server.id)
            self.journal.settled(server.id)
            LOG.debug(
                "%s: request accepted (request %s)",
                server.id,
                answer.request_id,
            )
            return Sent(
                server.id,
                at,
                accepted=True,
                request_id=answer.request_id,
                admin_pass=answer.admin_pass,
            )
        raise AssertionError("the last try always returns")

    def _failed(
        self,
        row: ServerOutcome,
        known: frozenset[int],
        exc: ComputeAPIError,
        at: float,
        delay: float | None,
    ) -> Sent | None:
        """What a failed try means: a Sent when it is over (landed after
        all, failed for good, or not known), None to try again."""
        server = row.before
        self._answered(server.id)
        if exc.no_answer or (exc.status or 0) >= 500:
            # It may have been carried out all the same: look first.
            landed = _landed(self.api, self.submission, self.clock, row, known)
            LOG.debug(
                "%s: request failed (%s); landed after all: %s",
                server.id,
                exc,
                "unknown" if landed is None else landed,
            )
            if landed is None:
                # It may land yet: the journal keeps it for a rerun.
                return Sent(server.id, at, False, error=_unknown(exc))
            self.journal.settled(server.id)
            if landed:
                return Sent(server.id, at, True, request_id=exc.request_id)
        self.journal.settled(server.id)
        if not exc.transient or delay is None:
            LOG.debug("%s: giving up: %s", server.id, exc)
            refused = exc.status is not None and exc.status < 500
            return Sent(
                server.id,
                at,
                False,
                request_id=exc.request_id,
                error=str(exc),
                refused=refused,
            )
        LOG.debug("%s: retrying in %.1f s after: %s", server.id, delay, exc)
        return None

    def _answered(self, server_id: str) -> None:
        with self._lock:
            self._on_the_wire.discard(server_id)


def _landed(
    api: ComputeAPI,
    submission: Requests,
    clock: Clock,
    row: ServerOutcome,
    known: frozenset[int],
) -> bool | None:
    """Whether Nova recorded a new request; None when it won't say."""
    kind = submission.record_type(row)
    try:
        records = retrying(
            lambda: api.migrations(
                kind, source_host=row.before.host, instance_uuid=row.id
            ),
            clock,
            submission.retry,
        )
    except ComputeAPIError:
        return None
    return any(m.id not in known for m in records)


def _unknown(exc: ComputeAPIError) -> str:
    return (
        f"{exc}; Nova did not say whether it took the request, so it was "
        "not repeated: run the command again to find out"
    )
