"""The sandbox's control interface (``/_sandbox``), as tests and tools
call it through Sandbox (client.py): its computes, capacity, cell, images,
attachments, microversion cap and request log. No nova import.
"""

from __future__ import annotations

from typing import Any

import requests

from tests.sandbox.rest import NovaAPI


class SandboxError(RuntimeError):
    """The sandbox failed to start, died, or refused a control call."""


class SandboxControl:
    """Calls to the sandbox's control interface."""

    url: str  # the sandbox's, once started
    admin: NovaAPI
    _session: requests.Session

    # The control interface.
    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/_sandbox/<path>``; the parsed JSON reply."""
        resp = self._session.request(
            method, f"{self.url}/_sandbox/{path}", json=body, timeout=120
        )
        if resp.status_code >= 400:
            raise SandboxError(
                f"{method} /_sandbox/{path}: {resp.status_code} {resp.text}"
            )
        return resp.json()

    def computes(self) -> list[dict[str, Any]]:
        """``[{"host": "compute01", "running": True}, ...]``"""
        result: list[dict[str, Any]] = self.control("GET", "computes")
        return result

    def add_compute(
        self,
        host: str,
        *,
        vcpus: int | None = None,
        memory_mb: int | None = None,
        local_gb: int | None = None,
        hypervisor_type: str | None = None,
    ) -> dict[str, Any]:
        """Start a new compute (or restart a stopped one). A new one may
        have its own size (the fake driver's vcpus, memory_mb, local_gb)
        and ``hypervisor_type="ironic"`` or ``"vtpm"`` (a fake compute
        with emulated TPMs; tests/sandbox/drivers.py)."""
        body: dict[str, Any] = {"host": host}
        for key, value in (
            ("vcpus", vcpus),
            ("memory_mb", memory_mb),
            ("local_gb", local_gb),
            ("hypervisor_type", hypervisor_type),
        ):
            if value is not None:
                body[key] = value
        result: dict[str, Any] = self.control("POST", "computes", body)
        return result

    def crash_compute(
        self, host: str, force_down: bool = False
    ) -> dict[str, Any]:
        """Stop the compute as a dead host would. Nova sees it down after
        service_down_time (20 s), or at once with ``force_down``."""
        result: dict[str, Any] = self.control("POST", f"computes/{host}/stop")
        if force_down:
            self.admin.force_down(host)
        return result

    def start_compute(self, host: str) -> dict[str, Any]:
        """Restart a stopped compute; its start-up cleans up evacuated
        guests and moves their migrations to ``completed``."""
        result: dict[str, Any] = self.control("POST", f"computes/{host}/start")
        return result

    def reinstall_compute(self, host: str) -> dict[str, Any]:
        """Start a stopped compute as its host reinstalled under the same
        name: the hypervisor has no guest left (a restart of the old one,
        with the evacuated guests still there, is what Nova refuses once
        its service was deleted: "My hypervisor has existing instances,
        but I appear to be a new service")."""
        result: dict[str, Any] = self.control(
            "POST", f"computes/{host}/reinstall"
        )
        return result

    # Capacity (capacity.py).
    def resources(self, host: str) -> dict[str, Any]:
        """Placement's view of the compute's node: ``{"host",
        "resource_provider", "inventories", "usages", "free", "filled"}``;
        ``free`` is ``(total - reserved) * allocation_ratio - used``."""
        result: dict[str, Any] = self.control(
            "GET", f"computes/{host}/resources"
        )
        return result

    def resize_compute(
        self,
        host: str,
        *,
        vcpus: int | None = None,
        memory_mb: int | None = None,
        local_gb: int | None = None,
    ) -> dict[str, Any]:
        """Give a running compute's hypervisor another size, now (what
        os-hypervisors and Placement's inventory ``total`` say)."""
        body = {
            key: value
            for key, value in (
                ("vcpus", vcpus),
                ("memory_mb", memory_mb),
                ("local_gb", local_gb),
            )
            if value is not None
        }
        result: dict[str, Any] = self.control(
            "POST", f"computes/{host}/size", body
        )
        return result

    def fill_compute(
        self,
        host: str,
        *,
        vcpus: int = 0,
        memory_mb: int = 0,
        disk_gb: int = 0,
    ) -> dict[str, Any]:
        """Leave only this much free on a running compute, for Placement
        and the scheduler (nothing, by default: it is full). Lasts until
        unfill_compute or reset_faults."""
        body = {
            "free": {
                "VCPU": vcpus,
                "MEMORY_MB": memory_mb,
                "DISK_GB": disk_gb,
            }
        }
        result: dict[str, Any] = self.control(
            "POST", f"computes/{host}/fill", body
        )
        return result

    def unfill_compute(self, host: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control(
            "POST", f"computes/{host}/unfill"
        )
        return result

    def set_cell_down(self, down: bool = True) -> dict[str, Any]:
        """Take cell1 (every compute and server) down, or up again: Nova's
        DownCellFixture. Lasts until ``False`` or reset_faults."""
        result: dict[str, Any] = self.control(
            "POST", "down-cell", {"down": down}
        )
        return result

    def requests(self) -> dict[str, Any]:
        """``{"counts": {"GET /v2.1/servers/detail": n}, "log": [...]}``;
        Placement's under ``/placement``, e.g. ``GET
        /placement/resource_providers/{id}/usages``."""
        result: dict[str, Any] = self.control("GET", "requests")
        return result

    def request_counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.requests()["counts"]
        return counts

    def reset_requests(self) -> None:
        self.control("POST", "requests/reset")

    def add_image(self, name: str, **properties: str) -> str:
        """A new bootable image with these properties; its id."""
        made: dict[str, Any] = self.control(
            "POST", "images", {"name": name, "properties": properties}
        )
        return str(made["id"])

    def attach(self, server_id: str, what: str) -> dict[str, Any]:
        """Attach to the server what Nova's evacuate refuses, as Nova
        records it (attached.py): ``share`` (its share_id) or
        ``accel-port`` (the port)."""
        made: dict[str, Any] = self.control(
            "POST", f"servers/{server_id}/{what}"
        )
        return made

    def encrypt_volume(self, volume_id: str) -> None:
        """Cinder's stand-in says the volume is encrypted."""
        self.control("POST", f"volumes/{volume_id}/encrypt")

    def cap_microversion(self, version: str | None) -> dict[str, Any]:
        """Play a Nova whose newest compute microversion is ``version``
        (None: Nova's own again)."""
        result: dict[str, Any] = self.control(
            "POST", "max-microversion", {"version": version}
        )
        return result
