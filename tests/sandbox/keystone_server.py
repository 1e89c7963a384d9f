"""The sandbox's Keystone: ``python -m tests.sandbox.keystone_server``.

A process of its own, started and stopped by the sandbox (identity.py):
keystone and Nova both keep their settings in oslo.config's global CONF
(both have ``[database]``, ``[oslo_policy]``, ``[cache]``...), so in one
process they would share a database and a policy. Here keystone has its
own config file, sqlite database and Fernet keys in the sandbox's state
directory, and is served by werkzeug's threaded server on a socket that
the sandbox bound (``--fd``), so its URL is known before it is ready.

Start-up is what ``keystone-manage db_sync``, ``fernet_setup`` and
``bootstrap`` do, in this one process (each of those commands would pay
keystone's imports again), then the users, projects, roles and catalog
of accounts.py. It writes ``identity.json`` (the ids Keystone gave) next
to its config before it serves.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

import keystone.conf
from keystone.cmd import bootstrap
from keystone.common import fernet_utils, provider_api, sql
from keystone.common.sql import upgrades
from keystone.server.flask import application
from keystone.server.flask import core as flask_core
from werkzeug import serving

from tests.sandbox import accounts

CONF = keystone.conf.CONF
PROVIDERS = provider_api.ProviderAPIs

# How often to check that the sandbox is still alive.
PARENT_CHECK_SECONDS = 1.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sandbox.keystone_server"
    )
    parser.add_argument("--config-file", required=True, type=Path)
    parser.add_argument("--fd", required=True, type=int)
    parser.add_argument("--url", required=True, help="Keystone's own URL")
    parser.add_argument(
        "--services-url",
        required=True,
        help="the sandbox's URL, where Nova, Placement and Glance are",
    )
    parser.add_argument("--parent-pid", type=int, default=None)
    return parser.parse_args(argv)


def configure(config_file: Path) -> None:
    """keystone.server.configure, without reading our command line."""
    keystone.conf.configure()
    sql.initialize()
    keystone.conf.set_config_defaults()
    CONF(args=[], project="keystone", default_config_files=[str(config_file)])
    keystone.conf.setup_logging()


def prepare(url: str, services_url: str) -> dict[str, dict[str, str]]:
    """Schema, keys, bootstrap, accounts and catalog; the ids."""
    upgrades.offline_sync_database_to_version()
    for group in ("fernet_tokens", "fernet_receipts"):
        keys = fernet_utils.FernetUtils(
            CONF[group].key_repository, CONF[group].max_active_keys, group
        )
        keys.create_key_directory()
        if keys.validate_key_repository(requires_write=True):
            keys.initialize_key_repository()

    # keystone-manage bootstrap: the default domain, project and user
    # admin, the roles and the identity service's endpoints.
    boot = bootstrap.Bootstrapper()
    boot.admin_username = "admin"
    boot.admin_password = accounts.PASSWORDS["admin"]
    boot.project_name = "admin"
    boot.admin_role_name = accounts.ADMIN_ROLE
    boot.service_name = "keystone"
    boot.region_id = accounts.REGION
    boot.public_url = boot.internal_url = f"{url}/v3"
    boot.immutable_roles = True
    boot.bootstrap()

    projects = {"admin": str(boot.project_id)}
    for name in accounts.PROJECTS:
        if name not in projects:
            projects[name] = _create_project(name)
    users = {"admin": str(boot.admin_user_id)}
    for name, password in accounts.PASSWORDS.items():
        if name not in users:
            users[name] = _create_user(name, password)
    roles = {
        role["name"]: role["id"] for role in PROVIDERS.role_api.list_roles()
    }
    for grant in accounts.GRANTS:
        if grant.user == "admin" and grant.project == "admin":
            continue  # the bootstrap's
        PROVIDERS.assignment_api.add_role_to_user_and_project(
            user_id=users[grant.user],
            project_id=projects[grant.project],
            role_id=roles[grant.role],
        )
    for service_type, name, path in accounts.SERVICES:
        _create_service(service_type, name, f"{services_url}{path}")
    return {"projects": projects, "users": users}


def _new_id() -> str:
    return os.urandom(16).hex()  # Keystone's own ids: uuid4().hex


def _create_project(name: str) -> str:
    project_id = _new_id()
    PROVIDERS.resource_api.create_project(
        project_id,
        {
            "id": project_id,
            "name": name,
            "domain_id": accounts.DOMAIN_ID,
            "enabled": True,
            "description": f"The sandbox's {name} project",
        },
    )
    return project_id


def _create_user(name: str, password: str) -> str:
    user: dict[str, Any] = PROVIDERS.identity_api.create_user(
        {
            "name": name,
            "domain_id": accounts.DOMAIN_ID,
            "enabled": True,
            "password": password,
        }
    )
    return str(user["id"])


def _create_service(service_type: str, name: str, url: str) -> None:
    service_id = _new_id()
    PROVIDERS.catalog_api.create_service(
        service_id,
        {
            "id": service_id,
            "type": service_type,
            "name": name,
            "enabled": True,
        },
    )
    for interface in accounts.INTERFACES:
        endpoint_id = _new_id()
        PROVIDERS.catalog_api.create_endpoint(
            endpoint_id,
            {
                "id": endpoint_id,
                "service_id": service_id,
                "interface": interface,
                "region_id": accounts.REGION,
                "url": url,
                "enabled": True,
            },
        )


def app() -> Any:
    """Keystone's WSGI app, as keystone.server.wsgi builds it (the
    backends are already loaded by the bootstrap)."""
    return flask_core.setup_app_middleware(
        application.application_factory("public")
    )


def _write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def _watch_parent(pid: int, server: serving.BaseWSGIServer) -> None:
    # The sandbox may die without stopping us (SIGKILL).
    while True:
        time.sleep(PARENT_CHECK_SECONDS)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            server.shutdown()
            return
        except PermissionError:
            pass


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    configure(args.config_file)
    ids = prepare(args.url, args.services_url)
    server = serving.make_server(
        "127.0.0.1", 0, app(), threaded=True, fd=args.fd
    )

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever to end: not in its thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.parent_pid is not None:
        threading.Thread(
            target=_watch_parent, args=(args.parent_pid, server), daemon=True
        ).start()
    _write(
        args.config_file.parent / "identity.json",
        json.dumps({**ids, "ready_seconds": time.monotonic() - started})
        + "\n",
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
