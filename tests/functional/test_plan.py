"""See before you act: --dry-run, the capacity check and --force-down,
through the real CLI on the sandbox."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.functional.conftest import OPENSTACK, RunOpenstack
from tests.functional.scenario import (
    NEVER_WRONG_SERVER,
    Boot,
    by_id,
    check,
    crash,
    evacuate_posts,
    one_line,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI


def changes(sandbox: Sandbox) -> list[str]:
    """Every request that may change something (Nova's and Placement's)."""
    return [
        f"{e['method']} {e['path']}"
        for e in sandbox.requests()["log"]
        if e["method"] != "GET"
    ]


@pytest.fixture
def full_cloud(sandbox: Sandbox) -> Iterator[Callable[[str], list[str]]]:
    """Fill every running compute but the one named: no server fits."""

    def fill_all_but(source: str) -> list[str]:
        filled = [
            c["host"]
            for c in sandbox.computes()
            if c["running"] and c["host"] != source
        ]
        for host in filled:
            sandbox.fill_compute(host)
        return filled

    yield fill_all_but
    # reset_faults (autouse) unfills them.


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_dry_run_changes_nothing_and_tells_disks_apart(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    (local,) = boot_servers(1, host=fresh_host)
    (volume,) = boot_servers(1, host=fresh_host, volume_backed=True)
    (paused,) = boot_servers(1, host=fresh_host)
    nova.pause_server(paused["id"])
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--dry-run", "--wait", "-f", "json"
    )

    servers = [local, volume, paused]
    rows = by_id(check(proc, 0, nova, {s["id"]: 0 for s in servers}))
    assert changes(sandbox) == []
    log = sandbox.requests()["log"]
    assert any(e["path"].startswith("/placement/") for e in log)
    assert rows[local["id"]]["Risk"] == "local disk lost"
    assert rows[volume["id"]]["Risk"] == "volume-backed: disk kept"
    for sid in (local["id"], volume["id"]):
        assert rows[sid]["Action"] == "would submit"
        assert rows[sid]["Result"] == "planned"
        assert rows[sid]["Capacity"] == "fits"
        assert rows[sid]["Microversion"] == "2.94"
        assert rows[sid]["End State"] == "ACTIVE"
        assert rows[sid]["Target"] == "scheduler"
    skipped = rows[paused["id"]]
    assert (skipped["Action"], skipped["Result"]) == ("skipped", "skipped")
    assert skipped["Risk"].startswith("refused by Nova: vm_state paused")
    assert skipped["Capacity"] is None

    # The plan's reads cost the same whatever the number of servers: no
    # request names a server.
    assert not any(local["id"] in e["path"] for e in log)

    # One server, the same plan.
    proc = run_openstack(
        "server", "evacuate", volume["id"], "--dry-run", "-f", "json"
    )
    shown = check(proc, 0, nova, {volume["id"]: 0})
    assert shown["Risk"] == "volume-backed: disk kept"
    assert shown["Action"] == "would submit"
    assert evacuate_posts(sandbox) == []


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_no_room_is_refused_before_any_request_unless_ignored(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    full_cloud: Callable[[str], list[str]],
) -> None:
    servers = boot_servers(2, host=fresh_host)
    crash(sandbox, fresh_host)
    full_cloud(fresh_host)
    sandbox.reset_requests()
    none = {s["id"]: 0 for s in servers}

    # The plan says so, and that a run would refuse (exit 1).
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--dry-run", "-f", "json"
    )
    assert proc.returncode == 1, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["Capacity"] for r in rows} == {"no room"}
    said = one_line(proc.stderr)
    assert "A run would refuse: 2 of the 2 servers" in said
    assert "--ignore-capacity" in said

    # A run refuses before any request, in one line.
    proc = run_openstack("host", "evacuate", fresh_host, "--wait", "60")
    check(proc, 1, nova, none, "2 of the 2 servers to evacuate do not fit")
    assert changes(sandbox) == []

    # --ignore-capacity sends them; Nova says NoValidHost.
    proc = run_openstack(
        "host",
        "evacuate",
        fresh_host,
        "--ignore-capacity",
        "--wait",
        "120",
        "-f",
        "json",
    )
    rows = check(proc, 3, nova, {s["id"]: 1 for s in servers})
    assert {r["Result"] for r in rows} == {"failed"}
    assert all("No valid host" in r["Error"] for r in rows)


def test_capacity_falls_back_to_hypervisor_statistics(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Without Placement (here: it answers 403), os-hypervisors' figures
    judge memory and disk."""
    source = new_compute()
    small = new_compute(memory_mb=256)
    servers = boot_servers(1, host=source)
    crash(sandbox, source)
    sandbox.add_fault(service="placement", error=403, count=None)
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "evacuate", source, "--target-host", small, "--dry-run"
    )
    assert proc.returncode == 1, proc.stderr
    assert "(by hypervisor statistics)" in one_line(proc.stderr)
    assert changes(sandbox) == []
    proc = run_openstack("host", "evacuate", source, "--target-host", small)
    check(proc, 1, nova, {servers[0]["id"]: 0}, "by hypervisor statistics")


def test_force_down_evacuates_a_host_nova_still_thinks_up(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """The operator has fenced the host: no wait for Nova's heartbeat
    timeout. A twin host crashed at the same moment still reads up once
    the evacuation was sent."""
    host, twin = new_compute(), new_compute()
    servers = boot_servers(2, host=host)
    # Up to Nova until its heartbeat times out, so the scheduler would
    # pick it: keep it out (before it dies: disabling a compute Nova
    # thinks up waits for its answer).
    nova.disable_service(twin, "test: a dead twin")
    sandbox.crash_compute(host)
    sandbox.crash_compute(twin)
    assert nova.service(host)["state"] == "up"

    plan = run_openstack(
        "host", "evacuate", host, "--force-down", "--dry-run", "-f", "json"
    )
    assert plan.returncode == 0, plan.stderr
    assert {r["Host Action"] for r in json.loads(plan.stdout)} == {
        "force down"
    }
    assert nova.service(host)["forced_down"] is False

    proc = run_openstack(
        "host",
        "evacuate",
        host,
        "--force-down",
        "--disable-reason",
        "fenced: PSU failure",
        "--yes",
        "-f",
        "json",
    )

    rows = check(proc, 0, nova, {s["id"]: 1 for s in servers})
    assert nova.service(twin)["state"] == "up"  # the heartbeat: not yet
    assert {r["Result"] for r in rows} == {"submitted"}
    service = nova.service(host)
    assert service["forced_down"] is True
    assert service["status"] == "disabled"
    assert service["disabled_reason"] == "fenced: PSU failure"
    for server in servers:
        nova.wait_for_migration(server["id"], "done")


def test_force_down_needs_a_yes_or_a_terminal(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = boot_servers(1, host=fresh_host)
    sandbox.crash_compute(fresh_host)
    sandbox.reset_requests()

    proc = run_openstack("host", "evacuate", fresh_host, "--force-down")

    check(proc, 1, nova, {servers[0]["id"]: 0}, "pass --yes to confirm")
    assert "forced down" in proc.stderr and fresh_host in proc.stderr
    assert changes(sandbox) == []
    assert nova.service(fresh_host)["forced_down"] is False


def _at_a_terminal(
    sandbox: Sandbox, answer: str, *args: str
) -> tuple[int, str, str]:
    """Run the CLI with a terminal for stdin, answering its question."""
    leader, follower = pty.openpty()
    try:
        proc = subprocess.Popen(
            [str(OPENSTACK), *args],
            env=sandbox.cli_env(),
            stdin=follower,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)
        os.write(leader, answer.encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    return proc.returncode, out, err


def test_force_down_asks_at_a_terminal(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
) -> None:
    (server,) = boot_servers(1, host=fresh_host)
    sandbox.crash_compute(fresh_host)
    args = ("host", "evacuate", fresh_host, "--force-down", "-f", "json")

    code, out, err = _at_a_terminal(sandbox, "n\n", *args)
    assert (code, out) == (1, "")
    assert f"Mark nova-compute on {fresh_host} forced down?" in err
    assert "not confirmed; nothing was changed" in err
    assert nova.service(fresh_host)["forced_down"] is False

    code, out, err = _at_a_terminal(sandbox, "y\n", *args)
    assert code == 0, err
    rows: list[dict[str, Any]] = json.loads(out)
    assert [r["ID"] for r in rows] == [server["id"]]
    assert nova.service(fresh_host)["forced_down"] is True
