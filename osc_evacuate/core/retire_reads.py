"""The requests host evacuation retire makes beyond the others' reads:
Nova's migration records that involve a host and the deletion of its
compute service; Placement's providers, allocations and consumers, and
the changes to them (nova.py gives them to the core as RetireAPI).

Placement is spoken to at 1.28, the microversion whose consumer
generations make a change to a consumer's allocations safe against a
concurrent one (Nova's report client uses it for the same change), and
whose in_tree filter (1.14) finds a compute node's nested providers.
"""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import EVACUATION
from osc_evacuate.core.retire_models import (
    Consumer,
    HostMigration,
    Provider,
    Resources,
)
from osc_evacuate.core.rules import features
from osc_evacuate.core.transport import Transport

LOG = logging.getLogger(__name__)

CONSUMER_GENERATIONS = mv("1.28")


def host_migrations(
    nova: Transport, version: Microversion, host: str
) -> list[HostMigration]:
    """Every migration record of any type from or to host, every page
    (Nova's host filter matches the source or the destination)."""
    paged = features.MIGRATIONS_PAGED.covers(version)
    records = nova.pages(
        "/os-migrations",
        version,
        "migrations",
        marker_field="uuid",
        query={"host": host},
        paged=paged,
    )
    found = [_migration(raw) for raw in records]
    LOG.debug("%s: %d migration records of any type", host, len(found))
    return found


def _migration(raw: dict[str, Any]) -> HostMigration:
    return HostMigration(
        id=int(raw["id"]),
        uuid=raw.get("uuid"),
        # Shown from 2.23; before, every record read is an evacuation's
        # or a resize's, told apart by nothing.
        migration_type=raw.get("migration_type") or EVACUATION,
        status=raw.get("status") or "",
        instance_uuid=raw.get("instance_uuid") or "",
        source_compute=raw.get("source_compute"),
        dest_compute=raw.get("dest_compute"),
    )


def delete_service(
    nova: Transport, version: Microversion, service_id: str
) -> None:
    """DELETE /os-services/{id}: by the id read at version (a UUID from
    2.53, an integer before)."""
    nova.request(
        "DELETE", f"/os-services/{urllib.parse.quote(service_id)}", version
    )


def providers(placement: Transport, **query: str) -> list[Provider]:
    """GET /resource_providers with filters (name=, in_tree=)."""
    body = placement.get("/resource_providers", CONSUMER_GENERATIONS, **query)
    return [_provider(raw) for raw in body.get("resource_providers") or []]


def provider(placement: Transport, uuid: str) -> Provider | None:
    """The provider, or None when Placement has no such provider."""
    try:
        raw = placement.get(_provider_path(uuid), CONSUMER_GENERATIONS)
    except ComputeAPIError as exc:
        if exc.status == 404:
            return None
        raise
    return _provider(raw)


def _provider(raw: dict[str, Any]) -> Provider:
    return Provider(
        uuid=raw["uuid"],
        name=raw.get("name") or "",
        root_uuid=raw.get("root_provider_uuid") or raw["uuid"],
        parent_uuid=raw.get("parent_provider_uuid"),
    )


def _provider_path(uuid: str) -> str:
    return f"/resource_providers/{urllib.parse.quote(uuid)}"


def provider_allocations(
    placement: Transport, uuid: str
) -> dict[str, Resources]:
    """The allocations against one provider: resources by consumer."""
    body = placement.get(
        f"{_provider_path(uuid)}/allocations", CONSUMER_GENERATIONS
    )
    found = body.get("allocations") or {}
    return {
        consumer: dict(entry.get("resources") or {})
        for consumer, entry in found.items()
    }


def consumer(placement: Transport, uuid: str) -> Consumer:
    """A consumer's allocations on every provider, and its generation."""
    body = placement.get(
        f"/allocations/{urllib.parse.quote(uuid)}", CONSUMER_GENERATIONS
    )
    found = body.get("allocations") or {}
    return Consumer(
        uuid=uuid,
        allocations={
            rp: dict(entry.get("resources") or {})
            for rp, entry in found.items()
        },
        generation=body.get("consumer_generation"),
        project_id=body.get("project_id"),
        user_id=body.get("user_id"),
    )


def set_allocations(placement: Transport, new: Consumer) -> None:
    """PUT /allocations/{id}: the consumer's allocations become new's (an
    empty mapping removes them all), if its generation is still new's;
    else Placement answers 409."""
    body = {
        "allocations": {
            rp: {"resources": dict(resources)}
            for rp, resources in new.allocations.items()
        },
        "consumer_generation": new.generation,
        "project_id": new.project_id,
        "user_id": new.user_id,
    }
    placement.request(
        "PUT",
        f"/allocations/{urllib.parse.quote(new.uuid)}",
        CONSUMER_GENERATIONS,
        body=body,
    )


def delete_provider(placement: Transport, uuid: str) -> None:
    """DELETE /resource_providers/{uuid}: 409 while anything is allocated
    against it or it has children."""
    placement.request("DELETE", _provider_path(uuid), CONSUMER_GENERATIONS)


class RetireCalls:
    """RetireAPI's own calls, for NovaComputeAPI (nova.py), on its Nova
    and Placement transports."""

    _http: Transport
    _placement: Transport

    def version_range(self) -> VersionRange:
        raise NotImplementedError  # NovaReads'

    def host_migrations(self, host: str) -> list[HostMigration]:
        version = features.read_version(self.version_range())
        return host_migrations(self._http, version, host)

    def delete_service(self, service_id: str) -> None:
        # At the microversion the id was read at (a UUID from 2.53).
        version = features.read_version(self.version_range())
        delete_service(self._http, version, service_id)

    def resource_providers(self, name: str) -> list[Provider]:
        return providers(self._placement, name=name)

    def provider_tree(self, root: str) -> list[Provider]:
        return providers(self._placement, in_tree=root)

    def resource_provider(self, uuid: str) -> Provider | None:
        return provider(self._placement, uuid)

    def provider_allocations(self, uuid: str) -> dict[str, Resources]:
        return provider_allocations(self._placement, uuid)

    def consumer_allocations(self, uuid: str) -> Consumer:
        return consumer(self._placement, uuid)

    def set_consumer_allocations(self, new: Consumer) -> None:
        set_allocations(self._placement, new)

    def delete_resource_provider(self, uuid: str) -> None:
        delete_provider(self._placement, uuid)
