"""One run per host at a time on this machine: a lock file per host.

Nova takes two evacuations of one server that arrive together: its
evacuate API checks the server's task_state, then saves it without making
the save conditional (nova/compute/api.py, evacuate:
``instance.save(expected_task_state=None)``, where its other actions pass
``[None]``). A second run on a host while the first is still sending
plans the servers the first has not sent yet and sends them too: each is
rebuilt twice when the two requests meet, and otherwise one run reports
failed what the other evacuated.

So a run holds an exclusive flock(2) on a file per host (per cloud: the
same name in two clouds is two hosts) from before its plan until it
ends, and a run that finds one held refuses, sending nothing. The kernel
drops the lock when its process ends, however it ends, so a killed run
leaves nothing to clean up. The files sit beside the journal
(journal.py), in $XDG_STATE_HOME/osc-evacuate/hosts. Runs on other
machines are not kept out: nothing in Nova's API can hold a host for
one client (doc/source/reliability.rst).
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from osc_evacuate.core.errors import Refused

LOG = logging.getLogger(__name__)


class HostBusy(Refused):
    """Another run on this machine holds one of the run's hosts."""


class HostLocks:
    """The hosts this run holds; every lock ends with the block."""

    def __init__(self, directory: Path | None, cloud: str, command: str):
        """directory None: keep no locks (a test's, or a read-only home:
        the run then says so at --debug and goes on without). cloud:
        what tells this cloud from others (its auth URL and region)."""
        self.directory = directory
        self.cloud = cloud
        self.command = command
        self._held: dict[str, int] = {}  # host -> open file, locked

    def __enter__(self) -> HostLocks:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for host, handle in self._held.items():
            LOG.debug("host lock: %s released", host)
            os.close(handle)  # closing the file drops its lock
        self._held.clear()

    def take(self, hosts: Iterable[str]) -> None:
        """Hold each host until the block ends; HostBusy, holding none of
        them anew, when another run holds one."""
        taken: list[str] = []
        try:
            for host in sorted(set(hosts) - set(self._held)):
                handle = self._open(host)
                if handle is None:
                    continue
                self._held[host] = handle
                taken.append(host)
                self._lock(host, handle)
        except HostBusy:
            for host in taken:
                os.close(self._held.pop(host))
            raise

    def busy(self, hosts: Iterable[str]) -> str | None:
        """Why a run would refuse now (another run holds one of these
        hosts), holding nothing: for a dry run."""
        with HostLocks(self.directory, self.cloud, self.command) as probe:
            try:
                probe.take(h for h in hosts if h not in self._held)
            except HostBusy as exc:
                return str(exc)
        return None

    def _open(self, host: str) -> int | None:
        if self.directory is None:
            return None
        path = self.directory / _file_name(self.cloud, host)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            LOG.debug(
                "host lock: %s not kept (%s): other runs on this machine "
                "are not kept off %s",
                path,
                exc,
                host,
            )
            return None

    def _lock(self, host: str, handle: int) -> None:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            LOG.debug("host lock: %s is held by another run", host)
            raise HostBusy(_busy(host, _holder(handle))) from None
        since = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S UTC")
        said = json.dumps(
            {"pid": os.getpid(), "since": since, "command": self.command}
        ).encode()
        os.ftruncate(handle, 0)
        os.pwrite(handle, said, 0)
        LOG.debug("host lock: %s held by this run", host)


def _file_name(cloud: str, host: str) -> str:
    """The host's name, as far as a file name can show it, and a digest
    of the cloud and the host that tells them apart."""
    digest = hashlib.sha256(f"{cloud}\0{host}".encode()).hexdigest()[:16]
    shown = re.sub(r"[^A-Za-z0-9._-]", "_", host)[:64]
    return f"{shown}-{digest}.lock"


def _holder(handle: int) -> str:
    """Who holds the lock, as it wrote when it took it."""
    with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
        said = json.loads(os.pread(handle, 4096, 0))
        return (
            f"openstack {said['command']}, pid {said['pid']}, since "
            f"{said['since']}"
        )
    return "it did not say which"


def _busy(host: str, holder: str) -> str:
    return (
        f"another osc-evacuate run on this machine ({holder}) is working "
        f"on {host}: two runs at once would send its servers twice, and "
        "Nova takes both; let that run end, then run this again"
    )
