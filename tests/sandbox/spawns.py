"""Slowed spawns on the sandbox's computes (faults.py's SpawnDelays),
and what a crash does to a spawn under way.

Import it only from the sandbox process (see cloud.py): it imports nova.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import greenlet

from tests.sandbox.cloud_base import CloudBase
from tests.sandbox.faults import sleep_until

LOG = logging.getLogger("sandbox.cloud")


class HostCrashed(greenlet.GreenletExit):  # type: ignore[misc]
    """Ends a spawn whose compute crashed while the spawn was slowed.

    A BaseException, so none of Nova's ``except Exception`` handlers sees
    it: no migration ``failed``, no server ERROR, as when the process dies
    (``finally`` blocks and context managers still run). A GreenletExit,
    so eventlet ends the greenthread without a traceback.
    """


def _forget_tasks(manager: Any, instance_uuid: str) -> None:
    """End the manager's record of RPC tasks for this server.

    Stopping a compute is Nova's graceful shutdown, which waits (up to
    minutes) for in-progress tasks. An RPC task ended by HostCrashed is
    never recorded as ended (Nova's tracking wrapper catches Exception
    only), so we end it: a dead process waits for nothing.
    build_and_run_instance ends by itself through its future.
    """
    with manager._in_progress_task_cond:
        keys = [
            key
            for key, task in manager._in_progress_tasks.items()
            if task.get("instance_uuid") == instance_uuid
            and task.get("name") != "build_and_run_instance"
        ]
    for key in keys:
        manager._record_task_end(key, failed=True)


class SlowSpawns(CloudBase):
    """Spawns that wait, and end when their host crashes."""

    def crash_watch(self, host: str) -> Callable[[], bool]:
        """True once ``host`` is down or has crashed since this call
        (ends slowed live migrations, migrations.py)."""
        crashes = self._crashes.get(host, 0)
        return lambda: (
            host not in self._running or self._crashes.get(host, 0) != crashes
        )

    def _slow_spawn(self, host: str, manager: Any) -> None:
        """Make the host's driver wait spawn_delays before each spawn.

        The evacuation's rebuild on the destination calls the driver's
        spawn (the fake drivers have no rebuild of their own), as does a
        boot. The wait is a green sleep: other requests and computes go
        on. A crash of the host before or during the wait ends the spawn
        (see HostCrashed); a shorter or cleared delay releases it. Without
        a delay for the host, spawns are Nova's own, crash or not.
        """
        driver = manager.driver
        # A restarted compute keeps its driver, already wrapped; the
        # manager is new.
        real = getattr(driver, "_sandbox_real_spawn", None) or driver.spawn
        driver._sandbox_real_spawn = real

        def spawn(context: Any, instance: Any, *args: Any, **kw: Any) -> Any:
            if self.spawn_delays.seconds_for(host) <= 0:
                return real(context, instance, *args, **kw)
            crashes = self._crashes.get(host, 0)
            started = time.monotonic()

            def crashed() -> bool:
                # Down now (the crash came before the spawn), or crashed
                # and restarted since the spawn began.
                return (
                    host not in self._running
                    or self._crashes.get(host, 0) != crashes
                )

            if not sleep_until(
                lambda: started + self.spawn_delays.seconds_for(host),
                crashed,
            ):
                LOG.info(
                    "sandbox: %s crashed while spawning %s; the spawn "
                    "never happens",
                    host,
                    instance.uuid,
                )
                _forget_tasks(manager, instance.uuid)
                raise HostCrashed(host)
            return real(context, instance, *args, **kw)

        driver.spawn = spawn
