"""The benchmark's output: its progress on stderr, the table of its
results on stdout, and the results file the docs render."""

from __future__ import annotations

import sys
from pathlib import Path

from .results import OURS, PHASES, Goal, Results, dump

RESULTS = Path(__file__).resolve().parents[2] / "doc/source/bench/results.json"


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)


def write(results: Results, out: Path) -> None:
    """Write the results, then print their table."""
    dump(results, out)
    print(table(results))


def table(results: Results) -> str:
    """Each way's median run at each size, its phases' wall seconds (to
    its first evacuate request, sending them, after the last one), and
    from its last record done to its end; then start-up and the goals."""
    head = (
        f"{'N':>4} {'way':<20} {'wall s':>8} {'ratio':>6} {'1st POST':>8} "
        f"{'sending':>8} {'after':>6} {'done>end':>8} {'nova cpu':>9} "
        f"{'others':>7} {'requests':>9} {'req/cycle':>10} {'KiB/cycle':>10} "
        f"{'cpu s':>7} {'rss MiB':>8}"
    )
    lines = [head, "-" * len(head)]
    for run in results.runs:
        mine = results.find(run.servers, OURS)
        ratio = run.wall_seconds / mine.wall_seconds if mine else 0
        per = run.requests_per_cycle.median if run.requests_per_cycle else 0
        size = run.bytes_per_cycle.median if run.bytes_per_cycle else 0
        phase = {p.phase: p.wall_seconds for p in run.phases}
        before, sending, after = (phase.get(name, "-") for name in PHASES)
        done = run.done_to_exit_seconds
        others = run.others_cpu_seconds
        lines.append(
            f"{run.servers:>4} {run.way:<20} {run.wall_seconds:>8} "
            f"{ratio:>6.2f} {before:>8} {sending:>8} {after:>6} "
            f"{'-' if done is None else done:>8} {run.nova_cpu_seconds:>9} "
            f"{'-' if others is None else others:>7} {run.requests:>9} "
            f"{per:>10g} {size / 1024:>10.1f} {run.client_cpu_seconds:>7} "
            f"{run.client_peak_rss_mib:>8}"
        )
    for words, cost in results.startup.items():
        lines.append(
            f"start-up of `openstack {words}`: CPU "
            f"{cost.cpu_with_plugin_ms} ms with the plugin, "
            f"{cost.cpu_without_plugin_ms} ms without "
            f"({cost.cpu_difference_ms:+} ms); wall "
            f"{cost.wall_difference_ms:+} ms"
        )
    lines.append(
        f"importing the plugin: {results.plugin_import.median_ms} ms (median)"
    )
    for goal in results.goals:
        lines += goal_lines(goal)
    return "\n".join(lines)


def goal_lines(goal: Goal) -> list[str]:
    """A goal: whether met, what was measured, and for one not met why it
    is out of reach and where the seconds went."""
    mark = "met" if goal.met else "NOT met"
    lines = [f"{mark:>7}: {goal.goal}: {goal.measured}"]
    if goal.limit is not None:
        lines.append(f"         ({goal.limit})")
    if goal.gap is not None:
        gap = goal.gap
        lines.append(
            f"         (turn {gap.turn}: {gap.wall_seconds} s "
            f"longer than {gap.against}; by phase, wall / Nova CPU: "
            + ", ".join(
                f"{p.phase} {p.wall_seconds:+} / {p.nova_cpu_seconds:+}"
                for p in gap.phases
            )
            + ")"
        )
    return lines
