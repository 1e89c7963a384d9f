"""Live migrations that fail or take their time, on the fake hypervisor.

Nova's FakeDriver live-migrates as it is (its checks return libvirt-like
migrate data with shared storage, and its ``live_migration`` calls Nova's
post method at once): records go ``accepted``, ``queued``, ``preparing``,
``running``, ``completed`` within a second. A drain's tests also need one
that fails the way real ones do, or that stays ``running`` long enough to
be aborted, force-completed or interrupted. Nothing here answers HTTP:
the sandbox wraps each compute's driver (hook_driver), and Nova's own
compute manager and conductor write every record state and server state:

- a ``pre-check`` failure: the destination's
  ``check_can_live_migrate_destination`` raises MigrationPreCheckError, as
  a libvirt destination does when its CPU or disk does not fit (a forced
  live migration is checked too). Below 2.34 the os-migrateLive POST
  answers 400 (with the check's text at 2.25 to 2.29, "No valid host"
  from 2.30, where the scheduler vets a host given); from 2.34 Nova checks
  after its 202, and the record ends ``error`` with the server ACTIVE (or
  PAUSED) and untouched on its source. With no host given, the conductor
  tries the next destination, as Nova does after a failed check;
- a ``during`` failure: the source's ``live_migration`` calls Nova's
  rollback (``recover_method``), as libvirt's migration monitor does when
  the migration job fails mid-copy: the record ends ``failed``, the server
  stays on its source with no task;
- a slow live migration: ``live_migration`` waits first (record
  ``running``, server MIGRATING). An abort (``DELETE
  /servers/{id}/migrations/{mid}``) ends the wait with Nova's rollback
  as ``cancelled``, as libvirt does for a cancelled job; a force-complete
  ends it with Nova's post method (``completed``); a crash of the source
  ends it with nothing written (record ``running``, as a dead source
  leaves it); a crash of the destination fails it (``failed``).

Also, as Nova's FakeLiveMigrateDriver does, the source's
``post_live_migration`` removes the guest from the source hypervisor,
which the stock FakeDriver keeps.

A fault counts live migrations, not checks: one os-migrateLive request
(one request id) is one live migration, however many destinations the
conductor tries for it. A fault names a host and applies to live
migrations to or from it. This module imports nova only to raise a
pre-check failure (in the sandbox process): the registry and the parser
are plain Python for control.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.sandbox.faults import sleep_until

LOG = logging.getLogger("sandbox.migrations")

# Where a live migration can be made to fail.
PRE_CHECK = "pre-check"
DURING = "during"
STAGES = (PRE_CHECK, DURING)

# A slowed live migration's ending other than its deadline.
ABORT = "abort"
FORCE = "force"

# ``crash_watch(host)``: a predicate, true once the host is down or has
# crashed since the call (Cloud.crash_watch).
CrashWatch = Callable[[str], Callable[[], bool]]


@dataclass
class LiveMigrationFailure:
    """Fail the next ``count`` live migrations (None: all) to or from
    ``host`` at ``stage``."""

    host: str
    stage: str
    count: int | None = 1
    # Live migrations failed so far (one per request id).
    failed: int = 0
    _requests: set[str] = field(default_factory=set, init=False, repr=False)

    def charge(self, request: str) -> bool:
        """Fail this live migration? Each new request id takes one of
        ``count``; the conductor's next destination for the same request
        fails without taking another."""
        if request in self._requests:
            return True
        if self.count is not None and self.failed >= self.count:
            return False
        self._requests.add(request)
        self.failed += 1
        return True

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "stage": self.stage,
            "count": self.count,
            "failed": self.failed,
        }


class LiveMigrationFaults:
    """The live-migration failures and delays in force."""

    def __init__(self) -> None:
        self._failures: list[LiveMigrationFailure] = []
        self._all = 0.0
        self._hosts: dict[str, float] = {}
        self._lock = threading.Lock()

    def add_failure(
        self, host: str, stage: str, count: int | None = 1
    ) -> LiveMigrationFailure:
        failure = LiveMigrationFailure(host, stage, count)
        with self._lock:
            self._failures.append(failure)
        LOG.info("sandbox: live migration failure added: %s", failure)
        return failure

    def take_failure(
        self, stage: str, source: str, dest: str, request: str
    ) -> LiveMigrationFailure | None:
        """The failure (the first added) that fails this live migration
        at ``stage``, counted; None if it goes on."""
        with self._lock:
            for failure in self._failures:
                if (
                    failure.stage == stage
                    and failure.host in (source, dest)
                    and failure.charge(request)
                ):
                    return failure
        return None

    def set_delay(self, seconds: float, host: str | None = None) -> None:
        if host is None:
            self._all = seconds
        else:
            self._hosts[host] = seconds
        LOG.info(
            "sandbox: live migrations to or from %s take %.1f s more",
            host or "every host",
            seconds,
        )

    def delay_for(self, source: str, dest: str) -> float:
        """The longer of the source's and the destination's delays (a
        host's own value, else the value for every host)."""
        return max(self._hosts.get(h, self._all) for h in (source, dest))

    def clear(self) -> None:
        with self._lock:
            cleared = len(self._failures)
            self._failures.clear()
        self._all = 0.0
        self._hosts.clear()
        if cleared:
            LOG.info("sandbox: %d live migration failures cleared", cleared)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            failures = [f.to_dict() for f in self._failures]
        return {
            "failures": failures,
            "slow": {"seconds": self._all, "hosts": dict(self._hosts)},
        }


def parse_failure(body: Any) -> tuple[str, str, int | None]:
    """``(host, stage, count)`` from ``{"host": "compute02", "count": 1,
    "stage": "during"}``; ValueError with the reason."""
    usage = (
        'expected {"host": "<compute>", "count": 1 (or null: all), '
        '"stage": "pre-check" or "during"}'
    )
    if not isinstance(body, dict) or set(body) - {"host", "count", "stage"}:
        raise ValueError(usage)
    host = body.get("host")
    if not isinstance(host, str) or not host:
        raise ValueError(usage)
    stage = body.get("stage", DURING)
    if stage not in STAGES:
        raise ValueError(f"stage: expected one of {', '.join(STAGES)}")
    count = body.get("count", 1)
    if count is not None and (
        not isinstance(count, int) or isinstance(count, bool) or count < 1
    ):
        raise ValueError("count: expected an integer of 1 or more, or null")
    return host, stage, count


def _request_of(context: Any, instance: Any) -> str:
    # The API request's id travels with the RPC context to the conductor
    # and the computes.
    request_id = getattr(context, "request_id", None)
    return str(request_id or instance.uuid)


class _Hooks:
    """One compute's driver methods for live migration, wrapped."""

    NAMES = (
        "check_can_live_migrate_destination",
        "live_migration",
        "live_migration_abort",
        "live_migration_force_complete",
        "post_live_migration",
    )

    def __init__(
        self,
        driver: Any,
        host: str,
        faults: LiveMigrationFaults,
        crash_watch: CrashWatch,
    ) -> None:
        self.driver = driver
        self.host = host
        self.faults = faults
        self.crash_watch = crash_watch
        self.real = {name: getattr(driver, name) for name in self.NAMES}
        # Instance uuid -> ABORT or FORCE, for a slowed migration.
        self.endings: dict[str, str] = {}

    def install(self) -> None:
        driver = self.driver
        driver.check_can_live_migrate_destination = self.check_destination
        driver.live_migration = self.live_migration
        driver.live_migration_abort = self.abort
        driver.live_migration_force_complete = self.force_complete
        driver.post_live_migration = self.post_live_migration
        driver._sandbox_live_migration_hooks = self

    def check_destination(
        self, context: Any, instance: Any, *args: Any, **kw: Any
    ) -> Any:
        """Runs on the destination (this host) for each one the
        conductor tries."""
        failure = self.faults.take_failure(
            PRE_CHECK, instance.host, self.host, _request_of(context, instance)
        )
        if failure is not None:
            from nova import exception as nova_exception

            LOG.info(
                "sandbox: live migration of %s from %s to %s fails its checks",
                instance.uuid,
                instance.host,
                self.host,
            )
            raise nova_exception.MigrationPreCheckError(
                reason=(
                    "injected by the sandbox: live migrations to or from "
                    f"{failure.host} fail their checks"
                )
            )
        return self.real["check_can_live_migrate_destination"](
            context, instance, *args, **kw
        )

    def live_migration(
        self,
        context: Any,
        instance: Any,
        dest: str,
        post_method: Callable[..., Any],
        recover_method: Callable[..., Any],
        block_migration: bool = False,
        migrate_data: Any = None,
    ) -> None:
        """Runs on the source (this host), record ``running``."""
        ending = self._wait(instance.uuid, dest)
        if ending == "crashed":
            LOG.info(
                "sandbox: %s crashed while live-migrating %s; nothing more "
                "happens",
                self.host,
                instance.uuid,
            )
            return
        if ending == ABORT:
            recover_method(
                context,
                instance,
                dest,
                migrate_data,
                migration_status="cancelled",
            )
            return
        failure = self.faults.take_failure(
            DURING, self.host, dest, _request_of(context, instance)
        )
        if failure is not None or ending == "dest crashed":
            LOG.info(
                "sandbox: live migration of %s from %s to %s fails",
                instance.uuid,
                self.host,
                dest,
            )
            recover_method(context, instance, dest, migrate_data)
            return
        self.real["live_migration"](
            context,
            instance,
            dest,
            post_method,
            recover_method,
            block_migration,
            migrate_data,
        )

    def _wait(self, instance_uuid: str, dest: str) -> str | None:
        """Wait for the migration's delay (a green sleep); why it ended
        early, or None."""
        self.endings.pop(instance_uuid, None)
        if self.faults.delay_for(self.host, dest) <= 0:
            return None
        source_crashed = self.crash_watch(self.host)
        dest_crashed = self.crash_watch(dest)
        started = time.monotonic()
        if sleep_until(
            lambda: started + self.faults.delay_for(self.host, dest),
            lambda: (
                source_crashed()
                or dest_crashed()
                or instance_uuid in self.endings
            ),
        ):
            return None
        if source_crashed():
            return "crashed"
        if dest_crashed():
            return "dest crashed"
        return self.endings.pop(instance_uuid)

    def abort(self, instance: Any) -> None:
        self.endings[instance.uuid] = ABORT
        self.real["live_migration_abort"](instance)

    def force_complete(self, instance: Any) -> None:
        self.endings[instance.uuid] = FORCE
        self.real["live_migration_force_complete"](instance)

    def post_live_migration(
        self, context: Any, instance: Any, *args: Any, **kw: Any
    ) -> None:
        """Runs on the source once the guest runs on the destination."""
        self.real["post_live_migration"](context, instance, *args, **kw)
        if instance.uuid in self.driver.instances:
            self.driver.destroy(context, instance, None)


def hook_driver(
    driver: Any,
    host: str,
    faults: LiveMigrationFaults,
    crash_watch: CrashWatch,
) -> None:
    """Give the compute's driver the live-migration faults, once (a
    restarted compute keeps its driver, hooks included)."""
    if getattr(driver, "_sandbox_live_migration_hooks", None) is None:
        _Hooks(driver, host, faults, crash_watch).install()
