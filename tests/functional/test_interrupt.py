"""Ctrl-C: no request after it, the rows known so far, exit 130, and a
rerun that finishes with one evacuation record per server."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from typing import Any

from tests.functional.conftest import OpenstackJson
from tests.functional.scenario import (
    Boot,
    crash,
    evacuate_posts,
    records_per_server,
    start_openstack,
)
from tests.sandbox.client import EVACUATE_POSTS, Sandbox
from tests.sandbox.rest import NovaAPI, wait_for


def interrupt(proc: subprocess.Popen[str]) -> tuple[float, str, str]:
    """Ctrl-C; seconds until the command exited, its stdout and stderr."""
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    return time.monotonic() - sent, out, err


def finish_with_rerun(
    sandbox: Sandbox,
    nova: NovaAPI,
    host: str,
    servers: list[dict[str, Any]],
    openstack_json: OpenstackJson,
) -> None:
    sandbox.reset_faults()
    rows = openstack_json("host", "evacuate", host, "--wait", "120")
    ids = [s["id"] for s in servers]
    assert sorted(r["ID"] for r in rows) == sorted(ids)
    assert {r["Result"] for r in rows} <= {"verified", "already evacuated"}
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 1)


def test_ctrl_c_during_submission_sends_nothing_more(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    """Never hang, never twice: Ctrl-C while evacuate requests go out one
    at a time stops the rest at once; a rerun sends each remaining one."""
    servers = boot_servers(6, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    # Each evacuate request takes 3 s to reach Nova.
    sandbox.delay_requests(3, **{**EVACUATE_POSTS, "count": None})
    proc = start_openstack(
        sandbox, "host", "evacuate", fresh_host, "--max-parallel", "1"
    )
    wait_for(
        "the first evacuate request",
        lambda: evacuate_posts(sandbox) or None,
        60,
    )

    seconds, out, err = interrupt(proc)

    assert proc.returncode == 130, err
    assert seconds < 2.5
    assert "Traceback" not in err
    rows = json.loads(out)
    assert sorted(r["ID"] for r in rows) == sorted(s["id"] for s in servers)
    results = [r["Result"] for r in rows]
    assert results.count("interrupted") >= 5
    assert all(r["Error"] for r in rows if r["Result"] == "interrupted")
    time.sleep(4)  # the request on the wire may land; none follows it
    assert len(evacuate_posts(sandbox)) == 1
    finish_with_rerun(sandbox, nova, fresh_host, servers, openstack_json)


def test_ctrl_c_during_the_wait_then_a_rerun_finishes(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    """Never hang, never twice: Ctrl-C while waiting reports what was
    submitted; a rerun waits for those evacuations and posts nothing."""
    failed = new_compute()
    servers = boot_servers(3, host=failed)
    crash(sandbox, failed)
    sandbox.slow_spawn(600)  # the rebuilds hang on their destinations
    proc = start_openstack(sandbox, "host", "evacuate", failed, "--wait")
    for server in servers:
        nova.wait_for_migration(server["id"], "pre-migrating")
    sandbox.reset_requests()

    seconds, out, err = interrupt(proc)

    assert proc.returncode == 130, err
    assert seconds < 2.5
    assert "Traceback" not in err
    rows = json.loads(out)
    assert {r["Result"] for r in rows} == {"submitted"}
    assert all("interrupted" in r["Error"] for r in rows)
    finish_with_rerun(sandbox, nova, failed, servers, openstack_json)
    assert evacuate_posts(sandbox) == []


def test_a_rerun_right_after_ctrl_c_never_evacuates_twice(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    """Never twice: Ctrl-C while an evacuate request is held on its way
    (a slow proxy), then the same command at once. The held request lands
    after the rerun planned; the rerun waits for it rather than send a
    second one, and proves it. Ten times over."""
    for _ in range(10):
        host = new_compute()
        servers = boot_servers(2, host=host)
        crash(sandbox, host)
        sandbox.reset_requests()
        # The first evacuate request takes 8 s to reach Nova: the rerun
        # plans while it is still held (the rerun's own go straight).
        sandbox.reset_faults()
        sandbox.delay_requests(8, **{**EVACUATE_POSTS, "count": 1})
        proc = start_openstack(sandbox, "host", "evacuate", host, "--wait")
        wait_for(
            "the first evacuate request",
            lambda: evacuate_posts(sandbox) or None,
            60,
        )

        seconds, _, err = interrupt(proc)

        assert proc.returncode == 130, err
        assert seconds < 2.5
        assert "were on their way" in err
        assert "never sends those servers a second evacuation" in err
        rows = openstack_json("host", "evacuate", host, "--wait", "120")
        ids = [s["id"] for s in servers]
        assert sorted(r["ID"] for r in rows) == sorted(ids)
        assert {r["Result"] for r in rows} <= {"verified", "already evacuated"}
        assert records_per_server(nova, ids) == dict.fromkeys(ids, 1)
        # One request per server in all: the held one was waited for,
        # never followed by a second while it could still land.
        posts = [p["path"] for p in evacuate_posts(sandbox)]
        assert sorted(posts) == sorted(
            f"/v2.1/servers/{i}/action" for i in ids
        )
        # Done with it: a host down and enabled counts for the guard.
        nova.disable_service(host, "test: evacuated")
