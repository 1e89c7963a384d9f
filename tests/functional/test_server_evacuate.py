"""`openstack server evacuate` (ours, replacing OSC's) on the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    HOST,
    Boot,
    crash,
    evacuate_posts,
    gets_by_path,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI


def test_osc_style_wait_before_the_server_returns_json(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    (server,) = boot_servers(1, host=fresh_host, project="demo")
    nova.stop_server(server["id"])
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    # OSC's spelling: a bare --wait, then the server, by name, found by an
    # admin in another project.
    proc = run_openstack(
        "server", "evacuate", "--wait", server["name"], "-f", "json"
    )
    # The compute services read once, for the host and the capacity check.
    assert gets_by_path(sandbox)["/v2.1/os-services"] == 1

    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)  # only JSON on stdout
    now = nova.server(server["id"])
    assert shown["ID"] == server["id"]
    assert shown["Project"] == sandbox.project_id("demo")
    assert shown["Result"] == "verified"
    assert shown["Source Host"] == fresh_host
    assert shown["Host"] == now[HOST] != fresh_host
    assert shown["Status"] == now["status"] == "SHUTOFF"
    assert shown["Migration Status"] in ("done", "completed")


def test_host_and_password(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    failed, target = new_compute(), new_compute()
    (server,) = boot_servers(1, host=failed)
    crash(sandbox, failed)
    sandbox.reset_requests()
    secret = "Sekr1t-pw-4711"

    proc = run_openstack(
        "--debug",
        "server",
        "evacuate",
        server["id"],
        "--host",
        target,
        "--password",
        secret,
        "--wait",
        "120",
        "-f",
        "json",
    )

    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["Host"] == target
    assert "Admin Password" not in shown
    [post] = evacuate_posts(sandbox)
    assert post["body"] == {"evacuate": {"host": target, "adminPass": secret}}
    assert post["microversion"] == "2.94"
    # Neither the result nor the --debug log shows it.
    assert secret not in proc.stdout
    assert secret not in proc.stderr
    assert "POST" in proc.stderr  # --debug did log requests


def test_pinned_2_13_shared_storage_and_generated_password(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    first, second = boot_servers(2, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    pin = ("--os-compute-api-version", "2.13")

    shared = run_openstack(
        *pin,
        "server",
        "evacuate",
        first["id"],
        "--shared-storage",
        "-f",
        "json",
    )
    plain = openstack_json(*pin, "server", "evacuate", second["id"])

    assert shared.returncode == 0, shared.stderr
    bodies = [p["body"]["evacuate"] for p in evacuate_posts(sandbox)]
    assert bodies == [{"onSharedStorage": True}, {"onSharedStorage": False}]
    assert {p["microversion"] for p in evacuate_posts(sandbox)} == {"2.13"}
    # Before 2.14 Nova generates a password and says it once.
    assert plain["Admin Password"]
    nova.wait_for_migration(second["id"], "done")


def test_force_window_and_refusals(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    failed, target = new_compute(), new_compute()
    (server,) = boot_servers(1, host=failed)
    sandbox.reset_requests()

    up = run_openstack("server", "evacuate", server["id"])
    assert up.returncode == 1
    [line] = up.stderr.strip().splitlines()
    assert f"nova-compute on {failed} is up" in line

    crash(sandbox, failed)
    refused = run_openstack(
        "--os-compute-api-version",
        "2.68",
        "server",
        "evacuate",
        server["id"],
        "--host",
        target,
        "--force",
    )
    assert refused.returncode == 1
    assert "--force requires --os-compute-api-version 2.29 to 2.67" in (
        refused.stderr
    )
    assert evacuate_posts(sandbox) == []

    shown = openstack_json(
        "server",
        "evacuate",
        server["id"],
        "--host",
        target,
        "--force",
        "--wait",
    )
    assert shown["Result"] == "verified"
    assert shown["Host"] == target
    [post] = evacuate_posts(sandbox)
    assert post["microversion"] == "2.67"
    assert post["body"] == {"evacuate": {"host": target, "force": True}}


def test_names_unknown_ambiguous_and_not_evacuable(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    name = f"twin-{fresh_host}"
    (mine,) = boot_servers(1, host=fresh_host, name_prefix=name)
    (theirs,) = boot_servers(
        1, host=fresh_host, project="demo", name_prefix=name
    )
    paused, suspended = boot_servers(2, host=fresh_host)
    nova.pause_server(paused["id"])
    nova.suspend_server(suspended["id"])
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    ambiguous = run_openstack("server", "evacuate", mine["name"])
    assert mine["name"] == theirs["name"]
    assert ambiguous.returncode == 1
    [line] = ambiguous.stderr.strip().splitlines()
    assert f"More than one server is named '{mine['name']}'" in line
    assert mine["id"] in line and theirs["id"] in line

    unknown = run_openstack("server", "evacuate", "no-such-server")
    assert unknown.returncode == 1
    assert unknown.stderr.strip() == (
        "No server with a name or ID of 'no-such-server' exists."
    )
    for server, status in ((paused, "PAUSED"), (suspended, "SUSPENDED")):
        proc = run_openstack("server", "evacuate", server["id"])
        assert proc.returncode == 1
        assert f"is {status}" in proc.stderr
        assert "Nova evacuates only active, stopped or error" in proc.stderr
    assert evacuate_posts(sandbox) == []


def test_target_state_stopped_without_a_pin(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    openstack_json: OpenstackJson,
) -> None:
    (server,) = boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    shown = openstack_json(
        "server",
        "evacuate",
        server["id"],
        "--target-state",
        "stopped",
        "--wait",
        "120",
    )

    assert (shown["Status Before"], shown["Status"]) == ("ACTIVE", "SHUTOFF")
    assert shown["Result"] == "verified"
    assert nova.server(server["id"])["status"] == "SHUTOFF"
    [post] = evacuate_posts(sandbox)
    assert post["microversion"] == "2.95"


def test_a_failed_read_after_the_request_is_not_reported_as_nothing_sent(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Never report what Nova's records do not prove: the evacuation was
    sent, so the exit code is not 1 ("nothing was evacuated")."""
    (server,) = boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    # The look-up by ID goes through; every read after it fails.
    sandbox.fail_requests(
        500, method="GET", path=f"/servers/{server['id']}$", skip=1, count=None
    )

    proc = run_openstack("server", "evacuate", server["id"], "-f", "json")

    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["Result"] == "submitted"
    assert shown["Source Host"] == fresh_host
    assert len(evacuate_posts(sandbox)) == 1
    assert "was sent, but reading the server back failed" in proc.stderr
    assert "Traceback" not in proc.stderr
    sandbox.reset_faults()
    nova.wait_for_migration(server["id"], "done")
    assert len(nova.migrations(instance_uuid=server["id"])) == 1


# Stock OSC's columns whose value may move after the evacuation's read.
_MOVING = {"updated", "OS-EXT-SRV-ATTR:user_data", "progress"}


def test_a_script_for_stock_osc_reads_the_same_columns(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    """Every column stock OSC's `server evacuate` prints (its `server
    show` prints the same, from the same function) is still there for
    -c and -f json, with the server as it is after the evacuation."""
    (server,) = boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    stock = openstack_json("server", "show", server["id"])  # stock OSC

    shown = openstack_json("server", "evacuate", server["id"], "--wait")

    after = openstack_json("server", "show", server["id"])
    ours = {name.lower().replace(" ", "_") for name in shown}
    assert [c for c in stock if c.lower() not in ours] == []
    assert shown["OS-EXT-SRV-ATTR:host"] == after[HOST] != fresh_host
    same = [c for c in after if c in shown and c not in _MOVING]
    assert len(same) > 30
    for column in same:
        if column != "flavor":  # ours is Nova's dict, not openstacksdk's
            assert shown[column] == after[column], column
    assert shown["flavor"]["original_name"] == after["flavor"]["name"]

    # As a script reads it: -c with stock names, including OSC's "id".
    proc = run_openstack(
        "server",
        "evacuate",
        server["id"],
        "-c",
        "id",
        "-c",
        "OS-EXT-SRV-ATTR:host",
        "-c",
        "status",
        "-f",
        "value",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [server["id"], "ACTIVE", after[HOST]]
