"""Reruns and single-server reruns report the truth of each server now.

Each test names the promise it checks: never evacuate a server that should
not be, never evacuate one twice, never report a result that Nova's
records do not prove.
"""

from __future__ import annotations

import json

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    HOST,
    Boot,
    by_id,
    crash,
    evacuate_posts,
    one_line,
    records_per_server,
    servers_in_states,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI


def test_rerun_after_the_host_is_disabled_still_knows_its_servers(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    """Never twice, never wrong: disabling the failed host (it moves its
    service's updated_at) does not make a rerun forget what it did."""
    servers = servers_in_states(
        boot_servers, nova, fresh_host, {"ACTIVE": 2, "SHUTOFF": 1}
    )
    crash(sandbox, fresh_host)
    first = openstack_json("host", "evacuate", fresh_host, "--wait", "120")
    assert {r["Result"] for r in first} == {"verified"}
    nova.disable_service(fresh_host, "failed: evacuated")
    sandbox.reset_requests()

    again = openstack_json("host", "evacuate", fresh_host, "--wait", "120")

    assert by_id(again).keys() == by_id(first).keys()
    assert {r["Result"] for r in again} == {"already evacuated"}
    assert evacuate_posts(sandbox) == []
    ids = [s["id"] for group in servers.values() for s in group]
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 1)


def test_rerun_reports_a_server_that_failed_after_landing(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    """Never wrong: a server that landed and then went ERROR is not
    "already evacuated" on a rerun, and is not evacuated again."""
    good, bad = boot_servers(2, host=fresh_host)
    crash(sandbox, fresh_host)
    openstack_json("host", "evacuate", fresh_host, "--wait", "120")
    nova.reset_state(bad["id"], "error")
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )

    assert proc.returncode == 3, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert rows[good["id"]]["Result"] == "already evacuated"
    assert rows[bad["id"]]["Result"] == "failed"
    assert rows[bad["id"]]["Status After"] == "ERROR"
    assert "ERROR" in rows[bad["id"]]["Error"]
    assert evacuate_posts(sandbox) == []
    assert records_per_server(nova, [good["id"], bad["id"]]) == {
        good["id"]: 1,
        bad["id"]: 1,
    }


def test_server_evacuate_recognises_a_completed_evacuation(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    """Never twice, and no harmful advice: the server's host is now the
    healthy destination, so "fence it and force it down" would be wrong."""
    (server,) = boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    openstack_json("server", "evacuate", server["id"], "--wait", "120")
    landed = nova.server(server["id"])[HOST]
    sandbox.reset_requests()

    proc = run_openstack("server", "evacuate", server["id"], "-f", "json")

    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["Result"] == "already evacuated"
    assert shown["Source Host"] == fresh_host
    assert shown["Host"] == landed
    assert "force" not in proc.stderr and "fence" not in proc.stderr
    assert evacuate_posts(sandbox) == []
    assert records_per_server(nova, [server["id"]]) == {server["id"]: 1}


def test_servers_nova_would_refuse_are_skipped_with_the_reason(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Never evacuate a server that should not be: one with an operation
    in progress fails in Nova with a 500 (UnexpectedTaskStateError)."""
    busy, plain = boot_servers(2, host=fresh_host)
    # The compute dies; Nova still thinks it up and accepts a reboot,
    # which nothing will ever carry out: task_state stays rebooting.
    sandbox.crash_compute(fresh_host)
    nova.action(busy["id"], "reboot", {"type": "SOFT"})
    nova.force_down(fresh_host)
    sandbox.reset_requests()

    proc = run_openstack("host", "evacuate", fresh_host, "-f", "json")

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert rows[busy["id"]]["Result"] == "skipped"
    assert "task_state rebooting" in rows[busy["id"]]["Error"]
    assert rows[plain["id"]]["Result"] == "submitted"
    posted = {p["path"] for p in evacuate_posts(sandbox)}
    assert posted == {f"/v2.1/servers/{plain['id']}/action"}

    proc = run_openstack("server", "evacuate", busy["id"], "-f", "json")

    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "task_state rebooting" in one_line(proc.stderr)
    assert nova.migrations(instance_uuid=busy["id"]) == []
