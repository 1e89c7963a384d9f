"""The cloud API the core needs, as a Protocol (see nova.py for Nova's).

Nova's compute API, and the few reads of Glance and Placement the plan and
the display make: one object, since they share OSC's session and every
caller needs them together.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from osc_evacuate.core.attached import Attachments
from osc_evacuate.core.microversion import Microversion, VersionRange
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
from osc_evacuate.core.retire_models import (
    Consumer,
    HostMigration,
    Provider,
    Resources,
)


@dataclasses.dataclass(frozen=True)
class EvacuateResponse:
    request_id: str | None
    admin_pass: str | None = dataclasses.field(default=None, repr=False)


class ComputeAPI(Protocol):
    """Every call raises errors.ComputeAPIError when Nova says no."""

    def version_range(self) -> VersionRange: ...

    def answer_timeout(self) -> float:
        """Seconds a request waits for its answer before it is given up
        (no answer: Nova may act on it all the same)."""
        ...

    def nova_now(self) -> datetime.datetime | None:
        """Nova's clock now (naive UTC), as the Date of its latest answer
        tells it; None until an answer carried one."""
        ...

    def compute_services(
        self, host: str | None = None
    ) -> list[ComputeService]: ...

    def servers_on_host(self, host: str) -> list[Server]:
        """Every server on host, all projects, every page."""
        ...

    def servers_changed_since(self, since: str) -> list[Server]:
        """Every server (all projects) updated at or after since."""
        ...

    def get_server(self, server_id: str) -> Server | None:
        """The server, or None when there is no such server."""
        ...

    def show_server(self, server_id: str) -> ServerDetail | None:
        """The server with every field `openstack server show` reads (at
        the microversion openstacksdk asks for), or None when there is
        no such server."""
        ...

    def images(self, image_ids: Iterable[str]) -> dict[str, Image]:
        """Glance's images of these ids, by id; one missing is not
        visible (deleted, or another project's). A request per hundred
        ids, not one per server."""
        ...

    def find_servers(self, name: str) -> list[Server]:
        """Servers named exactly name, across projects when allowed."""
        ...

    def evacuate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse: ...

    def migrations(
        self,
        migration_type: str,
        source_host: str | None = None,
        instance_uuid: str | None = None,
        changes_since: str | None = None,
    ) -> list[Migration]:
        """Migration records of one type ("evacuation", "live-migration",
        "migration"), every page.

        changes_since (Nova's time, from 2.59; below, every record): only
        the records changed at or after it. Nova compares it with
        updated_at, which stays NULL until a record first changes, so a
        record still "accepted" is not among them (records.py).
        """
        ...

    def stop_server(self, server_id: str) -> None: ...

    def live_migrate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        """POST os-migrateLive, with the body rules.migrate builds."""
        ...

    def migrate(
        self,
        server_id: str,
        version: Microversion,
        body: dict[str, object] | None,
    ) -> EvacuateResponse:
        """POST migrate (a cold migration), then confirm_resize."""
        ...

    def confirm_resize(self, server_id: str) -> None: ...

    def abort_live_migration(
        self, server_id: str, migration_id: int, version: Microversion
    ) -> None:
        """DELETE /servers/{id}/migrations/{mid} (2.24+)."""
        ...

    def lock_server(
        self, server_id: str, version: Microversion, reason: str | None
    ) -> None:
        """Lock the server; with a reason from 2.73 (rules.lock_version)."""
        ...

    def unlock_server(self, server_id: str) -> None: ...

    def update_service(
        self, version: Microversion, request: ServiceRequest
    ) -> None:
        """Change a compute service (force it down, disable it...), with
        the request rules.service_requests builds for version."""
        ...

    def flavors(self, flavor_ids: Iterable[str]) -> dict[str, Flavor]:
        """The flavors of these ids, with their extra specs: for clouds
        older than 2.47, whose servers name their flavor only. A request
        or two per distinct flavor, never per server."""
        ...

    def attachments(
        self, servers: Sequence[Server], volumes: bool = True
    ) -> Attachments:
        """What the servers have attached that Nova refuses or breaks
        (attached_reads.py): a request per server or volume only where
        the cloud has Manila or Cinder, one per host for Neutron. Their
        volumes are read only with ``volumes`` (whether encrypted)."""
        ...

    def hypervisors(self) -> list[Hypervisor]:
        """Every compute node, with its own usage figures where Nova still
        gives them (up to 2.87)."""
        ...

    def rooms(self, smallest: Mapping[str, int]) -> dict[str, Room] | None:
        """Placement's free room of every resource provider that can take
        at least the smallest demand (resource class: amount), by
        provider name; a constant number of requests. None when
        Placement cannot be read (no endpoint, not allowed)."""
        ...

    def server_groups(self) -> list[ServerGroup]:
        """Every server group of every project (one's own only, to a
        non-admin), with its policy and members: a request per page of
        groups, never per server."""
        ...

    def servers_by_node(self) -> dict[str, frozenset[str]] | None:
        """The ids of the servers on each compute node, by node name: one
        paged list (os-hypervisors with_servers, 2.53+); None when the
        cloud is older."""
        ...

    def pinned_zones(self, host: str) -> dict[str, str | None] | None:
        """The availability zone each server on host is pinned to (None:
        not pinned), by server id: the host's servers read at 2.96, a
        page per 1000; None when the cloud is older."""
        ...

    def reset_state(self, server_id: str, state: str) -> None:
        """os-resetState: set the server's vm_state (error or active) and
        clear its task_state, in Nova's database only (--rescue)."""
        ...

    # -- What --evacuable-mark reads (selection_reads.py) -----------------

    def all_flavors(self) -> list[Flavor]:
        """Every flavor of the cloud, public and private, with its extra
        specs: a request per page (before 2.61, also one per flavor)."""
        ...

    def all_images(self) -> list[Image]:
        """Every image Glance shows this identity: a request per page."""
        ...

    def aggregates(self) -> list[Aggregate]:
        """Every host aggregate, with its hosts and metadata: one
        request."""
        ...


class RetireAPI(ComputeAPI, Protocol):
    """ComputeAPI, and what host evacuation retire needs besides
    (retire_reads.py): Nova's records that involve a host and the
    deletion of its service; Placement's providers and allocations."""

    def host_migrations(self, host: str) -> list[HostMigration]:
        """Every migration record of any type from or to host."""
        ...

    def delete_service(self, service_id: str) -> None:
        """DELETE /os-services/{id}, by the id compute_services read."""
        ...

    def resource_providers(self, name: str) -> list[Provider]:
        """Placement's providers of that name (a node's
        hypervisor_hostname names its provider)."""
        ...

    def provider_tree(self, root: str) -> list[Provider]:
        """Every provider in the tree of that root, the root included."""
        ...

    def resource_provider(self, uuid: str) -> Provider | None:
        """The provider, or None when Placement has no such provider."""
        ...

    def provider_allocations(self, uuid: str) -> dict[str, Resources]:
        """The allocations against a provider: resources by consumer."""
        ...

    def consumer_allocations(self, uuid: str) -> Consumer:
        """A consumer's allocations on every provider, with its
        generation."""
        ...

    def set_consumer_allocations(self, consumer: Consumer) -> None:
        """Make the consumer's allocations these (none: removed), if its
        generation is still the one given (else a 409)."""
        ...

    def delete_resource_provider(self, uuid: str) -> None: ...
