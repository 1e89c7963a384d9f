"""The Nova helper's servers (rest.py's NovaAPI): boot, read, wait for,
act on, delete.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Collection, Iterable
from typing import Any

import requests

from tests.sandbox.rest_base import (
    FLAVOR_ID,
    IMAGE_ID,
    MV_CREATE,
    MV_VOLUME_ATTACHMENTS,
    NAMES,
    RestAPI,
    parallel,
    wait_for,
)


class NovaServers(RestAPI):
    """Nova's compute API (``/v2.1``): its servers."""

    prefix = "/v2.1"
    service_type = "compute"

    def create_server(
        self,
        name: str | None = None,
        host: str | None = None,
        flavor: str = FLAVOR_ID,
        image: str = IMAGE_ID,
        wait: str | None = "ACTIVE",
        timeout: float = 60.0,
        volume_backed: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """Boot a server (``--nic none``), on ``host`` if given (admin
        only, microversion 2.74); waits for ``wait`` unless None.

        ``volume_backed``: its root disk is a new volume (Nova's
        CinderFixture takes any volume id as an available, bootable
        volume), booted through ``block_device_mapping_v2`` as ``openstack
        server create --volume`` does; Nova then shows ``"image": ""``.
        """
        server: dict[str, Any] = {
            "name": name or f"sb-{next(NAMES)}",
            "imageRef": image,
            "flavorRef": flavor,
            "networks": "none",
            **extra,
        }
        if volume_backed:
            server["imageRef"] = ""
            server["block_device_mapping_v2"] = [
                {
                    "boot_index": 0,
                    "uuid": str(uuid.uuid4()),
                    "source_type": "volume",
                    "destination_type": "volume",
                    "delete_on_termination": False,
                }
            ]
        if host:
            server["host"] = host
        resp = self.request(
            "POST", "/servers", {"server": server}, microversion=MV_CREATE
        )
        created: dict[str, Any] = resp.json()["server"]
        if wait is None:
            return created
        return self.wait_for_server(created["id"], wait, timeout=timeout)

    def create_servers(
        self,
        count: int,
        host: str | None = None,
        concurrency: int = 8,
        wait: str | None = "ACTIVE",
        timeout: float = 120.0,
        name_prefix: str | None = None,
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        """Boot ``count`` servers from ``concurrency`` threads at once."""
        prefix = name_prefix or f"sb-{next(NAMES)}"

        def boot(i: int) -> dict[str, Any]:
            return self.create_server(
                name=f"{prefix}-{i}", host=host, wait=None, **kwargs
            )

        created = parallel(boot, range(count), concurrency)
        if wait is None:
            return created
        return self.wait_for_servers(
            [s["id"] for s in created], wait, timeout=timeout
        )

    def server(self, server_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.get(f"/servers/{server_id}")["server"]
        return body

    def servers(
        self, host: str | None = None, **filters: Any
    ) -> list[dict[str, Any]]:
        """Servers of all projects (admin), optionally on one host."""
        params: dict[str, Any] = {"all_tenants": 1, "limit": 1000, **filters}
        if host:
            params["host"] = host
        out: list[dict[str, Any]] = []
        while True:
            page = self.get("/servers/detail", **params)["servers"]
            out.extend(page)
            if len(page) < params["limit"]:
                return out
            params["marker"] = page[-1]["id"]

    def wait_for_server(
        self,
        server_id: str,
        status: str | Collection[str],
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Wait until the server's status is ``status`` (or one of them)
        with no task in progress."""
        wanted = {status} if isinstance(status, str) else set(status)
        seen: dict[str, Any] = {}

        def probe() -> dict[str, Any] | None:
            server = self.server(server_id)
            seen.update(server)
            settled = server.get("OS-EXT-STS:task_state") is None
            return server if settled and server["status"] in wanted else None

        return wait_for(
            f"server {server_id} to be {sorted(wanted)}",
            probe,
            timeout,
            last=lambda: (seen.get("status"), seen.get("fault")),
        )

    def wait_for_servers(
        self,
        server_ids: Iterable[str],
        status: str | Collection[str],
        timeout: float = 120.0,
    ) -> list[dict[str, Any]]:
        """wait_for_server for many servers; results in input order."""
        ids = list(server_ids)
        deadline = time.monotonic() + timeout
        return [
            self.wait_for_server(
                i, status, timeout=max(deadline - time.monotonic(), 0.1)
            )
            for i in ids
        ]

    def action(
        self,
        server_id: str,
        name: str,
        args: Any = None,
        microversion: str | None = None,
        ok: Collection[int] | None = (200, 202),
    ) -> requests.Response:
        """``POST /servers/{id}/action {name: args}``."""
        return self.request(
            "POST",
            f"/servers/{server_id}/action",
            {name: args},
            microversion=microversion,
            ok=ok,
        )

    def stop_server(self, server_id: str, wait: bool = True) -> None:
        self.action(server_id, "os-stop")
        if wait:
            self.wait_for_server(server_id, "SHUTOFF")

    def start_server(self, server_id: str, wait: bool = True) -> None:
        self.action(server_id, "os-start")
        if wait:
            self.wait_for_server(server_id, "ACTIVE")

    def pause_server(self, server_id: str, wait: bool = True) -> None:
        self.action(server_id, "pause")
        if wait:
            self.wait_for_server(server_id, "PAUSED")

    def suspend_server(self, server_id: str, wait: bool = True) -> None:
        self.action(server_id, "suspend")
        if wait:
            self.wait_for_server(server_id, "SUSPENDED")

    def reset_state(self, server_id: str, state: str = "error") -> None:
        """``os-resetState``: "error" or "active" (no wait needed)."""
        self.action(server_id, "os-resetState", {"state": state})

    def delete_server(self, server_id: str) -> None:
        self.request("DELETE", f"/servers/{server_id}", ok=(204, 404))

    def volume_attachments(self, server_id: str) -> list[dict[str, Any]]:
        """The server's volume attachments (2.89: with attachment_id)."""
        found: list[dict[str, Any]] = self.get(
            f"/servers/{server_id}/os-volume_attachments",
            MV_VOLUME_ATTACHMENTS,
        )["volumeAttachments"]
        return found
