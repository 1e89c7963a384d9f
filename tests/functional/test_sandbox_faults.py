"""The sandbox's fault injection (tests/sandbox/faults.py): errors that
never reach Nova, answers lost after Nova acted, delayed requests, slow
spawns, a microversion cap; each test's faults are reset by conftest's
autouse fixture."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from tests.functional.scenario import HOST, Boot
from tests.sandbox.client import EVACUATE_POSTS, Sandbox, SandboxError
from tests.sandbox.rest import NovaAPI

NO_SERVER = "00000000-0000-0000-0000-000000000000"


def _evacuate_entries(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [
        e
        for e in sandbox.requests()["log"]
        if isinstance(e["body"], dict) and "evacuate" in e["body"]
    ]


def _flavors(
    nova: NovaAPI, microversion: str | None = None
) -> requests.Response:
    return nova.request("GET", "/flavors", microversion=microversion, ok=None)


def test_injected_errors_never_reach_nova(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    sandbox.crash_compute(fresh_host, force_down=True)
    sandbox.reset_requests()
    # Rules apply in the order they were added, each to its count.
    dropped = sandbox.fail_requests("drop", **EVACUATE_POSTS)
    refused = sandbox.fail_requests(503, **EVACUATE_POSTS)

    with pytest.raises(requests.ConnectionError):
        nova.evacuate(server["id"], ok=None)
    resp = nova.evacuate(server["id"], ok=None)
    assert resp.status_code == 503
    assert resp.json() == {
        "serviceUnavailable": {
            "code": 503,
            "message": "Injected by the sandbox (HTTP 503).",
        }
    }
    assert resp.headers["x-openstack-request-id"].startswith("req-")
    # Neither request reached Nova: no record, the server has not moved.
    assert nova.migrations(instance_uuid=server["id"]) == []
    assert nova.server(server["id"])[HOST] == fresh_host

    assert nova.evacuate(server["id"], ok=None).status_code == 200
    done = nova.wait_for_migration(server["id"], "done")
    assert len(nova.migrations(instance_uuid=server["id"])) == 1

    entries = _evacuate_entries(sandbox)
    assert [e["status"] for e in entries] == [None, 503, 200]
    assert [e["fault"] for e in entries] == [
        {"rule": dropped["id"], "error": "drop"},
        {"rule": refused["id"], "error": 503},
        None,
    ]
    rules = {r["id"]: r for r in sandbox.faults()["rules"]}
    assert rules[dropped["id"]]["hits"] == 1
    assert rules[refused["id"]]["exhausted"] is True
    assert done["source_compute"] == fresh_host


def test_injected_error_bodies_and_matching(
    sandbox: Sandbox, nova: NovaAPI
) -> None:
    # skip and count: the 2nd and 3rd matching requests fail.
    sandbox.fail_requests(500, path=r"/v2\.1/flavors$", skip=1, count=2)
    statuses = [_flavors(nova).status_code for _ in range(4)]
    assert statuses == [200, 500, 500, 200]

    sandbox.fail_requests(500, path=r"/flavors$")
    fault = _flavors(nova).json()["computeFault"]
    assert fault["code"] == 500
    assert fault["message"].startswith("Unexpected API Error.")

    sandbox.fail_requests(409, path=r"/flavors$", message="Busy.")
    resp = _flavors(nova)
    assert resp.status_code == 409
    assert resp.json() == {
        "conflictingRequest": {"code": 409, "message": "Busy."}
    }

    # 401 as keystonemiddleware's auth_token sends it.
    sandbox.fail_requests(401, path=r"/flavors$")
    resp = _flavors(nova)
    assert resp.status_code == 401
    assert resp.json()["error"]["title"] == "Unauthorized"
    assert resp.headers["WWW-Authenticate"] == (
        f'Keystone uri="{sandbox.identity_url}"'
    )

    # body_key: an evacuate is faulted, another action is not.
    sandbox.fail_requests(409, **EVACUATE_POSTS, count=None)
    assert nova.action(NO_SERVER, "os-stop", ok=None).status_code == 404
    assert nova.evacuate(NO_SERVER, ok=None).status_code == 409
    assert nova.evacuate(NO_SERVER, ok=None).status_code == 409

    # query: the poll with changes-since fails, the plain list does not.
    sandbox.fail_requests(
        503, method="GET", path=r"/servers/detail$", query="changes-since"
    )
    assert nova.request("GET", "/servers/detail").status_code == 200
    polled = nova.request(
        "GET",
        "/servers/detail",
        params={"changes-since": "2020-01-01T00:00:00Z"},
        ok=None,
    )
    assert polled.status_code == 503


def test_lost_answers_after_nova_acted(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    servers = boot_servers(3, host=fresh_host)
    sandbox.crash_compute(fresh_host, force_down=True)
    sandbox.reset_requests()
    for lost in (502, 504, "drop"):
        sandbox.lose_answers(lost, **EVACUATE_POSTS)

    first = nova.evacuate(servers[0]["id"], ok=None)
    assert first.status_code == 502
    assert "Bad Gateway" in first.text
    assert first.headers["Content-Type"] == "text/html"
    assert nova.evacuate(servers[1]["id"], ok=None).status_code == 504
    with pytest.raises(requests.ConnectionError):
        nova.evacuate(servers[2]["id"], ok=None)

    # Nova acted every time: one record per server, each done.
    for server in servers:
        nova.wait_for_migration(server["id"], "done")
        assert len(nova.migrations(instance_uuid=server["id"])) == 1
    entries = _evacuate_entries(sandbox)
    assert [e["status"] for e in entries] == [502, 504, None]
    assert [e["fault"]["lost"] for e in entries] == [502, 504, "drop"]
    assert {e["fault"]["nova_status"] for e in entries} == {200}


def test_delayed_requests_and_release(sandbox: Sandbox, nova: NovaAPI) -> None:
    sandbox.reset_requests()
    rule = sandbox.delay_requests(1.5, path=r"/flavors$")
    started = time.monotonic()
    assert _flavors(nova).status_code == 200
    assert time.monotonic() - started >= 1.5
    # The rule held one request (count 1): the next goes straight on. The
    # log says so; a wall-clock bound would depend on the machine's load.
    assert _flavors(nova).status_code == 200
    first, second = sandbox.requests()["log"]
    assert first["fault"] == {"rule": rule["id"], "delay": 1.5}
    assert second["fault"] is None

    # A reset releases a request still waiting: it goes on to Nova.
    rule = sandbox.delay_requests(120, path=r"/flavors$")
    sandbox.reset_requests()
    with ThreadPoolExecutor(max_workers=1) as pool:
        started = time.monotonic()
        pending = pool.submit(_flavors, nova)
        time.sleep(0.5)
        assert not pending.done()
        sandbox.reset_faults()
        assert pending.result(timeout=10).status_code == 200
    assert time.monotonic() - started < 10
    (entry,) = sandbox.requests()["log"]
    assert entry["fault"] == {
        "rule": rule["id"],
        "delay": 120.0,
        "released": True,
    }


def test_slow_spawn_holds_an_evacuation_mid_run(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    nova: NovaAPI,
) -> None:
    source, target = new_compute(), new_compute()
    (server,) = boot_servers(host=source)
    sandbox.slow_spawn(4, host=target)
    sandbox.crash_compute(source, force_down=True)

    started = time.monotonic()
    nova.evacuate(server["id"], host=target)
    time.sleep(2)
    (record,) = nova.migrations(instance_uuid=server["id"])
    assert record["status"] in ("accepted", "pre-migrating")
    nova.wait_for_migration(server["id"], "done", timeout=30)
    assert time.monotonic() - started >= 4
    assert nova.server(server["id"])[HOST] == target


def test_slow_spawn_everywhere_and_per_host(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot
) -> None:
    # 6 s: far more than a boot takes even on a loaded CI machine.
    sandbox.slow_spawn(6)
    started = time.monotonic()
    boot_servers(host=fresh_host)
    assert time.monotonic() - started >= 6
    # A host's own value wins over the one for every host, 0 included.
    sandbox.slow_spawn(0, host=fresh_host)
    started = time.monotonic()
    boot_servers(host=fresh_host)
    assert time.monotonic() - started < 6
    assert sandbox.faults()["slow_spawn"] == {
        "seconds": 6.0,
        "hosts": {fresh_host: 0.0},
    }


def test_destination_crash_during_slow_spawn_leaves_it_stuck(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    nova: NovaAPI,
) -> None:
    source, target = new_compute(), new_compute()
    (server,) = boot_servers(host=source)
    sandbox.slow_spawn(120, host=target)
    sandbox.crash_compute(source, force_down=True)
    nova.evacuate(server["id"], host=target)
    nova.wait_for_migration(server["id"], "pre-migrating", timeout=30)
    time.sleep(1)  # well into the slow spawn

    # The crash does not wait for the spawn, and the spawn never happens:
    # the record and the server stay as a dead destination leaves them.
    started = time.monotonic()
    sandbox.crash_compute(target)
    assert time.monotonic() - started < 5
    time.sleep(1.5)
    (record,) = nova.migrations(instance_uuid=server["id"])
    assert record["status"] == "pre-migrating"
    assert record["dest_compute"] == target
    stuck = nova.server(server["id"])
    assert stuck["OS-EXT-STS:task_state"] == "rebuild_spawning"
    assert stuck[HOST] == source


def test_microversion_cap(sandbox: Sandbox, nova: NovaAPI) -> None:
    def advertised(path: str) -> str:
        doc = requests.get(f"{sandbox.url}{path}", timeout=30).json()
        if "versions" in doc:
            (v21,) = [v for v in doc["versions"] if v["id"] == "v2.1"]
            return str(v21["version"])
        return str(doc["version"]["version"])

    own = advertised("/")
    sandbox.cap_microversion("2.60")
    assert advertised("/") == "2.60"
    assert advertised("/v2.1/") == "2.60"
    assert sandbox.faults()["max_microversion"] == "2.60"
    assert _flavors(nova, "2.60").status_code == 200
    refused = _flavors(nova, "2.61")
    assert refused.status_code == 406
    assert refused.json()["computeFault"]["message"] == (
        "Version 2.61 is not supported by the API. "
        "Minimum is 2.1 and maximum is 2.60."
    )
    latest = _flavors(nova, "latest")
    assert latest.headers["OpenStack-API-Version"] == "compute 2.60"

    sandbox.cap_microversion("2.13")
    services = nova.request("GET", "/os-services", microversion="2.11")
    assert "forced_down" in services.json()["services"][0]
    assert _flavors(nova, "2.14").status_code == 406

    sandbox.cap_microversion(None)
    assert advertised("/") == own
    assert _flavors(nova, own).status_code == 200
    for bad in ("2.999", "3.0", "two", "2.latest"):
        with pytest.raises(SandboxError, match="400"):
            sandbox.cap_microversion(bad)


def test_reset_faults_and_control_errors(sandbox: Sandbox) -> None:
    rule = sandbox.fail_requests(503, path="/flavors")
    sandbox.slow_spawn(5)
    sandbox.slow_spawn(1, host="compute01")
    sandbox.cap_microversion("2.60")
    faults = sandbox.faults()
    assert [r["id"] for r in faults["rules"]] == [rule["id"]]
    assert faults["slow_spawn"] == {
        "seconds": 5.0,
        "hosts": {"compute01": 1.0},
    }
    assert faults["max_microversion"] == "2.60"

    clean: dict[str, Any] = {
        "rules": [],
        "slow_spawn": {"seconds": 0.0, "hosts": {}},
        "max_microversion": None,
        "filled": {},
        "down_cell": False,
    }
    assert sandbox.reset_faults() == clean
    assert sandbox.faults() == clean

    kept = sandbox.delay_requests(1, path="/flavors")
    assert sandbox.remove_fault(kept["id"])["id"] == kept["id"]
    assert sandbox.faults()["rules"] == []
    with pytest.raises(SandboxError, match="404"):
        sandbox.remove_fault(kept["id"])
    with pytest.raises(SandboxError, match="404"):
        sandbox.slow_spawn(1, host="no-such-compute")
    for bad in (
        {"error": 503, "colour": "red"},  # unknown field
        {"error": 200},
        {"lost": 500},
        {"error": 503, "lost": 502},
        {"path": "/flavors"},  # no fault at all
        {"error": 503, "path": "("},
        {"error": 503, "count": 0},
        {"delay": -1},
        {"lost": 502, "message": "only with error"},
    ):
        with pytest.raises(SandboxError, match="400"):
            sandbox.control("POST", "faults", bad)
    assert sandbox.faults() == clean
