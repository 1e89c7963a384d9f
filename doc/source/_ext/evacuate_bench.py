"""The benchmark's page, from its results (doc/source/bench/results.json,
which ``make bench`` writes): tables, a plot, the goals.

Directives:

- ``evacuate-bench-table``: per size, every way's figures;
- ``evacuate-bench-plot``: wall time per way and size, as inline SVG;
- ``evacuate-bench-phases``: per size, each way's phases (wall time and
  Nova's CPU);
- ``evacuate-bench-goals``: each goal, what was measured, whether met
  (and, for a wall-time goal not met, why, and where the seconds went);
- ``evacuate-bench-startup``: the plugin's start-up cost.

Nothing here computes a figure: it renders what the benchmark measured.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

LOG = logging.getLogger(__name__)

RESULTS = Path(__file__).resolve().parents[1] / "bench" / "results.json"
COLOURS = {
    "osc-evacuate": "#1f77b4",
    "nova host-evacuate": "#ff7f0e",
    "osc loop": "#7f7f7f",
    "raw parallel": "#2ca02c",
    "raw sequential": "#98df8a",
}


def load(directive: SphinxDirective) -> dict[str, Any] | None:
    directive.env.note_dependency(str(RESULTS))
    try:
        results: dict[str, Any] = json.loads(RESULTS.read_text())
    except (OSError, ValueError) as exc:
        LOG.warning(
            "no benchmark results (%s): run make bench",
            exc,
            location=directive.get_location(),
        )
        return None
    return results


def sizes(results: dict[str, Any]) -> list[int]:
    return sorted({run["servers"] for run in results["runs"]})


def of_size(results: dict[str, Any], n: int) -> list[dict[str, Any]]:
    return [run for run in results["runs"] if run["servers"] == n]


def rst_table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [head, *rows]:
        lines.append(f"   * - {row[0]}")
        lines += [f"     - {cell}" for cell in row[1:]]
    return [*lines, ""]


class Generated(SphinxDirective):
    def lines(self, results: dict[str, Any]) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        results = load(self)
        if results is None:
            return []
        return list(self.parse_text_to_nodes("\n".join(self.lines(results))))


class Table(Generated):
    def lines(self, results: dict[str, Any]) -> list[str]:
        out = []
        for n in sizes(results):
            runs = of_size(results, n)
            mine = next(r for r in runs if r["way"] == "osc-evacuate")
            out += [f"**{n} servers**", ""]
            rows = []
            for run in runs:
                per = run["requests_per_cycle"] or {}
                size = run["bytes_per_cycle"] or {}
                each = ", ".join(
                    f"{s:g}" for s in run.get("wall_seconds_of_each_run", [])
                )
                rows.append(
                    [
                        run["way"],
                        f"{run['wall_seconds']:g} ({each})",
                        f"{run['wall_seconds'] / mine['wall_seconds']:.2f}",
                        f"{run['nova_cpu_seconds']:g}",
                        str(run["requests"]),
                        f"{run['bytes'] / 1024:.0f}",
                        f"{run['cycles']}",
                        f"{per.get('median', 0):g} / {per.get('max', 0):g}",
                        " / ".join(
                            f"{size.get(k, 0) / 1024:.1f}"
                            for k in ("min", "median", "max")
                        ),
                        changed_item(run),
                        f"{run['client_cpu_seconds']:g}",
                        f"{run['client_peak_rss_mib']:g}",
                    ]
                )
            out += rst_table(
                [
                    "Way",
                    "Wall s: median (each run)",
                    "Ratio to osc-evacuate",
                    "Nova CPU s",
                    "Requests",
                    "KiB",
                    "Poll cycles",
                    "Requests / cycle (median / max)",
                    "KiB / cycle (min / median / max)",
                    "Objects polled: changed / read; KiB per changed",
                    "Client CPU s",
                    "Client peak RSS MiB",
                ],
                rows,
            )
        return out


def changed_item(run: dict[str, Any]) -> str:
    """Of the objects a way's polls read, those it had not seen as they
    were, and the poll bytes per such object."""
    items = run.get("poll_items")
    per = run.get("bytes_per_changed_item")
    if not items:
        return ""
    tail = f"; {per / 1024:.2f}" if per else ""
    return f"{items['changed']} / {items['read']}{tail}"


class Phases(Generated):
    """Where each way's wall time and Nova's CPU went: before its first
    evacuate request, while it sent them, and after."""

    def lines(self, results: dict[str, Any]) -> list[str]:
        out = []
        for n in sizes(results):
            runs = [r for r in of_size(results, n) if r.get("phases")]
            if not runs:
                continue
            names = [p["phase"] for p in runs[0]["phases"]]
            rows = []
            for run in runs:
                cells = {
                    p["phase"]: f"{p['wall_seconds']:g} / "
                    f"{p['nova_cpu_seconds']:g}"
                    for p in run["phases"]
                }
                rows.append([run["way"], *(cells.get(x, "") for x in names)])
            out += [f"**{n} servers**: wall s / Nova CPU s", ""]
            out += rst_table(["Way", *(x.capitalize() for x in names)], rows)
        return out


def behind(gap: dict[str, Any]) -> str:
    """Where a wall-time goal's extra seconds went, phase by phase."""
    parts = "; ".join(
        f"{p['phase']} {p['wall_seconds']:+g} s (Nova CPU "
        f"{p['nova_cpu_seconds']:+g} s)"
        for p in gap["phases"]
    )
    started = ""
    ours, theirs = gap.get("first_request_seconds") or (None, None)
    if ours is not None and theirs is not None:
        started = (
            f"; its first request reached Nova after {ours:g} s, the "
            f"other's after {theirs:g} s"
        )
    return (
        f"in turn {gap['turn']}, {gap['wall_seconds']:g} s longer than "
        f"{gap['against']}: {parts}{started}"
    )


class Goals(Generated):
    def lines(self, results: dict[str, Any]) -> list[str]:
        rows = []
        for g in results.get("goals", []):
            notes = [g[k] for k in ("limit",) if k in g]
            if "gap" in g:
                notes.append(behind(g["gap"]))
            measured = g["measured"] + "".join(f" ({n})" for n in notes)
            rows.append(
                [g["goal"], measured, "met" if g["met"] else "**not met**"]
            )
        return rst_table(["Goal", "Measured", ""], rows)


class Startup(Generated):
    def lines(self, results: dict[str, Any]) -> list[str]:
        rows = []
        for words, cost in results.get("startup", {}).items():
            rows.append(
                [
                    f"``openstack {words}``",
                    f"{cost['cpu_without_plugin_ms']:g}",
                    f"{cost['cpu_with_plugin_ms']:g}",
                    f"{cost['cpu_difference_ms']:+g}",
                    f"{cost['wall_difference_ms']:+g}",
                ]
            )
        imported = results.get("plugin_import")
        lead = []
        if imported:
            lead = [
                f"Importing the plugin ({', '.join(imported['modules'])}) "
                f"after what OSC imports anyway: **{imported['median_ms']:g} "
                f"ms** (median of {imported['runs']} runs, at most "
                f"{imported['max_ms']:g} ms).",
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
        results = load(self)
        if results is None:
            return []
        return [nodes.raw("", svg(results), format="html")]


def svg(results: dict[str, Any]) -> str:
    width, label, bar, gap = 640, 150, 16, 4
    parts, y = [], 10
    for n in sizes(results):
        runs = of_size(results, n)
        longest = max(r["wall_seconds"] for r in runs) or 1
        parts.append(
            f'<text x="0" y="{y + 12}" font-weight="bold">{n} servers</text>'
        )
        y += 20
        for run in runs:
            length = (width - label - 60) * run["wall_seconds"] / longest
            colour = COLOURS.get(run["way"], "#333")
            parts.append(
                f'<text x="0" y="{y + 12}">{html.escape(run["way"])}</text>'
                f'<rect x="{label}" y="{y}" width="{length:.1f}" '
                f'height="{bar}" fill="{colour}"/>'
                f'<text x="{label + length + 4:.1f}" y="{y + 12}">'
                f"{run['wall_seconds']:g} s</text>"
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
