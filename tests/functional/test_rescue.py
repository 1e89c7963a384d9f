"""--rescue on the real Nova: servers its host died under mid-task (a
stop, a start, never answered) or in a state Nova will not evacuate
(paused) are skipped without it, the plan saying --rescue would take
them; with it, each is reset to error, evacuated, proven, and put back
as it was where that means something."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    NEVER_UNPROVEN,
    Boot,
    by_id,
    crash,
    evacuate_posts,
    servers_in_states,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI, wait_for

promise = pytest.mark.promise
HOST = "OS-EXT-SRV-ATTR:host"
TASK = "OS-EXT-STS:task_state"


def stuck_servers(
    sandbox: Sandbox, nova: NovaAPI, host: str, boot: Boot
) -> dict[str, dict[str, Any]]:
    """On a host that dies: one ACTIVE and one ERROR server whose stop,
    and one SHUTOFF server whose start, its nova-compute never carried
    out (their task_state stays set), and a PAUSED one."""
    states = servers_in_states(
        boot, nova, host, {"ACTIVE": 1, "ERROR": 1, "SHUTOFF": 1, "PAUSED": 1}
    )
    crash(sandbox, host)
    stuck = {state: servers[0] for state, servers in states.items()}
    nova.stop_server(stuck["ACTIVE"]["id"], wait=False)
    nova.stop_server(stuck["ERROR"]["id"], wait=False)
    nova.start_server(stuck["SHUTOFF"]["id"], wait=False)
    for state in ("ACTIVE", "ERROR", "SHUTOFF"):
        wait_for(
            f"{state} server's task stuck", task_of(nova, stuck[state]), 30
        )
    return stuck


def task_of(nova: NovaAPI, server: dict[str, Any]) -> Callable[[], str | None]:
    """A probe: the server's task_state, once it has one."""
    return lambda: nova.server(server["id"])[TASK] or None


@promise(NEVER_UNPROVEN)
def test_stuck_servers_are_rescued_and_put_back_as_they_were(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    stuck = stuck_servers(sandbox, nova, fresh_host, boot_servers)
    ids = {state: s["id"] for state, s in stuck.items()}
    sandbox.reset_requests()

    without = by_id(
        openstack_json("host", "evacuate", fresh_host, "--dry-run")
    )
    assert {r["Action"] for r in without.values()} == {"skipped"}
    for row in without.values():
        assert row["Error"].endswith("; --rescue would take it"), row
    plan = by_id(
        openstack_json("host", "evacuate", fresh_host, "--rescue", "--dry-run")
    )
    assert {r["Action"] for r in plan.values()} == {"would rescue"}
    assert plan[ids["PAUSED"]]["Rescue"] == (
        "would reset to error from PAUSED (vm_state paused)"
    )
    assert evacuate_posts(sandbox) == []

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--rescue", "--wait", "180",
        "-f", "json",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert {r["Result"] for r in rows.values()} == {"verified"}
    assert {r["Action"] for r in rows.values()} == {"rescued"}
    # Stopped stays stopped, error goes back to error, the rest runs.
    ends = {"ACTIVE": "ACTIVE", "PAUSED": "ACTIVE", "SHUTOFF": "SHUTOFF"}
    for state, status in ends.items():
        now = nova.server(ids[state])
        assert (now["status"], now[TASK]) == (status, None), state
        assert now[HOST] != fresh_host
        assert rows[ids[state]]["Rescue"].endswith(f"; ends {status}")
    error = nova.server(ids["ERROR"])
    assert (error["status"], error[HOST] != fresh_host) == ("ERROR", True)
    assert rows[ids["ERROR"]]["Rescue"].endswith(
        "; evacuated, then put back in error"
    )
    posted = {p["path"].split("/")[-2] for p in evacuate_posts(sandbox)}
    assert posted == set(ids.values())
