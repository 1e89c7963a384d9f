"""host evacuation retire carried out on a fake Nova and Placement that
act as Nova 34's service deletion does: what each row says, the order,
the failures that stop the rest; and the command's output and exit
codes."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import cast

import pytest
from osc_lib import exceptions

from osc_evacuate.commands import base
from osc_evacuate.commands.exit_codes import (
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_WAITING,
    RETIRE_EXIT_CODES_HELP,
)
from osc_evacuate.commands.retire import COLUMNS, RetireHostEvacuation
from osc_evacuate.core import retire_run
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import ComputeService, Migration
from osc_evacuate.core.retire_models import Consumer, Outcome
from tests.unit.fake_app import FakeApp
from tests.unit.fake_compute import server
from tests.unit.fake_placement import (
    HOST,
    FakeRetireCompute,
    dead_host,
    record,
)
from tests.unit.fake_placement import conflict as placement_conflict

UP = ComputeService("s1", HOST, "up", "enabled", False)


# -- Runs -------------------------------------------------------------------


def results(done: retire_run.Retired) -> list[tuple[str, str]]:
    return [(row.removal.id, row.result) for row in done.rows]


def test_a_run_removes_what_the_host_holds_and_keeps_the_rest() -> None:
    api = dead_host()
    api.allocate("gone", "rp-c1")

    done = retire_run.carry_out(api, HOST, False, print)

    assert results(done) == [
        ("a", "removed"),
        ("b", "removed"),
        ("gone", "removed"),
        ("s1", "deleted"),
        ("rp-c1", "removed by Nova"),
        ("1", "left done"),
        ("2", "left done"),
    ]
    assert not done.failed
    # The evacuated servers keep their allocations on their new host.
    assert api.allocs["a"] == {
        "rp-c2": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    }
    assert api.allocs["gone"] == {}
    assert "rp-c1" not in api.rps
    assert [s.host for s in api.services if s.host == HOST] == []
    assert api.writes[:3] == [
        f"PUT /allocations/{c}" for c in ("a", "b", "gone")
    ]


def test_a_dry_run_removes_nothing() -> None:
    api = dead_host()

    done = retire_run.carry_out(api, HOST, True, print)

    assert [r for _, r in results(done)] == [
        "would remove",
        "would remove",
        "would delete",
        "would be removed",
        "would be left done",
        "would be left done",
    ]
    assert api.writes == []


def test_a_provider_nova_leaves_is_deleted_once_empty() -> None:
    api = dead_host()
    api.nova_cascades = False

    done = retire_run.carry_out(api, HOST, False, print)

    assert ("rp-c1", "removed") in results(done)
    assert "rp-c1" not in api.rps
    assert api.writes[-1] == "DELETE /resource_providers/rp-c1"


def test_a_provider_still_in_use_after_the_service_fails() -> None:
    api = dead_host()
    api.nova_cascades = False
    # Something allocates against it while the service goes.
    api.on_delete = lambda: api.allocate("late", "rp-c1")

    done = retire_run.carry_out(api, HOST, False, print)

    row = next(r for r in done.rows if r.removal.id == "rp-c1")
    assert row.outcome is Outcome.FAILED
    assert row.result == (
        "failed: still there, Nova left it: 1 consumer(s) hold "
        "allocations against it (late)"
    )
    assert done.failed


@pytest.mark.parametrize(
    "error",
    [ComputeAPIError("unavailable", 503), placement_conflict("changed")],
)
def test_a_failure_stops_what_follows(error: ComputeAPIError) -> None:
    api = dead_host()
    api.errors["set_consumer_allocations"] = error

    done = retire_run.carry_out(api, HOST, False, print)

    assert results(done) == [
        ("a", f"failed: {error}"),
        ("b", "not done"),
        ("s1", "not done"),
        ("rp-c1", "not done"),
        ("1", "left done"),
        ("2", "left done"),
    ]
    assert api.writes == []
    assert any(s.host == HOST for s in api.services)


def test_a_consumer_already_cleaned_up_is_said_so() -> None:
    api = dead_host()
    real = api.consumer_allocations

    def cleaned(uuid: str) -> Consumer:
        api.allocs[uuid].pop("rp-c1", None)
        return real(uuid)

    api.consumer_allocations = cleaned  # type: ignore[method-assign]

    done = retire_run.carry_out(api, HOST, False, print)

    assert results(done)[:2] == [("a", "already gone"), ("b", "already gone")]


# -- The command ------------------------------------------------------------


def run(api: FakeRetireCompute, *argv: str) -> tuple[int, FakeApp]:
    app = FakeApp(api)
    command = RetireHostEvacuation(cast(base.App, app), None)
    parser = command.get_parser("openstack host evacuation retire")
    args: argparse.Namespace = parser.parse_args([*argv, "-f", "json"])
    return command.run(args), app


def test_the_command_prints_the_rows_and_the_note() -> None:
    code, app = run(dead_host(), HOST)

    rows = json.loads(app.stdout.getvalue())
    assert code == EXIT_OK
    assert [list(row) for row in rows] == [list(COLUMNS)] * len(rows)
    assert [(r["Kind"], r["Result"]) for r in rows] == [
        ("allocation", "removed"),
        ("allocation", "removed"),
        ("compute service", "deleted"),
        ("resource provider", "removed by Nova"),
        ("evacuation record", "left done"),
        ("evacuation record", "left done"),
    ]
    said = app.stderr.getvalue()
    assert said.startswith("Note: 2 evacuation record(s) from c1 stay done")
    assert said.count("\n") == 1


@pytest.mark.parametrize(
    ("on_host", "records", "code", "words"),
    [
        (
            [("a", "active")],
            [record(1, "a", "pre-migrating")],
            EXIT_WAITING,
            "yet",
        ),
        ([("p", "paused")], [], EXIT_INCOMPLETE, "still on it (vm-p)"),
    ],
)
def test_refusals_exit_with_one_line_and_remove_nothing(
    on_host: list[tuple[str, str]],
    records: list[Migration],
    code: int,
    words: str,
) -> None:
    api = FakeRetireCompute(*(server(sid, vm) for sid, vm in on_host))
    api.records = records

    got, app = run(api, HOST, "--dry-run")

    assert got == code
    assert app.stdout.getvalue() == ""
    said = app.stderr.getvalue()
    assert said.count("\n") == 1 and words in said
    assert api.writes == []


def test_other_refusals_are_command_errors() -> None:
    api = dead_host()
    api.services[0] = UP

    with pytest.raises(exceptions.CommandError, match="c1 is up"):
        run(api, HOST)
    assert api.writes == []


def test_a_failure_exits_3() -> None:
    api = dead_host()
    api.errors["delete_service"] = ComputeAPIError("boom", 500)

    code, app = run(api, HOST)

    rows = json.loads(app.stdout.getvalue())
    assert code == EXIT_FAILED
    assert [r["Result"] for r in rows if r["Kind"] == "compute service"] == [
        "failed: boom (HTTP 500)"
    ]


def test_the_exit_codes_help_says_each_code_it_gives() -> None:
    codes = re.findall(r"^  (\d+)  ", RETIRE_EXIT_CODES_HELP, re.M)
    assert [int(c) for c in codes] == [0, 1, 2, 3, 6, 7]


def test_the_exit_codes_page_has_the_same_codes() -> None:
    page = Path(__file__).parents[2] / "doc" / "source" / "exit-codes.rst"
    section = page.read_text().split("``host evacuation retire``")[1]
    documented = re.findall(r"^(\d+)  +\S", section, re.M)
    helped = re.findall(r"^  (\d+)  ", RETIRE_EXIT_CODES_HELP, re.M)
    assert documented == helped


def test_a_service_deleted_though_its_answer_was_lost() -> None:
    api = dead_host()
    real = api.delete_service

    def lost(service_id: str) -> None:
        real(service_id)
        raise ComputeAPIError("connection reset")

    api.delete_service = lost  # type: ignore[method-assign]

    done = retire_run.carry_out(api, HOST, False, print)

    assert ("s1", "deleted") in results(done)
    assert not done.failed
