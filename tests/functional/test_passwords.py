"""--password values never appear in output or logs, at any verbosity."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import Boot, crash, evacuate_posts
from tests.sandbox.client import Sandbox

# Characters oslo's mask_password stops at (it shows "***=Sekr1t@..."),
# and ones JSON escapes.
SECRET = 'a=Sekr1t@Tail9"d\\e'
# Parts that must not show either, whatever masked the rest.
FRAGMENTS = ("Sekr1t", "Tail9")
# Shorter pieces of the secret may show: "Tail" is no password.
MIN_PIECE = 4


def forms_of(secret: str) -> list[str]:
    """Every way output can spell the secret, longest first: as typed,
    repr'd, JSON-escaped, URL-encoded, and every piece of those at their
    start or end down to MIN_PIECE characters (what a masker such as
    oslo's, which shows ``***=b@c`` for ``a=b@c``, leaves of it)."""
    spellings = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
    }
    forms = set(spellings)
    for spelled in spellings:
        for cut in range(1, len(spelled) - MIN_PIECE + 1):
            forms.add(spelled[cut:])
            forms.add(spelled[:-cut])
    return sorted(forms, key=len, reverse=True)


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


@pytest.mark.parametrize(
    "password",
    [
        pytest.param(("--pass", SECRET), id="prefix"),
        pytest.param((f"--password={SECRET}",), id="equals"),
        pytest.param((f"--pa={SECRET}",), id="prefix-equals"),
    ],
)
def test_other_spellings_of_the_option_are_never_shown(
    run_openstack: RunOpenstack, password: tuple[str, ...]
) -> None:
    """argparse takes a prefix of --password, which oslo's mask_password
    does not know: osc-lib logs the command line before anything is
    sent, so a server that does not exist is enough to see that log."""
    proc = run_openstack(
        "-v", "server", "evacuate", "no-such-server", *password
    )

    assert proc.returncode == 1, proc.stderr
    assert "No server with a name or ID of 'no-such-server'" in proc.stderr
    assert "START with options: -v server evacuate no-such-server" in (
        proc.stderr
    )
    for text in (*forms_of(SECRET), *FRAGMENTS):
        assert text not in proc.stdout
        assert text not in proc.stderr
    assert "***" in proc.stderr
