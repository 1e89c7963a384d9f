"""What the evacuate commands refuse: a one-line error (OSC's
CommandError) with nothing sent, and the confirmation --force-down asks
for before it changes anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from osc_lib import exceptions

from osc_evacuate.commands.base import EvacuateCommand
from osc_evacuate.commands.host import EvacuateHost
from osc_evacuate.commands.server import EvacuateServer
from osc_evacuate.core.host_lock import Claim, HostLocks
from osc_evacuate.core.journal import Journal
from tests.unit.command_runs import command
from tests.unit.fake_app import FakeApp
from tests.unit.fake_compute import FakeCompute, server


@pytest.mark.parametrize(
    ("cls", "argv", "pin", "message"),
    [
        (EvacuateHost, ["c9"], None, "No nova-compute service on host 'c9'"),
        (EvacuateServer, ["nope"], None, "No server with a name or ID"),
        (
            EvacuateHost,
            ["c1", "--target-state", "stopped"],
            "2.94",
            "needs --wait",
        ),
        (
            EvacuateHost,
            ["c1", "--force"],
            None,
            "--force requires --target-host",
        ),
        (EvacuateHost, ["c1"], "2.x", "--os-compute-api-version 2.x is not"),
        (EvacuateServer, ["vm-a"], "two", "--os-compute-api-version two"),
    ],
)
def test_refusals_are_command_errors_and_nothing_is_sent(
    cls: type[EvacuateCommand],
    argv: list[str],
    pin: str | None,
    message: str,
) -> None:
    api = FakeCompute(server("a"))
    app = FakeApp(api, compute_api_version=pin)
    cmd, args = command(cls, api, argv, app=app)

    with pytest.raises(exceptions.CommandError) as exc:
        cmd.run(args)

    assert message in str(exc.value)
    assert "\n" not in str(exc.value)
    assert api.calls["evacuate"] == 0
    assert app.stdout.getvalue() == ""


def test_a_host_still_up_is_refused() -> None:
    api = FakeCompute(server("a"), up=True)
    cmd, args = command(EvacuateHost, api, ["c1", "--wait"])

    with pytest.raises(exceptions.CommandError, match="c1 is up"):
        cmd.run(args)
    assert api.calls["evacuate"] == 0


@pytest.mark.parametrize(
    ("terminal", "typed", "message"),
    [
        (False, "", "pass --yes to confirm when not at a terminal"),
        (True, "n\n", "not confirmed; nothing was changed"),
        (True, "\n", "not confirmed; nothing was changed"),
    ],
)
def test_force_down_is_confirmed_or_nothing_changes(
    terminal: bool, typed: str, message: str
) -> None:
    api = FakeCompute(server("a"), up=True)
    app = FakeApp(api, terminal=terminal)
    app.stdin.write(typed)
    app.stdin.seek(0)
    cmd, args = command(EvacuateHost, api, ["c1", "--force-down"], app=app)
    with pytest.raises(exceptions.CommandError, match=message):
        cmd.run(args)
    assert api.calls["update_service"] == 0
    assert api.calls["evacuate"] == 0
    if terminal:
        question = app.stderr.getvalue()
        assert "Mark nova-compute on c1 forced down?" in question


@pytest.mark.parametrize("argv", [["--yes"], []])
def test_force_down_confirmed_forces_the_host_down_then_evacuates(
    argv: list[str],
) -> None:
    api = FakeCompute(server("a"), up=True)
    app = FakeApp(api, terminal=not argv)
    app.stdin.write("yes\n")
    app.stdin.seek(0)
    cmd, args = command(
        EvacuateHost, api, ["c1", "--force-down", *argv], app=app
    )
    assert cmd.run(args) == 0
    assert api.calls["update_service"] == 1
    assert api.calls["evacuate"] == 1


def test_a_disable_reason_needs_force_down() -> None:
    api = FakeCompute(server("a"))
    cmd, args = command(EvacuateHost, api, ["c1", "--disable-reason", "x"])
    with pytest.raises(exceptions.CommandError, match="needs --force-down"):
        cmd.run(args)
    assert api.calls["evacuate"] == 0


def test_a_mark_s_place_needs_the_mark() -> None:
    api = FakeCompute(server("a"))
    argv = ["c1", "--evacuable-mark-on", "flavor"]
    cmd, args = command(EvacuateHost, api, argv)
    with pytest.raises(
        exceptions.CommandError, match="needs --evacuable-mark"
    ):
        cmd.run(args)
    assert api.calls["evacuate"] == 0


@pytest.mark.parametrize(
    ("cls", "argv"), [(EvacuateHost, ["c1"]), (EvacuateServer, ["vm-a"])]
)
def test_a_host_another_run_holds_is_refused_and_nothing_is_sent(
    cls: type[EvacuateCommand], argv: list[str], tmp_path: Path
) -> None:
    """The lock is the cloud's: the same auth URL, with or without its
    trailing slash, and region."""
    api = FakeCompute(server("a"))
    app = FakeApp(api)
    app.client_manager.set_option("auth", {"auth_url": "http://ks/v3/"})
    cmd, args = command(cls, api, argv, app=app)
    cmd.journal = Journal(tmp_path / "in-flight")
    cloud = "http://ks/v3|None|None"

    with HostLocks(tmp_path / "hosts", cloud, "host evacuate") as other:
        other.take(Claim(("c1",)))
        with pytest.raises(exceptions.CommandError) as exc:
            cmd.run(args)

    assert "another osc-evacuate run on this machine" in str(exc.value)
    assert "working on host c1" in str(exc.value)
    assert api.calls["evacuate"] == 0
    assert app.stdout.getvalue() == ""
