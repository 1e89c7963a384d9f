"""A way against a reference, turn by turn, for the wall-time goals.

A turn runs every way once, one after another, so that a slow spell of
the machine hits them all; a turn's ratio is a way's wall time over the
reference's in the same turn, and a goal reads the median of its turns'
ratios. A wall-time goal not met says where osc-evacuate's extra seconds
went in its median turn, phase by phase (``gap``), and whether it is out
of any OSC command's reach (``out_of_reach``): measured, by the ratio the
"osc floor" way (tools/bench_floor: an OSC command that does the least)
reached against the same reference in the same turns. No bound is
derived from a formula.
"""

from __future__ import annotations

import dataclasses
import statistics

from .results import FLOOR, Gap, PhaseGap, WayResult


def walls(run: WayResult) -> list[float]:
    """A way's wall time in each turn."""
    return [float(w) for w in run.wall_seconds_of_each_run]


@dataclasses.dataclass(frozen=True)
class Turns:
    """A way against a reference, turn by turn."""

    ratios: list[float]  # its wall time over the reference's

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def median_turn(self) -> int:
        """The turn whose ratio is the median (the lower of the middle
        two, in an even count)."""
        order = sorted(range(len(self.ratios)), key=self.ratios.__getitem__)
        return order[(len(order) - 1) // 2]

    def measured(self) -> str:
        if len(self.ratios) == 1:
            return f"{self.ratio:.4f}x"
        each = ", ".join(f"{r:.4f}" for r in self.ratios)
        return (
            f"{self.ratio:.4f}x (median of {len(self.ratios)} turns: {each})"
        )


def by_turn(
    way: WayResult, reference: WayResult, count: int | None = None
) -> Turns | None:
    """Each turn's ratio of a way's wall time to the reference's: in the
    turns both ran, or in the first `count` (None when either ran fewer).
    """
    ran = min(len(walls(way)), len(walls(reference)))
    count = ran if count is None else count
    if not count or count > ran:
        return None
    return Turns([walls(way)[t] / walls(reference)[t] for t in range(count)])


def gap(mine: WayResult, reference: WayResult, turn: int) -> Gap | None:
    """How much longer osc-evacuate took than the reference in a turn,
    phase by phase: where its extra seconds went, in wall time and in
    Nova's CPU."""
    ours = mine.phases_of_each_run[turn]
    theirs = reference.phases_of_each_run[turn]
    if len(ours) != 3 or len(theirs) != 3:
        return None
    return Gap(
        turn=turn + 1,
        against=reference.way,
        # Each one's own start, until its first request reached Nova.
        first_request_seconds=(
            mine.first_request_seconds_of_each_run[turn],
            reference.first_request_seconds_of_each_run[turn],
        ),
        wall_seconds=round(walls(mine)[turn] - walls(reference)[turn], 2),
        phases=tuple(
            PhaseGap(
                phase=a.phase,
                wall_seconds=round(a.wall_seconds - b.wall_seconds, 2),
                nova_cpu_seconds=round(
                    a.nova_cpu_seconds - b.nova_cpu_seconds, 2
                ),
            )
            for a, b in zip(ours, theirs, strict=True)
        ),
    )


def out_of_reach(floor: Turns | None, allowed: float, what: str) -> str | None:
    """Whether a wall-time goal is out of any OSC command's reach, as the
    osc floor measured it against the same reference in the same turns:
    out of reach only when the floor's own median ratio is more than the
    goal allows; otherwise the floor meets it, and the gap is ours. None:
    the floor did not run (results from before it did)."""
    if floor is None:
        return None
    if floor.ratio > allowed:
        return (
            f"out of any OSC command's reach here: the {FLOOR} prototype, "
            "an OSC command that does the least (one list of the host's "
            "servers, the evacuates one after another, a read of the "
            f"host's records each 0.5 s), itself took {floor.measured()} "
            f"{what}, where the goal allows {allowed:.2f}x"
        )
    return (
        f"not out of reach: the floor prototype meets it: "
        f"{floor.measured()} {what}, where the goal allows {allowed:.2f}x; "
        "the gap is osc-evacuate's own"
    )
