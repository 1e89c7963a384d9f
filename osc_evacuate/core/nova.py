"""ComputeAPI over Nova's REST API, Glance's and Placement's (HTTP is
transport.py's, reading the answers parse.py's).

The request bodies come from rules, so each call names its own
microversion: the evacuate POST the one chosen for the user's options,
reads the one rules.features chooses for every field and filter used here.
"""

from __future__ import annotations

import datetime
import logging
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from osc_evacuate.core import attached_reads, parse, side_reads
from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.attached import Attachments
from osc_evacuate.core.clock import NovaClock
from osc_evacuate.core.errors import ComputeAPIError
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
from osc_evacuate.core.retire_reads import RetireCalls
from osc_evacuate.core.rules import features
from osc_evacuate.core.transport import Answer, Transport

if TYPE_CHECKING:
    from keystoneauth1 import session as ks_session

LOG = logging.getLogger(__name__)


_UUID = re.compile(r"^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$", re.I)


def _no_microversions(http: Transport) -> ComputeAPIError:
    """No microversions: keystoneauth's discovery fell back to the bare
    endpoint (its document unread); one read of it raises why, naming it."""
    http.request("GET", "/", None)
    return ComputeAPIError(
        "the compute endpoint's version document names no microversions",
        sent=False,
    )


class NovaReads:
    """What the core reads of Nova, Glance and Placement."""

    def __init__(
        self,
        session: ks_session.Session,
        region_name: str | None = None,
        interface: str | None = None,
        endpoint_override: str | None = None,
        timeout: float | None = None,
        image_endpoint_override: str | None = None,
        placement_endpoint_override: str | None = None,
        endpoint_overrides: Mapping[str, str | None] | None = None,
    ) -> None:
        """timeout: seconds to wait for each answer (None: the session's,
        else DEFAULT_TIMEOUT); endpoint_overrides: for attached_reads."""
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
        self._attached = attached_reads.AttachedServices.on(
            session,
            endpoint_overrides or {},
            region_name=region_name,
            interface=interface,
            timeout=timeout,
        )
        LOG.debug("each request waits %.0f s at most", self._http.timeout)
        self._range: VersionRange | None = None

    def _read_version(self) -> Microversion:
        return features.read_version(self.version_range())

    def _get(self, path: str, **query: object) -> dict[str, Any]:
        return self._http.get(path, self._read_version(), **query)

    # -- ComputeAPI -------------------------------------------------------

    def version_range(self) -> VersionRange:
        if self._range is None:
            found = self._http.version_range()
            if found is None:
                raise _no_microversions(self._http)
            self._range = found
            LOG.debug(
                "Nova accepts compute API microversions %s; reading at %s",
                found,
                features.read_version(found),
            )
        return self._range

    def answer_timeout(self) -> float:
        return self._http.timeout

    def nova_now(self) -> datetime.datetime | None:
        clock = self._http.nova_clock
        return clock.now() if clock else None

    def compute_services(
        self, host: str | None = None
    ) -> list[ComputeService]:
        body = self._get("/os-services", binary="nova-compute", host=host)
        return [parse.service(s) for s in body.get("services", [])]

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
        return parse.server(body["server"])

    def show_server(self, server_id: str) -> ServerDetail | None:
        version = features.display_version(self.version_range())
        try:
            body = self._http.get(
                f"/servers/{urllib.parse.quote(server_id)}", version
            )
        except ComputeAPIError as exc:
            if exc.status == 404:
                return None
            raise
        raw = body["server"]
        return ServerDetail(parse.server(raw), raw)

    def images(self, image_ids: Iterable[str]) -> dict[str, Image]:
        return side_reads.images(self._glance, image_ids)

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

    def migrations(
        self,
        migration_type: str,
        source_host: str | None = None,
        instance_uuid: str | None = None,
        changes_since: str | None = None,
    ) -> list[Migration]:
        version = self._read_version()
        paged = features.MIGRATIONS_PAGED.covers(version)
        if changes_since is not None and not paged:
            # Nova would drop it anyway: every record comes back.
            LOG.debug("migrations at %s: no changes-since", version)
            changes_since = None
        query = {
            "migration_type": migration_type,
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
            paged=paged,
        )
        return [parse.migration(m) for m in records]

    def flavors(self, flavor_ids: Iterable[str]) -> dict[str, Flavor]:
        return side_reads.flavors(self._http, self._read_version(), flavor_ids)

    def hypervisors(self) -> list[Hypervisor]:
        version = features.hypervisor_version(self.version_range())
        return [
            parse.hypervisor(raw)
            for raw in self._http.pages(
                "/os-hypervisors/detail",
                version,
                "hypervisors",
                marker_field="id",
                query={},
                paged=features.HYPERVISORS_PAGED.covers(version),
            )
        ]

    def attachments(
        self, servers: Sequence[Server], volumes: bool = True
    ) -> Attachments:
        return attached_reads.read(
            self._http, self._attached, self.version_range(), servers, volumes
        )

    def rooms(self, smallest: Mapping[str, int]) -> dict[str, Room] | None:
        return side_reads.rooms(self._placement, smallest)

    def _servers(self, **query: object) -> Iterator[Server]:
        for raw in self._http.pages(
            "/servers/detail",
            self._read_version(),
            "servers",
            marker_field="id",
            query=query,
        ):
            yield parse.server(raw)


class NovaComputeAPI(NovaReads, RetireCalls):
    """ComputeAPI: the reads, and the changes the core makes (evacuate,
    lock, unlock, stop, a compute service's state)."""

    def evacuate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        # The body may hold a password, and so may the answer (Nova
        # generates one up to 2.13): keystoneauth must log neither.
        answer = self._action(server_id, version, {"evacuate": body}, True)
        generated = answer.body if isinstance(answer.body, dict) else {}
        return EvacuateResponse(
            request_id=answer.request_id,
            admin_pass=generated.get("adminPass"),
        )

    def update_service(
        self, version: Microversion, request: ServiceRequest
    ) -> None:
        self._http.request(
            request.method, request.path, version, body=request.body
        )

    def lock_server(
        self, server_id: str, version: Microversion, reason: str | None
    ) -> None:
        lock = {"locked_reason": reason} if reason is not None else None
        self._action(server_id, version, {"lock": lock})

    def unlock_server(self, server_id: str) -> None:
        self._action(server_id, self._read_version(), {"unlock": None})

    def stop_server(self, server_id: str) -> None:
        self._action(server_id, self._read_version(), {"os-stop": None})

    def reset_state(self, server_id: str, state: str) -> None:
        body: dict[str, object] = {"os-resetState": {"state": state}}
        self._action(server_id, self._read_version(), body)

    def live_migrate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        answer = self._action(server_id, version, {"os-migrateLive": body})
        return EvacuateResponse(request_id=answer.request_id)

    def migrate(
        self,
        server_id: str,
        version: Microversion,
        body: dict[str, object] | None,
    ) -> EvacuateResponse:
        answer = self._action(server_id, version, {"migrate": body})
        return EvacuateResponse(request_id=answer.request_id)

    def confirm_resize(self, server_id: str) -> None:
        self._action(server_id, self._read_version(), {"confirmResize": None})

    def abort_live_migration(
        self, server_id: str, migration_id: int, version: Microversion
    ) -> None:
        self._http.request(
            "DELETE",
            f"/servers/{urllib.parse.quote(server_id)}/migrations/"
            f"{migration_id}",
            version,
        )

    def _action(
        self,
        server_id: str,
        version: Microversion,
        body: dict[str, object],
        quiet: bool = False,
    ) -> Answer:
        """POST /servers/{id}/action: one of a server's actions."""
        return self._http.request(
            "POST",
            f"/servers/{urllib.parse.quote(server_id)}/action",
            version,
            body=body,
            quiet=quiet,
        )

    # -- What --evacuable-mark reads (selection_reads.py) -----------------

    def all_flavors(self) -> list[Flavor]:
        return side_reads.all_flavors(self._http, self._read_version())

    def all_images(self) -> list[Image]:
        return side_reads.all_images(self._glance)

    def aggregates(self) -> list[Aggregate]:
        return side_reads.aggregates(self._http, self._read_version())

    # -- What the capacity check's placement rules read (assess.py) ------

    def server_groups(self) -> list[ServerGroup]:
        return side_reads.server_groups(self._http, self._read_version())

    def servers_by_node(self) -> dict[str, frozenset[str]] | None:
        cloud = self.version_range()
        if cloud.maximum < features.HYPERVISOR_SERVERS.first:
            return None
        version = max(
            features.HYPERVISOR_SERVERS.first,
            features.hypervisor_version(cloud),
        )
        nodes = self._http.pages(
            "/os-hypervisors",
            version,
            "hypervisors",
            marker_field="id",
            query={"with_servers": True},
        )
        return dict(parse.node_servers(raw) for raw in nodes)

    def pinned_zones(self, host: str) -> dict[str, str | None] | None:
        pinned = features.REQUEST_SPEC_PER_SERVER.first
        if pinned not in self.version_range():
            return None
        return {
            raw["id"]: raw.get("pinned_availability_zone")
            for raw in self._http.pages(
                "/servers/detail",
                pinned,
                "servers",
                marker_field="id",
                query={"all_tenants": 1, "host": host},
            )
        }
