"""Fencing: a host Nova reads down by its heartbeat alone is evacuated only
once it is known fenced (--fence-command and --fence-check, --fenced, or
--force-down); a fence that fails sends nothing."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import (
    NEVER_WRONG_SERVER,
    Boot,
    by_id,
    evacuate_posts,
    one_line,
    records_per_server,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

promise = pytest.mark.promise
AGENT = Path(__file__).resolve().parents[1] / "sandbox" / "fence.py"


def agent(sandbox: Sandbox, action: str) -> str:
    """The sandbox's fence agent as a command, fence-agents' style."""
    return (
        shlex.join(
            [sys.executable, str(AGENT), "--url", sandbox.url, "-o", action]
        )
        + " -n {host}"
    )


def silent_host(
    sandbox: Sandbox, nova: NovaAPI, host: str, boot: Boot, count: int
) -> list[str]:
    """Servers on a host whose nova-compute stopped and that Nova now
    reads down by its heartbeat, not forced down."""
    ids = [s["id"] for s in boot(count, host=host)]
    sandbox.crash_compute(host)
    service = nova.wait_for_service_state(host, "down", timeout=60)
    assert service["forced_down"] is False
    sandbox.reset_requests()
    return ids


@promise(NEVER_WRONG_SERVER)
def test_a_host_down_by_its_heartbeat_alone_is_not_evacuated_unfenced(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    ids = silent_host(sandbox, nova, fresh_host, boot_servers, 2)
    evacuate = ("host", "evacuate", fresh_host, "--wait", "60")

    proc = run_openstack(*evacuate, "-f", "json")
    assert proc.returncode == 1 and proc.stdout == ""
    said = one_line(proc.stderr)
    for option in ("--fence-command", "--fenced", "--force-down"):
        assert option in said, said
    assert f"{fresh_host} is down by its heartbeat alone" in said

    plan = run_openstack(*evacuate, "--dry-run", "-f", "json")
    assert plan.returncode == 1
    rows = json.loads(plan.stdout)
    assert {r["Fencing"] for r in rows} == {
        "not fenced: down by its heartbeat only"
    }
    assert plan.stderr.startswith("A run would refuse: nova-compute on")

    failing = run_openstack(
        *evacuate, "--fence-command", "false", "-f", "json"
    )
    assert failing.returncode == 1 and failing.stdout == ""
    assert failing.stderr.splitlines()[-1].endswith(
        f"--fence-command failed for {fresh_host} (exit 1): it is not known "
        "fenced, so nothing was sent"
    )

    still_on = run_openstack(
        *evacuate,
        "--fence-command",
        "true",
        "--fence-check",
        "sh -c 'echo Status: ON'",
        "-f",
        "json",
    )
    assert still_on.returncode == 1 and still_on.stdout == ""
    assert "Status: ON" in still_on.stderr
    assert still_on.stderr.splitlines()[-1].endswith(
        f"--fence-check says {fresh_host} is on (exit 0; off is exit 2, "
        "fence-agents' -o status convention): nothing was sent"
    )

    assert evacuate_posts(sandbox) == []
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 0)


@promise(NEVER_WRONG_SERVER)
def test_a_host_fenced_by_command_or_by_the_operator_is_evacuated(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    first, second = silent_host(sandbox, nova, fresh_host, boot_servers, 2)
    common = ("host", "evacuate", fresh_host, "--wait", "120", "-f", "json")

    plan = run_openstack(
        *common,
        "--dry-run",
        "--fence-command",
        agent(sandbox, "off"),
        "--fence-check",
        agent(sandbox, "status"),
    )
    assert plan.returncode == 0, plan.stderr
    assert {r["Fencing"] for r in json.loads(plan.stdout)} == {
        "would run --fence-command, then --fence-check"
    }
    assert "Powered" not in plan.stderr  # a dry run fences nothing

    proc = run_openstack(
        *common,
        "--server",
        first,
        "--fence-command",
        agent(sandbox, "off"),
        "--fence-check",
        agent(sandbox, "status"),
    )
    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))  # the agents' words: stderr only
    assert rows[first]["Result"] == "verified"
    assert rows[first]["Fencing"] == (
        "fenced by --fence-command, --fence-check says off"
    )
    assert "Success: Powered OFF" in proc.stderr
    assert "Status: OFF" in proc.stderr
    assert nova.service(fresh_host)["forced_down"] is False

    said = run_openstack(*common, "--fenced")
    assert said.returncode == 0, said.stderr
    rows = by_id(json.loads(said.stdout))
    assert rows[second]["Result"] == "verified"
    assert rows[second]["Fencing"] == "fenced, says the operator (--fenced)"
    assert records_per_server(nova, [first, second]) == {first: 1, second: 1}
