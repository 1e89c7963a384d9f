"""The sandbox's real Keystone, as every real run meets it: password
logins through keystoneauth, the service catalog (region, interface),
roles that Nova's real policy judges, and tokens that expire during a
long ``--wait``."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.functional.conftest import OPENSTACK, OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    Boot,
    by_id,
    check,
    crash,
    evacuate_posts,
)
from tests.sandbox import accounts
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

# The catalog the sandbox registers: service type to its URL's path.
CATALOG_PATHS = {kind: path for kind, _name, path in accounts.SERVICES}


def test_the_catalog_lists_compute_placement_and_image(
    sandbox: Sandbox, openstack_json: OpenstackJson
) -> None:
    listed = openstack_json("catalog", "list")
    by_type = {entry["Type"]: entry for entry in listed}
    assert set(by_type) == {"identity", *CATALOG_PATHS}
    for kind, path in CATALOG_PATHS.items():
        endpoints = by_type[kind]["Endpoints"]
        # Each interface an endpoint of its own, in the sandbox's region.
        assert {(e["region"], e["interface"]) for e in endpoints} == {
            (accounts.REGION, interface) for interface in accounts.INTERFACES
        }
        assert {e["url"] for e in endpoints} == {f"{sandbox.url}{path}"}
    identity = {e["url"] for e in by_type["identity"]["Endpoints"]}
    assert identity == {sandbox.auth_url}


def test_token_issue_gives_a_project_scoped_token(
    sandbox: Sandbox, openstack_json: OpenstackJson
) -> None:
    token = openstack_json("token", "issue")
    assert token["project_id"] == sandbox.project_id("admin")
    assert token["user_id"] == sandbox.user_id("admin")
    left = _expires_in(token["expires"])
    assert sandbox.token_lifetime - 120 < left <= sandbox.token_lifetime
    # A real token: Nova takes it, as Keystone validates it for Nova.
    resp = requests.get(
        f"{sandbox.url}/v2.1/flavors",
        headers={"X-Auth-Token": token["id"]},
        timeout=30,
    )
    assert resp.status_code == 200
    resp = requests.get(
        f"{sandbox.url}/v2.1/flavors",
        headers={"X-Auth-Token": token["id"] + "x"},
        timeout=30,
    )
    assert resp.status_code == 401


def test_region_and_interface_choose_the_endpoint(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
    tmp_path: Path,
) -> None:
    for interface in accounts.INTERFACES:
        proc = run_openstack(
            "--os-interface", interface, "server", "list", "-f", "json"
        )
        assert proc.returncode == 0, proc.stderr
    # The plugin finds Nova and Placement (the plan's capacity) there.
    (server,) = boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    (row,) = openstack_json(
        "--os-interface",
        "internal",
        "--os-region-name",
        accounts.REGION,
        "host",
        "evacuate",
        fresh_host,
        "--dry-run",
    )
    assert row["ID"] == server["id"]
    assert row["Capacity"] == "fits"
    proc = run_openstack(
        "--os-region-name", accounts.REGION, "server", "list", "-f", "json"
    )
    assert proc.returncode == 0, proc.stderr

    # No admin endpoint is registered (OSC looks up identity's first).
    proc = run_openstack("--os-interface", "admin", "server", "list")
    assert proc.returncode == 1
    assert (
        "admin endpoint for identity service in RegionOne region not "
        "found" in proc.stderr
    )
    # A cloud of two regions, as a user's clouds.yaml may say: Keystone's
    # catalog has nothing in the other one.
    clouds = sandbox.clouds_yaml.read_text().replace(
        f"    region_name: {accounts.REGION}\n",
        f"    regions: [{accounts.REGION}, RegionTwo]\n",
    )
    (tmp_path / "clouds.yaml").write_text(clouds)
    proc = run_openstack(
        "--os-region-name",
        "RegionTwo",
        "server",
        "list",
        env={"OS_CLIENT_CONFIG_FILE": str(tmp_path / "clouds.yaml")},
    )
    assert proc.returncode == 1
    assert (
        "public endpoint for identity service in RegionTwo region not "
        "found" in proc.stderr
    )


def test_a_token_client_can_rescope_its_token(sandbox: Sandbox) -> None:
    """python-novaclient's ``--os-token`` (the benchmark's): Keystone's
    token method, scoped to another project of the same user."""
    resp = requests.post(
        f"{sandbox.auth_url}/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["token"],
                    "token": {"id": sandbox.admin.token},
                },
                "scope": {"project": {"id": sandbox.project_id("demo")}},
            }
        },
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    token = resp.json()["token"]
    assert token["project"]["name"] == "demo"
    assert {r["name"] for r in token["roles"]} >= {"admin", "member"}


@pytest.mark.parametrize(
    ("cloud", "role"),
    [("sandbox-demo", "member"), ("sandbox-reader", "reader")],
)
def test_a_member_or_a_reader_is_refused_by_novas_policy(
    cloud: str,
    role: str,
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    """Keystone's real role assignments, Nova's real policy: the role may
    read its project's servers but not evacuate; one line, exit 1."""
    (theirs,) = boot_servers(1, host=fresh_host, project="demo")
    token = openstack_json("token", "issue", cloud=cloud)
    assert token["project_id"] == sandbox.project_id("demo")
    listed = openstack_json("server", "list", cloud=cloud)
    assert theirs["id"] in {s["ID"] for s in listed}
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    proc = run_openstack("host", "evacuate", fresh_host, cloud=cloud)
    check(proc, 1, nova, {theirs["id"]: 0}, "needs an admin")
    assert "(HTTP 403)" in proc.stderr
    assert evacuate_posts(sandbox) == []
    proc = run_openstack("server", "evacuate", theirs["id"], cloud=cloud)
    assert proc.returncode == 1, proc.stderr
    assert "403" in proc.stderr
    assert evacuate_posts(sandbox) == []


# Token expiry: a sandbox of its own whose tokens last a minute.

TOKEN_LIFETIME = 60
# Rebuilds slowed so that the wait outlasts two token lifetimes.
SLOW_REBUILD = 2 * TOKEN_LIFETIME + 10
SERVERS = 3


@pytest.fixture(scope="module")
def short_tokens(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Sandbox]:
    sandbox = Sandbox(
        tmp_path_factory.mktemp("short-tokens"),
        computes=3,
        token_lifetime=TOKEN_LIFETIME,
    )
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


def _expires_in(expires: str) -> float:
    """Seconds until an ISO time such as ``2026-01-01T00:00:00+0000``."""
    when = datetime.datetime.fromisoformat(expires.replace("Z", "+00:00"))
    now = datetime.datetime.now(datetime.UTC)
    return (when - now).total_seconds()


def _password_token(sandbox: Sandbox) -> str:
    """A new token of admin's, straight from Keystone."""
    resp = requests.post(
        f"{sandbox.auth_url}/auth/tokens",
        json={
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": "admin",
                            "domain": {"id": accounts.DOMAIN_ID},
                            "password": accounts.PASSWORDS["admin"],
                        }
                    },
                },
                "scope": {
                    "project": {
                        "name": "admin",
                        "domain": {"id": accounts.DOMAIN_ID},
                    }
                },
            }
        },
        timeout=30,
    )
    assert resp.status_code == 201, resp.text
    return resp.headers["X-Subject-Token"]


def _flavors_with(sandbox: Sandbox, token: str) -> int:
    return requests.get(
        f"{sandbox.url}/v2.1/flavors",
        headers={"X-Auth-Token": token},
        timeout=30,
    ).status_code


# The tokens the CLI sent to Nova, as keystoneauth logs them at --debug.
SENT_TOKEN = re.compile(r'X-Auth-Token: (\{SHA256\}[0-9a-f]{64})"')
LOGIN = re.compile(r"Making authentication request to \S+/auth/tokens")


def test_tokens_expire_during_a_long_wait_and_the_cli_logs_in_again(
    short_tokens: Sandbox,
) -> None:
    sandbox = short_tokens
    nova = sandbox.admin
    servers = nova.create_servers(SERVERS, host="compute01")
    crash(sandbox, "compute01")
    sandbox.slow_spawn(SLOW_REBUILD)
    # Validated now, so auth_token has it in its cache when it expires.
    early = _password_token(sandbox)
    assert _flavors_with(sandbox, early) == 200
    # One poll refused as an expired token is: keystoneauth logs in again
    # and sends it again, the command never sees it.
    sandbox.fail_requests(
        401,
        method="GET",
        path=r"/servers/detail$",
        query="changes-since",
        skip=3,
    )
    sandbox.reset_requests()

    started = time.monotonic()
    proc = _debug_run(
        sandbox, "host", "evacuate", "compute01", "--wait", "900", "-f", "json"
    )
    took = time.monotonic() - started

    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = by_id(json.loads(proc.stdout))
    assert sorted(rows) == sorted(s["id"] for s in servers)
    assert {r["Result"] for r in rows.values()} == {"verified"}
    assert took > 2 * TOKEN_LIFETIME
    # It logged in again and again: keystoneauth renews a token that has
    # under two minutes left, so with a minute's lifetime at every call.
    assert len(LOGIN.findall(proc.stderr)) > 2
    assert len(set(SENT_TOKEN.findall(proc.stderr))) > 2
    # Every login is logged at --debug, never with its password.
    assert accounts.PASSWORDS["admin"] not in proc.stderr + proc.stdout
    # Nova answered every request but the one refused on purpose, which
    # was sent again: no gap in the proof.
    log: list[dict[str, Any]] = sandbox.requests()["log"]
    refused = [e for e in log if e["status"] == 401]
    assert len(refused) == 1 and refused[0]["fault"] is not None
    assert [e for e in log if e["status"] >= 400] == refused
    # auth_token refuses the expired token it had validated and cached.
    assert not _keystone_validates(sandbox, early)
    assert _flavors_with(sandbox, early) == 401


def _debug_run(
    sandbox: Sandbox, *args: str
) -> subprocess.CompletedProcess[str]:
    """``openstack --debug *args`` on the sandbox's admin cloud."""
    return subprocess.run(
        [str(OPENSTACK), "--debug", *args],
        env=sandbox.cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _keystone_validates(sandbox: Sandbox, token: str) -> bool:
    """Keystone's own verdict on ``token``, asked by the admin."""
    resp = requests.get(
        f"{sandbox.auth_url}/auth/tokens",
        headers={
            "X-Auth-Token": sandbox.admin.token,
            "X-Subject-Token": token,
        },
        timeout=30,
    )
    return resp.status_code == 200


def test_the_sandbox_writes_its_token_lifetime(short_tokens: Sandbox) -> None:
    state_dir = short_tokens.state_dir
    state = json.loads((state_dir / "sandbox.json").read_text())
    assert state["token_lifetime"] == TOKEN_LIFETIME
    config = (state_dir / "keystone" / "keystone.conf").read_text()
    assert f"expiration = {TOKEN_LIFETIME}" in config
