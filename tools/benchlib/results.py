"""The benchmark's results, typed, and their JSON file.

A run's figures (``Run``: what its request log and its clients' usage
show, Nova's CPU, its phases), a way at a size (``WayResult``: its median
run, with some figures of every run, turn by turn), a size (``Size``: the
ways at one N), the goals judged from them (``Goal``), and the whole file
(``Results``). ``load()`` reads doc/source/bench/results.json and refuses
any other layout; ``dump()`` writes the same keys in the same order, so
that what was loaded dumps as it was.

Numbers are kept as the file has them (an int stays an int): the goals'
and the docs' text prints them as they are.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from .typedjson import OMIT_NONE, plain, read
from .typedjson import ResultsError as ResultsError  # for those who catch it

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Spread:
    min: float
    median: float
    max: float


@dataclasses.dataclass(frozen=True)
class PollItems:
    """Of the objects a run's polls read, those new to the client."""

    read: int
    changed: int


# The ways the goals name (tools/benchlib/runner.py runs them all).
OURS = "osc-evacuate"
FLOOR = "osc floor"

# A run's phases, by its request log (metrics.phases): its start until its
# first evacuate request's arrival, from there until its last one was
# answered, and from there until its end.
BEFORE = "before the first evacuate"
SENDING = "sending evacuates"
AFTER = "after the last evacuate"
PHASES = (BEFORE, SENDING, AFTER)


@dataclasses.dataclass(frozen=True)
class Phase:
    """Before a run's first evacuate, while it sends them, or after (or
    the whole run, when it sent none)."""

    phase: str
    wall_seconds: float
    nova_cpu_seconds: float
    requests: int


@dataclasses.dataclass(frozen=True)
class Counted:
    """What one run's request log and its clients' usage show."""

    servers: int
    way: str
    wall_seconds: float
    # The client's own start: until its first request reached Nova.
    first_request_seconds: float | None
    requests: int
    by_kind: Mapping[str, int]
    bytes: int
    cycles: int
    requests_per_cycle: Spread | None
    bytes_per_cycle: Spread | None
    poll_items: PollItems
    bytes_per_changed_item: int | None
    client_cpu_seconds: float
    client_peak_rss_mib: float


@dataclasses.dataclass(frozen=True)
class Run(Counted):
    """One run: its counted figures, Nova's CPU meanwhile, its phases."""

    nova_cpu_seconds: float
    phases: tuple[Phase, ...]
    # osc-evacuate's runs only: the wall seconds of stock `openstack server
    # list --all-projects` on the same sandbox, run just before (its
    # requests are not in the run's log). None: not measured (another way,
    # or results from before it was).
    server_list_seconds: float | None = dataclasses.field(
        default=None, kw_only=True, metadata=OMIT_NONE
    )
    # From the moment the run's last evacuation record turned done (Nova's
    # updated_at of it) until the run's end: the client's exit, or for the
    # ways that tools/bench_client.py polls, their last poll. None: not
    # measured (results from before it was).
    done_to_exit_seconds: float | None = dataclasses.field(
        default=None, kw_only=True, metadata=OMIT_NONE
    )
    # The CPU seconds the machine was busy during the run outside Nova's
    # process and the way's clients (metrics.others_cpu): what else took
    # the machine meanwhile. None: not measured (results from before).
    others_cpu_seconds: float | None = dataclasses.field(
        default=None, kw_only=True, metadata=OMIT_NONE
    )

    @classmethod
    def from_counted(
        cls,
        counted: Counted,
        nova_cpu_seconds: float,
        phases: tuple[Phase, ...],
        server_list_seconds: float | None = None,
        done_to_exit_seconds: float | None = None,
        others_cpu_seconds: float | None = None,
    ) -> Self:
        return cls(
            **shallow(counted),
            nova_cpu_seconds=nova_cpu_seconds,
            phases=phases,
            server_list_seconds=server_list_seconds,
            done_to_exit_seconds=done_to_exit_seconds,
            others_cpu_seconds=others_cpu_seconds,
        )


@dataclasses.dataclass(frozen=True)
class WayResult(Run):
    """A way at a size: its median run, and figures of each of its runs
    in turn order (the goals judge wall time turn by turn)."""

    runs: int
    wall_seconds_of_each_run: tuple[float, ...]
    nova_cpu_seconds_of_each_run: tuple[float, ...]
    phases_of_each_run: tuple[tuple[Phase, ...], ...]
    first_request_seconds_of_each_run: tuple[float | None, ...]
    # Run.server_list_seconds and Run.done_to_exit_seconds of each run
    # (None: no run measured it).
    server_list_seconds_of_each_run: tuple[float | None, ...] | None = (
        dataclasses.field(default=None, kw_only=True, metadata=OMIT_NONE)
    )
    done_to_exit_seconds_of_each_run: tuple[float | None, ...] | None = (
        dataclasses.field(default=None, kw_only=True, metadata=OMIT_NONE)
    )
    others_cpu_seconds_of_each_run: tuple[float | None, ...] | None = (
        dataclasses.field(default=None, kw_only=True, metadata=OMIT_NONE)
    )

    def __post_init__(self) -> None:
        each = (
            self.wall_seconds_of_each_run,
            self.nova_cpu_seconds_of_each_run,
            self.phases_of_each_run,
            self.first_request_seconds_of_each_run,
            self.server_list_seconds_of_each_run or (None,) * self.runs,
            self.done_to_exit_seconds_of_each_run or (None,) * self.runs,
            self.others_cpu_seconds_of_each_run or (None,) * self.runs,
        )
        if any(len(figures) != self.runs for figures in each):
            raise ResultsError(
                f"{self.way} at N={self.servers}: not {self.runs} figures "
                "of each run"
            )

    @classmethod
    def from_runs(cls, median: Run, each: tuple[Run, ...]) -> Self:
        """The median run, with each run's figures (each in turn order)."""
        return cls(
            **shallow(median),
            runs=len(each),
            wall_seconds_of_each_run=tuple(r.wall_seconds for r in each),
            nova_cpu_seconds_of_each_run=tuple(
                r.nova_cpu_seconds for r in each
            ),
            phases_of_each_run=tuple(r.phases for r in each),
            first_request_seconds_of_each_run=tuple(
                r.first_request_seconds for r in each
            ),
            server_list_seconds_of_each_run=known(
                tuple(r.server_list_seconds for r in each)
            ),
            done_to_exit_seconds_of_each_run=known(
                tuple(r.done_to_exit_seconds for r in each)
            ),
            others_cpu_seconds_of_each_run=known(
                tuple(r.others_cpu_seconds for r in each)
            ),
        )

    def phase_seconds(self, turn: int, phase: str) -> float | None:
        """The wall seconds of a phase of the run of a turn (from 0), or
        None when that run has no such phase."""
        return next(
            (
                float(p.wall_seconds)
                for p in self.phases_of_each_run[turn]
                if p.phase == phase
            ),
            None,
        )


def known(
    figures: tuple[float | None, ...],
) -> tuple[float | None, ...] | None:
    """Figures of each run, or None when no run has one."""
    return figures if any(f is not None for f in figures) else None


@dataclasses.dataclass(frozen=True)
class Size:
    """The ways at one size, in the order they ran."""

    servers: int
    ways: tuple[WayResult, ...]

    def find(self, way: str) -> WayResult | None:
        return next((r for r in self.ways if r.way == way), None)


@dataclasses.dataclass(frozen=True)
class CommandStartup:
    """One openstack command, with the plugin and without: medians."""

    runs: int
    wall_with_plugin_ms: float
    wall_without_plugin_ms: float
    wall_difference_ms: float
    cpu_with_plugin_ms: float
    cpu_without_plugin_ms: float
    cpu_difference_ms: float


@dataclasses.dataclass(frozen=True)
class PluginImport:
    """Importing the plugin after what OSC imports anyway."""

    runs: int
    median_ms: float
    max_ms: float
    modules: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class PhaseGap:
    phase: str
    wall_seconds: float
    nova_cpu_seconds: float


@dataclasses.dataclass(frozen=True)
class Gap:
    """Where osc-evacuate's extra seconds went in one turn, against the
    turn's fastest reference."""

    turn: int  # from 1
    against: str
    # Each one's own start (osc-evacuate's, then the reference's).
    first_request_seconds: tuple[float | None, float | None]
    wall_seconds: float
    phases: tuple[PhaseGap, ...]


@dataclasses.dataclass(frozen=True)
class Goal:
    goal: str
    measured: str
    met: bool
    # Both only for a goal not met. limit: for a wall-time goal, whether
    # it is out of any OSC command's reach, by the ratio the osc floor
    # measured; gap: where osc-evacuate's seconds went.
    limit: str | None = dataclasses.field(default=None, metadata=OMIT_NONE)
    gap: Gap | None = dataclasses.field(default=None, metadata=OMIT_NONE)


@dataclasses.dataclass(frozen=True)
class Machine:
    cpus: int | None
    python: str
    system: str


@dataclasses.dataclass(frozen=True)
class Results:
    """The whole results file."""

    date: str
    machine: Machine
    microversion: str
    runs: tuple[WayResult, ...]
    startup: Mapping[str, CommandStartup]  # by the command's words
    plugin_import: PluginImport
    goals: tuple[Goal, ...] = ()

    def find(self, servers: int, way: str) -> WayResult | None:
        return next(
            (r for r in self.runs if r.servers == servers and r.way == way),
            None,
        )

    def of_size(self, servers: int) -> Size:
        return Size(
            servers, tuple(r for r in self.runs if r.servers == servers)
        )

    def sizes(self) -> list[Size]:
        return [
            self.of_size(n) for n in sorted({r.servers for r in self.runs})
        ]


def shallow(value: Any) -> dict[str, Any]:
    """A dataclass's fields by name, their values as they are."""
    return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}


# -- Writing --


def dumps(results: Results) -> str:
    return json.dumps(plain(results), indent=2) + "\n"


def dump(results: Results, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(results))
    LOG.info("wrote %s", path)


# -- Reading --


def load(path: Path) -> Results:
    """The results file: ResultsError (a ValueError) if it is not in the
    layout the benchmark writes, OSError if it cannot be read."""
    return loads(path.read_text())


def loads(text: str) -> Results:
    results: Results = read(Results, json.loads(text), "results")
    return results
