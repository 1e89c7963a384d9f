"""An in-memory ComputeAPI whose evacuations advance one step per poll.

It keeps Nova's own clock: every change is stamped with it (a server's
`updated`, a record's `created_at` and `updated_at`), changes-since returns
only what changed at or after the time asked, and nova_now() tells it as
the Date of Nova's answers would. That clock runs at NOVA_EPOCH plus the
fake monotonic clock it is given, so tests can set it apart from the
client's.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import types
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.attached import Attachments
from osc_evacuate.core.clock import parse_nova_time
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import (
    Aggregate,
    ComputeService,
    Flavor,
    Hypervisor,
    Image,
    Migration,
    Room,
    Server,
    ServerDetail,
    ServiceRequest,
)
from osc_evacuate.core.models.cloud import ServerGroup
from tests.unit.fake_moves import FakeMoves

# What an evacuation goes through, one step per poll of the migrations; the
# server's host moves one step after the record reads done (the worst case).
STEPS = ("accepted", "pre-migrating", "done", "done")
NOVA_EPOCH = datetime.datetime(2026, 1, 1)
VM_STATES = {"ACTIVE": "active", "SHUTOFF": "stopped", "ERROR": "error"}


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
    # The record stops here for good: a request lost (accepted), a
    # destination dead mid-rebuild (pre-migrating).
    stall_at: str | None = None


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


def stamp(value: datetime.datetime) -> str:
    """As Nova writes its timestamps."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


class FakeCompute(FakeMoves):
    def __init__(
        self,
        *servers: Server,
        up: bool = False,
        clock: FakeClock | None = None,
        epoch: datetime.datetime = NOVA_EPOCH,
    ) -> None:
        """clock: Nova's time runs with it from epoch (else stands)."""
        super().__init__()
        self.clock = clock
        self.epoch = epoch
        self.dated = True  # answers carry a Date (nova_now knows)
        self.since_asked: list[str] = []  # changes-since of each read
        self.records_since_asked: list[str] = []  # of each records read
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
            # Enough healthy computes that a host or two down is no mass
            # failure to the guard.
            *(
                ComputeService(f"s{n}", f"c{n}", "up", "enabled", False)
                for n in range(3, 8)
            ),
        ]
        self.records: list[Migration] = []
        self.flights: dict[int, Flight] = {}
        self.calls: collections.Counter[str] = collections.Counter()
        self.no_valid_host: set[str] = set()  # ids the scheduler can't place
        self.post_errors: list[ComputeAPIError] = []  # raised by evacuate
        self.lose_answer = False  # carry the POST out, then raise no answer
        # Raised by the servers poll, first to last; the last one for ever
        # when poll_errors_forever.
        self.poll_errors: list[ComputeAPIError] = []
        self.poll_errors_forever = False
        self.stalls: dict[str, str] = {}  # server id: status it sticks at
        self.destination = "c2"  # where the scheduler sends them
        self.land_as: dict[str, str] = {}  # server id: status it lands in
        self.stops_failing = 0  # stops that the host fails to carry out
        self.reset_errors: list[ComputeAPIError] = []  # by reset_state
        self.glance: dict[str, Image] = {}  # what images() finds
        self.attached = Attachments()  # what attachments() finds
        self.flavor_store: dict[str, Flavor] = {}  # what flavors() finds
        # Placement's rooms by node (a node is its host here); None: no
        # Placement (rooms() says so). Hosts not listed have no room.
        self.placement: dict[str, Room] | None = {}
        self.hypervisor_types: dict[str, str] = {}  # host: type, else fake
        self.service_changes: list[tuple[Microversion, ServiceRequest]] = []
        self._failed_stops: set[str] = set()
        # Seconds the computes' clocks (a server's `updated`) run behind
        # the API's (its Date): changes-since then misses fresh changes.
        self.compute_lag = 0.0
        # Seconds the clock that stamps records runs behind Nova's API's.
        self.record_lag = 0.0

    def version_range(self) -> VersionRange:
        return VersionRange(mv("2.1"), mv("2.96"))

    def answer_timeout(self) -> float:
        return 60.0

    def now(self) -> datetime.datetime:
        """Nova's clock."""
        elapsed = self.clock.now if self.clock else 0.0
        return self.epoch + datetime.timedelta(seconds=elapsed)

    def nova_now(self) -> datetime.datetime | None:
        # A Date header has whole seconds.
        return self.now().replace(microsecond=0) if self.dated else None

    def change(self, server_id: str, **fields: object) -> None:
        """Change a server as Nova does: its `updated` moves."""
        lag = datetime.timedelta(seconds=self.compute_lag)
        self.servers[server_id] = dataclasses.replace(
            self.servers[server_id],
            updated=stamp(self.now() - lag),
            **fields,  # type: ignore[arg-type]
        )

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

    def images(self, image_ids: Iterable[str]) -> dict[str, Image]:
        self.calls["images"] += 1
        return {i: self.glance[i] for i in set(image_ids) if i in self.glance}

    def attachments(self, servers: Sequence[Server]) -> Attachments:
        self.calls["attachments"] += 1
        ids = {s.id for s in servers}
        volumes = {v for s in servers for v in s.volumes}
        return Attachments(
            shares={k: v for k, v in self.attached.shares.items() if k in ids},
            accelerator_ports={
                k: v
                for k, v in self.attached.accelerator_ports.items()
                if k in ids
            },
            encrypted_volumes=self.attached.encrypted_volumes & volumes,
        )

    def update_service(
        self, version: Microversion, request: ServiceRequest
    ) -> None:
        self.calls["update_service"] += 1
        self.service_changes.append((version, request))
        if request.body.get("forced_down"):
            self.services = [
                dataclasses.replace(s, state="down", forced_down=True)
                if s.id in request.path or s.host == request.body.get("host")
                else s
                for s in self.services
            ]

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

    def flavors(self, flavor_ids: Iterable[str]) -> dict[str, Flavor]:
        self.calls["flavors"] += 1
        return {
            i: self.flavor_store[i]
            for i in set(flavor_ids)
            if i in self.flavor_store
        }

    def hypervisors(self) -> list[Hypervisor]:
        self.calls["hypervisors"] += 1
        return [
            Hypervisor(
                s.host, s.host, self.hypervisor_types.get(s.host, "fake")
            )
            for s in self.services
        ]

    def rooms(self, smallest: Mapping[str, int]) -> dict[str, Room] | None:
        self.calls["rooms"] += 1
        return None if self.placement is None else dict(self.placement)

    # What the capacity check's rules read (assess.py): the server groups;
    # the servers of each node, None: a cloud before 2.53; each server's
    # pinned zone, None: a cloud before 2.96. Set per test.
    groups: tuple[ServerGroup, ...] = ()
    node_servers: Mapping[str, frozenset[str]] | None = types.MappingProxyType(
        {}
    )
    pinned: Mapping[str, str | None] | None = types.MappingProxyType({})

    def server_groups(self) -> list[ServerGroup]:
        self.calls["server_groups"] += 1
        return list(self.groups)

    def servers_by_node(self) -> dict[str, frozenset[str]] | None:
        self.calls["servers_by_node"] += 1
        return None if self.node_servers is None else dict(self.node_servers)

    def pinned_zones(self, host: str) -> dict[str, str | None] | None:
        self.calls["pinned_zones"] += 1
        if self.pinned is None:
            return None
        on_host = {s.id for s in self.servers.values() if s.host == host}
        return {sid: self.pinned.get(sid) for sid in sorted(on_host)}

    # What --evacuable-mark reads (selection_reads.py): every flavor of
    # the cloud beyond flavor_store, and its aggregates. Set per test.
    other_flavors: tuple[Flavor, ...] = ()
    host_aggregates: tuple[Aggregate, ...] = ()

    def all_flavors(self) -> list[Flavor]:
        self.calls["all_flavors"] += 1
        return [*self.flavor_store.values(), *self.other_flavors]

    def all_images(self) -> list[Image]:
        self.calls["all_images"] += 1
        return list(self.glance.values())

    def aggregates(self) -> list[Aggregate]:
        self.calls["aggregates"] += 1
        return list(self.host_aggregates)

    def find_servers(self, name: str) -> list[Server]:
        return [s for s in self.servers.values() if name in (s.id, s.name)]

    def evacuate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        self.calls["evacuate"] += 1
        if self.post_errors:
            raise self.post_errors.pop(0)
        mig = Migration(
            id=len(self.records) + 1,
            instance_uuid=server_id,
            status="accepted",
            source_compute=self.servers[server_id].host,
            dest_compute=None,
            created_at=stamp(self.now()),
            updated_at=None,
        )
        self.records.append(mig)
        # Nova's API marks the server rebuilding before it answers.
        self.change(server_id, task_state="rebuilding")
        fail = (
            "No valid host was found. "
            if (server_id in self.no_valid_host)
            else None
        )
        # Nova's conductor rebuilds with the server's FIRST accepted record:
        # an older one, stuck, carries the new request; this one stays.
        carrier = min(
            (
                m
                for m in self.records
                if m.instance_uuid == server_id and m.status == "accepted"
            ),
            key=lambda m: m.id,
        )
        self.flights[carrier.id] = Flight(
            carrier,
            fail_with=fail,
            stall_at=self.stalls.get(server_id),
        )
        if self.lose_answer:
            self.lose_answer = False
            raise ComputeAPIError("connection reset")
        return EvacuateResponse(request_id=f"req-{mig.id}")

    def migrations(
        self,
        migration_type: str,
        source_host: str | None = None,
        instance_uuid: str | None = None,
        changes_since: str | None = None,
    ) -> list[Migration]:
        """Its records of migration_type (evacuations, here)."""
        self.calls["migrations"] += 1
        if changes_since is not None:
            self.calls["migrations_changed"] += 1
            self.records_since_asked.append(changes_since)
        asked = None
        if changes_since is not None:
            asked = parse_nova_time(changes_since)
        return [
            m
            for m in self.records
            if m.migration_type == migration_type
            and source_host in (None, m.source_compute)
            and instance_uuid in (None, m.instance_uuid)
            # As Nova: updated_at >= changes-since, so never a record that
            # has not changed since it was made.
            and (
                asked is None
                or (
                    m.updated_at is not None
                    and parse_nova_time(m.updated_at) >= asked
                )
            )
        ]

    def stop_server(self, server_id: str) -> None:
        self.calls["stop"] += 1
        if self.stops_failing:
            # Accepted (powering-off), then its host fails to stop it.
            self.stops_failing -= 1
            self.change(server_id, task_state="powering-off")
            self._failed_stops.add(server_id)
            return
        self.change(server_id, status="SHUTOFF", vm_state="stopped")

    def stall(self, server_id: str, status: str) -> None:
        """Its evacuations stop for good once their record reads status."""
        self.stalls[server_id] = status
        for flight in self.flights.values():
            if flight.migration.instance_uuid == server_id:
                flight.stall_at = status

    def _advance(self) -> None:
        for sid in self._failed_stops:
            self.change(sid, task_state=None)
        self._failed_stops.clear()
        for flight in self.flights.values():
            mig = flight.migration
            if flight.step >= len(STEPS) - 1 or mig.status == "error":
                continue
            if mig.status == flight.stall_at:
                continue
            sid = mig.instance_uuid
            if flight.fail_with:
                self.change(
                    sid,
                    status="ERROR",
                    vm_state="error",
                    task_state=None,
                    fault=flight.fail_with,
                )
                self._set(flight, "error")
                self.no_valid_host.discard(sid)
                continue
            flight.step += 1
            status = STEPS[min(flight.step, len(STEPS) - 1)]
            before = self.servers[sid]
            if status == "pre-migrating":
                # Nova shows ACTIVE before the host moves: not proof. One
                # that stalls here stays mid-rebuild on its old host.
                stopped = before.vm_state == "stopped"
                stalled = flight.stall_at == status
                self.change(
                    sid,
                    status="REBUILD"
                    if stalled
                    else ("SHUTOFF" if stopped else "ACTIVE"),
                    vm_state="stopped" if stopped else "active",
                    task_state="rebuild_spawning" if stalled else None,
                    fault=None,
                )
            if flight.step == len(STEPS) - 1:
                stopped = self.servers[sid].vm_state == "stopped"
                # land_as: the guest crashed as it landed, say.
                landed = self.land_as.get(sid) or (
                    "SHUTOFF" if stopped else "ACTIVE"
                )
                self.change(
                    sid,
                    status=landed,
                    vm_state=VM_STATES.get(landed, landed.lower()),
                    host=self.destination,
                    task_state=None,
                )
            self._set(flight, status)

    def _set(self, flight: Flight, status: str) -> None:
        new = dataclasses.replace(
            flight.migration,
            status=status,
            dest_compute=self.destination,
            updated_at=stamp(
                self.now() - datetime.timedelta(seconds=self.record_lag)
            ),
        )
        flight.migration = new
        self.records[new.id - 1] = new
