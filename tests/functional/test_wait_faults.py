"""`--wait` under faults: stuck evacuations, polls Nova refuses or does not
answer, and a poll window on Nova's clock (issue 7, defects 4, 6 and 7).

Each test names the promise it checks: never evacuate what should not be,
never twice, never report what Nova's records do not prove, never hang.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable

import pytest

from osc_evacuate.commands.exit_codes import (
    EXIT_FAILED,
    EXIT_NOT_PROVEN,
    EXIT_OK,
)
from osc_evacuate.core.clock import POLL_OVERLAP, parse_nova_time, utc_now
from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import (
    HOST,
    Boot,
    by_id,
    changes_since,
    crash,
    evacuate_posts,
    one_line,
    records_per_server,
    start_openstack,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

SERVERS_POLL = {
    "method": "GET",
    "path": r"/servers/detail$",
    "query": "changes-since",
}


def at_most_one_line(stderr: str) -> None:
    """Rows say what failed; stderr has no traceback, one line at most."""
    assert "Traceback" not in stderr, stderr
    assert len(stderr.strip().splitlines()) <= 1, stderr


def test_a_dead_destination_is_reported_stuck_then_evacuated_anew(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Never hang, never report what Nova's records do not prove, never
    twice: a destination that dies mid-rebuild ends a plain --wait with
    rows "stuck" saying what to do; a rerun says so at once and sends
    nothing, without a poll window reaching back to the old records; once
    the operator resets the servers, a rerun evacuates each exactly once
    more."""
    source, target = new_compute(), new_compute()
    servers = boot_servers(2, host=source)
    ids = [s["id"] for s in servers]
    crash(sandbox, source)
    sandbox.slow_spawn(600, host=target)
    sandbox.reset_requests()

    stuck_when_the_destination_dies(sandbox, nova, source, target, ids)
    a_rerun_is_stuck_at_once(sandbox, nova, run_openstack, source, ids)
    reset_they_are_evacuated_once_more(
        sandbox, nova, run_openstack, (source, target), ids
    )


def stuck_when_the_destination_dies(
    sandbox: Sandbox, nova: NovaAPI, source: str, target: str, ids: list[str]
) -> None:
    """1. The destination dies while it rebuilds them: stuck, found out by
    reading its service, not by a timeout."""
    proc = start_openstack(
        sandbox, "host", "evacuate", source, "--target-host", target, "--wait"
    )
    for sid in ids:
        nova.wait_for_migration(sid, "pre-migrating", timeout=60)
    time.sleep(1)
    sandbox.crash_compute(target, force_down=True)
    crashed = time.monotonic()
    out, err = proc.communicate(timeout=180)

    assert proc.returncode == EXIT_FAILED, err
    assert time.monotonic() - crashed < 90
    at_most_one_line(err)
    rows = by_id(json.loads(out))
    assert sorted(rows) == sorted(ids)
    for sid, row in rows.items():
        assert row["Action"] == "submitted"
        assert row["Result"] == "stuck"
        assert row["Migration Status"] == "pre-migrating"
        assert f"to {target}, whose nova-compute is down" in row["Error"]
        assert f"fence {target}" in row["Error"]
        assert f"openstack server set --state error {sid}" in row["Error"]
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 1)


def a_rerun_is_stuck_at_once(
    sandbox: Sandbox,
    nova: NovaAPI,
    run_openstack: RunOpenstack,
    source: str,
    ids: list[str],
) -> None:
    """2. A rerun: stuck at once, nothing sent. Its polls look back from
    Nova's time of the rerun, not from the old records."""
    created = max(
        parse_nova_time(m["created_at"])
        for sid in ids
        for m in nova.migrations(instance_uuid=sid)
    )
    later = created + POLL_OVERLAP + datetime.timedelta(seconds=5)
    time.sleep(max(0.0, (later - utc_now()).total_seconds()))
    sandbox.reset_requests()
    rerun = utc_now()
    proc = run_openstack(
        "host", "evacuate", source, "--wait", "-f", "json", timeout=120
    )
    assert proc.returncode == EXIT_FAILED, proc.stderr
    at_most_one_line(proc.stderr)
    again = by_id(json.loads(proc.stdout))
    assert {r["Result"] for r in again.values()} == {"stuck"}
    assert {r["Action"] for r in again.values()} == {"resumed"}
    assert evacuate_posts(sandbox) == []
    windows = changes_since(sandbox)
    assert windows, "no servers poll"
    assert min(windows) > created
    assert min(windows) >= rerun - POLL_OVERLAP - datetime.timedelta(seconds=2)


def reset_they_are_evacuated_once_more(
    sandbox: Sandbox,
    nova: NovaAPI,
    run_openstack: RunOpenstack,
    dead: tuple[str, str],
    ids: list[str],
) -> None:
    """3. What the error says: fence (done), reset, run again. Each is
    evacuated once more, to neither dead host."""
    source, _ = dead
    for sid in ids:
        nova.reset_state(sid, "error")
    sandbox.reset_requests()
    proc = run_openstack(
        "host", "evacuate", source, "--wait", "120", "-f", "json"
    )
    assert proc.returncode == EXIT_OK, proc.stderr
    assert proc.stderr == ""
    final = by_id(json.loads(proc.stdout))
    for sid, row in final.items():
        now = nova.server(sid)
        assert row["Result"] == "verified", row
        assert row["Destination"] == now[HOST] not in dead
        assert row["Status After"] == now["status"] == "ACTIVE"
    posts = sorted(p["path"] for p in evacuate_posts(sandbox))
    assert posts == sorted(f"/v2.1/servers/{sid}/action" for sid in ids)
    # The stuck record, and the one that worked: none extra.
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 2)
    for sid in ids:
        statuses = sorted(
            m["status"] for m in nova.migrations(instance_uuid=sid)
        )
        assert statuses == ["done", "pre-migrating"]


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (401, "The request you have made requires authentication"),
        (403, ""),
        (400, ""),
    ],
)
def test_a_poll_nova_refuses_ends_the_wait_not_proven(
    status: int,
    says: str,
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Never hang, never report what Nova's records do not prove: a servers
    poll refused for good (an expired token, a policy, a page marker
    deleted with its server) ends a plain --wait at once; the rows say the
    evacuation was sent and is not proven, with Nova's answer."""
    servers = boot_servers(2, host=fresh_host)
    ids = [s["id"] for s in servers]
    crash(sandbox, fresh_host)
    sandbox.fail_requests(status, **SERVERS_POLL, count=None)
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "-f", "json", timeout=120
    )

    assert proc.returncode == EXIT_NOT_PROVEN, proc.stderr
    at_most_one_line(proc.stderr)
    rows = by_id(json.loads(proc.stdout))
    assert sorted(rows) == sorted(ids)
    for row in rows.values():
        assert row["Result"] == "not proven"
        assert row["Error"].startswith(
            "the wait cannot go on: Nova refused the poll: "
        )
        assert f"(HTTP {status})" in row["Error"]
        assert says in row["Error"]
        assert "the evacuation was sent" in row["Error"]
    # One servers poll: a refusal is not retried. But a 401 once: it is
    # how Nova refuses an expired token, so keystoneauth logs in again
    # and sends the poll once more (it is refused again).
    assert len(changes_since(sandbox)) == (2 if status == 401 else 1)
    assert len(evacuate_posts(sandbox)) == len(ids)
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 1)


def test_polls_nova_is_too_busy_to_answer_are_waited_out(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Never twice, never hang: 503s while polling are waited out; every
    server is verified and evacuated once."""
    servers = boot_servers(2, host=fresh_host)
    ids = [s["id"] for s in servers]
    crash(sandbox, fresh_host)
    sandbox.fail_requests(503, **SERVERS_POLL, count=6)
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )

    assert proc.returncode == EXIT_OK, proc.stderr
    assert proc.stderr == ""
    rows = by_id(json.loads(proc.stdout))
    assert {r["Result"] for r in rows.values()} == {"verified"}
    faulted = [e for e in sandbox.requests()["log"] if (e.get("fault") or {})]
    assert len(faulted) == 6
    assert len(evacuate_posts(sandbox)) == len(ids)
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 1)


def test_a_server_deleted_during_the_wait_ends_deleted(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
) -> None:
    """Never hang, never report what Nova's records do not prove: a server
    its owner deletes mid-rebuild ends "deleted" (its records go with it);
    the others are verified; each was sent once."""
    servers = boot_servers(3, host=fresh_host)
    ids = [s["id"] for s in servers]
    gone = ids[0]
    crash(sandbox, fresh_host)
    sandbox.slow_spawn(10)
    sandbox.reset_requests()
    proc = start_openstack(sandbox, "host", "evacuate", fresh_host, "--wait")
    nova.wait_for_migration(gone, "pre-migrating", timeout=60)
    nova.delete_server(gone)
    out, err = proc.communicate(timeout=180)

    assert proc.returncode == EXIT_OK, err
    assert err == ""
    rows = by_id(json.loads(out))
    assert rows[gone]["Result"] == "deleted"
    assert rows[gone]["Error"] == "deleted while it was being evacuated"
    for sid in ids[1:]:
        assert rows[sid]["Result"] == "verified"
    posts = sorted(p["path"] for p in evacuate_posts(sandbox))
    assert posts == sorted(f"/v2.1/servers/{sid}/action" for sid in ids)
    # Nova soft-deletes the records with the server.
    assert records_per_server(nova, ids) == {
        sid: 0 if sid == gone else 1 for sid in ids
    }


def test_a_target_host_in_a_down_cell_is_refused(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Never evacuate what should not be: a nova-compute Nova lists from a
    cell that is down (no id, status UNKNOWN) is never taken for up, so it
    is refused as a target, in one line, with nothing sent (it crashed the
    command with 'id' before)."""
    (server,) = boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    sandbox.set_cell_down(True)
    try:
        proc = run_openstack(
            "host", "evacuate", fresh_host, "--target-host", "compute01"
        )
    finally:
        sandbox.set_cell_down(False)

    assert proc.returncode == 1
    assert proc.stdout == ""
    line = one_line(proc.stderr)
    # The sandbox has one cell: the source is in it too, and is refused
    # first, since nobody can tell whether it is down.
    assert line == (
        f"nova-compute on {fresh_host} is in a cell Nova cannot reach "
        "(state unknown), so Nova cannot tell whether the host is down; "
        "evacuate once its cell is back"
    )
    assert evacuate_posts(sandbox) == []
    assert records_per_server(nova, [server["id"]]) == {server["id"]: 0}
