"""The reliability matrix, part 2: faults, server states and older
clouds, through the real CLI on the sandbox. Its cases name and check
their promise as part 1's do (test_matrix_refusals.py says how).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.matrix import (
    crashed_host_with,
    evacuate_posts_of,
    none_for,
    one_each,
    posts_for,
    promise,
)
from tests.functional.scenario import (
    HOST,
    NEVER_HANG,
    NEVER_TWICE,
    NEVER_UNPROVEN,
    NEVER_WRONG_SERVER,
    Boot,
    by_id,
    check,
    crash,
    evacuate_posts,
    servers_in_states,
)
from tests.sandbox.client import Drop, Sandbox
from tests.sandbox.rest import NovaAPI

# -- Faults --


@promise(NEVER_TWICE)
def test_a_500_on_one_post_is_sent_again_once_nova_shows_no_record(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host, 2)
    hit = servers[0]["id"]
    sandbox.fail_requests(500, **evacuate_posts_of(hit), count=1)
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )
    rows = check(proc, 0, nova, one_each(servers))
    assert {r["Result"] for r in rows} == {"verified"}
    assert posts_for(sandbox, hit) == 2


@promise(NEVER_UNPROVEN)
def test_a_post_failing_for_good_fails_that_server_alone(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host, 2)
    hit, fine = servers[0]["id"], servers[1]["id"]
    sandbox.fail_requests(500, **evacuate_posts_of(hit), count=None)
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )
    rows = by_id(check(proc, 3, nova, {hit: 0, fine: 1}))
    assert rows[hit]["Result"] == "failed"
    assert "HTTP 500" in rows[hit]["Error"]
    assert rows[fine]["Result"] == "verified"


@promise(NEVER_TWICE)
@pytest.mark.parametrize("lost", [502, 504, "drop"])
def test_an_answer_lost_after_nova_acted_is_not_sent_again(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    lost: int | Drop,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host, 2)
    hit = servers[0]["id"]
    sandbox.lose_answers(lost, **evacuate_posts_of(hit))
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )
    rows = check(proc, 0, nova, one_each(servers))
    assert {r["Result"] for r in rows} == {"verified"}
    assert posts_for(sandbox, hit) == 1


@promise(NEVER_UNPROVEN)
def test_503s_while_polling_are_waited_out(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host, 2)
    # The plan's read goes through; the next three polls get 503s.
    sandbox.fail_requests(
        503, method="GET", path="/os-migrations", skip=1, count=3
    )
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )
    rows = check(proc, 0, nova, one_each(servers))
    assert {r["Result"] for r in rows} == {"verified"}
    faulted = [e for e in sandbox.requests()["log"] if e.get("fault")]
    assert [e["status"] for e in faulted] == [503, 503, 503]


@promise(NEVER_HANG)
def test_an_api_slower_than_the_wait_allows(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host, 2)
    sandbox.slow_spawn(60)
    sandbox.delay_requests(4, method="GET", path="/os-migrations", count=None)
    started = time.monotonic()
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "3", "-f", "json"
    )
    elapsed = time.monotonic() - started
    rows = check(proc, 4, nova, one_each(servers))
    assert {r["Result"] for r in rows} == {"timed out"}
    # The wait, plus at most the poll request already on its way.
    assert elapsed < 3 + 4 + 10

    # Nova catches up; a rerun after the timeout waits for the same
    # evacuations, sends nothing, and proves every one.
    sandbox.reset_faults()
    sandbox.reset_requests()
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )
    rows = check(proc, 0, nova, one_each(servers))
    assert {(r["Action"], r["Result"]) for r in rows} <= {
        ("resumed", "verified"),
        ("none", "already evacuated"),
    }
    assert evacuate_posts(sandbox) == []


# -- Server states --


@promise(NEVER_WRONG_SERVER)
def test_paused_and_suspended_servers_are_left_alone(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    states = servers_in_states(
        boot_servers, nova, fresh_host, {"PAUSED": 1, "SUSPENDED": 1}
    )
    crash(sandbox, fresh_host)
    left = states["PAUSED"] + states["SUSPENDED"]
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "60", "-f", "json"
    )
    rows = check(proc, 0, nova, none_for(left))
    assert {(r["Action"], r["Result"]) for r in rows} == {
        ("skipped", "skipped")
    }
    assert {r["Status Before"] for r in rows} == {"PAUSED", "SUSPENDED"}


@promise(NEVER_WRONG_SERVER)
def test_a_shelved_offloaded_server_is_on_no_host(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    shelved, running = boot_servers(2, host=fresh_host)
    nova.action(shelved["id"], "shelve")
    nova.wait_for_server(shelved["id"], "SHELVED_OFFLOADED")
    crash(sandbox, fresh_host)
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "60", "-f", "json"
    )
    records = {shelved["id"]: 0, running["id"]: 1}
    rows = check(proc, 0, nova, records)
    assert [r["ID"] for r in rows] == [running["id"]]
    proc = run_openstack("server", "evacuate", shelved["id"], "-f", "json")
    check(proc, 1, nova, records, "vm_state shelved_offloaded")


@promise(NEVER_UNPROVEN)
def test_an_error_server_is_rebuilt_active(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    states = servers_in_states(boot_servers, nova, fresh_host, {"ERROR": 1})
    crash(sandbox, fresh_host)
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )
    [row] = check(proc, 0, nova, one_each(states["ERROR"]))
    assert (row["Status Before"], row["Status After"]) == ("ERROR", "ACTIVE")
    assert row["Result"] == "verified"


@promise(NEVER_UNPROVEN)
def test_no_valid_host_fails_once_without_retries(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    only_host_up: Callable[[str], None],
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host, 2)
    only_host_up(fresh_host)
    # No host can take them: refused before any request...
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--yes", "--wait", "120"
    )
    check(proc, 1, nova, none_for(servers), "no compute can take them")
    # ...unless the operator insists; then Nova's NoValidHost, once each.
    # (--yes: the only compute left enabled is down, which the guard calls
    # a mass failure.)
    proc = run_openstack(
        "host",
        "evacuate",
        fresh_host,
        "--yes",
        "--ignore-capacity",
        "--wait",
        "120",
        "-f",
        "json",
    )
    rows = check(proc, 3, nova, one_each(servers))
    assert {r["Result"] for r in rows} == {"failed"}
    assert all("No valid host was found" in r["Error"] for r in rows)


# -- Older clouds --


@promise(NEVER_UNPROVEN)
def test_force_on_a_cloud_capped_at_2_60(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    failed, target = new_compute(), new_compute()
    servers = crashed_host_with(sandbox, boot_servers, failed, 2)
    sandbox.cap_microversion("2.60")
    proc = run_openstack(
        "host",
        "evacuate",
        failed,
        "--target-host",
        target,
        "--force",
        "--wait",
        "120",
        "-f",
        "json",
    )
    sandbox.cap_microversion(None)  # the harness reads at 2.80
    rows = check(proc, 0, nova, one_each(servers))
    assert {(r["Result"], r["Destination"]) for r in rows} == {
        ("verified", target)
    }
    posts = evacuate_posts(sandbox)
    assert {p["microversion"] for p in posts} == {"2.60"}
    assert all(p["body"]["evacuate"]["force"] is True for p in posts)


@promise(NEVER_UNPROVEN)
def test_stopped_on_a_cloud_capped_at_2_60_stops_after_landing(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host, 2)
    sandbox.cap_microversion("2.60")
    proc = run_openstack(
        "host",
        "evacuate",
        fresh_host,
        "--target-state",
        "stopped",
        "--wait",
        "120",
        "-f",
        "json",
    )
    sandbox.cap_microversion(None)  # the harness reads at 2.80
    rows = check(proc, 0, nova, one_each(servers))
    assert {(r["Result"], r["Status After"]) for r in rows} == {
        ("verified", "SHUTOFF")
    }
    assert {p["microversion"] for p in evacuate_posts(sandbox)} == {"2.60"}
    for server in servers:
        assert nova.server(server["id"])["status"] == "SHUTOFF"


@promise(NEVER_UNPROVEN)
def test_a_cloud_capped_at_2_13(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    [server] = crashed_host_with(sandbox, boot_servers, fresh_host)
    sandbox.cap_microversion("2.13")
    proc = run_openstack(
        "server", "evacuate", server["id"], "--wait", "120", "-f", "json"
    )
    sandbox.cap_microversion(None)  # the harness reads at 2.80
    shown = check(proc, 0, nova, one_each([server]))
    assert shown["Result"] == "verified"
    assert shown["Host"] == nova.server(server["id"])[HOST] != fresh_host
    [post] = evacuate_posts(sandbox)
    assert post["microversion"] == "2.13"
    assert post["body"] == {"evacuate": {"onSharedStorage": False}}
    assert json.loads(proc.stdout)["Admin Password"]
