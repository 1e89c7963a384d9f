"""The sandbox cloud's own tests: it must behave like Nova where the
plugin's tests depend on it (evacuation, service state, policy), and its
control interface must do what it says."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import HOST, Boot
from tests.sandbox.client import Sandbox, SandboxError
from tests.sandbox.rest import IMAGE_ID, NovaAPI, NovaAPIError


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
