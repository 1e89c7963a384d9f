"""Never evacuate one twice: a second run on a host while the first runs.

Nova takes two evacuations of one server that arrive together: its
evacuate API checks the server's task_state, then saves it without
making the save conditional (nova/compute/api.py, evacuate:
``instance.save(expected_task_state=None)``; its other actions pass
``[None]``). Two runs on one host send the same servers in the same
order, so a second run started while the first is sending would rebuild
servers twice. On one machine, the second run refuses (host_lock.py).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import (
    NEVER_TWICE,
    Boot,
    by_id,
    check,
    crash,
    evacuate_posts,
    one_line,
    start_openstack,
)
from tests.sandbox.client import EVACUATE_POSTS, Sandbox
from tests.sandbox.rest import NovaAPI, wait_for

BUSY = "another osc-evacuate run on this machine"
LIVE = "live-migration"


def failed_host_with_slow_sends(
    sandbox: Sandbox, boot: Boot, host: str, count: int, hold: int | None
) -> list[str]:
    """``count`` servers on a crashed host; the next ``hold`` evacuate
    requests (None: every one) held 5 s before Nova sees them, so that
    a run is still sending while another starts. Their IDs."""
    ids = [s["id"] for s in boot(count, host=host)]
    crash(sandbox, host)
    sandbox.reset_requests()
    sandbox.delay_requests(5, **{**EVACUATE_POSTS, "count": hold})
    return ids


def live_moves(nova: NovaAPI, host: str) -> list[dict[str, Any]]:
    """The live migrations' records from the host."""
    return nova.migrations(source_compute=host, migration_type=LIVE)


def wait_for_posts(sandbox: Sandbox, count: int) -> None:
    wait_for(
        f"{count} evacuate request(s)",
        lambda: len(evacuate_posts(sandbox)) >= count or None,
        60,
    )


@pytest.mark.promise(NEVER_TWICE)
def test_a_second_run_refuses_while_the_first_is_sending(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    ids = failed_host_with_slow_sends(
        sandbox, boot_servers, fresh_host, 3, None
    )
    first = start_openstack(
        sandbox, "host", "evacuate", fresh_host, "--wait", "120"
    )
    wait_for_posts(sandbox, 1)

    second = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )
    one = run_openstack("server", "evacuate", ids[-1], "-f", "json")
    dry = run_openstack(
        "host", "evacuate", fresh_host, "--dry-run", "-f", "json"
    )
    out, err = first.communicate(timeout=180)

    assert first.returncode == 0, err
    rows = by_id(json.loads(out))
    assert {r["Result"] for r in rows.values()} == {"verified"}
    for refused in (second, one):
        check(refused, 1, nova, dict.fromkeys(ids, 1), BUSY)
        said = one_line(refused.stderr)
        assert fresh_host in said and "run this again" in said
    # A dry run prints its plan, and says a run would refuse.
    assert dry.returncode == 1, dry.stderr
    assert len(json.loads(dry.stdout)) == 3
    assert one_line(dry.stderr).startswith(f"A run would refuse: {BUSY}")
    assert len(evacuate_posts(sandbox)) == 3


@pytest.mark.promise(NEVER_TWICE)
def test_the_host_is_free_again_once_the_run_ends(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """However it ends: a run killed outright leaves no lock behind."""
    ids = failed_host_with_slow_sends(sandbox, boot_servers, fresh_host, 2, 1)
    first = start_openstack(
        sandbox, "host", "evacuate", fresh_host, "--wait", "120"
    )
    wait_for_posts(sandbox, 1)
    first.kill()
    first.communicate(timeout=30)

    again = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )

    # The killed run's request is still held: the rerun waits for it
    # (journal.py) and sends the other server; each is evacuated once.
    rows: Any = check(again, 0, nova, dict.fromkeys(ids, 1))
    assert {r["Result"] for r in rows} == {"verified"}
    assert BUSY not in again.stderr


@pytest.mark.promise(NEVER_TWICE)
def test_runs_for_two_servers_of_a_host_go_on_side_by_side(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """server evacuate, one shell per server: each goes ahead; a second
    run for a server whose run is under way refuses."""
    ids = failed_host_with_slow_sends(
        sandbox, boot_servers, fresh_host, 2, None
    )
    runs = [
        start_openstack(sandbox, "server", "evacuate", sid, "--wait", "120")
        for sid in ids
    ]
    wait_for_posts(sandbox, 2)

    again = run_openstack("server", "evacuate", ids[0], "-f", "json")
    answers = [run.communicate(timeout=180) for run in runs]

    for run, (out, err) in zip(runs, answers, strict=True):
        assert run.returncode == 0, err
        assert json.loads(out)["Result"] == "verified"
    check(again, 1, nova, dict.fromkeys(ids, 1), BUSY)
    assert f"working on server {ids[0]}" in again.stderr
    assert len(evacuate_posts(sandbox)) == 2


@pytest.mark.promise(NEVER_TWICE)
def test_a_second_drain_refuses_while_the_first_moves_the_servers(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    ids = [s["id"] for s in boot_servers(2, host=fresh_host)]
    # Each live migration from the host stays running 6 s.
    sandbox.slow_live_migration(6, host=fresh_host)
    first = start_openstack(sandbox, "host", "drain", fresh_host, "--wait")
    wait_for(
        "a live migration under way",
        lambda: live_moves(nova, fresh_host) or None,
        60,
    )

    second = run_openstack("host", "drain", fresh_host, "--wait", "-f", "json")
    out, err = first.communicate(timeout=180)

    assert first.returncode == 0, err
    assert {r["Result"] for r in json.loads(out)} == {"verified"}
    assert (second.returncode, second.stdout) == (1, "")
    said = one_line(second.stderr)
    assert BUSY in said and f"working on host {fresh_host}" in said
    moved = [m["instance_uuid"] for m in live_moves(nova, fresh_host)]
    assert sorted(moved) == sorted(ids)
