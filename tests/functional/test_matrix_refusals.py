"""The reliability matrix, part 1: bad input, and bad hosts and
credentials, through the real CLI on the sandbox (part 2:
test_matrix_runs.py).

Each case names the promise it checks (scenario.NEVER_*) and asserts, with
scenario.check: the documented exit code; one clear line on stderr and
nothing on stdout when refused, or else valid JSON on stdout; and the
exact evacuation records Nova holds for each server, none extra, none
twice. More cases: test_reruns.py, test_interrupt.py, test_passwords.py,
test_wait_faults.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.matrix import (
    crashed_host_with,
    none_for,
    promise,
)
from tests.functional.scenario import (
    NEVER_HANG,
    NEVER_WRONG_SERVER,
    Boot,
    check,
    evacuate_posts,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

# -- Input errors: one line, exit 1 or 2, nothing sent --


@promise(NEVER_WRONG_SERVER)
def test_unknown_host(
    sandbox: Sandbox, nova: NovaAPI, run_openstack: RunOpenstack
) -> None:
    proc = run_openstack("host", "evacuate", "no-such-host", "-f", "json")
    check(proc, 1, nova, {}, "No nova-compute service on host 'no-such-host'")
    assert evacuate_posts(sandbox) == []


@promise(NEVER_WRONG_SERVER)
def test_a_prefix_of_host_names_is_no_host(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    host = new_compute("mx-rack1-node1")
    servers = crashed_host_with(sandbox, boot_servers, host)
    proc = run_openstack("host", "evacuate", "mx-rack1-node", "-f", "json")
    check(proc, 1, nova, none_for(servers), "Did you mean: mx-rack1-node1?")


@promise(NEVER_WRONG_SERVER)
def test_unknown_server(nova: NovaAPI, run_openstack: RunOpenstack) -> None:
    proc = run_openstack("server", "evacuate", "no-such-server", "-f", "json")
    check(proc, 1, nova, {}, "No server with a name or ID of 'no-such-server'")


@promise(NEVER_WRONG_SERVER)
def test_target_is_the_source(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host)
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--target-host", fresh_host
    )
    check(proc, 1, nova, none_for(servers), "is the host being evacuated")


@promise(NEVER_WRONG_SERVER)
def test_unknown_target(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host)
    proc = run_openstack(
        "host", "evacuate", fresh_host, "--target-host", "nowhere"
    )
    check(proc, 1, nova, none_for(servers), "host 'nowhere'")


@promise(NEVER_WRONG_SERVER)
@pytest.mark.parametrize(
    ("pin", "args", "line"),
    [
        (
            "2.60",
            ["--shared-storage"],
            "--shared-storage requires --os-compute-api-version 2.13 or "
            "earlier (pinned: 2.60)",
        ),
        (
            "2.94",
            ["--target-host", "compute01", "--force"],
            "--force requires --os-compute-api-version 2.29 to 2.67",
        ),
        (
            "2.28",
            ["--target-host", "compute01"],
            "--target-host requires --os-compute-api-version 2.29 or later",
        ),
        ("2.95", [], "pass --target-state stopped, or pin an earlier"),
        (
            "2.60",
            ["--target-state", "stopped"],
            "--target-state stopped at microversion 2.60 needs --wait",
        ),
        ("2.300", [], "is not supported by this cloud, which accepts 2.1 to"),
    ],
    ids=["shared-storage", "force", "target-host", "2.95", "stopped", "max"],
)
def test_an_option_outside_the_pinned_microversion(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    pin: str,
    args: list[str],
    line: str,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host)
    proc = run_openstack(
        "--os-compute-api-version", pin, "host", "evacuate", fresh_host, *args
    )
    check(proc, 1, nova, none_for(servers), line)


@promise(NEVER_WRONG_SERVER)
def test_force_without_a_target(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host)
    proc = run_openstack("host", "evacuate", fresh_host, "--force")
    check(proc, 1, nova, none_for(servers), "--force requires --target-host")


@promise(NEVER_WRONG_SERVER)
def test_conflicting_options(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    [server] = crashed_host_with(sandbox, boot_servers, fresh_host)
    proc = run_openstack(
        "server",
        "evacuate",
        server["id"],
        "--password",
        "x",
        "--shared-storage",
    )
    check(proc, 2, nova, none_for([server]), "not allowed with argument")


# -- Hosts and credentials --


@promise(NEVER_WRONG_SERVER)
def test_the_source_still_up(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = boot_servers(1, host=fresh_host)
    proc = run_openstack("host", "evacuate", fresh_host)
    check(proc, 1, nova, none_for(servers), f"nova-compute on {fresh_host}")


@promise(NEVER_WRONG_SERVER)
def test_an_ironic_compute_is_refused(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Nova would fail every bare-metal server into ERROR."""
    ironic = new_compute(hypervisor_type="ironic")
    servers = crashed_host_with(sandbox, boot_servers, ironic)
    proc = run_openstack("host", "evacuate", ironic, "-f", "json")
    check(proc, 1, nova, none_for(servers), "drives Ironic bare-metal nodes")
    proc = run_openstack("server", "evacuate", servers[0]["id"])
    check(proc, 1, nova, none_for(servers), "drives Ironic bare-metal nodes")
    assert evacuate_posts(sandbox) == []


@promise(NEVER_WRONG_SERVER)
def test_non_admin_credentials_are_explained(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host)
    proc = run_openstack("host", "evacuate", fresh_host, cloud="sandbox-demo")
    check(proc, 1, nova, none_for(servers), "needs an admin")


@promise(NEVER_WRONG_SERVER)
def test_a_host_in_a_cell_nova_cannot_reach(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host)
    sandbox.set_cell_down(True)
    proc = run_openstack("host", "evacuate", fresh_host, "-f", "json")
    sandbox.set_cell_down(False)  # the harness reads the records
    check(proc, 1, nova, none_for(servers), "in a cell Nova cannot reach")
    assert evacuate_posts(sandbox) == []


@promise(NEVER_HANG)
def test_the_api_unreachable_from_the_start(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    tmp_path: Path,
) -> None:
    servers = crashed_host_with(sandbox, boot_servers, fresh_host)
    # Nothing listens on port 9 (discard) of this machine: the cloud's
    # compute endpoint is overridden with it, as a user's clouds.yaml can.
    clouds = sandbox.clouds_yaml.read_text().replace(
        "  sandbox:\n",
        "  sandbox:\n    compute_endpoint_override: http://127.0.0.1:9/v2.1\n",
    )
    (tmp_path / "clouds.yaml").write_text(clouds)
    started = time.monotonic()
    proc = run_openstack(
        "host",
        "evacuate",
        fresh_host,
        env={"OS_CLIENT_CONFIG_FILE": str(tmp_path / "clouds.yaml")},
    )
    check(proc, 1, nova, none_for(servers), "127.0.0.1:9")
    assert time.monotonic() - started < 60
