"""A bad command line through the real `openstack` CLI: refused at once.

One line on stderr, exit 2, nothing on stdout, and not one compute
request, although the host is down and its server could be evacuated.
"""

from __future__ import annotations

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import Boot, crash, evacuate_posts
from tests.sandbox.client import Sandbox

WAIT_RANGE = "expected a finite number of seconds from 0 to 604800 (7 days)"


@pytest.fixture
def down_host(sandbox: Sandbox, fresh_host: str, boot_servers: Boot) -> str:
    """A crashed host with one server: a good command line would send."""
    boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    return fresh_host


def test_bad_numbers_exit_2_in_one_line_and_send_nothing(
    sandbox: Sandbox,
    down_host: str,
    run_openstack: RunOpenstack,
) -> None:
    cases = {
        ("host", "evacuate", down_host, "--wait", "nan"): (
            "openstack host evacuate: error: argument --wait: "
            f"{WAIT_RANGE}, got 'nan'"
        ),
        ("host", "evacuate", down_host, "--wait", "inf"): (
            "openstack host evacuate: error: argument --wait: "
            f"{WAIT_RANGE}, got 'inf'"
        ),
        ("host", "evacuate", down_host, "--retries", "-1"): (
            "openstack host evacuate: error: argument --retries: "
            "expected a whole number from 0 to 10, got '-1'"
        ),
        ("server", "evacuate", "--wait", "nan", "any-server"): (
            "openstack server evacuate: error: argument --wait: "
            f"{WAIT_RANGE}, got 'nan'"
        ),
    }
    sandbox.reset_requests()
    for args, line in cases.items():
        proc = run_openstack(*args)

        assert proc.returncode == 2, (args, proc.stderr)
        assert proc.stdout == "", args
        assert proc.stderr.splitlines() == [line], args

    assert evacuate_posts(sandbox) == []
    # Not even the look-ups that come first (services, then servers).
    compute = [
        entry["path"]
        for entry in sandbox.requests()["log"]
        if "/os-services" in entry["path"] or "/servers" in entry["path"]
    ]
    assert compute == []
