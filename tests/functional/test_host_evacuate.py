"""`openstack host evacuate` through the real CLI on the sandbox Nova."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    HOST,
    Boot,
    by_id,
    crash,
    evacuate_posts,
    ids,
    servers_in_states,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI


def test_mixed_states_in_two_projects(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    admin = servers_in_states(
        boot_servers, nova, fresh_host, {"ACTIVE": 1, "ERROR": 1}
    )
    demo = servers_in_states(
        boot_servers,
        nova,
        fresh_host,
        {"ACTIVE": 1, "SHUTOFF": 1, "PAUSED": 1},
        project="demo",
    )
    crash(sandbox, fresh_host)

    proc = run_openstack("host", "evacuate", fresh_host, "-f", "json")

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert len(rows) == 5
    assert {r["Project"] for r in rows.values()} == {
        sandbox.project_id("admin"),
        sandbox.project_id("demo"),
    }
    paused = rows[demo["PAUSED"][0]["id"]]
    assert (paused["Action"], paused["Result"]) == ("skipped", "skipped")
    assert "vm_state paused is not evacuable" in paused["Error"]
    expected = {
        admin["ACTIVE"][0]["id"]: "ACTIVE",
        admin["ERROR"][0]["id"]: "ACTIVE",  # rebuilt: ERROR is no power state
        demo["ACTIVE"][0]["id"]: "ACTIVE",
        demo["SHUTOFF"][0]["id"]: "SHUTOFF",
    }
    for server_id, status in expected.items():
        row = rows[server_id]
        assert (row["Action"], row["Result"]) == ("submitted", "submitted")
        nova.wait_for_migration(server_id, "done")
        landed = nova.wait_for_server(server_id, status)
        assert landed[HOST] != fresh_host
    # The paused server was left where it was, untouched.
    assert nova.migrations(instance_uuid=demo["PAUSED"][0]["id"]) == []


def test_refused_while_the_host_is_up(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    boot_servers(2, host=fresh_host)
    sandbox.reset_requests()

    proc = run_openstack("host", "evacuate", fresh_host, "-f", "json")

    assert proc.returncode == 1
    assert proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert f"nova-compute on {fresh_host} is up" in line
    assert (
        f"openstack compute service set --down {fresh_host} nova-compute"
        in line
    )
    assert nova.migrations(source_compute=fresh_host) == []
    assert evacuate_posts(sandbox) == []


def test_host_names_match_exactly(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    short = new_compute("compute1")
    long = new_compute("compute10")
    on_short = boot_servers(1, host=short)
    on_long = boot_servers(2, host=long)
    crash(sandbox, short)
    crash(sandbox, long)

    rows = openstack_json("host", "evacuate", short)

    assert {r["ID"] for r in rows} == ids(on_short)
    for server in on_long:
        assert nova.migrations(instance_uuid=server["id"]) == []
    # A prefix of real names is no host at all, and close names are
    # suggested.
    proc = run_openstack("host", "evacuate", "compute")
    assert proc.returncode == 1
    [line] = proc.stderr.strip().splitlines()
    assert "No nova-compute service on host 'compute'." in line
    assert "Did you mean:" in line


def test_target_host_and_max_parallel(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    failed, target = new_compute(), new_compute()
    servers = boot_servers(3, host=failed)
    crash(sandbox, failed)
    sandbox.reset_requests()

    rows = openstack_json(
        "host",
        "evacuate",
        failed,
        "--target-host",
        target,
        "--max-parallel",
        "1",
        "--wait",
        "120",
    )

    assert {r["Result"] for r in rows} == {"verified"}
    assert {r["Destination"] for r in rows} == {target}
    for server in servers:
        assert nova.server(server["id"])[HOST] == target
    posts = evacuate_posts(sandbox)
    assert [p["body"]["evacuate"] for p in posts] == [{"host": target}] * 3
    assert {p["microversion"] for p in posts} == {"2.94"}


def test_force_uses_its_microversion_window(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    failed, target = new_compute(), new_compute()
    (server,) = boot_servers(1, host=failed)
    crash(sandbox, failed)
    sandbox.reset_requests()

    refused = run_openstack(
        "--os-compute-api-version",
        "2.68",
        "host",
        "evacuate",
        failed,
        "--target-host",
        target,
        "--force",
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "--force requires --os-compute-api-version 2.29 to 2.67 (pinned: 2.68)"
    )
    assert evacuate_posts(sandbox) == []

    rows = openstack_json(
        "host",
        "evacuate",
        failed,
        "--target-host",
        target,
        "--force",
        "--wait",
    )
    assert [r["Result"] for r in rows] == ["verified"]
    [post] = evacuate_posts(sandbox)
    assert post["microversion"] == "2.67"
    assert post["body"] == {"evacuate": {"host": target, "force": True}}
    assert nova.server(server["id"])[HOST] == target


def test_pinned_2_13_with_shared_storage(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    (server,) = boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    proc = run_openstack(
        "--os-compute-api-version",
        "2.13",
        "host",
        "evacuate",
        fresh_host,
        "--shared-storage",
        "--wait",
        "120",
        "-f",
        "json",
    )

    [post] = evacuate_posts(sandbox)
    assert post["microversion"] == "2.13"
    assert post["body"] == {"evacuate": {"onSharedStorage": True}}
    # The fake hypervisor has no shared storage, so the destination
    # refuses: a failure that only the migration record shows.
    [row] = json.loads(proc.stdout)
    assert proc.returncode == 3, proc.stderr
    assert row["Result"] == "failed"
    assert row["Migration Status"] == "failed"
    assert "shared storage" in row["Error"]
    assert nova.migrations(instance_uuid=server["id"])[0]["status"] == (
        "failed"
    )


def test_bad_input_is_one_line_and_evacuates_nothing(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    cases = {
        ("--force",): "--force requires --target-host",
        ("--target-host", fresh_host): "is the host being evacuated",
        ("--target-host", "nowhere"): "No nova-compute service on host "
        "'nowhere'",
        ("--shared-storage", "--target-host", "x"): (
            "--shared-storage needs 2.13 or earlier; --target-host needs "
            "2.29 or later"
        ),
    }
    for args, message in cases.items():
        proc = run_openstack("host", "evacuate", fresh_host, *args)
        assert proc.returncode == 1, (args, proc.stderr)
        assert proc.stdout == ""
        [line] = proc.stderr.strip().splitlines()
        assert message in line, args
    for args in (("--max-parallel", "0"), ("--wait", "-5")):
        proc = run_openstack("host", "evacuate", fresh_host, *args)
        assert proc.returncode == 2, (args, proc.stderr)
    pinned = run_openstack(
        "--os-compute-api-version", "2.95", "host", "evacuate", fresh_host
    )
    assert pinned.returncode == 1
    assert "pass --target-state stopped" in pinned.stderr
    old = run_openstack(
        "--os-compute-api-version",
        "2.94",
        "host",
        "evacuate",
        fresh_host,
        "--target-state",
        "stopped",
    )
    assert old.returncode == 1
    assert "needs --wait" in old.stderr
    assert evacuate_posts(sandbox) == []
