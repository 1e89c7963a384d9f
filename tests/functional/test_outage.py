"""The whole outage in one tool: several hosts, filters, locks, the
mass-failure guard, and returning the host to service, through the real
CLI on the sandbox."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    NEVER_TWICE,
    NEVER_UNPROVEN,
    NEVER_WRONG_SERVER,
    Boot,
    by_id,
    check,
    crash,
    evacuate_posts,
    evacuation_show,
    one_line,
    refused_finish,
    start_openstack,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI


def placement_reads(sandbox: Sandbox) -> int:
    return sum(
        e["path"].startswith("/placement/") for e in sandbox.requests()["log"]
    )


@pytest.mark.promise(NEVER_TWICE)
def test_two_hosts_in_one_run(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    first, second = new_compute(), new_compute()
    servers = boot_servers(2, host=first) + boot_servers(3, host=second)
    crash(sandbox, first)
    crash(sandbox, second)
    sandbox.reset_requests()

    rows = openstack_json("host", "evacuate", first, second, "--wait", "120")

    shown = by_id(rows)
    assert sorted(shown) == sorted(s["id"] for s in servers)
    assert {r["Result"] for r in rows} == {"verified"}
    assert [shown[s["id"]]["Source Host"] for s in servers] == [first] * 2 + [
        second
    ] * 3
    # Neither host takes the other's servers.
    assert {r["Destination"] for r in rows}.isdisjoint({first, second})
    # One capacity check for both: Placement read twice in all.
    assert placement_reads(sandbox) == 2
    for server in servers:
        assert len(nova.migrations(instance_uuid=server["id"])) == 1


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_four_hosts_are_a_mass_failure_unless_yes(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    hosts = [new_compute() for _ in range(4)]
    servers = [boot_servers(1, host=h)[0] for h in hosts]
    for host in hosts:
        crash(sandbox, host)
    sandbox.reset_requests()

    proc = run_openstack("host", "evacuate", *hosts, "-f", "json")

    none = {s["id"]: 0 for s in servers}
    check(proc, 1, nova, none, "is a mass failure")
    line = one_line(proc.stderr)
    assert "4 computes would be down (4 named)" in line
    assert "pass --yes" in line
    assert evacuate_posts(sandbox) == []

    proc = run_openstack(
        "host", "evacuate", *hosts, "--yes", "--dry-run", "-f", "json"
    )
    rows = check(proc, 0, nova, none)
    assert {r["Action"] for r in rows} == {"would submit"}


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_filters_evacuate_only_what_they_select(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    (ha,) = boot_servers(1, host=fresh_host, metadata={"HA_Enabled": "True"})
    (plain,) = boot_servers(1, host=fresh_host)
    (amphora,) = boot_servers(
        1, host=fresh_host, metadata={"HA_Enabled": "True"}, tags=["lb"]
    )
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    proc = run_openstack(
        "host",
        "evacuate",
        fresh_host,
        "--property",
        "HA_Enabled=True",
        "--exclude-tag",
        "lb",
        "--wait",
        "120",
        "-f",
        "json",
    )

    rows = by_id(
        check(proc, 0, nova, {ha["id"]: 1, plain["id"]: 0, amphora["id"]: 0})
    )
    assert rows[ha["id"]]["Result"] == "verified"
    assert rows[plain["id"]]["Result"] == "skipped"
    assert rows[plain["id"]]["Error"] == (
        "excluded by --property HA_Enabled=True"
    )
    assert rows[amphora["id"]]["Error"] == "excluded by --exclude-tag lb"

    # A server that is not on the host is an error, before any request.
    sandbox.reset_requests()
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--server", "no-such-server"
    )
    check(proc, 1, nova, {plain["id"]: 0}, "--server no-such-server is not")
    assert evacuate_posts(sandbox) == []


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_lock_holds_servers_while_they_are_evacuated(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
) -> None:
    source, target = new_compute(), new_compute()
    mine, theirs = boot_servers(2, host=source)
    nova.action(
        theirs["id"], "lock", {"locked_reason": "owner"}, microversion="2.73"
    )
    crash(sandbox, source)
    sandbox.slow_spawn(4, host=target)

    proc = start_openstack(
        sandbox,
        "host",
        "evacuate",
        source,
        "--target-host",
        target,
        "--lock",
        "--wait",
        "120",
    )
    # Locked while it is rebuilt, with a reason that says why.
    nova.wait_for_migration(mine["id"], "pre-migrating", timeout=60)
    during = nova.server(mine["id"])  # at the newest microversion
    out, err = proc.communicate(timeout=180)

    assert proc.returncode == 0, err
    assert during["locked"] is True
    assert during["locked_reason"].startswith("osc-evacuate: evacuating")
    rows = by_id(json.loads(out))
    assert rows[mine["id"]]["Locked"] == "locked, then unlocked"
    assert rows[theirs["id"]]["Locked"] == "already locked: left locked"
    assert {r["Result"] for r in rows.values()} == {"verified"}
    assert nova.server(mine["id"])["locked"] is False
    assert nova.server(theirs["id"])["locked"] is True
    assert nova.server(theirs["id"])["locked_reason"] == "owner"


@pytest.mark.promise(NEVER_UNPROVEN)
def test_the_host_returns_once_its_records_are_completed(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    servers = boot_servers(2, host=fresh_host)
    sandbox.crash_compute(fresh_host)

    def show() -> tuple[int, dict[str, Any]]:
        return evacuation_show(run_openstack, fresh_host)

    code, state = show()
    assert (code, state["Verdict"]) == (7, "evacuation incomplete")
    assert state["State"] == "up"  # crashed, not yet seen down
    assert sorted(state["Not Evacuated"]) == sorted(s["id"] for s in servers)

    rows = openstack_json(
        "host", "evacuate", fresh_host, "--force-down", "--yes", "--wait"
    )
    assert {r["Result"] for r in rows} == {"verified"}
    code, state = show()
    assert (code, state["Verdict"]) == (
        6,
        "waiting for nova-compute to restart",
    )
    assert state["Evacuation Records"] == {"done": 2}
    assert state["Forced Down"] is True
    # Nova refuses to clear forced-down while records are done: so does
    # finish, saying what is missing, and it changes nothing (exit 6: the
    # host must not return yet, as show says).
    line = refused_finish(run_openstack, fresh_host)
    assert "2 evacuation records are still done" in line
    assert nova.service(fresh_host)["forced_down"] is True

    # The host is mended and its nova-compute starts: it destroys the
    # evacuated guests and completes the records.
    sandbox.start_compute(fresh_host)
    for server in servers:
        nova.wait_for_migration(server["id"], "completed", timeout=60)
    code, state = show()
    assert (code, state["Verdict"]) == (0, "ready to return")

    finished = openstack_json("host", "evacuation", "finish", fresh_host)

    assert finished["Forced Down"] is False
    assert finished["Status"] == "enabled"
    service = nova.service(fresh_host)
    assert (service["forced_down"], service["status"]) == (False, "enabled")
    wait_until_up(nova, fresh_host)
    code, state = show()
    assert (code, state["Verdict"]) == (0, "in service")
    # The evacuated servers stayed where they landed.
    for server in servers:
        assert nova.server(server["id"])["OS-EXT-SRV-ATTR:host"] != fresh_host


def wait_until_up(nova: NovaAPI, host: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while nova.service(host)["state"] != "up":
        assert time.monotonic() < deadline
        time.sleep(0.5)
