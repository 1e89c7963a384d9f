"""openstack host evacuate run end to end on a fake app and an in-memory
cloud: the rows and columns cliff prints, the exit code, the progress
line, and the plan of a dry run."""

from __future__ import annotations

import dataclasses

from osc_evacuate.commands.host import COLUMNS, EvacuateHost
from osc_evacuate.commands.plan_view import PLAN_COLUMNS
from osc_evacuate.core import defaults
from osc_evacuate.core.models import Flavor
from tests.unit.command_runs import command, run
from tests.unit.fake_app import FakeApp, Terminal
from tests.unit.fake_compute import FakeCompute, server

FOUR = (
    server("a"),
    server("b", "stopped"),
    server("c", "error"),
    server("d", "paused"),
)


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
