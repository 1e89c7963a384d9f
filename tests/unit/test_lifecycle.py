"""The host's return: judge()'s verdicts, what nova-compute's start-up
does for each record, and finish's refusals (exit 6 while the host must
not return yet), from tables."""

from __future__ import annotations

import argparse
import json
from typing import cast

import pytest

from osc_evacuate.commands import base
from osc_evacuate.commands.exit_codes import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_WAITING,
)
from osc_evacuate.commands.lifecycle import (
    SHOW_COLUMNS,
    FinishHostEvacuation,
    LinesColumn,
    ShowHostEvacuation,
    show_exit,
)
from osc_evacuate.core import lifecycle, start_up
from osc_evacuate.core.errors import NotYet, Refused
from osc_evacuate.core.lifecycle import Standing
from osc_evacuate.core.models import ComputeService, Migration
from tests.unit.fake_app import FakeApp
from tests.unit.fake_compute import FakeCompute, server

HOST = "c1"
DOWN = ComputeService("s1", HOST, "down", "enabled", True)
UP = ComputeService("s1", HOST, "up", "enabled", False)


def record(mid: int, uuid: str, status: str) -> Migration:
    return Migration(mid, uuid, status, HOST, "c2", "2026-01-01", None)


# name: (records, servers on the host (id, vm_state), service), then
# (verdict, servers under way, servers left).
JUDGED = {
    "nothing left, forced down": (
        [record(1, "a", "completed")],
        [],
        DOWN,
        (Standing.READY, [], []),
    ),
    "nothing left, back": (
        [record(1, "a", "completed")],
        [],
        UP,
        (Standing.IN_SERVICE, [], []),
    ),
    "done, not yet restarted": (
        [record(1, "a", "done"), record(2, "b", "done")],
        [],
        DOWN,
        (Standing.WAITING, [], []),
    ),
    "accepted": (
        [record(1, "a", "accepted")],
        [("a", "active")],
        DOWN,
        (Standing.UNDER_WAY, ["a"], []),
    ),
    "pre-migrating": (
        [record(1, "a", "pre-migrating")],
        [("a", "active")],
        DOWN,
        (Standing.UNDER_WAY, ["a"], []),
    ),
    "under way outranks servers left and done records": (
        [
            record(1, "a", "pre-migrating"),
            record(2, "b", "failed"),
            record(3, "c", "done"),
        ],
        [("a", "active"), ("b", "error")],
        DOWN,
        (Standing.UNDER_WAY, ["a"], ["b"]),
    ),
    # The conductor took up the older record; the newer one stays
    # accepted, though the evacuation ended: Nova's start-up reads it all
    # the same.
    "an older record accepted, the latest failed": (
        [record(1, "a", "failed"), record(2, "a", "accepted")],
        [("a", "error")],
        DOWN,
        (Standing.UNDER_WAY, ["a"], []),
    ),
    "accepted, of a server no longer on the host": (
        [record(1, "a", "done"), record(2, "a", "accepted")],
        [],
        DOWN,
        (Standing.WAITING, [], []),
    ),
    "failed, the server still there": (
        [record(1, "a", "failed")],
        [("a", "error")],
        DOWN,
        (Standing.INCOMPLETE, [], ["a"]),
    ),
    "servers left outrank done records": (
        [record(1, "a", "error"), record(2, "b", "done")],
        [("a", "active")],
        DOWN,
        (Standing.INCOMPLETE, [], ["a"]),
    ),
    # Nova marks the record done a moment before it moves the server's
    # host: until then a start-up would destroy the only copy.
    "done, the server still placed on the host": (
        [record(1, "a", "done")],
        [("a", "active")],
        DOWN,
        (Standing.UNDER_WAY, ["a"], []),
    ),
    "a paused server stays: it cannot be evacuated": (
        [record(1, "a", "completed")],
        [("p", "paused")],
        DOWN,
        (Standing.READY, [], []),
    ),
}


@pytest.mark.parametrize("case", JUDGED, ids=list(JUDGED))
def test_judge(case: str) -> None:
    records, on_host, service, expected = JUDGED[case]
    servers = [server(sid, vm_state) for sid, vm_state in on_host]

    state = lifecycle.judge(service, records, servers)

    assert (
        state.verdict,
        [m.instance_uuid for m in state.under_way],
        [s.id for s in state.left],
    ) == expected
    assert len(state.start_up) == len(records)


ONLY_COPY = "destroys the local guest, the server's only copy"
LEFT_BEHIND = "destroys the guest left behind, if any"
# (status, server still on the host, records of it the start-up reads):
# (words of the effect, destroys the only copy).
EFFECTS = {
    ("accepted", True, 1): (ONLY_COPY, True),
    ("pre-migrating", True, 1): (ONLY_COPY, True),
    ("done", True, 1): ("though Nova still places the server", True),
    ("accepted", False, 2): (LEFT_BEHIND, False),
    ("pre-migrating", False, 1): (LEFT_BEHIND, False),
    ("done", False, 1): (LEFT_BEHIND, False),
    ("completed", False, 0): ("nothing: an earlier start-up", False),
    ("completed", True, 0): ("nothing: an earlier start-up", False),
    ("failed", True, 0): ("nothing: Nova does not read it", False),
    ("error", True, 0): ("nothing: Nova does not read it", False),
    ("error", False, 1): ("nothing: Nova does not read it", False),
}


@pytest.mark.parametrize("case", EFFECTS, ids=[str(c) for c in EFFECTS])
def test_what_the_start_up_does(case: tuple[str, bool, int]) -> None:
    words, only_copy = EFFECTS[case]

    effect, destroys = start_up.start_up_effect(*case)

    assert words in effect
    assert destroys is only_copy
    read = case[0] in ("accepted", "pre-migrating", "done")
    assert ("marks the record completed" in effect) is (read and case[2] < 2)


def test_one_record_of_a_server_is_completed_at_each_start_up() -> None:
    effect, _ = start_up.start_up_effect("done", False, 2)
    assert "one of the server's 2 accepted, pre-migrating or done" in effect


def test_the_records_that_destroy_an_only_copy_come_first() -> None:
    records = [
        record(1, "a", "done"),
        record(2, "b", "completed"),
        record(3, "c", "pre-migrating"),
    ]

    entries = start_up.at_start_up(records, {"c"})

    assert [str(e).split(":")[0] for e in entries] == [
        "c pre-migrating",
        "a done",
        "b completed",
    ]


def cloud(records: list[Migration], *on_host: tuple[str, str]) -> FakeCompute:
    api = FakeCompute(*(server(sid, vm) for sid, vm in on_host))
    api.records = records
    return api


@pytest.mark.parametrize("force", [False, True])
def test_finish_refuses_while_an_evacuation_is_under_way(force: bool) -> None:
    api = cloud([record(1, "a", "accepted")], ("a", "active"))

    with pytest.raises(NotYet) as refused:
        lifecycle.finish(api, HOST, keep_disabled=False, force=force)

    said = str(refused.value)
    assert "vm-a (a) accepted" in said
    assert "--force does not override this" in said
    assert api.service_changes == []


def test_finish_refuses_records_still_done_force_or_not() -> None:
    api = cloud([record(1, "a", "done")])

    with pytest.raises(NotYet, match="1 evacuation record is still done"):
        lifecycle.finish(api, HOST, keep_disabled=False, force=True)
    assert api.service_changes == []


def test_finish_returns_servers_left_only_with_force() -> None:
    api = cloud([record(1, "a", "failed")], ("a", "error"))

    with pytest.raises(Refused) as refused:
        lifecycle.finish(api, HOST, keep_disabled=False, force=False)
    assert not isinstance(refused.value, NotYet)
    assert api.service_changes == []

    done = lifecycle.finish(api, HOST, keep_disabled=False, force=True)

    assert done.warning == (
        "1 server never evacuated (vm-a) is left on c1, to run there again"
    )
    assert [c.body for _, c in api.service_changes] == [{"forced_down": False}]


def test_every_verdict_has_an_exit_code() -> None:
    assert {v: show_exit(v) for v in Standing} == {
        Standing.UNDER_WAY: EXIT_WAITING,
        Standing.INCOMPLETE: EXIT_INCOMPLETE,
        Standing.WAITING: EXIT_WAITING,
        Standing.READY: EXIT_OK,
        Standing.IN_SERVICE: EXIT_OK,
    }


def run(
    cls: type[base.OwnParser], api: FakeCompute, *argv: str
) -> tuple[int, FakeApp]:
    app = FakeApp(api)
    command = cls(cast(base.App, app), None)
    parsed = command.get_parser("openstack host evacuation")
    args: argparse.Namespace = parsed.parse_args([*argv, "-f", "json"])
    return command.run(args), app


def test_finish_exits_6_with_one_line_and_nothing_on_stdout() -> None:
    api = cloud([record(1, "a", "pre-migrating")], ("a", "active"))

    code, app = run(FinishHostEvacuation, api, HOST, "--force")

    assert code == EXIT_WAITING
    assert app.stdout.getvalue() == ""
    said = app.stderr.getvalue()
    assert said.count("\n") == 1
    assert said.startswith("c1 must not return yet: 1 evacuation from c1 ")
    assert "vm-a (a) pre-migrating" in said
    assert api.service_changes == []


def test_show_says_what_the_start_up_does_to_each_record() -> None:
    records = [record(1, "a", "pre-migrating"), record(2, "b", "done")]
    api = cloud(records, ("a", "active"))

    code, app = run(ShowHostEvacuation, api, HOST)

    shown = json.loads(app.stdout.getvalue())
    assert code == EXIT_WAITING
    assert list(shown) == list(SHOW_COLUMNS)
    assert shown["Verdict"] == "evacuation under way"
    assert shown["Unfinished"] == ["a"]
    assert [
        line.split(": ")[0] for line in shown["When Nova-Compute Starts"]
    ] == ["a pre-migrating", "b done"]
    assert "do not start nova-compute on c1" in shown["Next Step"]


def test_one_line_a_record_in_a_table() -> None:
    api = cloud([record(1, "a", "done"), record(2, "b", "done")])
    lines = [str(e) for e in lifecycle.host_state(api, HOST).start_up]

    column = LinesColumn(lines)

    assert column.human_readable().splitlines() == lines
    assert column.machine_readable() == lines
