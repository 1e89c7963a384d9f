"""Small Nova and Placement REST clients for test set-up (no CLI, no nova
import).

Straight HTTP to the sandbox's Nova API (NovaAPI: its servers in
nova_servers.py, moves in nova_moves.py, compute services here) and
Placement API (PlacementAPI, under ``/placement``), so setting up a test
costs milliseconds. Each helper is one user logged in to one project with a
real Keystone token (login.py): ``admin`` in ``admin`` is an
administrator, ``demo`` in ``demo`` a member of project demo, ``reader``
in ``demo`` a reader there, and ``admin`` in ``demo`` an administrator
working in project demo (how an admin boots a demo server on a chosen
host): ``nova.as_user("admin", "demo")``.
"""

from __future__ import annotations

from typing import Any

from tests.sandbox.nova_moves import NovaMoves
from tests.sandbox.rest_base import (
    FLAVOR_ID,
    IMAGE_ID,
    MV_CREATE,
    MV_HYPERVISORS,
    MV_SERVICES,
    PLACEMENT_MICROVERSION,
    NovaAPIError,
    RestAPI,
    Timeout,
    wait_for,
)

# What the tests import from here.
__all__ = [
    "FLAVOR_ID",
    "IMAGE_ID",
    "MV_CREATE",
    "NovaAPI",
    "NovaAPIError",
    "PlacementAPI",
    "Timeout",
    "wait_for",
]


class NovaAPI(NovaMoves):
    """Nova's compute API (``/v2.1``): servers, moves, compute services
    and hypervisors."""

    def hypervisors(
        self, pattern: str | None = None, microversion: str = MV_HYPERVISORS
    ) -> list[dict[str, Any]]:
        """``GET /os-hypervisors/detail``, with
        ``hypervisor_hostname_pattern`` (a substring match) if given;
        [] when nothing matches (Nova answers 404)."""
        params = (
            {} if pattern is None else {"hypervisor_hostname_pattern": pattern}
        )
        resp = self.request(
            "GET",
            "/os-hypervisors/detail",
            microversion=microversion,
            params=params,
            ok=(200, 404),
        )
        if resp.status_code == 404:
            return []
        found: list[dict[str, Any]] = resp.json()["hypervisors"]
        return found

    def service(
        self, host: str, binary: str = "nova-compute"
    ) -> dict[str, Any]:
        """The service record (2.53: ``id`` is a UUID)."""
        services = self.get(
            "/os-services", MV_SERVICES, host=host, binary=binary
        )["services"]
        if len(services) != 1:
            raise LookupError(f"{len(services)} {binary} services on {host}")
        service: dict[str, Any] = services[0]
        return service

    def update_service(self, host: str, **changes: Any) -> dict[str, Any]:
        """``PUT /os-services/{uuid}`` at 2.53 (forced_down, status,
        disabled_reason)."""
        service_id = self.service(host)["id"]
        resp = self.request(
            "PUT", f"/os-services/{service_id}", changes, MV_SERVICES
        )
        updated: dict[str, Any] = resp.json()["service"]
        return updated

    def force_down(self, host: str, down: bool = True) -> dict[str, Any]:
        return self.update_service(host, forced_down=down)

    def disable_service(
        self, host: str, reason: str | None = None
    ) -> dict[str, Any]:
        changes: dict[str, Any] = {"status": "disabled"}
        if reason:
            changes["disabled_reason"] = reason
        return self.update_service(host, **changes)

    def enable_service(self, host: str) -> dict[str, Any]:
        return self.update_service(host, status="enabled")

    def wait_for_service_state(
        self, host: str, state: str = "down", timeout: float = 30.0
    ) -> dict[str, Any]:
        """Wait for ``state`` ("up"/"down"); a crashed compute reads down
        about 20 s after its last heartbeat."""
        return wait_for(
            f"compute {host} to be {state}",
            lambda: s if (s := self.service(host))["state"] == state else None,
            timeout,
            interval=0.5,
        )


class PlacementAPI(RestAPI):
    """Placement's API under the sandbox's ``/placement``, with the same
    tokens (admin only, as Placement's default policy wants)."""

    prefix = "/placement"
    service_type = "placement"

    def get(
        self,
        path: str,
        microversion: str | None = PLACEMENT_MICROVERSION,
        **params: Any,
    ) -> Any:
        return super().get(path, microversion, **params)

    def resource_providers(self, **filters: Any) -> list[dict[str, Any]]:
        """``GET /resource_providers`` with filters such as ``name``."""
        found: list[dict[str, Any]] = self.get(
            "/resource_providers", **filters
        )["resource_providers"]
        return found

    def provider(self, name: str) -> dict[str, Any]:
        """The resource provider named ``name`` (a compute's node)."""
        (found,) = self.resource_providers(name=name)
        return found

    def inventories(self, rp_uuid: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.get(
            f"/resource_providers/{rp_uuid}/inventories"
        )["inventories"]
        return found

    def usages(self, rp_uuid: str) -> dict[str, int]:
        found: dict[str, int] = self.get(
            f"/resource_providers/{rp_uuid}/usages"
        )["usages"]
        return found

    def allocations(self, consumer: str) -> dict[str, Any]:
        """A consumer's (a server's) allocations, by resource provider."""
        found: dict[str, Any] = self.get(f"/allocations/{consumer}")[
            "allocations"
        ]
        return found
