"""The exit code a script sees, from the rows the command printed."""

from __future__ import annotations

import pytest

from osc_evacuate.commands.exit_codes import (
    EXIT_CODES_HELP,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMED_OUT,
    exit_code,
)
from osc_evacuate.core.models import (
    Action,
    PlannedRow,
    Result,
    ServerOutcome,
)
from tests.unit.fake_compute import server


def rows(*results: Result) -> list[ServerOutcome]:
    return [
        ServerOutcome(
            PlannedRow(server(str(i)), Action.SUBMITTED, Result.SUBMITTED),
            result,
        )
        for i, result in enumerate(results)
    ]


def test_the_codes_are_the_documented_ones() -> None:
    assert (EXIT_OK, EXIT_FAILED, EXIT_TIMED_OUT) == (0, 3, 4)
    assert EXIT_INTERRUPTED == 130
    lines = EXIT_CODES_HELP.splitlines()
    assert [line.split()[0] for line in lines if line[2:3].isdigit()] == [
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "130",
    ]
    assert "3  one or more servers were refused, failed" in EXIT_CODES_HELP
    assert "5  evacuations were sent, but" in EXIT_CODES_HELP
    assert "4  --wait timed out" in EXIT_CODES_HELP


@pytest.mark.parametrize(
    ("results", "code"),
    [
        ((), 0),
        ((Result.VERIFIED,), 0),
        ((Result.VERIFIED, Result.SKIPPED, Result.ALREADY_EVACUATED), 0),
        # Not waited for: accepted is all a script can be told.
        ((Result.SUBMITTED, Result.IN_PROGRESS), 0),
        ((Result.VERIFIED, Result.TIMED_OUT), 4),
        ((Result.VERIFIED, Result.FAILED), 3),
        # A failure needs a person sooner than a slow engine.
        ((Result.TIMED_OUT, Result.FAILED, Result.VERIFIED), 3),
        ((Result.FAILED, Result.TIMED_OUT), 3),
        # The owner deleted it: nothing left to evacuate, nothing failed.
        ((Result.VERIFIED, Result.DELETED), 0),
        ((Result.VERIFIED, Result.STUCK), 3),
        ((Result.NOT_PROVEN, Result.VERIFIED), 5),
        ((Result.NOT_PROVEN, Result.TIMED_OUT), 5),
        ((Result.NOT_PROVEN, Result.STUCK), 3),
    ],
)
def test_exit_code_from_rows(results: tuple[Result, ...], code: int) -> None:
    assert exit_code(rows(*results)) == code


def test_ctrl_c_outranks_every_row() -> None:
    assert exit_code(rows(Result.VERIFIED), interrupted=True) == 130
    assert exit_code(rows(Result.FAILED), interrupted=True) == 130
