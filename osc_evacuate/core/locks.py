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

import logging
import threading
from collections.abc import Iterable

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.outcome import LockState, ServerOutcome

LOG = logging.getLogger(__name__)

# Nova keeps a lock's reason from 2.73.
LOCK_REASON = mv("2.73")
REASON_PREFIX = "osc-evacuate:"
# Seconds that unlocking may take after Ctrl-C, all servers together.
UNLOCK_ON_INTERRUPT = 5.0


def ours(reason: str | None) -> bool:
    return bool(reason) and str(reason).startswith(REASON_PREFIX)


class Locks:
    """The locks of one run."""

    def __init__(self, api: ComputeAPI, cloud: VersionRange) -> None:
        self.api = api
        self.version: Microversion = (
            LOCK_REASON if LOCK_REASON in cloud else cloud.maximum
        )
        self._lock = threading.Lock()
        self._releasing: set[str] = set()  # no second unlock meanwhile

    def take(self, row: ServerOutcome) -> None:
        """Lock the row's server, unless someone else holds it locked."""
        if row.lock is not None:
            return
        server = row.before
        if server.locked:
            mine = ours(server.locked_reason)
            row.lock = LockState.LOCKED if mine else LockState.ALREADY
            LOG.debug(
                "lock %s: locked already (%s)%s",
                server.id,
                server.locked_reason,
                ", by this tool: unlocked at the end" if mine else "",
            )
            return
        reason = None
        if self.version >= LOCK_REASON:
            reason = f"{REASON_PREFIX} evacuating from {server.host}"
        try:
            self.api.lock_server(server.id, self.version, reason)
        except ComputeAPIError as exc:
            LOG.debug("lock %s failed: %s", server.id, exc)
            row.lock, row.lock_error = LockState.FAILED, str(exc)
            return
        LOG.debug("locked %s (%s)", server.id, reason)
        row.lock = LockState.LOCKED

    def release(self, row: ServerOutcome) -> None:
        """Unlock the row's server if this run holds its lock."""
        key = row.before.id
        with self._lock:
            if row.lock is not LockState.LOCKED or key in self._releasing:
                return
            self._releasing.add(key)
        try:
            self.api.unlock_server(key)
        except ComputeAPIError as exc:
            LOG.debug("unlock %s failed: %s", key, exc)
            row.lock_error = str(exc)
            return
        finally:
            with self._lock:
                self._releasing.discard(key)
        LOG.debug("unlocked %s", key)
        row.lock = LockState.UNLOCKED

    def release_all(
        self, rows: Iterable[ServerOutcome], within: float | None = None
    ) -> None:
        """Unlock every server this run holds; within: seconds at most
        (the rest stay locked, and their rows say so)."""
        held = [r for r in rows if r.lock is LockState.LOCKED]
        if not held:
            return
        if within is None:
            for row in held:
                self.release(row)
            return

        def release_held() -> None:
            for row in held:
                self.release(row)

        worker = threading.Thread(target=release_held, daemon=True)
        worker.start()
        worker.join(within)
        LOG.debug(
            "unlocking after Ctrl-C: %d of %d done in %.0f s",
            sum(r.lock is LockState.UNLOCKED for r in held),
            len(held),
            within,
        )
