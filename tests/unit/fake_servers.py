"""The servers of the in-memory compute API (fake_compute): the reads and
polls of them, and the actions on one (lock, reset, unlock, stop)."""

from __future__ import annotations

from typing import Any

from osc_evacuate.core.clock import parse_nova_time
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import Server, ServerDetail
from tests.unit.fake_nova import FakeNova


def body(found: Server) -> dict[str, Any]:
    """The server as Nova's GET /servers/{id} shows it (what a fake
    knows of it)."""
    return {
        "id": found.id,
        "name": found.name,
        "tenant_id": found.project_id,
        "status": found.status,
        "OS-EXT-STS:vm_state": found.vm_state,
        "OS-EXT-STS:task_state": found.task_state,
        "OS-EXT-SRV-ATTR:host": found.host,
        "updated": found.updated,
        "image": {"id": "img-1"},
        "metadata": {},
        "addresses": {},
    }


class FakeServerReads(FakeNova):
    """The servers by host, by id and by name, and the poll of those
    changed since a time, which takes every evacuation one step."""

    def __init__(self) -> None:
        super().__init__()
        self.since_asked: list[str] = []  # changes-since of each read
        # Raised by the servers poll, first to last; the last one for ever
        # when poll_errors_forever.
        self.poll_errors: list[ComputeAPIError] = []
        self.poll_errors_forever = False

    def servers_on_host(self, host: str) -> list[Server]:
        self.calls["servers_on_host"] += 1
        return [s for s in self.servers.values() if s.host == host]

    def servers_changed_since(self, since: str) -> list[Server]:
        # The poll reads records first and servers second: a new step is
        # taken when a poll (or an already-evacuated lookup) reads servers.
        self.calls["servers_changed_since"] += 1
        self.since_asked.append(since)
        if self.poll_errors:
            error = self.poll_errors[0]
            if len(self.poll_errors) > 1 or not self.poll_errors_forever:
                self.poll_errors.pop(0)
            raise error
        self._advance()
        self.advance_moves()
        asked = parse_nova_time(since)
        return [
            s
            for s in self.servers.values()
            if s.updated is not None and parse_nova_time(s.updated) >= asked
        ]

    def get_server(self, server_id: str) -> Server | None:
        self.calls["get_server"] += 1
        return self.servers.get(server_id)

    def show_server(self, server_id: str) -> ServerDetail | None:
        self.calls["show_server"] += 1
        found = self.servers.get(server_id)
        return None if found is None else ServerDetail(found, body(found))

    def find_servers(self, name: str) -> list[Server]:
        return [s for s in self.servers.values() if name in (s.id, s.name)]


class FakeServerActions(FakeNova):
    """Lock, reset, unlock and stop a server, as Nova changes it."""

    def __init__(self) -> None:
        super().__init__()
        self.stops_failing = 0  # stops that the host fails to carry out
        self.reset_errors: list[ComputeAPIError] = []  # by reset_state
        self._failed_stops: set[str] = set()

    def lock_server(
        self, server_id: str, version: Microversion, reason: str | None
    ) -> None:
        self.calls["lock"] += 1
        self.change(server_id, locked=True, locked_reason=reason)

    def reset_state(self, server_id: str, state: str) -> None:
        self.calls["reset_state"] += 1
        if self.reset_errors:
            raise self.reset_errors.pop(0)
        self.change(server_id, vm_state=state, task_state=None)

    def unlock_server(self, server_id: str) -> None:
        self.calls["unlock"] += 1
        self.change(server_id, locked=False, locked_reason=None)

    def stop_server(self, server_id: str) -> None:
        self.calls["stop"] += 1
        if self.stops_failing:
            # Accepted (powering-off), then its host fails to stop it.
            self.stops_failing -= 1
            self.change(server_id, task_state="powering-off")
            self._failed_stops.add(server_id)
            return
        self.change(server_id, status="SHUTOFF", vm_state="stopped")
