"""host drain when live migrations go wrong, Nova's own code failing
them: a failure fails the drain saying why (exit 3), --cold-fallback
moves the server cold instead and proves it, and Ctrl-C aborts the live
migrations under way and exits at once."""

from __future__ import annotations

import json
import signal
import time
from typing import Any

import pytest

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    HOST,
    NEVER_HANG,
    NEVER_UNPROVEN,
    Boot,
    by_id,
    start_openstack,
)
from tests.functional.test_drain import moves
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI, wait_for

promise = pytest.mark.promise
LIVE = "live-migration"
EXIT_FAILED = 3


def live_records(nova: NovaAPI, host: str) -> list[dict[str, Any]]:
    return nova.migrations(source_compute=host, migration_type=LIVE)


@promise(NEVER_UNPROVEN)
def test_a_failed_live_migration_fails_the_drain_saying_why(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = boot_servers(2, host=fresh_host)
    sandbox.fail_live_migrations(fresh_host, count=None)
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "drain", fresh_host, "--wait", "120", "-f", "json"
    )

    assert proc.returncode == EXIT_FAILED, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    records = {r["instance_uuid"]: r for r in live_records(nova, fresh_host)}
    for server in servers:
        row, record = rows[server["id"]], records[server["id"]]
        assert record["status"] == "failed"
        assert row["Result"] == "failed"
        assert row["Migration Status"] == "failed"
        assert f"live migration {record['id']} failed" in row["Error"]
        now = nova.server(server["id"])
        assert (now[HOST], now["status"]) == (fresh_host, "ACTIVE")
    assert f"{fresh_host} not empty: 2 server(s) still on it" in proc.stderr
    # No retry was asked for: one request each.
    assert len(moves(sandbox)) == 2


@promise(NEVER_UNPROVEN)
def test_cold_fallback_moves_what_fails_live_and_proves_it(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    (server,) = boot_servers(1, host=fresh_host)
    sandbox.fail_live_migrations(fresh_host, count=None)

    (row,) = openstack_json(
        "host", "drain", fresh_host, "--wait", "180", "--cold-fallback"
    )

    (failed,) = live_records(nova, fresh_host)
    (cold,) = nova.migrations(
        source_compute=fresh_host, migration_type="migration"
    )
    assert (failed["status"], cold["status"]) == ("failed", "confirmed")
    assert row["Result"] == "verified", row
    assert row["Method"] == (
        f"cold, after live migration {failed['id']} failed: stopped and "
        "started again"
    )
    assert row["Migration Status"] == "confirmed"
    now = nova.server(server["id"])
    assert now["status"] == row["Status After"] == "ACTIVE"
    assert now[HOST] == row["Destination"] == cold["dest_compute"]
    assert now[HOST] != fresh_host


@promise(NEVER_HANG)
def test_ctrl_c_aborts_the_live_migrations_under_way(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    """Never hang: Ctrl-C mid-drain exits 130 within seconds, and no
    live migration is left running or queued behind it; a rerun then
    drains the host."""
    servers = boot_servers(2, host=fresh_host)
    ids = {s["id"] for s in servers}
    # Each live migration from the host stays running for ten minutes
    # (and the sandbox runs one at a time: the other waits queued).
    sandbox.slow_live_migration(600, host=fresh_host)
    proc = start_openstack(sandbox, "host", "drain", fresh_host, "--wait")
    wait_for(
        "a live migration running, the other queued",
        lambda: (
            {r["status"] for r in live_records(nova, fresh_host)}
            == {"running", "queued"}
            or None
        ),
        60,
    )
    time.sleep(3)  # a poll has read them

    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    seconds = time.monotonic() - sent

    assert proc.returncode == 130, err
    assert seconds < 8
    assert "Traceback" not in err
    rows = json.loads(out)
    assert {r["ID"] for r in rows} == ids
    assert all("abort" in r["Error"] for r in rows), rows
    wait_for(
        "every live migration cancelled",
        lambda: (
            {r["status"] for r in live_records(nova, fresh_host)}
            == {"cancelled"}
            or None
        ),
        30,
    )
    for server in servers:
        now = nova.server(server["id"])
        assert (now[HOST], now["status"]) == (fresh_host, "ACTIVE")

    sandbox.reset_faults()
    again = openstack_json("host", "drain", fresh_host, "--wait", "180")
    assert {r["ID"] for r in again} == ids
    assert {r["Result"] for r in again} == {"verified"}


@promise(NEVER_UNPROVEN)
def test_a_live_migration_refused_outright_falls_back_cold(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    """Before 2.34 Nova's pre-checks answer os-migrateLive with 400: the
    drain fails saying so; with --cold-fallback the server moves cold."""
    (server,) = boot_servers(1, host=fresh_host)
    sandbox.fail_live_migrations(fresh_host, count=None, stage="pre-check")
    pinned = ("--os-compute-api-version", "2.29")

    proc = run_openstack(
        *pinned, "host", "drain", fresh_host, "--wait", "60", "-f", "json"
    )

    assert proc.returncode == EXIT_FAILED, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert (row["Result"], row["Method"]) == ("failed", "live")
    # Every destination's pre-check fails: no valid host, in Nova's words.
    assert row["Error"].startswith("No valid host was found.")
    assert "(HTTP 400)" in row["Error"]
    # Nova kept a record of it, in error; the server never left.
    assert [r["status"] for r in live_records(nova, fresh_host)] == ["error"]

    (row,) = openstack_json(
        *pinned,
        "host",
        "drain",
        fresh_host,
        "--wait",
        "180",
        "--cold-fallback",
    )

    assert row["Result"] == "verified", row
    assert row["Method"].startswith(
        "cold, after live migration refused: No valid host was found."
    )
    assert row["Method"].endswith(": stopped and started again")
    now = nova.server(server["id"])
    assert now["status"] == row["Status After"] == "ACTIVE"
    assert now[HOST] == row["Destination"] != fresh_host
