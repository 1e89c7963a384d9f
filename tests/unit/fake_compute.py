"""An in-memory ComputeAPI whose evacuations advance one step per poll."""

from __future__ import annotations

import collections
import dataclasses

from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import ComputeService, Migration, Server

# What an evacuation goes through, one step per poll of the migrations; the
# server's host moves one step after the record reads done (the worst case).
STEPS = ("accepted", "pre-migrating", "done", "done")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def server(
    sid: str,
    vm_state: str = "active",
    host: str = "c1",
    project: str = "p1",
) -> Server:
    status = {"active": "ACTIVE", "stopped": "SHUTOFF", "error": "ERROR"}
    return Server(
        id=sid,
        name=f"vm-{sid}",
        project_id=project,
        status=status.get(vm_state, vm_state.upper()),
        vm_state=vm_state,
        task_state=None,
        host=host,
    )


@dataclasses.dataclass
class Flight:
    migration: Migration
    step: int = 0
    fail_with: str | None = None  # a fault: NoValidHost and the like


class FakeCompute:
    def __init__(self, *servers: Server, up: bool = False) -> None:
        self.servers = {s.id: s for s in servers}
        self.services = [
            ComputeService(
                "s1",
                "c1",
                "up" if up else "down",
                "enabled",
                not up,
                updated_at="2026-01-01T00:00:00",
            ),
            ComputeService("s2", "c2", "up", "enabled", False),
        ]
        self.migrations: list[Migration] = []
        self.flights: dict[int, Flight] = {}
        self.calls: collections.Counter[str] = collections.Counter()
        self.no_valid_host: set[str] = set()  # ids the scheduler can't place
        self.post_errors: list[ComputeAPIError] = []  # raised by evacuate
        self.lose_answer = False  # carry the POST out, then raise no answer

    def version_range(self) -> VersionRange:
        return VersionRange(mv("2.1"), mv("2.96"))

    def compute_services(
        self, host: str | None = None
    ) -> list[ComputeService]:
        self.calls["services"] += 1
        return [s for s in self.services if host in (None, s.host)]

    def servers_on_host(self, host: str) -> list[Server]:
        self.calls["servers_on_host"] += 1
        return [s for s in self.servers.values() if s.host == host]

    def servers_changed_since(self, since: str) -> list[Server]:
        # The poll reads records first and servers second: a new step is
        # taken when a poll (or an already-evacuated lookup) reads servers.
        self.calls["servers_changed_since"] += 1
        self._advance()
        return list(self.servers.values())

    def get_server(self, server_id: str) -> Server | None:
        self.calls["get_server"] += 1
        return self.servers.get(server_id)

    def find_servers(self, name: str) -> list[Server]:
        return [s for s in self.servers.values() if name in (s.id, s.name)]

    def evacuate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        self.calls["evacuate"] += 1
        if self.post_errors:
            raise self.post_errors.pop(0)
        mig = Migration(
            id=len(self.migrations) + 1,
            instance_uuid=server_id,
            status="accepted",
            source_compute=self.servers[server_id].host,
            dest_compute=None,
            created_at="2026-01-01T00:01:00",
            updated_at=None,
        )
        self.migrations.append(mig)
        fail = (
            "No valid host was found. "
            if (server_id in self.no_valid_host)
            else None
        )
        self.flights[mig.id] = Flight(mig, fail_with=fail)
        if self.lose_answer:
            self.lose_answer = False
            raise ComputeAPIError("connection reset")
        return EvacuateResponse(request_id=f"req-{mig.id}")

    def evacuation_migrations(
        self,
        source_host: str | None = None,
        instance_uuid: str | None = None,
    ) -> list[Migration]:
        self.calls["migrations"] += 1
        return [
            m
            for m in self.migrations
            if source_host in (None, m.source_compute)
            and instance_uuid in (None, m.instance_uuid)
        ]

    def stop_server(self, server_id: str) -> None:
        self.calls["stop"] += 1
        s = self.servers[server_id]
        self.servers[server_id] = dataclasses.replace(
            s, status="SHUTOFF", vm_state="stopped"
        )

    def _advance(self) -> None:
        for flight in self.flights.values():
            mig = flight.migration
            if flight.step >= len(STEPS) - 1 or mig.status == "error":
                continue
            sid = mig.instance_uuid
            if flight.fail_with:
                self.servers[sid] = dataclasses.replace(
                    self.servers[sid],
                    status="ERROR",
                    vm_state="error",
                    fault=flight.fail_with,
                )
                self._set(flight, "error")
                self.no_valid_host.discard(sid)
                continue
            flight.step += 1
            status = STEPS[min(flight.step, len(STEPS) - 1)]
            before = self.servers[sid]
            if status == "pre-migrating":
                # Nova shows ACTIVE before the host moves: not proof.
                stopped = before.vm_state == "stopped"
                self.servers[sid] = dataclasses.replace(
                    before,
                    status="SHUTOFF" if stopped else "ACTIVE",
                    vm_state="stopped" if stopped else "active",
                    fault=None,
                )
            if flight.step == len(STEPS) - 1:
                self.servers[sid] = dataclasses.replace(
                    self.servers[sid], host="c2"
                )
            self._set(flight, status)

    def _set(self, flight: Flight, status: str) -> None:
        new = dataclasses.replace(
            flight.migration, status=status, dest_compute="c2"
        )
        flight.migration = new
        self.migrations[new.id - 1] = new
