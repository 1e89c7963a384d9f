"""The Nova helper's moves (rest.py's NovaAPI): evacuate, live and cold
migrate, and their migration records. Nova answers a move 202
(confirmResize 204).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import requests

from tests.sandbox.nova_servers import NovaServers
from tests.sandbox.rest_base import (
    MV_MIGRATE,
    MV_MIGRATIONS,
    wait_for,
)


class NovaMoves(NovaServers):
    """Nova's compute API: moves of servers, and their records."""

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
