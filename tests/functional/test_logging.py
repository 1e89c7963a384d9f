"""The plugin leaves other commands' logging exactly as it was.

OSC imports every plugin module on every run, ours included, before it
logs anything. Each case runs one OSC command at --debug twice in the
sandbox's environment, once as installed and once with our entry points
hidden from stevedore by a sitecustomize module (so OSC never imports
the plugin), and compares all it wrote.

What differs between two runs of the same command against the same
cloud (the Date header, request ids, object addresses) is normalised,
nothing else. The one line OSC itself logs for every plugin it loads,
``evacuate API version 1, cmd group openstack.evacuate.v1``, is OSC's
announcement of the plugin, which no plugin can avoid: it is the only
line dropped, and only from the run with the plugin.
"""

from __future__ import annotations

import os
import re

import pytest

from tests.functional.conftest import RunOpenstack

# A sitecustomize module (Python imports it at start-up, from PYTHONPATH)
# that hides every entry point of osc_evacuate from stevedore: the same
# `openstack` of this venv, as it is without the plugin.
HIDE_THE_PLUGIN = """\
from stevedore import _cache

everything = _cache.get_group_all


def others(group, path=None):
    return [
        ep
        for ep in everything(group, path)
        if not ep.value.startswith("osc_evacuate")
    ]


_cache.get_group_all = others
"""

# OSC's own line for our plugin (openstackclient.shell._load_plugins).
OSC_ANNOUNCES_US = "evacuate API version 1, cmd group openstack.evacuate.v1"

# What differs between two runs, and what it is replaced with. Each run
# logs in to Keystone: its token (logged as a hash) differs, and so do
# the token's audit id and times in Keystone's answer.
VARYING = [
    (re.compile(r"req-[0-9a-f-]{36}"), "req-<id>"),
    (re.compile(r"\{SHA256\}[0-9a-f]{64}"), "{SHA256}<token>"),
    (re.compile(r'"audit_ids": \["[^"]+"\]'), '"audit_ids": ["<id>"]'),
    (
        re.compile(r'"(expires_at|issued_at)": "[^"]+"'),
        r'"\g<1>": "<time>"',
    ),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "0x<addr>"),
    (
        re.compile(
            r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} "
            r"\d\d:\d\d:\d\d GMT"
        ),
        "<http-date>",
    ),
]

# A password given to a command that has no --password: argparse refuses
# the command line (exit 2), but osc-lib logs it (START with options)
# first. oslo's mask_password shows "***=Sekr1t@Tail9" for it.
PASSWORD = "a=Sekr1t@Tail9"

# PYTHONHASHSEED fixed for both runs: the order of the auth options in
# the Namespace osc-lib logs follows hash randomisation.
ENV = {"PYTHONHASHSEED": "0"}


def normalised(text: str) -> str:
    for pattern, replacement in VARYING:
        text = pattern.sub(replacement, text)
    return text


@pytest.fixture(scope="module")
def without_plugin(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment (over ENV) in which OSC never sees the plugin."""
    hider = tmp_path_factory.mktemp("no-plugin")
    (hider / "sitecustomize.py").write_text(HIDE_THE_PLUGIN)
    path = [str(hider), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {**ENV, "PYTHONPATH": os.pathsep.join(path)}


def test_the_harness_really_hides_the_plugin(
    run_openstack: RunOpenstack, without_plugin: dict[str, str]
) -> None:
    """The comparison means something only if one run has no plugin."""
    shown = run_openstack("--debug", "help")
    assert OSC_ANNOUNCES_US in shown.stderr.splitlines()
    assert "(osc-evacuate)" in shown.stdout
    hidden = run_openstack("--debug", "help", env=without_plugin)
    assert hidden.returncode == 0, hidden.stderr
    assert OSC_ANNOUNCES_US not in hidden.stderr.splitlines()
    assert "(osc-evacuate)" not in hidden.stdout


@pytest.mark.parametrize(
    ("args", "returncode"),
    [
        pytest.param(("server", "list"), 0, id="server-list"),
        pytest.param(
            ("server", "list", "--password", PASSWORD),
            2,
            id="another-command-with-a-password",
        ),
    ],
)
def test_other_commands_log_as_without_the_plugin(
    run_openstack: RunOpenstack,
    without_plugin: dict[str, str],
    args: tuple[str, ...],
    returncode: int,
) -> None:
    ours = run_openstack("--debug", *args, env=ENV)
    theirs = run_openstack("--debug", *args, env=without_plugin)

    assert ours.returncode == theirs.returncode == returncode, ours.stderr
    # osc-lib logs the command line (START with options) before anything
    # fails, the argparse error included.
    assert "START with options: --debug server list" in theirs.stderr
    logged = normalised(ours.stderr).splitlines()
    # OSC's line for our plugin: in the run with it only, once.
    logged.remove(OSC_ANNOUNCES_US)
    assert logged == normalised(theirs.stderr).splitlines()
    assert normalised(ours.stdout) == normalised(theirs.stdout)


def test_the_normalisation_leaves_the_log_readable() -> None:
    """Only what varies is replaced: a password or a command line is
    compared as it is."""
    line = (
        "START with options: --debug server list --password ***=Sekr1t "
        "req-0b9f7a52-4a0e-4d57-9c0a-1f3d4e5f6a7b at 0x7f3a2b1c "
        "Date: Tue, 04 Mar 2025 10:11:12 GMT 2025-03-04T10:11:12Z"
    )
    assert normalised(line) == (
        "START with options: --debug server list --password ***=Sekr1t "
        "req-<id> at 0x<addr> Date: <http-date> 2025-03-04T10:11:12Z"
    )
