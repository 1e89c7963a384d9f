"""ComputeAPI over Nova's REST API, Glance's and Placement's (HTTP is
transport.py's).

The request bodies come from rules.py, so each call names its own
microversion: the evacuate POST the one chosen for the user's options, reads
one that knows every field and filter used here.
"""

from __future__ import annotations

import datetime
import logging
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.clock import NovaClock
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import (
    ComputeService,
    Flavor,
    Hypervisor,
    Image,
    Migration,
    Room,
    Server,
    ServerDetail,
)
from osc_evacuate.core.rules import ServiceRequest
from osc_evacuate.core.transport import Transport

if TYPE_CHECKING:
    from keystoneauth1 import session as ks_session

LOG = logging.getLogger(__name__)

# 2.59 pages migrations, gives them a uuid and filters them by
# changes-since; 2.53 service UUIDs. Nothing newer is needed for reading.
READ_VERSION = mv("2.80")
MIGRATIONS_PAGED = mv("2.59")
# What openstacksdk asks for, so what OSC's `server show` and `server
# evacuate` display; read for one server only (from 2.96 each server shown
# costs Nova a request spec lookup, too dear for the polls).
DISPLAY_VERSION = mv("2.100")
# Image ids per Glance list request (id=in:a,b,...): the URL stays short.
IMAGES_PER_REQUEST = 100
# os-hypervisors gives each node's own usage figures only up to 2.87, and
# pages from 2.33.
HYPERVISOR_FIGURES = mv("2.87")
HYPERVISORS_PAGED = mv("2.33")
# Placement: allocation candidates' provider summaries carry every
# resource class of each provider, with capacity and use, from 1.27.
PLACEMENT_VERSION = mv("1.27")
_UUID = re.compile(r"^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$", re.I)


class NovaComputeAPI:
    def __init__(
        self,
        session: ks_session.Session,
        region_name: str | None = None,
        interface: str | None = None,
        endpoint_override: str | None = None,
        timeout: float | None = None,
        image_endpoint_override: str | None = None,
        placement_endpoint_override: str | None = None,
    ) -> None:
        """timeout: seconds to wait for each answer (None: the session's,
        else transport.DEFAULT_TIMEOUT)."""
        self._http = Transport(
            session,
            region_name=region_name,
            interface=interface,
            endpoint_override=endpoint_override,
            timeout=timeout,
            nova_clock=NovaClock(),
        )
        self._glance = Transport(
            session,
            service_type="image",
            region_name=region_name,
            interface=interface,
            endpoint_override=image_endpoint_override,
            timeout=timeout,
        )
        self._placement = Transport(
            session,
            service_type="placement",
            region_name=region_name,
            interface=interface,
            endpoint_override=placement_endpoint_override,
            timeout=timeout,
        )
        LOG.debug("each request waits %.0f s at most", self._http.timeout)
        self._range: VersionRange | None = None

    def _read_version(self) -> Microversion:
        return min(READ_VERSION, self.version_range().maximum)

    def _get(self, path: str, **query: object) -> dict[str, Any]:
        return self._http.get(path, self._read_version(), **query)

    # -- ComputeAPI -------------------------------------------------------

    def version_range(self) -> VersionRange:
        if self._range is None:
            body = self._http.get("/", mv("2.1"))
            doc = body.get("version") or {}
            self._range = VersionRange(
                Microversion.parse(doc.get("min_version") or "2.1"),
                Microversion.parse(doc.get("version") or "2.1"),
            )
            LOG.debug(
                "Nova accepts compute API microversions %s; reading at %s",
                self._range,
                min(READ_VERSION, self._range.maximum),
            )
        return self._range

    def nova_now(self) -> datetime.datetime | None:
        clock = self._http.nova_clock
        return clock.now() if clock else None

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

    def show_server(self, server_id: str) -> ServerDetail | None:
        version = min(DISPLAY_VERSION, self.version_range().maximum)
        try:
            body = self._http.get(
                f"/servers/{urllib.parse.quote(server_id)}", version
            )
        except ComputeAPIError as exc:
            if exc.status == 404:
                return None
            raise
        raw = body["server"]
        return ServerDetail(_server(raw), raw)

    def images(self, image_ids: Iterable[str]) -> dict[str, Image]:
        wanted = sorted(set(image_ids))
        found: dict[str, Image] = {}
        for start in range(0, len(wanted), IMAGES_PER_REQUEST):
            chunk = wanted[start : start + IMAGES_PER_REQUEST]
            query: dict[str, object] = {
                "id": "in:" + ",".join(chunk),
                "limit": len(chunk),
            }
            body = self._glance.get("/v2/images", None, **query)
            for raw in body.get("images") or []:
                found[raw["id"]] = _image(raw)
        LOG.debug("images: %d asked, %d found", len(wanted), len(found))
        return found

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
        LOG.debug("all_tenants refused (403): looking in our project only")
        return list(self._servers(name=pattern))

    def evacuate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        answer = self._http.request(
            "POST",
            f"/servers/{urllib.parse.quote(server_id)}/action",
            version,
            body={"evacuate": body},
            # The body may hold a password, and so may the answer (Nova
            # generates one up to 2.13): keystoneauth must log neither.
            quiet=True,
        )
        generated = answer.body if isinstance(answer.body, dict) else {}
        return EvacuateResponse(
            request_id=answer.request_id,
            admin_pass=generated.get("adminPass"),
        )

    def evacuation_migrations(
        self,
        source_host: str | None = None,
        instance_uuid: str | None = None,
        changes_since: str | None = None,
    ) -> list[Migration]:
        version = self._read_version()
        if changes_since is not None and version < MIGRATIONS_PAGED:
            # Nova would drop it anyway: every record comes back.
            LOG.debug("migrations at %s: no changes-since", version)
            changes_since = None
        query = {
            "migration_type": "evacuation",
            "source_compute": source_host,
            "instance_uuid": instance_uuid,
            "changes-since": changes_since,
        }
        # From 2.59 Nova pages this list (1000 by default) by uuid; before,
        # it answers every record at once.
        records = self._http.pages(
            "/os-migrations",
            version,
            "migrations",
            marker_field="uuid",
            query=query,
            paged=version >= MIGRATIONS_PAGED,
        )
        return [_migration(m) for m in records]

    def update_service(
        self, version: Microversion, request: ServiceRequest
    ) -> None:
        self._http.request(
            request.method, request.path, version, body=request.body
        )

    def flavors(self, flavor_ids: Iterable[str]) -> dict[str, Flavor]:
        found = {}
        for fid in sorted(set(flavor_ids)):
            quoted = urllib.parse.quote(fid)
            try:
                raw = self._get(f"/flavors/{quoted}")["flavor"]
                specs = self._get(f"/flavors/{quoted}/os-extra-specs")
            except ComputeAPIError as exc:
                if exc.status != 404:
                    raise
                LOG.debug("flavor %s: gone (%s)", fid, exc)
                continue
            raw = {**raw, "extra_specs": specs.get("extra_specs") or {}}
            found[fid] = _flavor(raw, raw.get("name") or "")
        return found

    def hypervisors(self) -> list[Hypervisor]:
        version = min(HYPERVISOR_FIGURES, self.version_range().maximum)
        return [
            _hypervisor(raw)
            for raw in self._http.pages(
                "/os-hypervisors/detail",
                version,
                "hypervisors",
                marker_field="id",
                query={},
                paged=version >= HYPERVISORS_PAGED,
            )
        ]

    def rooms(self, smallest: Mapping[str, int]) -> dict[str, Room] | None:
        wanted = ",".join(f"{rc}:{n}" for rc, n in smallest.items() if n)
        try:
            providers = self._placement.get(
                "/resource_providers", PLACEMENT_VERSION
            )
            candidates = self._placement.get(
                "/allocation_candidates", PLACEMENT_VERSION, resources=wanted
            )
        except ComputeAPIError as exc:
            LOG.debug("Placement cannot be read: %s", exc)
            return None
        names = {
            p["uuid"]: p["name"]
            for p in providers.get("resource_providers") or []
        }
        rooms = {}
        summaries = candidates.get("provider_summaries") or {}
        for uuid, summary in summaries.items():
            name = names.get(uuid)
            if name is None:
                continue
            rooms[name] = Room(
                node=name,
                resources={
                    rc: (float(v["capacity"]), float(v["used"]))
                    for rc, v in (summary.get("resources") or {}).items()
                },
            )
        LOG.debug(
            "Placement: %d providers, %d with room for %s",
            len(names),
            len(rooms),
            wanted,
        )
        return rooms

    def lock_server(
        self, server_id: str, version: Microversion, reason: str | None
    ) -> None:
        lock = {"locked_reason": reason} if reason is not None else None
        self._http.request(
            "POST",
            f"/servers/{urllib.parse.quote(server_id)}/action",
            version,
            body={"lock": lock},
        )

    def unlock_server(self, server_id: str) -> None:
        self._http.request(
            "POST",
            f"/servers/{urllib.parse.quote(server_id)}/action",
            self._read_version(),
            body={"unlock": None},
        )

    def stop_server(self, server_id: str) -> None:
        self._http.request(
            "POST",
            f"/servers/{urllib.parse.quote(server_id)}/action",
            self._read_version(),
            body={"os-stop": None},
        )

    def _servers(self, **query: object) -> Iterator[Server]:
        for raw in self._http.pages(
            "/servers/detail",
            self._read_version(),
            "servers",
            marker_field="id",
            query=query,
        ):
            yield _server(raw)


LAUNCHED_AT = "OS-SRV-USG:launched_at"
EPHEMERAL = "OS-FLV-EXT-DATA:ephemeral"


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
        # null when it never launched; absent when Nova does not say.
        launched=raw.get(LAUNCHED_AT, "unknown") is not None,
        image_id=_image_id(raw.get("image")),
        flavor=_embedded_flavor(raw.get("flavor")),
        flavor_id=_flavor_id(raw.get("flavor")),
        tags=frozenset(str(t) for t in raw.get("tags") or ()),
        metadata={
            str(k): str(v) for k, v in (raw.get("metadata") or {}).items()
        },
        locked=raw.get("locked"),
        locked_reason=raw.get("locked_reason"),
    )


def _image_id(image: object) -> str | None:
    """ "" when booted from a volume (Nova's own way to say so)."""
    if image == "":
        return ""
    if isinstance(image, dict) and image.get("id"):
        return str(image["id"])
    return None


def _embedded_flavor(raw: object) -> Flavor | None:
    """The flavor Nova embeds from 2.47; None before (only its id)."""
    if not isinstance(raw, dict) or "vcpus" not in raw:
        return None
    return _flavor(raw, raw.get("original_name") or "")


def _flavor_id(raw: object) -> str | None:
    if isinstance(raw, dict) and raw.get("id") and "vcpus" not in raw:
        return str(raw["id"])
    return None


def _flavor(raw: dict[str, Any], name: str) -> Flavor:
    return Flavor(
        vcpus=int(raw.get("vcpus") or 0),
        ram=int(raw.get("ram") or 0),
        disk=int(raw.get("disk") or 0),
        ephemeral=int(raw.get("ephemeral") or raw.get(EPHEMERAL) or 0),
        # Nova shows no swap as "" in flavor lists.
        swap=int(raw.get("swap") or 0),
        extra_specs={
            str(k): str(v) for k, v in (raw.get("extra_specs") or {}).items()
        },
        name=name,
    )


# Nova's state of a service it cannot see: its cell's database is down.
UNKNOWN = "unknown"


def _service(raw: dict[str, Any]) -> ComputeService:
    if "id" not in raw:
        # From 2.69 a service in a down cell is only its binary, host and
        # "status": "UNKNOWN". Unknown is not up: never a target, never
        # judged alive.
        LOG.debug("nova-compute on %s: in a down cell", raw.get("host"))
        return ComputeService(
            id="",
            host=raw.get("host") or "",
            state=UNKNOWN,
            status=UNKNOWN,
            forced_down=False,
        )
    return ComputeService(
        id=str(raw["id"]),
        host=raw["host"],
        state=raw.get("state") or "",
        status=raw.get("status") or "",
        forced_down=bool(raw.get("forced_down")),
        zone=raw.get("zone"),
        updated_at=raw.get("updated_at"),
        disabled_reason=raw.get("disabled_reason"),
    )


def _hypervisor(raw: dict[str, Any]) -> Hypervisor:
    def figure(key: str) -> int | None:
        value = raw.get(key)
        return int(value) if isinstance(value, int | float) else None

    service = raw.get("service") or {}
    return Hypervisor(
        host=service.get("host") or "",
        node=raw.get("hypervisor_hostname") or "",
        type=raw.get("hypervisor_type") or "",
        vcpus=figure("vcpus"),
        vcpus_used=figure("vcpus_used"),
        memory_mb=figure("memory_mb"),
        memory_mb_used=figure("memory_mb_used"),
        local_gb=figure("local_gb"),
        local_gb_used=figure("local_gb_used"),
    )


def _image(raw: dict[str, Any]) -> Image:
    return Image(id=raw["id"], name=raw.get("name") or "", properties=raw)


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
