"""The goals, judged from the results alone (``--goals-only`` judges them
anew, measuring nothing). A goal that the results have no figures for
(results from before its figures were measured) is left out.

The wall-time goals are judged turn by turn (turns.py): the median of the
turns' ratios of osc-evacuate's wall time to the reference's, at most a
ratio set per size. One not met says where osc-evacuate's extra seconds
went in its median turn, phase by phase, and whether the osc floor (an
OSC command that does the least) met it: if not, it is out of any OSC
command's reach; if so, the gap is ours.
"""

from __future__ import annotations

import dataclasses
import logging
import statistics
from collections.abc import Mapping, Sequence

from osc_evacuate.core import defaults

from .results import BEFORE, FLOOR, OURS, Gap, Goal, Results, WayResult
from .turns import by_turn, gap, out_of_reach

LOG = logging.getLogger(__name__)

# The start-up goal: osc-evacuate's first evacuate request at most this
# long after stock `openstack server list` would have ended.
STARTUP_MARGIN = 0.5
# The exit goal: from the last record done to the exit, at most
# osc-evacuate's first pause between polls (defaults.POLL_INTERVAL) and
# this.
EXIT_MARGIN = 0.5


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
    """Every goal, in order: wall time, time to the first evacuate, time
    from the last done to the exit, poll cycles, requests, memory, the
    plugin's start-up."""
    mine_all = [r for r in results.runs if r.way == OURS]
    judged_sizes = [r for r in mine_all if r.servers in (50, 200)]
    return (
        *wall_goals(results),
        *first_request_goals(judged_sizes),
        *exit_goals(judged_sizes),
        *cycle_goals(mine_all),
        *request_goals(mine_all),
        *memory_goals(results),
        startup_goal(results),
    )


@dataclasses.dataclass(frozen=True)
class WallGoal:
    """osc-evacuate's wall time, at most `allowed[N]` times the reference
    way's, turn by turn."""

    reference: str
    allowed: Mapping[int, float]  # by the number of servers


WALL_GOALS = (
    WallGoal("raw sequential", {50: 1.10, 200: 1.05}),
    WallGoal("nova host-evacuate", {50: 0.90, 200: 0.85}),
)


def wall_goals(results: Results) -> list[Goal]:
    """At 50 and 200 servers, each of WALL_GOALS that the results have
    the ways of."""
    out = []
    for n in (50, 200):
        size = results.of_size(n)
        mine, floor = size.find(OURS), size.find(FLOOR)
        for wall in WALL_GOALS:
            reference = size.find(wall.reference)
            allowed = wall.allowed.get(n)
            if not mine or not reference or allowed is None:
                continue
            turns = by_turn(mine, reference)
            if turns is None:
                continue
            floor_turns = (
                by_turn(floor, reference, len(turns.ratios)) if floor else None
            )
            out.append(
                judged(
                    f"wall time at N={n}: at most {allowed:.2f}x "
                    f"{wall.reference}",
                    turns.measured(),
                    turns.ratio <= allowed,
                    out_of_reach(floor_turns, allowed, wall.reference),
                    gap(mine, reference, turns.median_turn),
                )
            )
    return out


@dataclasses.dataclass(frozen=True)
class OverTurns:
    """Seconds of osc-evacuate's run in each turn that has them."""

    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def measured(self, sign: str = "") -> str:
        text = f"{self.median:{sign}.2f} s"
        if len(self.seconds) == 1:
            return text
        each = ", ".join(f"{s:{sign}.2f}" for s in self.seconds)
        return f"{text} (median of {len(self.seconds)} turns: {each})"


def first_request_goals(mine_all: Sequence[WayResult]) -> list[Goal]:
    """osc-evacuate's start: from its start to its first evacuate
    request's arrival, at most stock `openstack server list`'s whole run
    on the same sandbox (just before, in the same turn) and 0.5 s."""
    out = []
    for mine in mine_all:
        late = []
        for turn, listed in enumerate(
            mine.server_list_seconds_of_each_run or ()
        ):
            before = mine.phase_seconds(turn, BEFORE)
            if before is not None and listed is not None:
                late.append(round(before - listed, 2))
        if late:
            turns = OverTurns(late)
            out.append(
                judged(
                    f"start-up at N={mine.servers}: first evacuate request "
                    f"at most {STARTUP_MARGIN:g} s after the time stock "
                    "`openstack server list` takes",
                    turns.measured("+") + " (its time to the first "
                    "evacuate less the server list's)",
                    turns.median <= STARTUP_MARGIN,
                )
            )
    return out


def exit_goals(mine_all: Sequence[WayResult]) -> list[Goal]:
    """osc-evacuate's end: from the moment the run's last evacuation
    record turned done (Nova's updated_at) until it exits, at most a poll
    interval and 0.5 s."""
    out = []
    limit = defaults.POLL_INTERVAL + EXIT_MARGIN
    for mine in mine_all:
        each = mine.done_to_exit_seconds_of_each_run or ()
        known = [s for s in each if s is not None]
        if known:
            turns = OverTurns(known)
            out.append(
                judged(
                    f"exit at N={mine.servers}: at most {limit:g} s from "
                    "the last evacuation record done to the exit",
                    turns.measured(),
                    turns.median <= limit,
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
