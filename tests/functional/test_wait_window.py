"""`--wait`'s poll window on Nova's clock (issue 7, defect 7): each poll
asks for what changed since Nova's time of the one before, and a client
clock far off Nova's does not matter.

Each test names the promise it checks: never evacuate what should not be,
never twice, never report what Nova's records do not prove, never hang.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from osc_evacuate.commands.exit_codes import (
    EXIT_OK,
)
from osc_evacuate.core.clock import POLL_OVERLAP, utc_now
from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import (
    Boot,
    by_id,
    changes_since,
    crash,
    records_per_server,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI


def test_the_poll_window_moves_forward_on_nova_s_time(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    """Never hang, never report what is not proven: each servers poll asks
    only for what changed since the one before, less a bounded overlap,
    and never reaches further back than the run's own start."""
    servers = boot_servers(2, host=fresh_host)
    ids = [s["id"] for s in servers]
    crash(sandbox, fresh_host)
    sandbox.slow_spawn(12)  # the rebuilds take a while: many polls
    sandbox.reset_requests()
    began = utc_now()

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )
    ended = utc_now()

    assert proc.returncode == EXIT_OK, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert {r["Result"] for r in rows.values()} == {"verified"}
    windows = changes_since(sandbox)
    assert len(windows) >= 3
    assert windows == sorted(windows)
    # Nova runs on this machine: its time is ours. The first window opens
    # at the run's start less the overlap (it was five minutes back);
    # later ones follow the polls.
    one_second = datetime.timedelta(seconds=1)
    assert windows[0] >= began - POLL_OVERLAP - one_second
    assert windows[-1] <= ended - POLL_OVERLAP
    assert windows[-1] - windows[0] >= datetime.timedelta(seconds=8)
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 1)


# Runs the real CLI with the wall clock of its process moved: time.time
# and datetime's now() are what Python reads the system clock through.
SKEWED_CLI = """\
import datetime
import sys
import time

skew = float(sys.argv.pop(1))
_time = time.time
time.time = lambda: _time() + skew


class _SkewedDatetime(datetime.datetime):
    @classmethod
    def now(cls, tz=None):
        return cls.fromtimestamp(time.time(), tz)

    @classmethod
    def utcnow(cls):
        return cls.now(datetime.timezone.utc).replace(tzinfo=None)


datetime.datetime = _SkewedDatetime

from openstackclient.shell import main

sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("minutes", [10, -10])
def test_a_client_clock_ten_minutes_off_nova_does_not_matter(
    minutes: int,
    tmp_path: Path,
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
) -> None:
    """Never hang, never report what is not proven: with the client's
    clock ten minutes ahead of Nova's (or behind), --wait proves every
    evacuation, polling on Nova's time."""
    cli = tmp_path / "skewed_openstack.py"
    cli.write_text(SKEWED_CLI)
    probe = subprocess.run(
        [sys.executable, str(cli), str(minutes * 60), "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    servers = boot_servers(2, host=fresh_host)
    ids = [s["id"] for s in servers]
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    began = utc_now()

    proc = subprocess.run(
        [
            sys.executable,
            str(cli),
            str(minutes * 60),
            "host",
            "evacuate",
            fresh_host,
            "--wait",
            "60",
            "-f",
            "json",
        ],
        env=sandbox.cli_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    assert proc.returncode == EXIT_OK, proc.stderr
    assert proc.stderr == ""
    rows: dict[str, dict[str, Any]] = by_id(json.loads(proc.stdout))
    assert {r["Result"] for r in rows.values()} == {"verified"}
    windows = changes_since(sandbox)
    assert windows
    # On Nova's clock (this machine's), whatever the client's says.
    assert min(windows) >= began - POLL_OVERLAP - datetime.timedelta(seconds=1)
    assert max(windows) <= utc_now()
    assert records_per_server(nova, ids) == dict.fromkeys(ids, 1)
