"""ComputeAPI over python-novaclient's session client.

novaclient supplies the microversion headers and error parsing; the request
bodies come from rules.py, so each call names its own microversion: the
evacuate POST the one chosen for the user's options, reads one that knows
every field and filter used here.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterator
from typing import Any

from keystoneauth1 import exceptions as ks_exc
from novaclient import api_versions
from novaclient import client as nova_client
from novaclient import exceptions as nova_exc

from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import ComputeService, Migration, Server
from osc_evacuate.core.rules import rule_for

# 2.59 pages migrations and gives them a uuid; 2.53 service UUIDs. Nothing
# newer is needed for reading.
READ_VERSION = mv("2.80")
PAGE_SIZE = 1000
_UUID = re.compile(r"^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$", re.I)


class NovaComputeAPI:
    def __init__(
        self,
        session: Any,
        region_name: str | None = None,
        interface: str | None = None,
        endpoint_override: str | None = None,
    ) -> None:
        self._adapter_args: dict[str, Any] = {
            "session": session,
            "service_type": "compute",
            "region_name": region_name,
            "interface": interface or "public",
            "endpoint_override": endpoint_override,
        }
        self._clients: dict[Microversion, Any] = {}
        self._range: VersionRange | None = None

    # -- plumbing ---------------------------------------------------------

    def _client(self, version: Microversion) -> Any:
        if version not in self._clients:
            client = nova_client.SessionClient(
                api_version=api_versions.APIVersion("2.1"),
                **self._adapter_args,
            )
            # novaclient refuses to be built beyond its own newest version
            # (2.96), but all it does with one is send it as a header.
            client.api_version = api_versions.APIVersion(str(version))
            self._clients[version] = client
        return self._clients[version]

    def _read_version(self) -> Microversion:
        return min(READ_VERSION, self.version_range().maximum)

    def _call(
        self,
        method: str,
        url: str,
        version: Microversion | None = None,
        body: object = None,
        secret: bool = False,
    ) -> tuple[Any, Any]:
        client = self._client(version or self._read_version())
        kwargs: dict[str, Any] = {}
        if body is not None:
            kwargs["body"] = body
        if secret:
            # keystoneauth logs bodies unmasked at --debug.
            kwargs["log"] = False
        try:
            return client.request(url, method, **kwargs)  # type: ignore[no-any-return]
        except nova_exc.ClientException as exc:
            raise ComputeAPIError(
                _one_line(exc.message), exc.code, exc.request_id
            ) from exc
        except ks_exc.ConnectionError as exc:
            raise ComputeAPIError(f"{method} {url}: {exc}") from exc

    def _get(self, url: str, **query: object) -> Any:
        params = {k: v for k, v in query.items() if v is not None}
        if params:
            url = f"{url}?{urllib.parse.urlencode(params)}"
        return self._call("GET", url)[1]

    # -- ComputeAPI -------------------------------------------------------

    def version_range(self) -> VersionRange:
        if self._range is None:
            _, body = self._call("GET", "/", version=mv("2.1"))
            doc = body.get("version") or {}
            self._range = VersionRange(
                Microversion.parse(doc.get("min_version") or "2.1"),
                Microversion.parse(doc.get("version") or "2.1"),
            )
        return self._range

    def compute_services(
        self, host: str | None = None
    ) -> list[ComputeService]:
        body = self._get("/os-services", binary="nova-compute", host=host)
        return [_service(s) for s in body.get("services", [])]

    def servers_on_host(self, host: str) -> list[Server]:
        return list(self._servers(all_tenants=1, host=host))

    def servers_changed_since(self, since: str) -> list[Server]:
        return list(self._servers(all_tenants=1, **{"changes-since": since}))

    def get_server(self, server_id: str) -> Server | None:
        try:
            body = self._get(f"/servers/{urllib.parse.quote(server_id)}")
        except ComputeAPIError as exc:
            if exc.status == 404:
                return None
            raise
        return _server(body["server"])

    def find_servers(self, name: str) -> list[Server]:
        if _UUID.match(name):
            found = self.get_server(name)
            if found is not None:
                return [found]
        pattern = f"^{re.escape(name)}$"
        try:
            return list(self._servers(all_tenants=1, name=pattern))
        except ComputeAPIError as exc:
            if exc.status != 403:
                raise
        # Not an admin: Nova refuses all_tenants, so look in our project.
        return list(self._servers(name=pattern))

    def evacuate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        resp, answer = self._call(
            "POST",
            f"/servers/{urllib.parse.quote(server_id)}/action",
            version=version,
            body={"evacuate": body},
            # A password in the request, or one Nova generates (to 2.13).
            secret="adminPass" in body or rule_for(version).returns_admin_pass,
        )
        return EvacuateResponse(
            request_id=resp.headers.get("x-openstack-request-id"),
            admin_pass=(answer or {}).get("adminPass"),
        )

    def evacuation_migrations(
        self,
        source_host: str | None = None,
        instance_uuid: str | None = None,
    ) -> list[Migration]:
        query: dict[str, object] = {
            "migration_type": "evacuation",
            "source_compute": source_host,
            "instance_uuid": instance_uuid,
        }
        # From 2.59 Nova pages this list (1000 by default) by uuid.
        paged = self._read_version() >= mv("2.59")
        found: list[Migration] = []
        marker: str | None = None
        while True:
            if paged:
                query.update(limit=PAGE_SIZE, marker=marker)
            body = self._get("/os-migrations", **query)
            page = body.get("migrations", [])
            found += [_migration(m) for m in page]
            links = body.get("migrations_links") or []
            if not paged or not page or not _has_next(links):
                return found
            marker = page[-1]["uuid"]

    def stop_server(self, server_id: str) -> None:
        self._call(
            "POST",
            f"/servers/{urllib.parse.quote(server_id)}/action",
            body={"os-stop": None},
        )

    def _servers(self, **query: object) -> Iterator[Server]:
        marker: str | None = None
        while True:
            body = self._get(
                "/servers/detail", limit=PAGE_SIZE, marker=marker, **query
            )
            page = body.get("servers", [])
            yield from (_server(s) for s in page)
            links = body.get("servers_links") or []
            if not page or not _has_next(links):
                return
            marker = page[-1]["id"]


def _has_next(links: list[dict[str, Any]]) -> bool:
    return any(link.get("rel") == "next" for link in links)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _server(raw: dict[str, Any]) -> Server:
    fault = raw.get("fault") or {}
    return Server(
        id=raw["id"],
        name=raw.get("name") or "",
        project_id=raw.get("tenant_id") or "",
        status=raw.get("status") or "",
        vm_state=raw.get("OS-EXT-STS:vm_state") or "",
        task_state=raw.get("OS-EXT-STS:task_state"),
        host=raw.get("OS-EXT-SRV-ATTR:host"),
        fault=_one_line(fault["message"]) if fault.get("message") else None,
        updated=raw.get("updated"),
    )


def _service(raw: dict[str, Any]) -> ComputeService:
    return ComputeService(
        id=str(raw["id"]),
        host=raw["host"],
        state=raw.get("state") or "",
        status=raw.get("status") or "",
        forced_down=bool(raw.get("forced_down")),
        zone=raw.get("zone"),
        updated_at=raw.get("updated_at"),
    )


def _migration(raw: dict[str, Any]) -> Migration:
    return Migration(
        id=int(raw["id"]),
        instance_uuid=raw["instance_uuid"],
        status=raw.get("status") or "",
        source_compute=raw.get("source_compute"),
        dest_compute=raw.get("dest_compute"),
        created_at=raw.get("created_at") or "",
        updated_at=raw.get("updated_at"),
    )
