"""host drain: a living host emptied by live and cold migration, every
server proven where it landed and in the state it had; a rerun moves
nothing twice; the polling cost does not grow with the servers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    HOST,
    NEVER_HANG,
    NEVER_TWICE,
    NEVER_UNPROVEN,
    Boot,
    by_id,
    gets_by_path,
    servers_in_states,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

promise = pytest.mark.promise
MIGRATE_ACTIONS = ("os-migrateLive", "migrate")


def moves(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every live or cold migration request the sandbox served."""
    return [
        e
        for e in sandbox.requests()["log"]
        if e["method"] == "POST"
        and e["path"].endswith("/action")
        and isinstance(e.get("body"), dict)
        and any(k in e["body"] for k in MIGRATE_ACTIONS)
    ]


@promise(NEVER_UNPROVEN)
def test_a_living_host_is_drained_every_server_proven_as_it_was(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    admin = servers_in_states(
        boot_servers,
        nova,
        fresh_host,
        {"ACTIVE": 2, "PAUSED": 1, "SHUTOFF": 1},
    )
    demo = servers_in_states(
        boot_servers,
        nova,
        fresh_host,
        {"ACTIVE": 1, "SHUTOFF": 1},
        project="demo",
    )
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "drain", fresh_host, "--wait", "300", "-f", "json"
    )

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert len(rows) == 6
    how = {"ACTIVE": "live", "PAUSED": "live", "SHUTOFF": "cold"}
    final = {"live": "completed", "cold": "confirmed"}
    for group in (admin, demo):
        for state, servers in group.items():
            for server in servers:
                row = rows[server["id"]]
                now = nova.server(server["id"])
                assert row["Result"] == "verified", row
                assert row["Method"] == how[state]
                assert row["Migration Status"] == final[how[state]]
                assert row["Status Before"] == row["Status After"] == state
                assert now["status"] == state
                assert row["Destination"] == now[HOST] != fresh_host
    service = nova.service(fresh_host)
    assert (service["status"], service["state"]) == ("disabled", "up")
    assert (
        service["disabled_reason"] == "osc-evacuate: draining for maintenance"
    )
    assert len(moves(sandbox)) == 6

    sandbox.reset_requests()
    proc = run_openstack(
        "host", "drain", fresh_host, "--wait", "60", "-f", "json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
    assert proc.stderr == f"No servers on {fresh_host}: nothing to do.\n"
    assert moves(sandbox) == []


@promise(NEVER_TWICE)
def test_a_rerun_waits_for_migrations_under_way_and_sends_none(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    boot_servers(3, host=fresh_host)
    first = openstack_json("host", "drain", fresh_host)
    assert {r["Result"] for r in first} == {"submitted"}
    sandbox.reset_requests()

    again = openstack_json("host", "drain", fresh_host, "--wait", "120")

    # What moved already is gone from the host; the rest is waited for.
    assert {r["Result"] for r in again} <= {"verified"}
    assert {r["Action"] for r in again} <= {"resumed"}
    assert moves(sandbox) == []


@promise(NEVER_HANG)
def test_a_dead_host_is_refused_naming_host_evacuate(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    boot_servers(1, host=fresh_host)
    sandbox.crash_compute(fresh_host, force_down=True)
    proc = run_openstack("host", "drain", fresh_host, "--wait", "60")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.strip().endswith(
        f"A dead host needs: openstack host evacuate {fresh_host}"
    )
    assert moves(sandbox) == []


def test_the_polling_cost_does_not_grow_with_servers(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    per_cycle = {}
    for count in (4, 24):
        host = new_compute()
        boot_servers(count, host=host)
        sandbox.reset_requests()
        rows = openstack_json("host", "drain", host, "--wait", "300")
        assert [r["Result"] for r in rows] == ["verified"] * count
        gets = gets_by_path(sandbox)
        cycles = gets["/v2.1/servers/detail (changes-since)"]
        records = gets["/v2.1/os-migrations"] + gets.get(
            "/v2.1/os-migrations (changes-since)", 0
        )
        # Each cycle: the servers poll and both kinds of record; the plan
        # read both once, and the final read the host once more.
        assert records == 2 * cycles + 2, gets
        assert not any("/servers/{id}" in path for path in gets), gets
        per_cycle[count] = (records - 2) / cycles
    assert per_cycle[4] == per_cycle[24] == 2


def test_the_plan_says_what_each_live_migration_risks_and_sends_nothing(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    (local,) = boot_servers(1, host=fresh_host)
    (drive,) = boot_servers(
        1, host=fresh_host, volume_backed=True, config_drive=True
    )
    (volume,) = boot_servers(1, host=fresh_host, volume_backed=True)
    sandbox.reset_requests()

    rows = by_id(openstack_json("host", "drain", fresh_host, "--dry-run"))

    assert {r["Action"] for r in rows.values()} == {"would submit"}
    assert {r["Method"] for r in rows.values()} == {"live"}
    assert gets_by_path(sandbox)["/v2.1/os-services"] == 1
    assert rows[local["id"]]["Risk"] == "local disk: copied by block migration"
    assert rows[drive["id"]]["Risk"] == (
        "config drive: its file is copied too (block migration) unless the "
        "instance storage is shared"
    )
    assert rows[volume["id"]]["Risk"] is None
    assert moves(sandbox) == []
    assert nova.service(fresh_host)["status"] == "enabled"
