"""Both commands run end to end on a fake app and an in-memory cloud.

What a user sees: the columns and values cliff prints, the exit code, and
a one-line error (OSC's CommandError) with nothing sent when the core
refuses.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
from typing import Any

import pytest
from osc_lib import exceptions

from osc_evacuate.commands.base import EvacuateCommand
from osc_evacuate.commands.host import COLUMNS, EvacuateHost
from osc_evacuate.commands.osc_columns import STOCK_COLUMNS
from osc_evacuate.commands.plan_view import PLAN_COLUMNS
from osc_evacuate.commands.server import EvacuateServer
from osc_evacuate.core import defaults
from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.microversion import Microversion, mv
from osc_evacuate.core.models import Flavor, Image
from tests.unit.fake_app import FakeApp, make_command
from tests.unit.fake_compute import FakeCompute, server

FOUR = (
    server("a"),
    server("b", "stopped"),
    server("c", "error"),
    server("d", "paused"),
)


def command(
    cls: type[EvacuateCommand],
    api: FakeCompute,
    argv: list[str],
    pin: str | None = None,
    app: FakeApp | None = None,
) -> tuple[EvacuateCommand, argparse.Namespace]:
    cmd = make_command(cls, app or FakeApp(api, compute_api_version=pin))
    return cmd, cmd.get_parser("openstack evacuate").parse_args(argv)


def run(
    cls: type[EvacuateCommand],
    api: FakeCompute,
    argv: list[str],
    pin: str | None = None,
) -> tuple[int, Any, FakeApp]:
    """Run as cliff does with -f json: the exit code, the output, the
    app."""
    app = FakeApp(api, compute_api_version=pin)
    cmd, args = command(cls, api, [*argv, "-f", "json"], app=app)
    code = cmd.run(args)
    return code, json.loads(app.stdout.getvalue()), app


def test_host_rows_with_wait() -> None:
    api = FakeCompute(*FOUR)
    cmd, args = command(EvacuateHost, api, ["c1", "--wait", "600"])

    columns, data = cmd.take_action(args)

    assert columns == COLUMNS
    rows = {row[0]: dict(zip(columns, row, strict=True)) for row in data}
    seen = {
        sid: (
            r["Status Before"],
            r["Action"],
            r["Result"],
            r["Destination"],
            r["Status After"],
        )
        for sid, r in rows.items()
    }
    assert seen == {
        "a": ("ACTIVE", "submitted", "verified", "c2", "ACTIVE"),
        "b": ("SHUTOFF", "submitted", "verified", "c2", "SHUTOFF"),
        "c": ("ERROR", "submitted", "verified", "c2", "ACTIVE"),
        "d": ("PAUSED", "skipped", "skipped", None, None),
    }
    assert rows["a"]["Migration Status"] == "done"
    assert rows["a"]["Name"] == "vm-a"
    assert rows["a"]["Project"] == "p1"
    assert "not evacuable" in rows["d"]["Error"]
    assert cmd.exit_code == 0
    assert api.calls["evacuate"] == 3


def test_host_without_wait_submits_and_returns() -> None:
    code, rows, app = run(EvacuateHost, FakeCompute(*FOUR), ["c1"])

    assert code == 0
    assert [r["Result"] for r in rows] == [
        "submitted",
        "submitted",
        "submitted",
        "skipped",
    ]
    assert {r["Status After"] for r in rows} == {None}
    # stderr is not a terminal: no progress line.
    assert app.stderr.getvalue() == ""


def test_host_failure_exits_3_and_says_why() -> None:
    api = FakeCompute(server("a"), server("b"))
    api.no_valid_host = {"a"}

    code, rows, _ = run(EvacuateHost, api, ["c1", "--wait"])

    assert code == 3
    by_id = {r["ID"]: r for r in rows}
    assert by_id["a"]["Result"] == "failed"
    assert "No valid host" in by_id["a"]["Error"]
    assert by_id["b"]["Result"] == "verified"


def test_host_retries_reach_the_waiter() -> None:
    api = FakeCompute(server("a"))
    api.no_valid_host = {"a"}  # the first attempt only

    code, rows, _ = run(EvacuateHost, api, ["c1", "--wait", "--retries", "1"])

    assert code == 0
    assert rows[0]["Result"] == "verified"
    assert api.calls["evacuate"] == 2


def test_host_timeout_exits_4() -> None:
    # The fake needs three polls to prove an evacuation; one pause
    # between polls of fake time allows two.
    timeout = str(defaults.POLL_INTERVAL)
    code, rows, _ = run(
        EvacuateHost, FakeCompute(server("a")), ["c1", "--wait", timeout]
    )

    assert code == 4
    assert rows[0]["Result"] == "timed out"


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


SERVER_FIELDS = [
    "ID",
    "Name",
    "Project",
    "Status",
    "Task State",
    "Host",
    "Status Before",
    "Source Host",
    "Action",
    "Migration Status",
    "Destination",
    "Result",
    "Error",
    "Seconds",
    "Request ID",
]


def test_server_with_a_bare_wait_before_its_name() -> None:
    cmd, args = command(
        EvacuateServer, FakeCompute(server("a")), ["--wait", "vm-a"]
    )

    names, values = cmd.take_action(args)

    # Ours first, then stock OSC's but those cliff's -c takes for ours.
    assert list(names)[: len(SERVER_FIELDS)] == SERVER_FIELDS
    stock = [c for c in STOCK_COLUMNS if c not in ("id", "name", "status")]
    assert list(names)[len(SERVER_FIELDS) :] == stock
    shown = dict(zip(names, values, strict=True))
    assert shown["ID"] == "a"
    assert shown["Status"] == "ACTIVE"
    assert shown["Host"] == "c2"
    assert shown["Source Host"] == "c1"
    assert shown["Migration Status"] == "done"
    assert shown["Result"] == "verified"
    assert cmd.exit_code == 0


def test_server_shows_stock_osc_columns_as_it_is_after() -> None:
    api = FakeCompute(server("a"))
    api.glance["img-1"] = Image("img-1", "cirros")
    cmd, args = command(EvacuateServer, api, ["vm-a", "--wait"])

    names, values = cmd.take_action(args)

    shown = dict(zip(names, values, strict=True))
    assert shown["OS-EXT-SRV-ATTR:host"] == "c2"
    assert shown["OS-EXT-STS:vm_state"] == "active"
    assert shown["project_id"] == "p1"
    assert shown["image"] == "cirros (img-1)"
    assert shown["locked"] is None  # not sent by Nova: None, as in OSC
    assert api.calls["images"] == 1


def test_server_without_wait_shows_it_as_it_is_now() -> None:
    api = FakeCompute(server("a"))

    code, shown, _ = run(EvacuateServer, api, ["vm-a"])

    assert code == 0
    assert list(shown)[: len(SERVER_FIELDS)] == SERVER_FIELDS
    assert shown["Result"] == "submitted"
    assert shown["Host"] == "c1"  # not moved yet
    assert shown["Status Before"] == "ACTIVE"
    assert api.calls["show_server"] == 1


class PasswordCompute(FakeCompute):
    """Nova before 2.14: the answer carries the server's admin password,
    the one given or one Nova generated."""

    def evacuate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        answer = super().evacuate(server_id, version, body)
        password = str(body.get("adminPass", "generated-by-nova"))
        if version >= mv("2.14"):
            return answer
        return EvacuateResponse(answer.request_id, admin_pass=password)


def test_a_password_nova_generated_is_shown() -> None:
    api = PasswordCompute(server("a"))

    code, shown, _ = run(
        EvacuateServer, api, ["vm-a", "--shared-storage"], pin="2.13"
    )

    assert code == 0
    assert shown["Admin Password"] == "generated-by-nova"


def test_a_password_the_user_gave_is_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    api = PasswordCompute(server("a"))

    code, shown, app = run(
        EvacuateServer,
        api,
        ["vm-a", "--password", "s3cret-Pa55", "--wait"],
        pin="2.13",
    )

    assert code == 0
    assert "Admin Password" not in shown
    assert "s3cret-Pa55" not in app.stdout.getvalue()
    assert "s3cret-Pa55" not in app.stderr.getvalue()
    # osc-lib logs the parsed arguments, and we log our decisions.
    assert "run(Namespace(" in caplog.text
    assert "password given" in caplog.text
    assert "s3cret-Pa55" not in caplog.text


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal_ends_its_line() -> None:
    api = FakeCompute(server("a"), server("b"))
    app = FakeApp(api)
    app.stderr = Terminal()
    cmd, args = command(EvacuateHost, api, ["c1", "--wait"], app=app)

    cmd.take_action(args)

    text = app.stderr.getvalue()
    assert text.startswith("\rEvacuating: ")
    assert text.endswith("\rEvacuating: 2 verified, 0 failed, 0 remaining \n")


def test_host_dry_run_prints_the_plan_and_sends_nothing() -> None:
    api = FakeCompute(server("a"), server("b", "paused"))
    code, rows, app = run(EvacuateHost, api, ["c1", "--dry-run", "--wait"])
    assert code == 0
    assert list(rows[0]) == [*COLUMNS, *PLAN_COLUMNS]
    a, b = rows
    assert (a["Action"], a["Result"]) == ("would submit", "planned")
    assert (b["Action"], b["Result"]) == ("skipped", "skipped")
    assert a["Target"] == "scheduler"
    assert a["End State"] == "ACTIVE"
    assert api.calls["evacuate"] == 0
    assert app.stderr.getvalue() == ""


def test_a_dry_run_a_run_would_refuse_exits_1_with_the_plan() -> None:
    api = FakeCompute(
        dataclasses.replace(
            server("a"), flavor=Flavor(1, 512, 1), image_id="img"
        )
    )
    api.placement = {}  # no room anywhere
    code, rows, app = run(EvacuateHost, api, ["c1", "--dry-run"])
    assert code == 1
    assert rows[0]["Capacity"] == "no room"
    assert app.stderr.getvalue().startswith("A run would refuse: 1 of the 1")


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
