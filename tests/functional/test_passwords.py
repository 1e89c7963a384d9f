"""--password values never appear in output or logs, at any verbosity."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from osc_evacuate.redact import forms_of
from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import Boot, crash, evacuate_posts
from tests.sandbox.client import Sandbox

# Characters oslo's mask_password stops at (it shows "***=Sekr1t@..."),
# and ones JSON escapes.
SECRET = 'a=Sekr1t@Tail9"d\\e'
# Parts that must not show either, whatever masked the rest.
FRAGMENTS = ("Sekr1t", "Tail9")


@pytest.mark.parametrize("verbosity", ["-v", "--debug"])
def test_the_password_is_sent_but_never_shown(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    verbosity: str,
) -> None:
    """Never wrong, never leaked: the password reaches Nova and nothing
    else."""
    failed = new_compute()
    (server,) = boot_servers(1, host=failed)
    crash(sandbox, failed)
    sandbox.reset_requests()

    proc = run_openstack(
        verbosity,
        "server",
        "evacuate",
        server["id"],
        "--password",
        SECRET,
        "--wait",
        "120",
        "-f",
        "json",
    )

    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["Result"] == "verified"
    [post] = evacuate_posts(sandbox)
    assert post["body"]["evacuate"]["adminPass"] == SECRET
    for text in (*forms_of(SECRET), *FRAGMENTS):
        assert text not in proc.stdout
        assert text not in proc.stderr
    assert "***" in proc.stderr
    if verbosity == "--debug":
        # The plugin's own logger explains the microversion it chose.
        assert re.search(
            r"microversion 2\.\d+: the newest this cloud \(2\.1 to "
            r"2\.\d+\) accepts that honours --target-state preserve",
            proc.stderr,
        ), proc.stderr[-3000:]
