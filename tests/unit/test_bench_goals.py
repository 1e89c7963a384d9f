"""The benchmark's goals, judged from made-up results: the wall-time
ratios per size, the osc floor's measured verdict on reach, the start-up
and exit goals. No sandbox runs here."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

# tools/bench.py's parts, as `python tools/bench.py` imports them.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from benchlib.goals import goals
from benchlib.turns import by_turn, gap

from tests.unit.bench_results import (
    phased,
    results_of,
    run_of,
    three_turns,
    turned,
    way,
    with_startup,
)


def test_goals_are_judged_from_the_results() -> None:
    runs = []
    for n, mine, nova, floor in (
        (50, 20.0, 25.0, 19.5),
        (200, 90.0, 95.0, 80),
    ):
        runs += [
            run_of("osc-evacuate", n, mine, bytes_per_changed_item=10 * n),
            run_of("nova host-evacuate", n, nova),
            run_of("raw sequential", n, floor),
        ]

    met = {g.goal: g.met for g in goals(results_of(*runs, import_ms=30.0))}

    assert met["wall time at N=50: at most 1.10x raw sequential"]
    assert met["wall time at N=50: at most 0.90x nova host-evacuate"]
    assert not met["wall time at N=200: at most 1.05x raw sequential"]
    assert not met["wall time at N=200: at most 0.85x nova host-evacuate"]
    assert met["requests per poll cycle: constant in N"]
    assert not next(v for k, v in met.items() if k.startswith("bytes per"))
    assert not met["plugin start-up cost: at most 25 ms"]
    assert met["peak memory at N=200: within 150 MB"]
    # No figures for them (results from before they were measured): the
    # start-up and exit goals are left out.
    assert not [k for k in met if k.startswith(("start-up at", "exit at"))]


@pytest.mark.parametrize(
    ("n", "mine", "sequential", "nova", "met"),
    [
        # N=50: at most 1.10x raw sequential and 0.90x nova host-evacuate.
        (50, 22.0, 20.0, 24.5, {"raw sequential": True, "nova": True}),
        (50, 22.2, 20.0, 24.4, {"raw sequential": False, "nova": False}),
        # N=200: at most 1.05x raw sequential and 0.85x nova.
        (200, 105.0, 100.0, 123.6, {"raw sequential": True, "nova": True}),
        (200, 105.2, 100.0, 124.0, {"raw sequential": False, "nova": True}),
        (200, 84.0, 100.0, 98.0, {"raw sequential": True, "nova": False}),
    ],
)
def test_each_size_has_its_own_wall_time_ratios(
    n: int, mine: float, sequential: float, nova: float, met: dict[str, bool]
) -> None:
    # raw parallel, faster, is no reference: raw sequential is.
    results = results_of(
        run_of("osc-evacuate", n, mine),
        run_of("raw parallel", n, sequential / 2),
        run_of("raw sequential", n, sequential),
        run_of("nova host-evacuate", n, nova),
    )

    judged = {
        g.goal.split("x ", 1)[1].split()[0]: g.met
        for g in goals(results)
        if g.goal.startswith(f"wall time at N={n}:")
    }

    assert judged == {"raw": met["raw sequential"], "nova": met["nova"]}


def test_wall_time_is_judged_turn_by_turn() -> None:
    # A slow spell in turn 2 slows the floor alone. The medians of the
    # ways (30 s against 28.6 s) would meet 1.05x; turn by turn
    # osc-evacuate was 15% and 20% slower in the other two.
    mine = turned(
        "osc-evacuate",
        phased(2.5, 25.0, 2.5),
        phased(2.0, 20.0, 2.0),
        phased(3.0, 27.0, 3.0),
    )
    floor = turned(
        "raw sequential",
        phased(0.2, 23.8, 1.0),
        phased(0.2, 28.0, 0.8),
        phased(0.2, 27.0, 1.4),
    )

    mine = dataclasses.replace(
        mine, first_request_seconds_of_each_run=(1.5, 1.4, 1.6)
    )
    floor = dataclasses.replace(
        floor, first_request_seconds_of_each_run=(0.2, 0.2, 0.3)
    )

    turns = by_turn(mine, floor)
    assert turns is not None
    behind = gap(mine, floor, turns.median_turn)

    assert [round(r, 2) for r in turns.ratios] == [1.2, 0.83, 1.15]
    assert turns.ratio == turns.ratios[2]
    assert turns.median_turn == 2
    assert "median of 3 turns" in turns.measured()
    assert behind is not None
    assert behind.turn == 3
    assert behind.wall_seconds == 4.4
    assert [p.wall_seconds for p in behind.phases] == [2.8, 0.0, 1.6]
    assert behind.first_request_seconds == (1.6, 0.3)


@pytest.mark.parametrize(
    ("n", "floor", "verdict"),
    [
        # The floor's own median ratio to raw sequential (turn by turn:
        # 21/20, 23/20, 20/20) is 1.05: within 1.10x at N=50, so the gap
        # is ours.
        (50, (21.0, 23.0, 20.0), "the floor prototype meets it: 1.0500x"),
        # 1.15 over the 1.10 allowed: out of any OSC command's reach.
        (50, (23.0, 23.0, 20.0), "out of any OSC command's reach"),
        # At N=200 the goal allows 1.05x: the same floor is out of reach.
        (200, (21.0, 23.0, 20.0), None),
        (200, (21.4, 23.0, 20.0), "out of any OSC command's reach"),
    ],
)
def test_out_of_reach_is_the_floors_own_measured_ratio(
    n: int, floor: tuple[float, ...], verdict: str | None
) -> None:
    # osc-evacuate 1.25x raw sequential in every turn: not met either way.
    results = results_of(
        three_turns("osc-evacuate", n, 25.0, 25.0, 25.0),
        three_turns("osc floor", n, *floor),
        three_turns("raw sequential", n, 20.0, 20.0, 20.0),
    )

    (goal,) = (g for g in goals(results) if "raw sequential" in g.goal)

    assert not goal.met
    assert goal.measured.startswith("1.2500x (median of 3 turns")
    if verdict is None:
        # The floor's 1.05x meets 1.05x: the gap is ours.
        assert goal.limit is not None
        assert "the floor prototype meets it: 1.0500x" in goal.limit
    else:
        assert goal.limit is not None
        assert verdict in goal.limit
    assert goal.gap is not None


def test_no_floor_no_verdict_and_a_met_goal_needs_none() -> None:
    # Results from before the osc floor ran: no verdict on reach.
    before = results_of(
        three_turns("osc-evacuate", 50, 25.0, 25.0, 25.0),
        three_turns("raw sequential", 50, 20.0, 20.0, 20.0),
    )
    # A goal met says nothing of reach, even with a slow floor.
    fast = results_of(
        three_turns("osc-evacuate", 50, 21.0, 21.0, 21.0),
        three_turns("osc floor", 50, 30.0, 30.0, 30.0),
        three_turns("raw sequential", 50, 20.0, 20.0, 20.0),
    )
    # A floor that ran fewer turns than osc-evacuate is no measure of the
    # same turns.
    short = results_of(
        three_turns("osc-evacuate", 50, 25.0, 25.0, 25.0),
        way("osc floor", 50, [phased(1, 28, 1)]),
        three_turns("raw sequential", 50, 20.0, 20.0, 20.0),
    )

    (unknown,) = goals(before)[:1]
    (met,) = goals(fast)[:1]
    (shorter,) = goals(short)[:1]

    assert (unknown.met, unknown.limit) == (False, None)
    assert (met.met, met.limit) == (True, None)
    assert (shorter.met, shorter.limit) == (False, None)


@pytest.mark.parametrize(
    ("before", "listed", "measured", "met"),
    [
        # Median of 0.4, 0.5, 0.6 s later than the server list: met.
        ([2.4, 2.6, 2.5], [2.0, 2.0, 2.0], "+0.50 s (median of 3 turns", True),
        # 0.51 s later: not met.
        ([2.51], [2.0], "+0.51 s", False),
        # Each turn against its own server list: 3.0 - 2.6, 2.2 - 1.5,
        # 2.0 - 1.2; the median is 0.7 (against one list it would pass).
        ([3.0, 2.2, 2.0], [2.6, 1.5, 1.2], "+0.70 s (median", False),
        # A turn with no server list is left out.
        ([2.0, 9.0], [1.8, None], "+0.20 s", True),
    ],
)
def test_start_up_goal_is_against_stock_server_list(
    before: list[float],
    listed: list[float | None],
    measured: str,
    met: bool,
) -> None:
    results = results_of(with_startup(50, before, listed))

    (goal,) = (g for g in goals(results) if g.goal.startswith("start-up"))

    assert goal.goal.startswith("start-up at N=50: first evacuate request")
    assert goal.measured.startswith(measured)
    assert goal.met is met


@pytest.mark.parametrize(
    ("seconds", "met"),
    [
        ((0.9, 1.0, 3.0), True),  # median 1.0: at most 0.5 s + 0.5 s
        ((0.9, 1.6, 0.2), True),  # median 0.9
        ((1.6, 1.01, 1.0), False),  # median 1.01
        ((None, 1.1, 1.2), False),  # a turn not measured is left out
    ],
)
def test_exit_goal_is_from_the_last_done_to_the_exit(
    seconds: tuple[float | None, ...], met: bool
) -> None:
    mine = dataclasses.replace(
        three_turns("osc-evacuate", 200, 20.0, 20.0, 20.0),
        done_to_exit_seconds_of_each_run=seconds,
    )

    (goal,) = (g for g in goals(results_of(mine)) if g.goal.startswith("exit"))

    assert goal.goal == (
        "exit at N=200: at most 1 s from the last evacuation record done "
        "to the exit"
    )
    assert goal.met is met
