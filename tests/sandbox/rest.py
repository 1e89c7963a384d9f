"""Small Nova and Placement REST clients for test set-up (no CLI, no nova
import).

Straight HTTP to the sandbox's Nova API (NovaAPI) and Placement API
(PlacementAPI, under ``/placement``), so setting up a test costs
milliseconds. Each helper is one user logged in to one project with a
real Keystone token (login.py): ``admin`` in ``admin`` is an
administrator, ``demo`` in ``demo`` a member of project demo, ``reader``
in ``demo`` a reader there, and ``admin`` in ``demo`` an administrator
working in project demo (how an admin boots a demo server on a chosen
host): ``nova.as_user("admin", "demo")``.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self, TypeVar

import requests

from tests.sandbox.login import Login

# GlanceFixture's first image and flavor m1.tiny.
IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
FLAVOR_ID = "1"

# Microversions used by the helper: 2.74 adds "host" to server create,
# 2.53 addresses services by UUID (and searches hypervisors by name with
# their type and service in detail), 2.80 adds user/project to
# migrations, 2.89 shows a volume attachment's attachment_id. Moves at
# 2.80: os-migrateLive takes block_migration "auto" (2.25) and no force
# (2.68) and checks after its 202 (2.34); migrate takes a host (2.56); a
# live migration can be force-completed (2.22) and aborted (2.24, queued
# ones too from 2.65).
MV_CREATE = "2.74"
MV_SERVICES = "2.53"
MV_HYPERVISORS = "2.53"
MV_MIGRATIONS = "2.80"
MV_VOLUME_ATTACHMENTS = "2.89"
MV_MIGRATE = "2.80"

# Placement's microversion for the helper (osc-placement's newest).
PLACEMENT_MICROVERSION = "1.39"

T = TypeVar("T")
_names = itertools.count(1)


class NovaAPIError(RuntimeError):
    """Nova answered with an unexpected status."""

    def __init__(self, method: str, url: str, status: int, body: str):
        super().__init__(f"{method} {url}: {status} {body[:500]}")
        self.status = status
        self.body = body


class Timeout(AssertionError):
    """A wait ran out of time (an AssertionError: tests fail, not error)."""


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout: float,
    interval: float = 0.2,
    last: Callable[[], Any] | None = None,
) -> T:
    """Call ``probe`` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            seen = f"; last seen: {last()}" if last else ""
            raise Timeout(
                f"timed out after {timeout} s waiting for {what}{seen}"
            )
        time.sleep(interval)


class RestAPI:
    """One sandbox API as one user logged in to one project; thread-safe
    (one HTTP session per thread). Subclasses name the API's root and
    service type."""

    # The API's root under the sandbox's URL, and its service type for
    # the microversion header.
    prefix = ""
    service_type = ""

    def __init__(self, url: str, login: Login) -> None:
        self.url = url.rstrip("/")
        self.login = login
        self._local = threading.local()

    def as_user(self, user: str, project: str) -> Self:
        """The same API as ``user`` logged in to ``project``."""
        login = Login.of(self.login.auth_url, user, project)
        return type(self)(self.url, login)

    @property
    def token(self) -> str:
        """A valid Keystone token of this user in this project."""
        return self.login.token()

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(
            self._local, "session", None
        )
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        microversion: str | None = None,
        params: dict[str, Any] | None = None,
        ok: Collection[int] | None = (200, 201, 202, 204),
    ) -> requests.Response:
        """One call to ``<prefix><path>``; raises NovaAPIError unless the
        status is in ``ok`` (``ok=None`` accepts any status)."""
        headers = {"X-Auth-Token": self.token}
        if microversion:
            headers["OpenStack-API-Version"] = (
                f"{self.service_type} {microversion}"
            )
        url = f"{self.url}{self.prefix}{path}"
        resp = self._session.request(
            method,
            url,
            json=body,
            params=params,
            headers=headers,
            timeout=120,
        )
        if ok is not None and resp.status_code not in ok:
            raise NovaAPIError(method, url, resp.status_code, resp.text)
        return resp

    def get(
        self, path: str, microversion: str | None = "latest", **params: Any
    ) -> Any:
        """GET and parse; the newest microversion unless told."""
        return self.request(
            "GET", path, microversion=microversion, params=params or None
        ).json()


class NovaAPI(RestAPI):
    """Nova's compute API (``/v2.1``)."""

    prefix = "/v2.1"
    service_type = "compute"

    # Servers.
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
            "name": name or f"sb-{next(_names)}",
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
        prefix = name_prefix or f"sb-{next(_names)}"

        def boot(i: int) -> dict[str, Any]:
            return self.create_server(
                name=f"{prefix}-{i}", host=host, wait=None, **kwargs
            )

        created = _parallel(boot, range(count), concurrency)
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

    def evacuate(
        self,
        server_id: str,
        host: str | None = None,
        microversion: str = "2.29",
        ok: Collection[int] | None = (200,),
        **args: Any,
    ) -> requests.Response:
        """Evacuate one server; ``args`` go into the body as given
        (``force``, ``adminPass``, ``onSharedStorage``)."""
        body: dict[str, Any] = dict(args)
        if host:
            body["host"] = host
        return self.action(
            server_id, "evacuate", body, microversion=microversion, ok=ok
        )

    # Moves (Nova's answers: 202, confirmResize 204).
    def live_migrate(
        self,
        server_id: str,
        host: str | None = None,
        block_migration: str | bool = "auto",
        microversion: str = MV_MIGRATE,
        ok: Collection[int] | None = (202,),
        **args: Any,
    ) -> requests.Response:
        """``os-migrateLive``, to ``host`` or where the scheduler says;
        ``args`` go into the body as given (``force`` at 2.30 to 2.67,
        ``disk_over_commit`` below 2.25)."""
        body = {"host": host, "block_migration": block_migration, **args}
        return self.action(
            server_id, "os-migrateLive", body, microversion, ok=ok
        )

    def migrate(
        self,
        server_id: str,
        host: str | None = None,
        microversion: str = MV_MIGRATE,
        ok: Collection[int] | None = (202,),
    ) -> requests.Response:
        """Cold-migrate: ``migrate``, to ``host`` (2.56) or where the
        scheduler says; the server ends VERIFY_RESIZE."""
        body = {"host": host} if host else None
        return self.action(server_id, "migrate", body, microversion, ok=ok)

    def confirm_resize(
        self,
        server_id: str,
        microversion: str = MV_MIGRATE,
        ok: Collection[int] | None = (204,),
    ) -> requests.Response:
        """``confirmResize`` of a cold migration (or resize) in
        VERIFY_RESIZE; its record goes ``confirmed``."""
        return self.action(
            server_id, "confirmResize", None, microversion, ok=ok
        )

    def abort_live_migration(
        self,
        server_id: str,
        migration_id: int | str,
        microversion: str = MV_MIGRATE,
        ok: Collection[int] | None = (202,),
    ) -> requests.Response:
        """``DELETE /servers/{id}/migrations/{mid}``: abort a ``running``
        (or, from 2.65, ``queued``) live migration: ``cancelled``."""
        return self.request(
            "DELETE",
            f"/servers/{server_id}/migrations/{migration_id}",
            microversion=microversion,
            ok=ok,
        )

    def force_complete(
        self,
        server_id: str,
        migration_id: int | str,
        microversion: str = MV_MIGRATE,
        ok: Collection[int] | None = (202,),
    ) -> requests.Response:
        """Force a ``running`` live migration to complete."""
        return self.request(
            "POST",
            f"/servers/{server_id}/migrations/{migration_id}/action",
            {"force_complete": None},
            microversion=microversion,
            ok=ok,
        )

    # Compute services.
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

    # Migrations.
    def migrations(
        self,
        source_compute: str | None = None,
        instance_uuid: str | None = None,
        migration_type: str | None = "evacuation",
        *,
        host: str | None = None,
        status: str | None = None,
    ) -> list[dict[str, Any]]:
        """``GET /os-migrations`` (2.80), newest first: ``migration_type``
        "evacuation", "live-migration", "migration" (cold), "resize", or
        None for all; ``host`` the source or the destination."""
        params: dict[str, Any] = {}
        for key, value in (
            ("source_compute", source_compute),
            ("instance_uuid", instance_uuid),
            ("migration_type", migration_type),
            ("host", host),
            ("status", status),
        ):
            if value:
                params[key] = value
        migrations: list[dict[str, Any]] = self.get(
            "/os-migrations", MV_MIGRATIONS, **params
        )["migrations"]
        return migrations

    def server_migrations(
        self, server_id: str, microversion: str = MV_MIGRATE
    ) -> list[dict[str, Any]]:
        """``GET /servers/{id}/migrations``: its live migrations in
        progress (``queued``, ``preparing``, ``running``...)."""
        found: list[dict[str, Any]] = self.get(
            f"/servers/{server_id}/migrations", microversion
        )["migrations"]
        return found

    def wait_for_migration(
        self,
        server_id: str,
        status: str | Collection[str] = "done",
        timeout: float = 60.0,
        migration_type: str = "evacuation",
        *,
        newer_than: int = 0,
    ) -> dict[str, Any]:
        """Wait until the server's newest migration of that type has
        ``status``. ``newer_than``: only a record whose id is above it
        (a move's record may not exist yet when its POST is answered:
        give the id of the server's newest record from before)."""
        wanted = {status} if isinstance(status, str) else set(status)
        seen: list[dict[str, Any]] = []

        def probe() -> dict[str, Any] | None:
            found = self.migrations(
                instance_uuid=server_id, migration_type=migration_type
            )
            seen[:] = found
            found = [m for m in found if m["id"] > newer_than]
            if not found:
                return None
            newest = max(found, key=lambda m: m["id"])
            return newest if newest["status"] in wanted else None

        return wait_for(
            f"{migration_type} of {server_id} to be {sorted(wanted)}",
            probe,
            timeout,
            last=lambda: [m["status"] for m in seen],
        )


def _parallel(
    fn: Callable[[int], T], items: Iterable[int], concurrency: int
) -> list[T]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(fn, items))


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
