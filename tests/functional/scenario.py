"""Building blocks for the plugin's functional tests: servers in given
states on a host, a crash, and what the sandbox saw on the wire."""

from __future__ import annotations

import datetime
import json
import re
import subprocess
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from osc_evacuate.core.clock import parse_nova_time
from tests.functional.conftest import OPENSTACK, RunOpenstack
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

Boot = Callable[..., list[dict[str, Any]]]
HOST = "OS-EXT-SRV-ATTR:host"
_ACTION = re.compile(r"/servers/[0-9a-f-]{36}/action$")


def servers_in_states(
    boot: Boot,
    nova: NovaAPI,
    host: str,
    states: dict[str, int],
    project: str = "admin",
) -> dict[str, list[dict[str, Any]]]:
    """Boot servers on host and bring them to ACTIVE, SHUTOFF, ERROR,
    PAUSED or SUSPENDED, as many of each as states says."""
    total = sum(states.values())
    booted = iter(boot(total, host=host, project=project))
    out: dict[str, list[dict[str, Any]]] = {}
    for state, count in states.items():
        servers = [next(booted) for _ in range(count)]
        for server in servers:
            if state == "SHUTOFF":
                nova.stop_server(server["id"])
            elif state == "PAUSED":
                nova.pause_server(server["id"])
            elif state == "SUSPENDED":
                nova.suspend_server(server["id"])
            elif state == "ERROR":
                nova.reset_state(server["id"], "error")
        out[state] = servers
    return out


def crash(sandbox: Sandbox, host: str) -> None:
    """Kill the host's nova-compute and mark it down, as an operator
    does once the host is fenced."""
    sandbox.crash_compute(host, force_down=True)


def evacuate_posts(sandbox: Sandbox) -> list[dict[str, Any]]:
    """Every evacuate request the sandbox served since the last reset."""
    return [
        entry
        for entry in sandbox.requests()["log"]
        if entry["method"] == "POST"
        and _ACTION.search(entry["path"])
        and isinstance(entry.get("body"), dict)
        and "evacuate" in entry["body"]
    ]


def by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["ID"]: row for row in rows}


def ids(servers: list[dict[str, Any]]) -> set[str]:
    return {s["id"] for s in servers}


def records_per_server(nova: NovaAPI, server_ids: list[str]) -> dict[str, int]:
    """How many evacuation records Nova holds for each server."""
    return {sid: len(nova.migrations(instance_uuid=sid)) for sid in server_ids}


def one_line(stderr: str) -> str:
    """The one line a refused command prints: no traceback, no usage."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert "Traceback" not in stderr
    return lines[0]


# The four promises; every matrix case names the one it checks.
NEVER_WRONG_SERVER = "never evacuate a server that should not be"
NEVER_TWICE = "never evacuate one twice"
NEVER_UNPROVEN = "never report a result that Nova's records do not prove"
NEVER_HANG = "never hang"


def check(
    proc: subprocess.CompletedProcess[str],
    code: int,
    nova: NovaAPI,
    records: dict[str, int],
    line: str | None = None,
) -> Any:
    """What every case asserts: the exit code; a refusal's one clear line
    (no traceback) and empty stdout, or else valid JSON on stdout; and
    exactly ``records`` evacuation records per server, none extra."""
    assert proc.returncode == code, (
        f"exit {proc.returncode}, expected {code}\n"
        f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
    )
    assert "Traceback" not in proc.stderr
    shown = None
    if code in (1, 2):
        assert proc.stdout == ""
        said = one_line(proc.stderr)
        if line is not None:
            assert line in said, said
    else:
        shown = json.loads(proc.stdout)
        if line is not None:
            assert line in proc.stdout + proc.stderr
    assert records_per_server(nova, list(records)) == records
    return shown


def start_openstack(sandbox: Sandbox, *args: str) -> subprocess.Popen[str]:
    """The real CLI in the background, -f json, for a test to act on
    while it runs (Ctrl-C, a crash, a deletion)."""
    return subprocess.Popen(
        [str(OPENSTACK), *args, "-f", "json"],
        env=sandbox.cli_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def gets_by_path(sandbox: Sandbox) -> dict[str, int]:
    """GET requests the sandbox served, by path (ids folded), with those
    that carry changes-since (the polls) counted apart."""
    counts: dict[str, int] = {}
    for entry in sandbox.requests()["log"]:
        if entry["method"] != "GET":
            continue
        key = re.sub(r"[0-9a-f-]{36}", "{id}", entry["path"])
        if "changes-since" in (entry.get("query") or ""):
            key += " (changes-since)"
        counts[key] = counts.get(key, 0) + 1
    return counts


def changes_since(sandbox: Sandbox) -> list[datetime.datetime]:
    """The changes-since of each servers poll, in the order sent."""
    found = []
    for entry in sandbox.requests()["log"]:
        if entry["method"] != "GET" or not entry["path"].endswith(
            "/servers/detail"
        ):
            continue
        since = parse_qs(entry.get("query") or "").get("changes-since")
        if since:
            found.append(parse_nova_time(since[0]))
    return found


def evacuation_show(
    run_openstack: RunOpenstack, host: str
) -> tuple[int, dict[str, Any]]:
    """host evacuation show's exit code and its JSON; nothing on stderr."""
    proc = run_openstack("host", "evacuation", "show", host, "-f", "json")
    assert proc.stderr == ""
    state: dict[str, Any] = json.loads(proc.stdout)
    return proc.returncode, state


def refused_finish(
    run_openstack: RunOpenstack, host: str, *options: str
) -> str:
    """finish refused because the host must not return yet: exit 6, one
    line on stderr (returned), nothing on stdout."""
    proc = run_openstack("host", "evacuation", "finish", host, *options)
    assert proc.returncode == 6, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    return one_line(proc.stderr)
