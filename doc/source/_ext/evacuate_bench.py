"""The benchmark's page, from its results (doc/source/bench/results.json,
which ``make bench`` writes): tables, a plot, the goals.

Directives:

- ``evacuate-bench-table``: per size, every way's figures (its median
  run's phases and, where measured, from its last record done to its
  end, among them);
- ``evacuate-bench-plot``: wall time per way and size, as inline SVG;
- ``evacuate-bench-phases``: per size, each way's phases (wall time and
  Nova's CPU);
- ``evacuate-bench-goals``: each goal, what was measured, whether met
  (and, for a wall-time goal not met, whether the osc floor met it, and
  where the seconds went);
- ``evacuate-bench-startup``: the plugin's start-up cost.

Nothing here computes a figure: it renders what the benchmark measured,
read through the benchmark's typed results (tools/benchlib/results.py).
The goals are judged from those figures by the benchmark's own rules
(tools/benchlib/goals.py), as ``tools/bench.py --goals-only`` would: for
a file this tree's benchmark wrote they are the goals in the file
(tests/unit/test_bench.py checks), and a file written under older rules
shows its figures judged by today's.
"""

from __future__ import annotations

import html
import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

# The benchmark's typed results (tools/benchlib/results.py), which read
# the file as the benchmark wrote it.
TOOLS = Path(__file__).resolve().parents[3] / "tools"
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

from benchlib.goals import goals  # noqa: E402
from benchlib.results import (  # noqa: E402
    OURS,
    PHASES,
    Gap,
    Results,
    WayResult,
    load,
)

LOG = logging.getLogger(__name__)

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results.json"
COLOURS = {
    "osc-evacuate": "#1f77b4",
    "osc floor": "#9467bd",
    "nova host-evacuate": "#ff7f0e",
    "osc loop": "#7f7f7f",
    "raw parallel": "#2ca02c",
    "raw sequential": "#98df8a",
}


def results_of(directive: SphinxDirective) -> Results | None:
    directive.env.note_dependency(str(RESULTS))
    try:
        return load(RESULTS)
    # Unreadable, not JSON, or not the benchmark's layout (ResultsError).
    except (OSError, ValueError) as exc:
        LOG.warning(
            "no benchmark results (%s): run make bench",
            exc,
            location=directive.get_location(),
        )
        return None


def rst_table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [head, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return [*lines, ""]


class Generated(SphinxDirective):
    def lines(self, results: Results) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        results = results_of(self)
        if results is None:
            return []
        return list(self.parse_text_to_nodes("\n".join(self.lines(results))))


TABLE_HEAD = [
    "Way",
    "Wall s: median (each run)",
    "Ratio to osc-evacuate",
    "Phases, wall s: to the first evacuate / sending / after the last",
    "Last record done to the end, s",
    "Nova CPU s",
    "Other processes' CPU s, each run",
    "Requests",
    "KiB",
    "Poll cycles",
    "Requests / cycle (median / max)",
    "KiB / cycle (min / median / max)",
    "Objects polled: changed / read; KiB per changed",
    "Client CPU s",
    "Client peak RSS MiB",
]


class Table(Generated):
    def lines(self, results: Results) -> list[str]:
        out = []
        for size in results.sizes():
            mine = size.find(OURS)
            assert mine is not None, f"no osc-evacuate at {size.servers}"
            out += [f"**{size.servers} servers**", ""]
            rows = [way_row(run, mine) for run in size.ways]
            out += rst_table(TABLE_HEAD, rows)
        return out


def way_row(run: WayResult, mine: WayResult) -> list[str]:
    """A way's figures at a size, its wall time against osc-evacuate's."""
    per = run.requests_per_cycle
    size = run.bytes_per_cycle
    kib = (size.min, size.median, size.max) if size else (0, 0, 0)
    each = ", ".join(f"{s:g}" for s in run.wall_seconds_of_each_run)
    return [
        run.way,
        f"{run.wall_seconds:g} ({each})",
        f"{run.wall_seconds / mine.wall_seconds:.2f}",
        phase_walls(run),
        ""
        if run.done_to_exit_seconds is None
        else f"{run.done_to_exit_seconds:g}",
        f"{run.nova_cpu_seconds:g}",
        others(run),
        str(run.requests),
        f"{run.bytes / 1024:.0f}",
        f"{run.cycles}",
        f"{per.median if per else 0:g} / {per.max if per else 0:g}",
        " / ".join(f"{k / 1024:.1f}" for k in kib),
        changed_item(run),
        f"{run.client_cpu_seconds:g}",
        f"{run.client_peak_rss_mib:g}",
    ]


def others(run: WayResult) -> str:
    """What else used the machine's CPU during each run (empty: results
    from before it was measured)."""
    each = run.others_cpu_seconds_of_each_run or ()
    return ", ".join("" if s is None else f"{s:g}" for s in each)


def phase_walls(run: WayResult) -> str:
    """The wall seconds of the median run's phases (a run that sent no
    evacuate: its whole run)."""
    walls = {p.phase: p.wall_seconds for p in run.phases}
    if not any(name in walls for name in PHASES):
        return "" if not run.phases else f"whole run {run.wall_seconds:g}"
    return " / ".join(f"{walls.get(name, 0):g}" for name in PHASES)


def changed_item(run: WayResult) -> str:
    """Of the objects a way's polls read, those it had not seen as they
    were, and the poll bytes per such object."""
    items = run.poll_items
    per = run.bytes_per_changed_item
    tail = f"; {per / 1024:.2f}" if per else ""
    return f"{items.changed} / {items.read}{tail}"


class Phases(Generated):
    """Where each way's wall time and Nova's CPU went in its median run:
    before its first evacuate request, while it sent them, and after."""

    def lines(self, results: Results) -> list[str]:
        out = []
        for size in results.sizes():
            rows = []
            for run in size.ways:
                cells = {
                    p.phase: f"{p.wall_seconds:g} / {p.nova_cpu_seconds:g}"
                    for p in run.phases
                }
                if any(name in cells for name in PHASES):
                    rows.append([run.way, *(cells.get(x, "") for x in PHASES)])
            if not rows:
                continue
            out += [f"**{size.servers} servers**: wall s / Nova CPU s", ""]
            out += rst_table(["Way", *(x.capitalize() for x in PHASES)], rows)
        return out


def behind(gap: Gap) -> str:
    """Where a wall-time goal's extra seconds went, phase by phase."""
    parts = "; ".join(
        f"{p.phase} {p.wall_seconds:+g} s (Nova CPU {p.nova_cpu_seconds:+g} s)"
        for p in gap.phases
    )
    started = ""
    ours, theirs = gap.first_request_seconds
    if ours is not None and theirs is not None:
        started = (
            f"; its first request reached Nova after {ours:g} s, the "
            f"other's after {theirs:g} s"
        )
    return (
        f"in turn {gap.turn}, {gap.wall_seconds:g} s longer than "
        f"{gap.against}: {parts}{started}"
    )


class Goals(Generated):
    def lines(self, results: Results) -> list[str]:
        rows = []
        for g in goals(results):
            notes = [g.limit] if g.limit is not None else []
            if g.gap is not None:
                notes.append(behind(g.gap))
            measured = g.measured + "".join(f" ({n})" for n in notes)
            rows.append([g.goal, measured, "met" if g.met else "**not met**"])
        return rst_table(["Goal", "Measured", ""], rows)


class Startup(Generated):
    def lines(self, results: Results) -> list[str]:
        rows = []
        for words, cost in results.startup.items():
            rows.append(
                [
                    f"``openstack {words}``",
                    f"{cost.cpu_without_plugin_ms:g}",
                    f"{cost.cpu_with_plugin_ms:g}",
                    f"{cost.cpu_difference_ms:+g}",
                    f"{cost.wall_difference_ms:+g}",
                ]
            )
        imported = results.plugin_import
        lead = [
            f"Importing the plugin ({', '.join(imported.modules)}) "
            f"after what OSC imports anyway: **{imported.median_ms:g} "
            f"ms** (median of {imported.runs} runs, at most "
            f"{imported.max_ms:g} ms).",
            "",
            "Whole commands, with the plugin against without:",
            "",
        ]
        return lead + rst_table(
            [
                "Command",
                "CPU ms without the plugin",
                "CPU ms with it",
                "Difference (CPU)",
                "Difference (wall)",
            ],
            rows,
        )


class Plot(SphinxDirective):
    """Wall time of each way, a panel per size, each with its own scale."""

    def run(self) -> list[nodes.Node]:
        results = results_of(self)
        if results is None:
            return []
        return [nodes.raw("", svg(results), format="html")]


def svg(results: Results) -> str:
    width, label, bar, gap = 640, 150, 16, 4
    parts, y = [], 10
    for size in results.sizes():
        longest = max(r.wall_seconds for r in size.ways) or 1
        parts.append(
            f'<text x="0" y="{y + 12}" font-weight="bold">'
            f"{size.servers} servers</text>"
        )
        y += 20
        for run in size.ways:
            length = (width - label - 60) * run.wall_seconds / longest
            colour = COLOURS.get(run.way, "#333")
            parts.append(
                f'<text x="0" y="{y + 12}">{html.escape(run.way)}</text>'
                f'<rect x="{label}" y="{y}" width="{length:.1f}" '
                f'height="{bar}" fill="{colour}"/>'
                f'<text x="{label + length + 4:.1f}" y="{y + 12}">'
                f"{run.wall_seconds:g} s</text>"
            )
            y += bar + gap
        y += 14
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{y}" font-family="sans-serif" font-size="12" '
        'role="img" aria-label="Wall time per way and size">'
        + "".join(parts)
        + "</svg>"
    )


def setup(app: Sphinx) -> dict[str, Any]:
    for name, directive in (
        ("evacuate-bench-table", Table),
        ("evacuate-bench-plot", Plot),
        ("evacuate-bench-goals", Goals),
        ("evacuate-bench-phases", Phases),
        ("evacuate-bench-startup", Startup),
    ):
        app.add_directive(name, directive)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
