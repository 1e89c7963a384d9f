"""The goals, judged from the results alone (``--goals-only`` judges them
anew, measuring nothing).

The wall-time goals are judged turn by turn: a turn runs every way once,
one after another, so that a slow spell of the machine hits them all; a
turn's ratio is osc-evacuate's wall time over the reference's in the
same turn, and a goal reads the median of its turns' ratios. A wall-time
goal not met says where osc-evacuate's extra seconds went in its median
turn, phase by phase, and whether it is out of any OSC command's reach.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
from collections.abc import Sequence

from .results import Gap, Goal, Phase, PhaseGap, Results, WayResult

LOG = logging.getLogger(__name__)

OURS = "osc-evacuate"


def nova_work(phases: Sequence[Phase]) -> float | None:
    """The CPU Nova's one process spent from a run's first evacuate
    request until its last server was seen done (None: the run sent no
    evacuate)."""
    if len(phases) != 3:
        return None
    spent = sum(
        float(p.nova_cpu_seconds)
        for p in phases
        if p.phase != "before the first evacuate"
    )
    return round(spent, 2)


def walls(run: WayResult) -> list[float]:
    """A way's wall time in each turn (a turn runs every way once, one
    after another, so that a slow spell of the machine hits them all)."""
    return [float(w) for w in run.wall_seconds_of_each_run]


def works(run: WayResult) -> list[float | None]:
    """nova_work of the way's run in each turn."""
    return [nova_work(phases) for phases in run.phases_of_each_run]


@dataclasses.dataclass(frozen=True)
class Turns:
    """osc-evacuate against a reference, turn by turn."""

    ratios: list[float]  # its wall time over the reference's
    # The least any OSC command could have taken, over the reference's
    # wall time: the least Nova CPU of any way in the turn from its first
    # evacuate on (Nova is busy all through it: its CPU equals the wall
    # time), plus stock OSC's own start and exit. None: not known.
    bounds: list[float | None]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def bound(self) -> float | None:
        known = [b for b in self.bounds if b is not None]
        if not known or len(known) != len(self.bounds):
            return None
        return statistics.median(known)

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
    mine: WayResult,
    references: Sequence[WayResult],
    everyone: Sequence[WayResult],
    osc_own: float,
) -> Turns:
    """Each turn's ratio of osc-evacuate to the fastest reference of that
    turn, and the bound on it (Turns.bounds)."""
    count = min(len(walls(r)) for r in [mine, *references])
    ratios: list[float] = []
    bounds: list[float | None] = []
    for turn in range(count):
        reference = min(walls(r)[turn] for r in references)
        ratios.append(walls(mine)[turn] / reference)
        spent = [w[turn] for w in map(works, everyone) if len(w) > turn]
        known = [x for x in spent if x is not None]
        bounds.append(
            (min(known) + osc_own) / reference if known and osc_own else None
        )
    return Turns(ratios, bounds)


def gap(
    mine: WayResult, references: Sequence[WayResult], turn: int
) -> Gap | None:
    """How much longer osc-evacuate took than the turn's fastest reference,
    phase by phase: where its extra seconds went, in wall time and in
    Nova's CPU."""
    reference = min(references, key=lambda r: walls(r)[turn])
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


def out_of_reach(
    turns: Turns, allowed: float, what: str, osc_own: float
) -> str | None:
    """Why a wall-time goal is out of any OSC command's reach, when it is:
    in the median turn, Nova's least work plus what stock OSC takes to
    start and exit with no request at all is more than the goal allows."""
    bound = turns.bound
    if bound is None or bound <= allowed:
        return None
    return (
        f"out of reach here: the goal allows {allowed:g}x {what}; in the "
        f"median turn, the least CPU Nova's one process spent from the "
        f"first evacuate on, in any way, plus the {osc_own:.2f} s stock OSC "
        f"takes to start and exit (openstack server list --help), already "
        f"comes to {bound:.4f}x"
    )


def judged(
    name: str,
    measured: str,
    met: bool,
    limit: str | None = None,
    behind: Gap | None = None,
) -> Goal:
    """A goal; why it is out of reach and where its seconds went, only
    when it is not met."""
    LOG.debug("%s: %s (%s)", name, "met" if met else "not met", measured)
    return Goal(
        goal=name,
        measured=measured,
        met=met,
        limit=limit if limit and not met else None,
        gap=behind if behind and not met else None,
    )


def goals(results: Results) -> tuple[Goal, ...]:
    """Every goal, in order: wall time, poll cycles, requests, memory,
    start-up."""
    mine_all = [r for r in results.runs if r.way == OURS]
    return (
        *wall_goals(results),
        *cycle_goals(mine_all),
        *request_goals(mine_all),
        *memory_goals(results),
        startup_goal(results),
    )


@dataclasses.dataclass(frozen=True)
class WallGoal:
    """osc-evacuate's wall time, at most `allowed` times the reference's:
    the fastest of the ways named, turn by turn."""

    what: str
    allowed: float
    ways: tuple[str, ...]


WALL_GOALS = (
    WallGoal("nova host-evacuate", 0.9, ("nova host-evacuate",)),
    WallGoal("the raw floor", 1.05, ("raw parallel", "raw sequential")),
)


def wall_goals(results: Results) -> list[Goal]:
    """At 50 and 200 servers, each of WALL_GOALS that the results have
    the ways of."""
    stock = results.startup.get("server list --help")
    osc_own = stock.wall_without_plugin_ms / 1000 if stock else 0.0
    out = []
    for n in (50, 200):
        size = results.of_size(n)
        mine = size.find(OURS)
        for wall in WALL_GOALS:
            references = [r for r in map(size.find, wall.ways) if r]
            if mine and references:
                turns = by_turn(mine, references, size.ways, osc_own)
                out.append(
                    judged(
                        f"wall time at N={n}: at most {wall.allowed:g}x "
                        f"{wall.what}",
                        turns.measured(),
                        turns.ratio <= wall.allowed,
                        out_of_reach(turns, wall.allowed, wall.what, osc_own),
                        gap(mine, references, turns.median_turn),
                    )
                )
    return out


def cycle_goals(mine_all: Sequence[WayResult]) -> list[Goal]:
    """osc-evacuate's poll cycles: their requests constant in N, their
    bytes following what changed, not N."""
    out = []
    medians = {
        r.servers: r.requests_per_cycle.median
        for r in mine_all
        if r.requests_per_cycle
    }
    if medians:
        out.append(
            judged(
                "requests per poll cycle: constant in N",
                ", ".join(f"N={n}: {m:g}" for n, m in sorted(medians.items())),
                len(set(medians.values())) == 1,
            )
        )
    per_item = {
        r.servers: (r, r.bytes_per_changed_item)
        for r in mine_all
        if r.bytes_per_changed_item
    }
    if 50 in per_item and 200 in per_item:
        # What a cycle reads should be what changed since the cycle before:
        # its bytes then follow the changes, whatever N. A poll that reads
        # every server, changed or not, pays more per change as N grows.
        out.append(
            judged(
                "bytes per poll cycle: grow with what changed since the "
                "last poll, not with N (bytes per changed object read, at "
                "N=200 within 1.5x of N=50)",
                "; ".join(
                    f"N={n}: {each / 1024:.2f} KiB per changed object, "
                    f"{r.poll_items.changed} of {r.poll_items.read} objects "
                    f"read had changed, median {cycle_kib(r):.1f} KiB a cycle"
                    for n, (r, each) in sorted(per_item.items())
                ),
                per_item[200][1] <= 1.5 * per_item[50][1],
            )
        )
    return out


def cycle_kib(run: WayResult) -> float:
    """The median KiB of a run's poll cycles (0: it had none)."""
    return (run.bytes_per_cycle.median if run.bytes_per_cycle else 0) / 1024


def request_goals(mine_all: Sequence[WayResult]) -> list[Goal]:
    """osc-evacuate's requests at each size: one per server, a few each
    poll cycle, and some to plan."""
    out = []
    for r in mine_all:
        limit = r.servers + 3 * r.cycles + 10
        out.append(
            judged(
                f"total requests at N={r.servers}: at most N + 3 a cycle + 10",
                f"{r.requests} (limit {limit})",
                r.requests <= limit,
            )
        )
    return out


def memory_goals(results: Results) -> list[Goal]:
    big = results.find(200, OURS)
    if not big:
        return []
    return [
        judged(
            "peak memory at N=200: within 150 MB",
            f"{big.client_peak_rss_mib} MiB",
            big.client_peak_rss_mib <= 150,
        )
    ]


def startup_goal(results: Results) -> Goal:
    imported = results.plugin_import
    whole = "; ".join(
        f"openstack {words}: {cost.cpu_difference_ms:+} ms CPU, "
        f"{cost.wall_difference_ms:+} ms wall"
        for words, cost in results.startup.items()
    )
    return judged(
        "plugin start-up cost: at most 25 ms",
        f"{imported.median_ms} ms importing the plugin (median); "
        f"whole commands with it, against without: {whole}",
        imported.median_ms <= 25,
    )
