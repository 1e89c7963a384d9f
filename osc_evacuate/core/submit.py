"""Send evacuate requests, a bounded number at a time, never twice."""

from __future__ import annotations

import collections
import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Sequence

from osc_evacuate.core import defaults
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import Clock
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.outcome import Action, Result, ServerOutcome
from osc_evacuate.core.pacing import Pacer
from osc_evacuate.core.retry import RetryPolicy, retrying

LOG = logging.getLogger(__name__)

DEFAULT_MAX_PARALLEL = defaults.MAX_PARALLEL


@dataclasses.dataclass(frozen=True)
class Submission:
    version: Microversion
    # It may carry adminPass: never in a repr, so never in a log.
    body: dict[str, object] = dataclasses.field(repr=False)
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)


def submit_all(
    api: ComputeAPI,
    rows: Sequence[ServerOutcome],
    submission: Submission,
    clock: Clock,
    max_parallel: int = DEFAULT_MAX_PARALLEL,
    on_done: Callable[[ServerOutcome], None] = lambda row: None,
    prepare: Callable[[ServerOutcome], None] | None = None,
) -> None:
    """Submit every row whose action is SUBMITTED; prepare(row) first, in
    the same worker (--lock: lock it). At most max_parallel at a time,
    fewer while Nova answers more slowly for more (pacing.py).

    On Ctrl-C (any exception here) nothing more is sent: the workers check
    before every request, and they are daemon threads, so a request still
    on the wire never holds up the exit.
    """
    todo = collections.deque(r for r in rows if r.action is Action.SUBMITTED)
    if not todo:
        return
    count = len(todo)
    done: queue.Queue[ServerOutcome | BaseException] = queue.Queue()
    cancel = threading.Event()
    pacer = Pacer(max_parallel)

    def work() -> None:
        while pacer.acquire(cancel.is_set):
            try:
                row = todo.popleft()
            except IndexError:
                pacer.unused()
                return
            started = clock.monotonic()
            try:
                if prepare is not None:
                    prepare(row)
                submit_one(api, row, submission, clock, cancel)
            except BaseException as exc:  # handed to the main thread
                done.put(exc)
                return
            finally:
                pacer.release(clock.monotonic() - started)
            done.put(row)

    for _ in range(max(1, min(max_parallel, count))):
        threading.Thread(target=work, daemon=True).start()
    try:
        for _ in range(count):
            # A timeout keeps the main thread awake for Ctrl-C.
            while True:
                try:
                    item = done.get(timeout=0.5)
                    break
                except queue.Empty:
                    continue
            if isinstance(item, BaseException):
                raise item
            on_done(item)
    except BaseException:
        cancel.set()
        LOG.debug("submission cancelled; %d not sent", len(todo))
        raise


def submit_one(
    api: ComputeAPI,
    row: ServerOutcome,
    submission: Submission,
    clock: Clock,
    cancel: threading.Event | None = None,
) -> None:
    """Evacuate one server; the row says how it went.

    Once cancel is set, no further request goes out for it.
    """
    cancelled = cancel.is_set if cancel else lambda: False
    if cancelled():
        return
    row.attempts += 1
    row.started = clock.monotonic()
    row.result, row.error = Result.SUBMITTED, None
    server_id = row.before.id
    LOG.debug(
        "evacuating %s at %s (attempt %d)",
        server_id,
        submission.version,
        row.attempts,
    )
    for delay in [*submission.retry.delays(), None]:
        if cancelled():
            return
        row.in_flight = True
        try:
            answer = api.evacuate(
                server_id, submission.version, submission.body
            )
        except ComputeAPIError as exc:
            row.in_flight = cancelled()  # unknown: we stop looking
            if cancelled():
                return
            if exc.no_answer or (exc.status or 0) >= 500:
                # It may have been carried out all the same: look first.
                landed = _landed(api, row, submission, clock)
                LOG.debug(
                    "evacuate %s failed (%s); landed after all: %s",
                    server_id,
                    exc,
                    "unknown" if landed is None else landed,
                )
                if landed is None:
                    row.finish(Result.FAILED, clock.monotonic(), _unknown(exc))
                    return
                if landed:
                    return
            if not exc.transient or delay is None:
                LOG.debug("evacuate %s: giving up: %s", server_id, exc)
                row.finish(Result.FAILED, clock.monotonic(), str(exc))
                return
            LOG.debug(
                "evacuate %s: retrying in %.1f s after: %s",
                server_id,
                delay,
                exc,
            )
            clock.sleep(delay)
            continue
        row.in_flight = False
        LOG.debug(
            "evacuate %s accepted (request %s)", server_id, answer.request_id
        )
        row.request_id = answer.request_id
        row.admin_pass = answer.admin_pass
        return


def _landed(
    api: ComputeAPI,
    row: ServerOutcome,
    submission: Submission,
    clock: Clock,
) -> bool | None:
    """Whether Nova recorded a new evacuation; None when it won't say."""
    try:
        records = retrying(
            lambda: api.evacuation_migrations(
                source_host=row.before.host,
                instance_uuid=row.before.id,
            ),
            clock,
            submission.retry,
        )
    except ComputeAPIError:
        return None
    return any(m.id not in row.known_migrations for m in records)


def _unknown(exc: ComputeAPIError) -> str:
    return (
        f"{exc}; Nova did not say whether the evacuation started, so it "
        "was not repeated: run the command again to find out"
    )
