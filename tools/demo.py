"""``make demo``: a compute host dies and its servers are evacuated.

Starts the sandbox cloud (a real Nova with fake hypervisors, see
tests/sandbox), boots a few servers on compute01, crashes compute01, then
runs ``openstack host evacuate compute01 --wait`` if the osc-evacuate
plugin is installed. Narration goes to stderr, command output to stdout.
The sandbox is always stopped at the end.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as `python tools/demo.py`: make the repo's packages importable.
sys.path.insert(0, str(REPO))

from tests.sandbox.client import Sandbox  # noqa: E402

OPENSTACK = Path(sys.executable).parent / "openstack"
STATE_DIR = REPO / ".sandbox" / "demo"
HOST = "compute01"


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def openstack(sandbox: Sandbox, *args: str) -> int:
    """Run the real CLI against the sandbox, showing the command."""
    print(f"\n$ openstack {' '.join(args)}", flush=True)
    proc = subprocess.run(
        [str(OPENSTACK), *args],
        env=sandbox.cli_env(),
        stdin=subprocess.DEVNULL,
        check=False,
    )
    sys.stdout.flush()
    return proc.returncode


def has_command(sandbox: Sandbox, *words: str) -> bool:
    proc = subprocess.run(
        [str(OPENSTACK), "help", *words],
        env=sandbox.cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def boot(sandbox: Sandbox) -> None:
    say(
        f"Booting 6 servers on {HOST}: 3 in project admin, 3 in demo; "
        "one of each is then stopped (SHUTOFF)."
    )
    for project in ("admin", "demo"):
        api = sandbox.admin.as_user("admin", project)
        servers = api.create_servers(3, host=HOST, name_prefix=f"{project}-vm")
        api.stop_server(servers[0]["id"])


def crash(sandbox: Sandbox) -> None:
    say(
        f"Crashing {HOST}: its nova-compute stops answering RPC and "
        "stops its heartbeat, like a host that lost power."
    )
    sandbox.crash_compute(HOST)
    say(
        f"Fencing {HOST}: marking its service forced_down, as an "
        "operator or fencing agent would, so Nova treats it as down now "
        "rather than after the heartbeat timeout."
    )
    sandbox.admin.force_down(HOST)
    openstack(
        sandbox, "compute", "service", "list", "--service", "nova-compute"
    )


def main() -> int:
    say(f"Starting the sandbox cloud (state and logs in {STATE_DIR}) ...")
    started = time.monotonic()
    sandbox = Sandbox(STATE_DIR)
    rc = 0
    try:
        sandbox.start()
        say(
            f"Sandbox ready at {sandbox.url} in "
            f"{time.monotonic() - started:.1f} s: Keystone, Nova API, "
            "conductor, scheduler, Placement and computes compute01-03. "
            "The CLI logs in to Keystone with a password and finds the "
            "services in its catalog:"
        )
        openstack(sandbox, "catalog", "list")
        boot(sandbox)
        openstack(sandbox, "server", "list", "--long", "--all-projects")
        crash(sandbox)
        if has_command(sandbox, "host", "evacuate"):
            say(
                f"Evacuating every server off {HOST} and waiting until "
                "Nova has finished each one."
            )
            rc = openstack(sandbox, "host", "evacuate", HOST, "--wait")
            say(f"openstack host evacuate exited with {rc}.")
            openstack(sandbox, "server", "list", "--long", "--all-projects")
        else:
            say(
                "`openstack host evacuate` is not available: the "
                "osc-evacuate plugin is not installed yet, so the demo "
                f"ends here, with the servers stranded on {HOST} (see "
                "Host Status)."
            )
            openstack(sandbox, "server", "list", "--long", "--all-projects")
    except Exception as exc:
        say(f"Demo failed: {exc}")
        rc = 1
    finally:
        say("Stopping the sandbox.")
        sandbox.stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
