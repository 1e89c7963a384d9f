"""Evacuate requests on their way: a journal on this machine's disk.

A request that was sent and not answered (Ctrl-C, a lost connection, a
slow proxy) may still reach Nova after the run that sent it is gone.
Nova's records cannot show it before it lands, so a rerun that planned
at once would send a second evacuation, and Nova would then start the
server twice ("Instance ... already exists" on the destination). So each
request is written here before it goes out and struck off once Nova has
answered, or once the run knows whether it landed. A rerun (of any of
this tool's commands, on this machine) reads the journal: a server whose
request may still land is waited for, not sent again, until that request
can no longer arrive (its answer's timeout and a margin after it was
sent); only then, with no record of it, is it sent anew.

One small JSON file per server, written whole (a rename), so that runs
at once, and worker threads, never see half an entry. The directory is
$XDG_STATE_HOME/osc-evacuate/in-flight (~/.local/state by default).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

LOG = logging.getLogger(__name__)

# Seconds after a request's answer timeout that a proxy may still hand it
# to Nova: no later than this is it waited for.
MARGIN = 30.0


@dataclasses.dataclass(frozen=True)
class Entry:
    server_id: str
    sent_at: float  # wall-clock seconds (time.time()) it went out
    until: float  # wall-clock seconds after which it cannot land


def default_directory() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(
        Path.home() / ".local" / "state"
    )
    return Path(state) / "osc-evacuate" / "in-flight"


class Journal:
    def __init__(
        self,
        directory: Path | None,
        now: Callable[[], float] = time.time,
    ) -> None:
        """directory None: keep no journal (a test's, or a read-only
        home: the run then says so at --debug and goes on without)."""
        self.directory = directory
        self.now = now

    def sending(self, server_id: str, timeout: float) -> None:
        """A request for the server goes out now; it may land until its
        answer's timeout and MARGIN have passed."""
        sent = self.now()
        self._write(Entry(server_id, sent, sent + timeout + MARGIN))

    def settled(self, server_id: str) -> None:
        """Nova answered it, or the run knows whether it landed."""
        if self.directory is None:
            return
        try:
            (self.directory / f"{server_id}.json").unlink(missing_ok=True)
        except OSError as exc:
            LOG.debug("journal: %s not struck off: %s", server_id, exc)

    def pending(self, server_ids: Iterable[str]) -> dict[str, Entry]:
        """The servers among these whose request may still land."""
        found = {}
        for server_id in server_ids:
            entry = self._read(server_id)
            if entry is None:
                continue
            if entry.until <= self.now():
                LOG.debug(
                    "journal: %s's request can no longer land", server_id
                )
                self.settled(server_id)
                continue
            found[server_id] = entry
        LOG.debug("journal: %d requests may still land", len(found))
        return found

    def _read(self, server_id: str) -> Entry | None:
        if self.directory is None:
            return None
        path = self.directory / f"{server_id}.json"
        try:
            raw = json.loads(path.read_text())
            return Entry(server_id, float(raw["sent_at"]), float(raw["until"]))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            LOG.debug("journal: %s unreadable (%s): ignored", path, exc)
            return None

    def _write(self, entry: Entry) -> None:
        if self.directory is None:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w") as out:
                json.dump(
                    {"sent_at": entry.sent_at, "until": entry.until}, out
                )
            os.replace(name, self.directory / f"{entry.server_id}.json")
        except OSError as exc:
            LOG.debug("journal: %s not written: %s", entry.server_id, exc)
