"""The sandbox cloud's own tests: it must behave like Nova where the
plugin's tests depend on it (evacuation, service state, policy), and its
control interface must do what it says."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from keystoneauth1.adapter import Adapter
from openstack.config import OpenStackConfig

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.sandbox.client import EVACUATE_POSTS, Sandbox, SandboxError
from tests.sandbox.rest import IMAGE_ID, NovaAPI, NovaAPIError

Boot = Callable[..., list[dict[str, Any]]]
HOST = "OS-EXT-SRV-ATTR:host"


def test_default_computes_and_files(sandbox: Sandbox) -> None:
    computes = {c["host"]: c["running"] for c in sandbox.computes()}
    for host in ("compute01", "compute02", "compute03"):
        assert computes[host] is True
    state = json.loads((sandbox.state_dir / "sandbox.json").read_text())
    assert state["url"] == sandbox.url
    assert sandbox.process is not None
    assert state["pid"] == sandbox.process.pid
    assert state["identity_url"] == sandbox.identity_url
    clouds = sandbox.clouds_yaml.read_text()
    assert "  sandbox:\n" in clouds
    assert "  sandbox-demo:\n" in clouds
    assert "  sandbox-reader:\n" in clouds
    # What a user's clouds.yaml has: password auth, Keystone's catalog.
    assert clouds.count("auth_type: password") == 3
    assert f"auth_url: {sandbox.auth_url}" in clouds
    assert "endpoint" not in clouds


def test_add_compute_with_prefix_names(
    sandbox: Sandbox, nova: NovaAPI, new_compute: Callable[..., str]
) -> None:
    # Names that are prefixes of one another must stay distinct hosts.
    short = new_compute()
    long = new_compute(f"{short}0")
    running = {c["host"] for c in sandbox.computes() if c["running"]}
    assert {short, long} <= running
    assert nova.service(short)["host"] == short
    assert nova.service(long)["host"] == long
    assert nova.service(short)["state"] == "up"


def test_control_errors(sandbox: Sandbox) -> None:
    with pytest.raises(SandboxError, match="404"):
        sandbox.crash_compute("no-such-compute")
    with pytest.raises(SandboxError, match="400"):
        sandbox.control("POST", "computes", {"host": "bad/name"})
    with pytest.raises(SandboxError, match="400"):
        sandbox.add_compute("compute01")  # already running
    with pytest.raises(SandboxError, match="404"):
        sandbox.control("GET", "nothing-here")


def test_boot_on_host_and_show_with_cli(
    fresh_host: str, boot_servers: Boot, openstack_json: OpenstackJson
) -> None:
    (server,) = boot_servers(host=fresh_host)
    assert server["status"] == "ACTIVE"
    shown = openstack_json("server", "show", server["id"])
    assert shown["status"] == "ACTIVE"
    assert shown[HOST] == fresh_host
    assert shown["flavor"]["name"] == "m1.tiny"


def test_evacuate_refused_while_compute_is_up(
    fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    resp = nova.evacuate(server["id"], ok=None)
    assert resp.status_code == 400
    assert f"Compute service of {fresh_host} is still in use." in resp.text
    assert nova.migrations(instance_uuid=server["id"]) == []


def test_crash_evacuate_restart(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    nova: NovaAPI,
    openstack_json: OpenstackJson,
) -> None:
    (server,) = boot_servers(host=fresh_host)
    sandbox.crash_compute(fresh_host)
    # No forced_down: the missed heartbeats alone make it down.
    service = nova.wait_for_service_state(fresh_host, "down", timeout=60)
    assert service["forced_down"] is False

    nova.evacuate(server["id"], microversion="2.29")
    migration = nova.wait_for_migration(server["id"], "done")
    assert migration["source_compute"] == fresh_host
    assert migration["dest_compute"] != fresh_host

    shown = openstack_json("server", "show", server["id"])
    assert shown[HOST] == migration["dest_compute"]
    assert shown["status"] == "ACTIVE"
    listed = openstack_json(
        "server",
        "migration",
        "list",
        "--server",
        server["id"],
        "--type",
        "evacuation",
    )
    assert [(m["Status"], m["Source Compute"]) for m in listed] == [
        ("done", fresh_host)
    ]

    # nova-compute start-up cleans up the evacuated guest.
    sandbox.start_compute(fresh_host)
    nova.wait_for_migration(server["id"], "completed", timeout=30)
    nova.wait_for_service_state(fresh_host, "up", timeout=30)


def test_evacuate_to_down_host_fails_later(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    nova: NovaAPI,
) -> None:
    source, target = new_compute(), new_compute()
    (server,) = boot_servers(host=source)
    sandbox.crash_compute(source, force_down=True)
    sandbox.crash_compute(target, force_down=True)
    # Accepted: the scheduler only finds out afterwards.
    assert nova.evacuate(server["id"], host=target).status_code == 200
    migration = nova.wait_for_migration(server["id"], "error")
    assert migration["source_compute"] == source
    failed = nova.wait_for_server(server["id"], "ERROR")
    assert "No valid host" in failed["fault"]["message"]


def test_projects_and_policy(
    fresh_host: str,
    boot_servers: Boot,
    sandbox: Sandbox,
    openstack_json: OpenstackJson,
    run_openstack: RunOpenstack,
) -> None:
    (mine,) = boot_servers(project="demo")
    (admins,) = boot_servers(host=fresh_host)
    assert mine["tenant_id"] == sandbox.project_id("demo")
    assert mine["user_id"] == sandbox.user_id("demo")
    demo_ids = {
        s["ID"] for s in openstack_json("server", "list", cloud="sandbox-demo")
    }
    assert mine["id"] in demo_ids
    assert admins["id"] not in demo_ids
    all_ids = {
        s["ID"] for s in openstack_json("server", "list", "--all-projects")
    }
    assert {mine["id"], admins["id"]} <= all_ids

    # Evacuation and the service list are admin-only by default policy.
    with pytest.raises(NovaAPIError) as err:
        sandbox.demo.evacuate(mine["id"])
    assert err.value.status == 403
    proc = run_openstack("compute", "service", "list", cloud="sandbox-demo")
    assert proc.returncode != 0
    assert "403" in proc.stderr


def test_request_recorder(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    sandbox.reset_requests()
    nova.servers(host=fresh_host)
    nova.servers(host=fresh_host)
    nova.evacuate(
        server["id"], microversion="2.14", ok=None, adminPass="s3cret"
    )
    nova.request("GET", "/flavors", microversion=None)

    recorded = sandbox.requests()
    counts = recorded["counts"]
    assert counts["GET /v2.1/servers/detail"] == 2
    assert counts["POST /v2.1/servers/{id}/action"] == 1
    assert not any("_sandbox" in key for key in counts)
    (evacuate,) = [e for e in recorded["log"] if e["method"] == "POST"]
    assert evacuate["path"] == f"/v2.1/servers/{server['id']}/action"
    assert evacuate["microversion"] == "2.14"
    assert evacuate["body"] == {"evacuate": {"adminPass": "s3cret"}}
    assert evacuate["status"] == 400  # the compute is still up
    assert evacuate["fault"] is None
    flavors = [e for e in recorded["log"] if e["path"] == "/v2.1/flavors"]
    assert flavors[0]["microversion"] is None
    assert flavors[0]["body"] is None

    sandbox.reset_requests()
    assert sandbox.requests() == {"counts": {}, "log": []}


def test_legacy_microversion_header_recorded(sandbox: Sandbox) -> None:
    # The header old novaclient versions send.
    sandbox.reset_requests()
    resp = requests.get(
        f"{sandbox.url}/v2.1/os-services",
        headers={
            "X-Auth-Token": sandbox.admin.token,
            "X-OpenStack-Nova-API-Version": "2.11",
        },
        timeout=30,
    )
    assert resp.status_code == 200
    assert "forced_down" in resp.json()["services"][0]
    (entry,) = sandbox.requests()["log"]
    assert entry["microversion"] == "2.11"


def test_fifty_servers_boot_and_evacuate_at_once(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    # The must-show: no hang with several API clients at once.
    started = time.monotonic()
    servers = boot_servers(50, host=fresh_host, concurrency=8, timeout=180)
    booted = time.monotonic() - started
    assert len({s["id"] for s in servers}) == 50
    assert {s[HOST] for s in servers} == {fresh_host}
    assert {s["status"] for s in servers} == {"ACTIVE"}

    sandbox.crash_compute(fresh_host, force_down=True)
    started = time.monotonic()
    # 4 clients, as the plugin's --max-parallel: at 8, on a loaded machine,
    # Placement's claim retries on 3 hosts can run out (NoValidHost).
    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(
            pool.map(lambda s: nova.evacuate(s["id"]).status_code, servers)
        )
    assert codes == [200] * 50
    migrations = [
        nova.wait_for_migration(s["id"], "done", timeout=180) for s in servers
    ]
    evacuated = time.monotonic() - started
    assert {m["source_compute"] for m in migrations} == {fresh_host}
    assert fresh_host not in {m["dest_compute"] for m in migrations}
    print(
        f"50 servers: booted in {booted:.1f} s, evacuated in {evacuated:.1f} s"
    )


def test_separate_sandbox_starts_and_shuts_down(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path / "second", computes=1)
    sb.start()
    try:
        assert sb.computes() == [{"host": "compute01", "running": True}]
        assert sb.admin.service("compute01")["state"] == "up"
        assert sb.shutdown() == 0
        assert not sb.running
        assert "sandbox stopped" in sb.log_path.read_text()
    finally:
        sb.stop()


def test_start_failure_reports_the_log(tmp_path: Path) -> None:
    sb = Sandbox(tmp_path / "broken", computes=1, driver="fake.NoSuchDriver")
    with pytest.raises(SandboxError, match="before it was ready") as err:
        sb.start()
    assert "sandbox.log (tail)" in str(err.value)
    assert not sb.running


# Fault injection (tests/sandbox/faults.py). Each test's faults are reset
# by conftest's autouse fixture.

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


# Placement over HTTP, volume-backed servers, compute sizes and fills, an
# Ironic compute and a down cell (issue 8's sandbox, issue 7's 13 and 14).
# Fills and the down cell are reset with the faults after each test.

MV_CELL_DOWN = "2.69"


def _placement_adapter(sandbox: Sandbox, cloud: str) -> Adapter:
    """Placement as a client on OSC's session finds it: in the catalog of
    the cloud's Keystone, in its region."""
    region = OpenStackConfig(
        config_files=[str(sandbox.clouds_yaml)],
        vendor_files=[],
        secure_files=[],
        load_envvars=False,
    ).get_one(cloud=cloud)
    adapter = Adapter(
        region.get_session(),
        service_type="placement",
        interface=region.get_interface(),
        region_name=region.get_region_name(),
    )
    assert adapter.get_endpoint() == f"{sandbox.url}/placement"
    return adapter


def _free(inventory: dict[str, Any], used: int) -> float:
    """Placement's free capacity of one resource class."""
    capacity = (inventory["total"] - inventory["reserved"]) * inventory[
        "allocation_ratio"
    ]
    return float(capacity - used)


def test_placement_over_http_is_the_computes_placement(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    sandbox.reset_requests()
    placement = _placement_adapter(sandbox, "sandbox")

    root = placement.get("/", raise_exc=False)
    assert root.status_code == 200
    assert root.json()["versions"][0]["id"] == "v1.0"
    providers = placement.get(
        "/resource_providers", microversion="1.39", raise_exc=False
    )
    assert providers.status_code == 200
    by_name = {
        p["name"]: p["uuid"] for p in providers.json()["resource_providers"]
    }
    # The providers the computes created: a compute node's UUID is its
    # provider's.
    (hypervisor,) = nova.hypervisors(fresh_host)
    assert by_name[fresh_host] == hypervisor["id"]
    assert {"compute01", "compute02", "compute03"} <= set(by_name)
    # What Nova's scheduler allocated for the server is there too.
    allocations = placement.get(
        f"/allocations/{server['id']}", microversion="1.39"
    ).json()["allocations"]
    assert allocations[by_name[fresh_host]]["resources"] == {
        "VCPU": 1,
        "MEMORY_MB": 512,
        "DISK_GB": 1,
    }

    # Placement's default policy: admin only.
    refused = _placement_adapter(sandbox, "sandbox-demo").get(
        "/resource_providers", raise_exc=False
    )
    assert refused.status_code == 403

    # Recorded under /placement; Nova's keys are unchanged.
    recorded = sandbox.requests()
    assert {
        key: count
        for key, count in recorded["counts"].items()
        if key.startswith("GET /placement")
    } == {
        "GET /placement/": 1,
        "GET /placement/resource_providers": 2,
        "GET /placement/allocations/{id}": 1,
    }
    assert recorded["counts"]["GET /v2.1/os-hypervisors/detail"] == 1
    listed = [
        e
        for e in recorded["log"]
        if e["path"] == "/placement/resource_providers"
    ]
    assert [(e["microversion"], e["status"]) for e in listed] == [
        ("1.39", 200),
        (None, 403),
    ]
    nova.servers(host=fresh_host)
    assert sandbox.request_counts()["GET /v2.1/servers/detail"] == 1


def test_placement_fault_rules(sandbox: Sandbox, nova: NovaAPI) -> None:
    placement = sandbox.placement
    # A rule is Nova's unless it says otherwise, even without a path.
    sandbox.fail_requests(503, method="GET", count=None)
    assert placement.request("GET", "/resource_providers").status_code == 200
    sandbox.reset_faults()

    rule = sandbox.fail_requests(
        503, service="placement", path="/usages$", count=2
    )
    assert rule["service"] == "placement"
    rp = placement.provider("compute01")["uuid"]
    resp = placement.request(
        "GET", f"/resource_providers/{rp}/usages", ok=None
    )
    assert resp.status_code == 503
    (error,) = resp.json()["errors"]
    assert error["status"] == 503
    assert error["detail"] == "Injected by the sandbox (HTTP 503)."
    assert error["request_id"] == resp.headers["x-openstack-request-id"]
    # Nova's API and Placement's other paths are untouched.
    assert _flavors(nova).status_code == 200
    assert placement.inventories(rp)["VCPU"]["total"] > 0
    assert (
        placement.request(
            "GET", f"/resource_providers/{rp}/usages", ok=None
        ).status_code
        == 503
    )
    assert placement.usages(rp)["VCPU"] >= 0

    with pytest.raises(SandboxError, match="400"):
        sandbox.control("POST", "faults", {"error": 503, "service": "glance"})


def test_volume_backed_server_evacuates_with_its_volume(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    nova: NovaAPI,
    openstack_json: OpenstackJson,
) -> None:
    (volume_backed,) = boot_servers(host=fresh_host, volume_backed=True)
    (local,) = boot_servers(host=fresh_host)
    assert volume_backed["image"] == ""
    assert local["image"]["id"] == IMAGE_ID
    shown = openstack_json("server", "show", volume_backed["id"])
    assert shown["image"] == "N/A (booted from volume)"
    (attached,) = nova.volume_attachments(volume_backed["id"])
    assert attached["device"] == "/dev/sda"
    assert nova.volume_attachments(local["id"]) == []

    # A volume-backed server takes no DISK_GB from its host.
    def resources(server: dict[str, Any]) -> dict[str, int]:
        (allocation,) = sandbox.placement.allocations(server["id"]).values()
        found: dict[str, int] = allocation["resources"]
        return found

    assert resources(volume_backed) == {"VCPU": 1, "MEMORY_MB": 512}
    assert resources(local)["DISK_GB"] == 1

    sandbox.crash_compute(fresh_host, force_down=True)
    for server in (volume_backed, local):
        nova.evacuate(server["id"])
    for server in (volume_backed, local):
        record = nova.wait_for_migration(server["id"], "done")
        assert record["source_compute"] == fresh_host
    moved = nova.wait_for_server(volume_backed["id"], "ACTIVE")
    assert moved[HOST] != fresh_host
    assert moved["image"] == ""
    # Same volume, attached again on the destination.
    (reattached,) = nova.volume_attachments(volume_backed["id"])
    assert reattached["volumeId"] == attached["volumeId"]
    assert reattached["attachment_id"] != attached["attachment_id"]


def test_default_compute_resources(sandbox: Sandbox, nova: NovaAPI) -> None:
    # FakeDriver's hypervisor, as doc/source/sandbox.rst documents it.
    resources = sandbox.resources("compute01")
    inventories = resources["inventories"]
    assert {
        rc: (
            inv["total"],
            inv["reserved"],
            inv["allocation_ratio"],
            inv["max_unit"],
        )
        for rc, inv in inventories.items()
    } == {
        "VCPU": (1000, 0, 4.0, 1000),
        "MEMORY_MB": (800000, 512, 1.0, 800000),
        "DISK_GB": (600000, 0, 1.0, 600000),
    }
    assert resources["filled"] is None
    rp = resources["resource_provider"]
    usages = sandbox.placement.usages(rp)
    assert resources["free"] == {
        rc: _free(inv, usages[rc]) for rc, inv in inventories.items()
    }
    (hypervisor,) = nova.hypervisors("compute01", microversion="2.87")
    assert (
        hypervisor["vcpus"],
        hypervisor["memory_mb"],
        hypervisor["local_gb"],
        hypervisor["hypervisor_type"],
    ) == (1000, 800000, 600000, "fake")


def test_fill_compute_leaves_exactly_what_was_asked(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    boot_servers(host=fresh_host)
    filled = sandbox.fill_compute(
        fresh_host, vcpus=1, memory_mb=512, disk_gb=1
    )
    wanted = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert filled["free"] == wanted
    assert filled["filled"] == wanted
    assert sandbox.faults()["filled"] == {fresh_host: wanted}
    # Placement itself, over HTTP, gives the same arithmetic.
    rp = filled["resource_provider"]
    inventories = sandbox.placement.inventories(rp)
    usages = sandbox.placement.usages(rp)
    assert usages == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert {
        rc: _free(inv, usages[rc]) for rc, inv in inventories.items()
    } == wanted

    # One more m1.tiny fits; the next one does not: Placement and the
    # scheduler refuse it.
    boot_servers(host=fresh_host)
    (refused,) = boot_servers(host=fresh_host, status="ERROR")
    assert "No valid host" in refused["fault"]["message"]
    assert sandbox.resources(fresh_host)["free"] == {
        "VCPU": 0,
        "MEMORY_MB": 0,
        "DISK_GB": 0,
    }

    unfilled = sandbox.unfill_compute(fresh_host)
    assert unfilled["filled"] is None
    assert unfilled["inventories"]["VCPU"]["allocation_ratio"] == 4.0
    assert unfilled["inventories"]["MEMORY_MB"]["reserved"] == 512
    assert unfilled["free"]["VCPU"] == 4000 - 2
    boot_servers(host=fresh_host)
    assert sandbox.faults()["filled"] == {}


def test_full_computes_make_an_evacuation_fail_no_valid_host(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    sandbox.crash_compute(fresh_host, force_down=True)
    others = [
        c["host"]
        for c in sandbox.computes()
        if c["running"] and c["host"] != fresh_host
    ]
    assert others
    for host in others:
        # Room for anything but the server's RAM.
        sandbox.fill_compute(host, vcpus=10, memory_mb=256, disk_gb=10)

    assert nova.evacuate(server["id"]).status_code == 200
    nova.wait_for_migration(server["id"], "error")
    failed = nova.wait_for_server(server["id"], "ERROR")
    assert "No valid host" in failed["fault"]["message"]

    # reset_faults (after every test) ends every fill.
    sandbox.reset_faults()
    for host in others:
        assert sandbox.resources(host)["filled"] is None
        assert sandbox.resources(host)["free"]["MEMORY_MB"] > 512


def test_compute_size_and_resize(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    nova: NovaAPI,
) -> None:
    host = new_compute(vcpus=1, memory_mb=1536, local_gb=3)
    (hypervisor,) = nova.hypervisors(host, microversion="2.87")
    assert (
        hypervisor["vcpus"],
        hypervisor["memory_mb"],
        hypervisor["local_gb"],
    ) == (1, 1536, 3)
    inventories = sandbox.resources(host)["inventories"]
    assert inventories["MEMORY_MB"]["total"] == 1536
    assert inventories["DISK_GB"]["max_unit"] == 3
    # 1536 MB less 512 reserved: two m1.tiny, and no third.
    boot_servers(2, host=host)
    (refused,) = boot_servers(host=host, status="ERROR")
    assert "No valid host" in refused["fault"]["message"]

    resized = sandbox.resize_compute(host, memory_mb=2048)
    assert resized["inventories"]["MEMORY_MB"]["total"] == 2048
    assert resized["free"]["MEMORY_MB"] == 512
    boot_servers(host=host)

    for bad in ({"vcpus": 0}, {"memory_mb": "1"}, {"ram": 1}, {}):
        with pytest.raises(SandboxError, match="400"):
            sandbox.control("POST", f"computes/{host}/size", bad)
    with pytest.raises(SandboxError, match="400"):
        sandbox.add_compute(host, vcpus=2)  # exists: sizes are for new ones
    bad_fills: list[Any] = [{"free": {"GPU": 1}}, {"free": {"VCPU": -1}}, []]
    for bad_free in bad_fills:
        with pytest.raises(SandboxError, match="400"):
            sandbox.control("POST", f"computes/{host}/fill", bad_free)
    with pytest.raises(SandboxError, match="404"):
        sandbox.fill_compute("no-such-compute")


def test_ironic_compute_and_how_to_recognise_it(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    nova: NovaAPI,
) -> None:
    ironic = new_compute(hypervisor_type="ironic")
    plain = new_compute()
    (server,) = boot_servers(host=ironic)
    node = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    # Ironic names the node by its UUID, not by the compute's host.
    assert node != ironic
    assert str(uuid.UUID(node)) == node

    # One request: the hypervisor of a server's node, at 2.53 or later,
    # gives the type and the compute service's host.
    sandbox.crash_compute(ironic)  # crashed, still reported up
    started = time.monotonic()
    (hypervisor,) = nova.hypervisors(node, microversion="2.53")
    assert time.monotonic() - started < 5
    assert hypervisor["hypervisor_hostname"] == node
    assert hypervisor["hypervisor_type"] == "ironic"
    assert hypervisor["service"]["host"] == ironic
    assert nova.service(ironic)["state"] == "up"
    (other,) = nova.hypervisors(plain, microversion="2.53")
    assert other["hypervisor_type"] == "fake"
    # The pattern is a substring match: callers compare the name.
    assert len(nova.hypervisors("compute0", microversion="2.53")) >= 3
    assert nova.hypervisors("no-such-node", microversion="2.53") == []

    # Like Nova's Ironic driver, it never takes an evacuated server.
    (moving,) = boot_servers(host=plain)
    sandbox.crash_compute(plain, force_down=True)
    sandbox.start_compute(ironic)
    nova.evacuate(moving["id"], host=ironic)
    nova.wait_for_migration(moving["id"], ("error", "failed"))
    assert nova.wait_for_server(moving["id"], "ERROR")[HOST] == plain


def test_down_cell_hides_service_ids(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    assert sandbox.set_cell_down(True)["down_cell"] is True

    def services(microversion: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = nova.get("/os-services", microversion)[
            "services"
        ]
        return found

    # 2.69: the down cell's computes, from the host mappings, without id.
    rows = {s["host"]: s for s in services(MV_CELL_DOWN)}
    assert rows[fresh_host] == {
        "binary": "nova-compute",
        "host": fresh_host,
        "status": "UNKNOWN",
    }
    assert all("id" not in row for row in rows.values())
    # Before 2.69 Nova leaves them out.
    assert services("2.53") == []
    listed = nova.get("/servers/detail", MV_CELL_DOWN, all_tenants=1)
    (minimal,) = [s for s in listed["servers"] if s["id"] == server["id"]]
    assert minimal["status"] == "UNKNOWN"

    # Up again: the same services with their ids, and Nova works.
    assert sandbox.set_cell_down(False)["down_cell"] is False
    assert nova.service(fresh_host)["id"]
    boot_servers(host=fresh_host)

    # reset_faults (after every test) brings it up too.
    sandbox.set_cell_down(True)
    sandbox.reset_faults()
    assert "id" in nova.service(fresh_host)
    with pytest.raises(SandboxError, match="400"):
        sandbox.control("POST", "down-cell", {"down": "yes"})


def test_the_request_log_times_and_sizes_each_answer(
    sandbox: Sandbox, nova: NovaAPI
) -> None:
    sandbox.reset_requests()
    before = time.monotonic()
    resp = nova.request("GET", "/servers/detail", microversion="2.80")
    after = time.monotonic()
    [entry] = [
        e
        for e in sandbox.requests()["log"]
        if e["path"] == "/v2.1/servers/detail"
    ]
    # The system's monotonic clock: the same in the sandbox and here.
    assert before <= entry["at"] <= after
    # The log rounds durations to 0.1 ms: allow half of that.
    assert 0 <= entry["seconds"] <= after - before + 0.00005
    assert entry["bytes"] == len(resp.content)
