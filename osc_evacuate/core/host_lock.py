"""One run per host at a time on this machine: a lock file per host.

Nova takes two evacuations of one server that arrive together: its
evacuate API checks the server's task_state, then saves it without making
the save conditional (nova/compute/api.py, evacuate:
``instance.save(expected_task_state=None)``, where its other actions pass
``[None]``). A second run on a host while the first is still sending
plans the servers the first has not sent yet and sends them too: each is
rebuilt twice when the two requests meet, and otherwise one run reports
failed what the other evacuated.

So a run holds a flock(2) on a file per host (per cloud: the same name
in two clouds is two hosts) from before its plan until it ends, and a
run that finds one held against it refuses, sending nothing. A whole
host's run (host evacuate, host drain) holds its hosts exclusively; one
server's run (server evacuate) holds its host shared and its server
exclusively, so that runs for different servers of a host go on side by
side. The kernel drops a lock when its process ends, however it ends,
so a killed run leaves nothing to clean up. The files sit beside the
journal (journal.py), in $XDG_STATE_HOME/osc-evacuate/hosts. Runs on
other machines are not kept out: nothing in Nova's API can hold a host
for one client (doc/source/reliability.rst).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import fcntl
import hashlib
import json
import logging
import os
import re
from pathlib import Path
from types import TracebackType

from osc_evacuate.core.errors import Refused

LOG = logging.getLogger(__name__)


class HostBusy(Refused):
    """Another run on this machine holds one of the run's hosts (or its
    server) against it."""


@dataclasses.dataclass(frozen=True)
class Claim:
    """What a run holds: its hosts, exclusively unless shared; and its
    servers, always exclusively."""

    hosts: tuple[str, ...]
    servers: tuple[str, ...] = ()
    shared: bool = False

    def keys(self) -> list[tuple[str, int]]:
        """Each lock's name and flock mode, in one order for every run."""
        host_mode = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        hosts = [(f"host {h}", host_mode) for h in sorted(set(self.hosts))]
        servers = sorted(
            {(f"server {s}", fcntl.LOCK_EX) for s in self.servers}
        )
        return hosts + servers


class HostLocks:
    """The hosts this run holds; every lock ends with the block."""

    def __init__(self, directory: Path | None, cloud: str, command: str):
        """directory None: keep no locks (a test's, or a read-only home:
        the run then says so at --debug and goes on without). cloud:
        what tells this cloud from others (its auth URL and region)."""
        self.directory = directory
        self.cloud = cloud
        self.command = command
        self._held: dict[str, int] = {}  # lock's name -> its open file

    def __enter__(self) -> HostLocks:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for name, handle in self._held.items():
            LOG.debug("host lock: %s released", name)
            os.close(handle)  # closing the file drops its lock
        self._held.clear()

    def take(self, claim: Claim) -> None:
        """Hold what the claim names until the block ends; HostBusy,
        holding none of it anew, when another run holds any against it."""
        self._take(claim, frozenset())

    def busy(self, claim: Claim) -> str | None:
        """Why a run would refuse now (another run holds what the claim
        names against it), holding nothing: for a dry run."""
        with HostLocks(self.directory, self.cloud, self.command) as probe:
            try:
                probe._take(claim, skip=frozenset(self._held))
            except HostBusy as exc:
                return str(exc)
        return None

    def _take(self, claim: Claim, skip: frozenset[str]) -> None:
        taken: list[str] = []
        try:
            for name, mode in claim.keys():
                if name in self._held or name in skip:
                    continue
                handle = self._open(name)
                if handle is None:
                    continue
                self._held[name] = handle
                taken.append(name)
                self._lock(name, handle, mode)
        except HostBusy:
            for name in taken:
                os.close(self._held.pop(name))
            raise

    def _open(self, name: str) -> int | None:
        if self.directory is None:
            return None
        path = self.directory / _file_name(self.cloud, name)
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            LOG.debug(
                "host lock: %s not kept (%s): other runs on this machine "
                "are not kept off %s",
                path,
                exc,
                name,
            )
            return None

    def _lock(self, name: str, handle: int, mode: int) -> None:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            LOG.debug("host lock: %s is held by another run", name)
            raise HostBusy(_busy(name, _holder(handle))) from None
        since = datetime.datetime.now(datetime.UTC).strftime("%H:%M:%S UTC")
        said = json.dumps(
            {"pid": os.getpid(), "since": since, "command": self.command}
        ).encode()
        # Shared holders each write: the last one is named.
        os.ftruncate(handle, 0)
        os.pwrite(handle, said, 0)
        shared = "shared" if mode == fcntl.LOCK_SH else "exclusive"
        LOG.debug("host lock: %s held by this run (%s)", name, shared)


def _file_name(cloud: str, name: str) -> str:
    """The lock's name, as far as a file name can show it, and a digest
    of the cloud and the name that tells them apart."""
    digest = hashlib.sha256(f"{cloud}\0{name}".encode()).hexdigest()[:16]
    shown = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:64]
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


def _busy(name: str, holder: str) -> str:
    return (
        f"another osc-evacuate run on this machine ({holder}) is working "
        f"on {name}: two runs at once would send servers twice, and "
        "Nova takes both; let that run end, then run this again"
    )
