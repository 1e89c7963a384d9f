"""The cloud around the servers of the in-memory compute API
(fake_compute): its hosts (services, hypervisors, Placement's rooms, what
the capacity rules read) and its catalog (flavors, images, aggregates,
attachments)."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Iterable, Mapping, Sequence

from osc_evacuate.core.attached import Attachments
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    Aggregate,
    ComputeService,
    Flavor,
    Hypervisor,
    Image,
    Room,
    Server,
    ServiceRequest,
)
from osc_evacuate.core.models.cloud import ServerGroup
from tests.unit.fake_nova import FakeNova


class FakeHosts(FakeNova):
    """The computes' services, forced down as asked; their hypervisors,
    Placement's rooms, and what the capacity check's rules read."""

    services: list[ComputeService]  # FakeCompute's c1 to c7

    def __init__(self) -> None:
        super().__init__()
        # Placement's rooms by node (a node is its host here); None: no
        # Placement (rooms() says so). Hosts not listed have no room.
        self.placement: dict[str, Room] | None = {}
        self.hypervisor_types: dict[str, str] = {}  # host: type, else fake
        self.service_changes: list[tuple[Microversion, ServiceRequest]] = []

    def compute_services(
        self, host: str | None = None
    ) -> list[ComputeService]:
        self.calls["services"] += 1
        return [s for s in self.services if host in (None, s.host)]

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


class FakeCatalog(FakeNova):
    """The flavors, images, aggregates and attachments the plan and
    --evacuable-mark read."""

    def __init__(self) -> None:
        super().__init__()
        self.glance: dict[str, Image] = {}  # what images() finds
        self.attached = Attachments()  # what attachments() finds
        self.flavor_store: dict[str, Flavor] = {}  # what flavors() finds

    # What --evacuable-mark reads (selection_reads.py): every flavor of
    # the cloud beyond flavor_store, and its aggregates. Set per test.
    other_flavors: tuple[Flavor, ...] = ()
    host_aggregates: tuple[Aggregate, ...] = ()

    def images(self, image_ids: Iterable[str]) -> dict[str, Image]:
        self.calls["images"] += 1
        return {i: self.glance[i] for i in set(image_ids) if i in self.glance}

    def attachments(
        self, servers: Sequence[Server], volumes: bool = True
    ) -> Attachments:
        self.calls["attachments"] += 1
        ids = {s.id for s in servers}
        read = {v for s in servers for v in s.volumes} if volumes else set()
        self.calls["volumes read"] += len(read)
        return Attachments(
            shares={k: v for k, v in self.attached.shares.items() if k in ids},
            accelerator_ports={
                k: v
                for k, v in self.attached.accelerator_ports.items()
                if k in ids
            },
            encrypted_volumes=self.attached.encrypted_volumes & read,
        )

    def flavors(self, flavor_ids: Iterable[str]) -> dict[str, Flavor]:
        self.calls["flavors"] += 1
        return {
            i: self.flavor_store[i]
            for i in set(flavor_ids)
            if i in self.flavor_store
        }

    def all_flavors(self) -> list[Flavor]:
        self.calls["all_flavors"] += 1
        return [*self.flavor_store.values(), *self.other_flavors]

    def all_images(self) -> list[Image]:
        self.calls["all_images"] += 1
        return list(self.glance.values())

    def aggregates(self) -> list[Aggregate]:
        self.calls["aggregates"] += 1
        return list(self.host_aggregates)
