"""--lock: owners must not change a server while it is rebuilt elsewhere.

Each server is locked just before its evacuation is sent (or, when an
earlier run's evacuation is resumed, as the wait begins), with a reason
from 2.73 that names this tool and the source host, and unlocked as soon
as its row ends. A server someone else had locked stays locked, and the
report says so. A lock this tool left behind (a run cut short) is known by
its reason and unlocked like this run's own. On Ctrl-C, and when the run
ends for any reason, whatever this run locked is unlocked, within a
bounded time: no wait on an unanswering API holds up the exit.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Iterable

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import VersionRange
from osc_evacuate.core.models import LockState, ServerOutcome
from osc_evacuate.core.rules import features

LOG = logging.getLogger(__name__)

REASON_PREFIX = "osc-evacuate:"
# Seconds that unlocking may take after Ctrl-C, all servers together.
UNLOCK_ON_INTERRUPT = 5.0


def ours(reason: str | None) -> bool:
    return bool(reason) and str(reason).startswith(REASON_PREFIX)


@dataclasses.dataclass(frozen=True)
class Locked:
    """What --lock did to one server: a message for the job's thread,
    which alone changes the rows (ledger.py)."""

    server_id: str
    state: LockState
    error: str | None = None

    def applied(self, row: ServerOutcome) -> ServerOutcome:
        return dataclasses.replace(
            row, lock=self.state, lock_error=self.error or row.lock_error
        )


class Locks:
    """The locks of one run."""

    def __init__(self, api: ComputeAPI, cloud: VersionRange) -> None:
        self.api = api
        self.version = features.lock_version(cloud)
        self._reasons = features.LOCK_REASON.covers(self.version)
        self._lock = threading.Lock()
        self._releasing: set[str] = set()  # no second unlock meanwhile

    def take(self, row: ServerOutcome) -> Locked | None:
        """Lock the row's server, unless someone else holds it locked;
        None when the row has its lock already."""
        if row.lock is not None:
            return None
        server = row.before
        if server.locked:
            mine = ours(server.locked_reason)
            LOG.debug(
                "lock %s: locked already (%s)%s",
                server.id,
                server.locked_reason,
                ", by this tool: unlocked at the end" if mine else "",
            )
            state = LockState.LOCKED if mine else LockState.ALREADY
            return Locked(server.id, state)
        reason = None
        if self._reasons:
            reason = f"{REASON_PREFIX} evacuating from {server.host}"
        try:
            self.api.lock_server(server.id, self.version, reason)
        except ComputeAPIError as exc:
            LOG.debug("lock %s failed: %s", server.id, exc)
            return Locked(server.id, LockState.FAILED, str(exc))
        LOG.debug("locked %s (%s)", server.id, reason)
        return Locked(server.id, LockState.LOCKED)

    def release(self, row: ServerOutcome) -> Locked | None:
        """Unlock the row's server if this run holds its lock."""
        key = row.id
        with self._lock:
            if row.lock is not LockState.LOCKED or key in self._releasing:
                return None
            self._releasing.add(key)
        try:
            self.api.unlock_server(key)
        except ComputeAPIError as exc:
            LOG.debug("unlock %s failed: %s", key, exc)
            return Locked(key, LockState.LOCKED, str(exc))
        finally:
            with self._lock:
                self._releasing.discard(key)
        LOG.debug("unlocked %s", key)
        return Locked(key, LockState.UNLOCKED)

    def release_all(
        self, rows: Iterable[ServerOutcome], within: float | None = None
    ) -> list[Locked]:
        """Unlock every server this run holds; within: seconds at most
        (the rest stay locked, and their rows say so)."""
        held = [r for r in rows if r.lock is LockState.LOCKED]
        if within is None:
            return [m for m in map(self.release, held) if m is not None]
        done: queue.Queue[Locked | None] = queue.Queue()

        def release_held() -> None:
            for row in held:
                done.put(self.release(row))

        worker = threading.Thread(target=release_held, daemon=True)
        worker.start()
        worker.join(within)
        out = []
        while not done.empty():
            message = done.get_nowait()
            if message is not None:
                out.append(message)
        LOG.debug(
            "unlocking after Ctrl-C: %d of %d done in %.0f s",
            sum(m.state is LockState.UNLOCKED for m in out),
            len(held),
            within,
        )
        return out
