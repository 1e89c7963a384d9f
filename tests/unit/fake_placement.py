"""FakeCompute with what host evacuation retire needs: migration records
of any type that involve a host, Placement's providers and allocations
(with consumer generations), and a DELETE /os-services/{id} that acts as
Nova 34's does (409 while a server is on the host or a migration that
involves it is in progress; else the allocations of the done evacuations
from the host taken off its providers, each provider deleted unless
something is still allocated against it, then the service)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Migration, Server
from osc_evacuate.core.retire_models import (
    Consumer,
    HostMigration,
    Provider,
    Resources,
)
from tests.unit.fake_compute import FakeCompute, server

TINY = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
HOST = "c1"  # FakeCompute's forced-down host


def conflict(what: str) -> ComputeAPIError:
    return ComputeAPIError(what, status=409)


class FakeRetireCompute(FakeCompute):
    def __init__(self, *servers: Server, up: bool = False) -> None:
        super().__init__(*servers, up=up)
        # Records of other types than self.records' evacuations.
        self.other_moves: list[HostMigration] = []
        self.rps: dict[str, Provider] = {}
        # consumer: provider: resources; and each consumer's generation.
        self.allocs: dict[str, dict[str, Resources]] = {}
        self.generations: dict[str, int] = {}
        self.nova_cascades = True  # Nova deletes the providers
        self.writes: list[str] = []  # every change, in order
        # Raised once by the method of that name, before it acts.
        self.errors: dict[str, ComputeAPIError] = {}
        # Runs when Nova deletes the service (a race, say).
        self.on_delete: Callable[[], None] = lambda: None

    # -- Set-up ------------------------------------------------------------

    def provider(self, name: str, parent: str | None = None) -> str:
        uuid = f"rp-{name}"
        root = self.rps[parent].root_uuid if parent else uuid
        self.rps[uuid] = Provider(uuid, name, root, parent)
        return uuid

    def allocate(self, consumer: str, rp: str, **resources: int) -> None:
        self.allocs.setdefault(consumer, {})[rp] = resources or TINY
        self.generations[consumer] = self.generations.get(consumer, 0) + 1

    def _fail(self, method: str) -> None:
        self.calls[method] += 1
        error = self.errors.pop(method, None)
        if error is not None:
            raise error

    # -- RetireAPI ---------------------------------------------------------

    def host_migrations(self, host: str) -> list[HostMigration]:
        self._fail("host_migrations")
        evacuations = [
            HostMigration(
                m.id,
                f"mig-{m.id}",
                m.migration_type,
                m.status,
                m.instance_uuid,
                m.source_compute,
                m.dest_compute,
            )
            for m in self.records
        ]
        return [
            m
            for m in evacuations + self.other_moves
            if host in (m.source_compute, m.dest_compute)
        ]

    def resource_providers(self, name: str) -> list[Provider]:
        self._fail("resource_providers")
        return [p for p in self.rps.values() if p.name == name]

    def provider_tree(self, root: str) -> list[Provider]:
        self._fail("provider_tree")
        return [p for p in self.rps.values() if p.root_uuid == root]

    def resource_provider(self, uuid: str) -> Provider | None:
        self._fail("resource_provider")
        return self.rps.get(uuid)

    def provider_allocations(self, uuid: str) -> dict[str, Resources]:
        self._fail("provider_allocations")
        if uuid not in self.rps:
            raise ComputeAPIError("no such provider", status=404)
        return {c: a[uuid] for c, a in self.allocs.items() if uuid in a}

    def consumer_allocations(self, uuid: str) -> Consumer:
        self._fail("consumer_allocations")
        return Consumer(
            uuid,
            dict(self.allocs.get(uuid, {})),
            self.generations.get(uuid),
            "p1",
            "u1",
        )

    def set_consumer_allocations(self, consumer: Consumer) -> None:
        self._fail("set_consumer_allocations")
        if consumer.generation != self.generations.get(consumer.uuid):
            raise conflict("consumer generation conflict")
        self.writes.append(f"PUT /allocations/{consumer.uuid}")
        self.allocs[consumer.uuid] = dict(consumer.allocations)
        self.generations[consumer.uuid] += 1

    def delete_resource_provider(self, uuid: str) -> None:
        self._fail("delete_resource_provider")
        if any(uuid in a for a in self.allocs.values()):
            raise conflict("provider in use")
        if any(p.parent_uuid == uuid for p in self.rps.values()):
            raise conflict("provider has children")
        self.writes.append(f"DELETE /resource_providers/{uuid}")
        del self.rps[uuid]

    def delete_service(self, service_id: str) -> None:
        self._fail("delete_service")
        [service] = [s for s in self.services if s.id == service_id]
        host = service.host
        if any(s.host == host for s in self.servers.values()):
            raise conflict("Unable to delete compute service that is hosting")
        if any(m.in_progress for m in self.host_migrations(host)):
            raise conflict("in-progress migrations")
        self.writes.append(f"DELETE /os-services/{service_id}")
        self.on_delete()
        if self.nova_cascades:
            self._cascade(host)
        self.services = [s for s in self.services if s.id != service_id]

    def _cascade(self, host: str) -> None:
        """report.py's delete_resource_provider(cascade=True)."""
        tree = {p.uuid for p in self.rps.values() if p.name == host}
        tree |= {p.uuid for p in self.rps.values() if p.root_uuid in tree}
        for m in self.records:
            if m.source_compute == host and m.status == "done":
                held = self.allocs.get(m.instance_uuid, {})
                self.allocs[m.instance_uuid] = {
                    rp: r for rp, r in held.items() if rp not in tree
                }
        for uuid in sorted(
            tree, key=lambda u: self.rps[u].parent_uuid is None
        ):
            if not any(uuid in a for a in self.allocs.values()):
                self.rps.pop(uuid)

    def gone(self, server_id: str) -> None:
        """The server is deleted: Nova finds no server of that id."""
        del self.servers[server_id]

    def moved(self, server_id: str, host: str) -> None:
        self.servers[server_id] = dataclasses.replace(
            self.servers[server_id], host=host
        )


def record(mid: int, uuid: str, status: str) -> Migration:
    """An evacuation record from HOST to c2."""
    return Migration(mid, uuid, status, HOST, "c2", "2026-01-01", None)


def dead_host(*on_host: tuple[str, str]) -> FakeRetireCompute:
    """HOST dead, forced down and evacuated: a and b on c2 (records
    done), each with its allocation on HOST's provider and on c2's;
    servers of on_host (id, vm_state) still on HOST."""
    api = FakeRetireCompute(
        server("a", host="c2"),
        server("b", host="c2"),
        *(server(sid, vm) for sid, vm in on_host),
    )
    api.records = [record(1, "a", "done"), record(2, "b", "done")]
    c1, c2 = api.provider(HOST), api.provider("c2")
    for sid in "ab":
        api.allocate(sid, c1)
        api.allocate(sid, c2)
    return api
