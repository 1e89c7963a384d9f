"""`--wait`: verified completion, power-state policy, failures, reruns,
and a polling cost that does not grow with the number of servers."""

from __future__ import annotations

import json
import os
import pty
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.conftest import OPENSTACK, OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    HOST,
    Boot,
    by_id,
    crash,
    evacuate_posts,
    gets_by_path,
    servers_in_states,
)
from tests.sandbox.client import EVACUATE_POSTS, Sandbox
from tests.sandbox.rest import NovaAPI


def test_twenty_servers_in_mixed_states_are_verified(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    admin = servers_in_states(
        boot_servers,
        nova,
        fresh_host,
        {"ACTIVE": 8, "SHUTOFF": 3, "ERROR": 2, "PAUSED": 1},
    )
    demo = servers_in_states(
        boot_servers,
        nova,
        fresh_host,
        {"ACTIVE": 3, "SHUTOFF": 2, "SUSPENDED": 1},
        project="demo",
    )
    crash(sandbox, fresh_host)

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "300", "-f", "json"
    )

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))  # stdout is JSON and only JSON
    assert proc.stderr == ""  # no progress when stderr is no terminal
    assert len(rows) == 20
    wanted = {
        "ACTIVE": "ACTIVE",
        "SHUTOFF": "SHUTOFF",
        "ERROR": "ACTIVE",
    }
    for group in (admin, demo):
        for state, servers in group.items():
            for server in servers:
                row = rows[server["id"]]
                assert row["Status Before"] == state
                if state not in wanted:
                    assert row["Result"] == "skipped"
                    continue
                now = nova.server(server["id"])
                assert row["Result"] == "verified", row
                assert row["Migration Status"] in ("done", "completed")
                assert row["Destination"] == now[HOST] != fresh_host
                assert row["Status After"] == now["status"] == wanted[state]
                assert row["Seconds"] >= 0


def test_no_valid_host_fails_with_novas_reason(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    only_host_up: Callable[[str], None],
) -> None:
    servers = boot_servers(2, host=fresh_host)
    crash(sandbox, fresh_host)
    only_host_up(fresh_host)
    sandbox.reset_requests()

    proc = run_openstack(
        "host",
        "evacuate",
        fresh_host,
        # Every other compute is disabled: the guard calls that a mass
        # failure, and no host has room. Evacuate all the same.
        "--yes",
        "--ignore-capacity",
        "--wait",
        "120",
        "--retries",
        "1",
        "-f",
        "json",
    )

    assert proc.returncode == 3, proc.stderr
    rows = json.loads(proc.stdout)
    assert {r["ID"] for r in rows} == {s["id"] for s in servers}
    for row in rows:
        assert row["Result"] == "failed"
        assert row["Migration Status"] == "error"
        assert "No valid host was found" in row["Error"]
        assert row["Status After"] == "ERROR"
    # --retries 1: each server was submitted twice, then given up on.
    posts = [p["path"] for p in evacuate_posts(sandbox)]
    assert sorted(posts) == sorted(
        f"/v2.1/servers/{s['id']}/action" for s in servers for _ in "12"
    )


def test_rerun_reports_already_evacuated_and_posts_nothing(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    servers_in_states(
        boot_servers, nova, fresh_host, {"ACTIVE": 2, "SHUTOFF": 1}
    )
    crash(sandbox, fresh_host)
    first = openstack_json("host", "evacuate", fresh_host, "--wait", "120")
    assert {r["Result"] for r in first} == {"verified"}
    sandbox.reset_requests()

    again = openstack_json("host", "evacuate", fresh_host, "--wait", "120")

    assert {r["ID"] for r in again} == {r["ID"] for r in first}
    assert {r["Result"] for r in again} == {"already evacuated"}
    assert {r["Action"] for r in again} == {"none"}
    for row in again:
        assert row["Destination"] == by_id(first)[row["ID"]]["Destination"]
    assert evacuate_posts(sandbox) == []


def test_rerun_waits_for_evacuations_already_submitted(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    boot_servers(3, host=fresh_host)
    crash(sandbox, fresh_host)
    first = openstack_json("host", "evacuate", fresh_host)
    assert {r["Result"] for r in first} == {"submitted"}
    sandbox.reset_requests()

    again = openstack_json("host", "evacuate", fresh_host, "--wait", "120")

    # Whatever had landed is reported as such; the rest is waited for.
    assert {r["Result"] for r in again} <= {"verified", "already evacuated"}
    assert {r["Action"] for r in again} <= {"resumed", "none"}
    assert evacuate_posts(sandbox) == []


def test_polling_cost_does_not_grow_with_servers(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    fixed = {}
    for count in (5, 50):
        host = new_compute()
        boot_servers(count, host=host)
        crash(sandbox, host)
        sandbox.reset_requests()
        rows = openstack_json("host", "evacuate", host, "--wait", "300")
        assert [r["Result"] for r in rows] == ["verified"] * count
        gets = gets_by_path(sandbox)
        cycles = gets.pop("/v2.1/servers/detail (changes-since)")
        assert cycles >= 1
        # Each cycle: that servers poll and one read of the records, in
        # full on the first poll, then (mostly) only those changed.
        changed = gets.pop("/v2.1/os-migrations (changes-since)", 0)
        assert 1 <= changed < cycles
        gets["/v2.1/os-migrations"] -= cycles - changed
        assert not any("/servers/{id}" in path for path in gets)
        fixed[count] = gets
    # What remains is the same set-up at N=5 as at N=50: one list of the
    # host's servers, one of its records, the service, the version.
    assert fixed[5] == fixed[50]
    assert fixed[5]["/v2.1/servers/detail"] == 1
    assert fixed[5]["/v2.1/os-migrations"] == 1


def test_servers_are_proven_while_later_requests_are_still_going_out(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    """The proof starts with the first accepted request: while the second
    server's request is held on its way (12 s), the first is polled and
    proven; both end verified."""
    host = new_compute()
    first, second = boot_servers(2, host=host)
    crash(sandbox, host)
    sandbox.reset_requests()
    sandbox.reset_faults()
    sandbox.delay_requests(12, **{**EVACUATE_POSTS, "skip": 1, "count": 1})
    try:
        rows = openstack_json(
            "host", "evacuate", host, "--wait", "300", "--max-parallel", "1"
        )
    finally:
        sandbox.reset_faults()
    assert {r["ID"]: r["Result"] for r in rows} == {
        first["id"]: "verified",
        second["id"]: "verified",
    }
    posts = sorted(evacuate_posts(sandbox), key=lambda e: e["at"])
    assert len(posts) == 2
    held = posts[1]
    answered = held["at"] + (held.get("seconds") or 0.0)
    polls = [
        e
        for e in _records_polls(sandbox, host)
        if posts[0]["at"] < e["at"] < answered
    ]
    # A poll while the held request was still out (before: none until the
    # last request was answered).
    assert polls


def _records_polls(sandbox: Sandbox, host: str) -> list[dict[str, Any]]:
    return [
        e
        for e in sandbox.requests()["log"]
        if e["method"] == "GET"
        and e["path"] == "/v2.1/os-migrations"
        and f"source_compute={host}" in (e.get("query") or "")
    ]


def test_a_records_poll_reads_what_changed_not_every_record(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    host = new_compute()
    boot_servers(10, host=host)
    crash(sandbox, host)
    # Every rebuild spawns for 12 s: a stretch in which nothing changes.
    sandbox.slow_spawn(12)
    sandbox.reset_requests()

    rows = openstack_json("host", "evacuate", host, "--wait", "300")

    assert [r["Result"] for r in rows] == ["verified"] * 10
    polls = _records_polls(sandbox, host)
    full = [e for e in polls if "changes-since" not in e["query"]]
    changed = [e for e in polls if "changes-since" in e["query"]]
    # In full only twice: the plan's read, before any request (no record
    # yet), and the first poll's, once every record is made.
    assert len(full) == 2
    assert full[1]["bytes"] > 10 * 300
    # Then only what changed: while the rebuilds spawn, nothing did, and
    # a poll reads no record at all ('{"migrations": []}').
    assert changed
    assert min(e["bytes"] for e in changed) < 50


@pytest.mark.parametrize("pin", [None, "2.94"])
def test_target_state_stopped(
    pin: str | None,
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    servers = servers_in_states(
        boot_servers,
        nova,
        fresh_host,
        {"ACTIVE": 2, "SHUTOFF": 1, "ERROR": 1},
    )
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    args: list[str] = ["--os-compute-api-version", pin] if pin else []

    rows = openstack_json(
        *args,
        "host",
        "evacuate",
        fresh_host,
        "--target-state",
        "stopped",
        "--wait",
        "120",
    )

    assert {r["Result"] for r in rows} == {"verified"}
    assert {r["Status After"] for r in rows} == {"SHUTOFF"}
    for group in servers.values():
        for server in group:
            assert nova.server(server["id"])["status"] == "SHUTOFF"
    # Nova stops them itself from 2.95; before, the tool stops them.
    versions = {p["microversion"] for p in evacuate_posts(sandbox)}
    assert versions == {pin or "2.95"}


def test_timeout_is_reported_with_its_exit_code(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    failed, target = new_compute(), new_compute()
    boot_servers(2, host=failed)
    crash(sandbox, failed)
    # The target dies too, but Nova still thinks it up for a few seconds:
    # the rebuilds are sent to it and never finish.
    sandbox.crash_compute(target)

    proc = run_openstack(
        "host",
        "evacuate",
        failed,
        "--target-host",
        target,
        "--wait",
        "3",
        "-f",
        "json",
    )

    rows: list[dict[str, Any]] = json.loads(proc.stdout)
    assert proc.returncode == 4, proc.stderr
    assert {r["Result"] for r in rows} == {"timed out"}
    assert all("timed out with migration" in r["Error"] for r in rows)


def test_progress_only_on_a_terminal_stderr(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
) -> None:
    boot_servers(3, host=fresh_host)
    crash(sandbox, fresh_host)
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run(
            [
                str(OPENSTACK),
                "host",
                "evacuate",
                fresh_host,
                "--wait",
                "120",
                "-f",
                "json",
            ],
            env=sandbox.cli_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=300,
            check=False,
        )
        os.close(follower)
        terminal = _read_all(leader)
    finally:
        os.close(leader)

    assert proc.returncode == 0
    rows = json.loads(proc.stdout)
    assert {r["Result"] for r in rows} == {"verified"}
    assert "Evacuating: 3 verified, 0 failed, 0 remaining" in terminal


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")
