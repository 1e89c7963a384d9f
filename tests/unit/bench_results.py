"""Made-up benchmark results for the tests of the benchmark's goals and
results (tests/unit/test_bench.py, tests/unit/test_bench_goals.py)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

# tools/bench.py's parts, as `python tools/bench.py` imports them.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from benchlib.results import (
    CommandStartup,
    Machine,
    Phase,
    PluginImport,
    PollItems,
    Results,
    Spread,
    WayResult,
)


def way(
    name: str, n: int, phases: list[tuple[Phase, ...]], **more: Any
) -> WayResult:
    """A way's result at n servers, a run per phases given (its wall time
    the sum of their wall times, unless `walls` says), the rest made up
    or as `more` says."""
    walls = more.pop("walls", [sum(p.wall_seconds for p in r) for r in phases])
    figures: dict[str, Any] = {
        "servers": n,
        "way": name,
        "wall_seconds": sorted(walls)[(len(walls) - 1) // 2],
        "first_request_seconds": None,
        "requests": n + 10,
        "by_kind": {},
        "bytes": 0,
        "cycles": 5,
        "requests_per_cycle": Spread(2, 2, 2),
        "bytes_per_cycle": Spread(1000, 1000, 1000),
        "poll_items": PollItems(read=2 * n, changed=2 * n),
        "bytes_per_changed_item": 1100,
        "client_cpu_seconds": 1.0,
        "client_peak_rss_mib": 90,
        "nova_cpu_seconds": 0.0,
        "phases": phases[0],
        "runs": len(phases),
        "wall_seconds_of_each_run": tuple(walls),
        "nova_cpu_seconds_of_each_run": (0.0,) * len(phases),
        "phases_of_each_run": tuple(phases),
        "first_request_seconds_of_each_run": (None,) * len(phases),
    }
    return WayResult(**{**figures, **more})


def run_of(name: str, n: int, wall: float, **more: Any) -> WayResult:
    """A way's one run, with no phases kept."""
    return way(name, n, [()], walls=[wall], **more)


def results_of(*runs: WayResult, import_ms: float = 10.0) -> Results:
    return Results(
        date="2026-01-01",
        machine=Machine(cpus=2, python="3.11", system="Linux"),
        microversion="2.94",
        runs=runs,
        startup={
            "server list --help": CommandStartup(
                runs=21,
                wall_with_plugin_ms=0.0,
                wall_without_plugin_ms=0.0,
                wall_difference_ms=2.0,
                cpu_with_plugin_ms=0.0,
                cpu_without_plugin_ms=0.0,
                cpu_difference_ms=1.0,
            )
        },
        plugin_import=PluginImport(21, import_ms, import_ms, ()),
    )


def phased(before: float, sending: float, after: float) -> tuple[Phase, ...]:
    names = ("before the first evacuate", "sending evacuates", "after")
    return tuple(
        Phase(name, wall_seconds=cpu, nova_cpu_seconds=cpu, requests=0)
        for name, cpu in zip(names, (before, sending, after), strict=True)
    )


def turned(name: str, *phases: tuple[Phase, ...]) -> WayResult:
    """A way's run at 50 servers in several turns, Nova busy throughout."""
    return way(name, 50, list(phases))


def three_turns(name: str, n: int, *walls: float) -> WayResult:
    """A way's runs in three turns, their phases made up."""
    return way(name, n, [phased(1, wall - 2, 1) for wall in walls])


def with_startup(
    n: int, before: list[float], listed: list[float | None]
) -> WayResult:
    """osc-evacuate's runs in turns: its time to the first evacuate, and
    stock `openstack server list`'s time in the same turn."""
    return dataclasses.replace(
        way("osc-evacuate", n, [phased(b, 20, 1) for b in before]),
        server_list_seconds_of_each_run=tuple(listed),
    )
