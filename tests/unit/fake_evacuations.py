"""Evacuations for the in-memory compute API (fake_compute): each goes
accepted, pre-migrating, done, one step per servers read, with the faults,
stalls and lost answers a test sets."""

from __future__ import annotations

import dataclasses
import datetime

from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.clock import parse_nova_time
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import Migration
from tests.unit.fake_nova import FakeNova, stamp

# What an evacuation goes through, one step per poll of the migrations; the
# server's host moves one step after the record reads done (the worst case).
STEPS = ("accepted", "pre-migrating", "done", "done")
VM_STATES = {"ACTIVE": "active", "SHUTOFF": "stopped", "ERROR": "error"}


@dataclasses.dataclass
class Flight:
    migration: Migration
    step: int = 0
    fail_with: str | None = None  # a fault: NoValidHost and the like
    # The record stops here for good: a request lost (accepted), a
    # destination dead mid-rebuild (pre-migrating).
    stall_at: str | None = None


class FakeEvacuations(FakeNova):
    """POST evacuate and the migration records it makes, each advanced a
    step per servers read, the server landing on the destination."""

    def __init__(self) -> None:
        super().__init__()
        self.records_since_asked: list[str] = []  # of each records read
        self.flights: dict[int, Flight] = {}
        self.no_valid_host: set[str] = set()  # ids the scheduler can't place
        self.post_errors: list[ComputeAPIError] = []  # raised by evacuate
        self.lose_answer = False  # carry the POST out, then raise no answer
        self.stalls: dict[str, str] = {}  # server id: status it sticks at
        self.land_as: dict[str, str] = {}  # server id: status it lands in
        # Seconds the clock that stamps records runs behind Nova's API's.
        self.record_lag = 0.0

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
