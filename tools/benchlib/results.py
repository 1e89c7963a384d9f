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
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

LOG = logging.getLogger(__name__)

# A field left out of the file when it is None.
OMIT_NONE = {"omit_none": True}


class ResultsError(ValueError):
    """The results file is not in the layout the benchmark writes."""


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

    @classmethod
    def from_counted(
        cls,
        counted: Counted,
        nova_cpu_seconds: float,
        phases: tuple[Phase, ...],
    ) -> Self:
        return cls(
            **shallow(counted),
            nova_cpu_seconds=nova_cpu_seconds,
            phases=phases,
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

    def __post_init__(self) -> None:
        each = (
            self.wall_seconds_of_each_run,
            self.nova_cpu_seconds_of_each_run,
            self.phases_of_each_run,
            self.first_request_seconds_of_each_run,
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
        )


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
    # Both only for a goal not met: why it is out of reach, where the
    # seconds went.
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


def plain(value: object) -> Any:
    """The JSON form of a result: a dataclass an object, keys in the order
    of its fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if getattr(value, f.name) is not None
            or not f.metadata.get("omit_none")
        }
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


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


def read(kind: Any, value: object, where: str) -> Any:
    """A JSON value read as the type a field declares: a dataclass from an
    object with exactly its fields (those with a default may be left
    out), a tuple from a list, a mapping from an object; numbers as they
    are (an int where a float is declared stays an int)."""
    if dataclasses.is_dataclass(kind):
        return read_object(kind, value, where)
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin is types.UnionType:
        if value is None and type(None) in args:
            return None
        (other,) = (a for a in args if a is not type(None))
        return read(other, value, where)
    if origin is tuple:
        items = expect(list, value, where)
        if args[1:] == (Ellipsis,):
            args = (args[0],) * len(items)
        if len(items) != len(args):
            raise ResultsError(f"{where}: {len(args)} items expected")
        return tuple(
            read(a, v, f"{where}[{i}]")
            for i, (a, v) in enumerate(zip(args, items, strict=True))
        )
    if origin is Mapping:
        pairs = expect(dict, value, where).items()
        return {k: read(args[1], v, f"{where}.{k}") for k, v in pairs}
    if kind is float:
        return expect(int | float, value, where)
    if kind in (int, str, bool):
        return expect(kind, value, where)
    raise TypeError(f"{where}: no reader for {kind!r}")


def read_object(kind: Any, value: object, where: str) -> Any:
    found = expect(dict, value, where)
    fields = dataclasses.fields(kind)
    unknown = set(found) - {f.name for f in fields}
    if unknown:
        raise ResultsError(f"{where}: unknown {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(kind)
    given = {}
    for f in fields:
        if f.name in found:
            given[f.name] = read(
                hints[f.name], found[f.name], f"{where}.{f.name}"
            )
        elif f.default is dataclasses.MISSING:
            raise ResultsError(f"{where}: no {f.name}")
    return kind(**given)


def expect(kind: Any, value: object, where: str) -> Any:
    """The value, if it is of the kind (a bool is no number)."""
    if isinstance(value, kind) and (
        kind is bool or not isinstance(value, bool)
    ):
        return value
    raise ResultsError(f"{where}: {value!r} is not {kind}")
