"""What every part of the in-memory compute API (fake_compute) shares: the
state they all read, and Nova's clock, which stamps every change."""

from __future__ import annotations

import collections
import dataclasses
import datetime

from osc_evacuate.core.microversion import VersionRange, mv
from osc_evacuate.core.models import Migration, Server

NOVA_EPOCH = datetime.datetime(2026, 1, 1)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def stamp(value: datetime.datetime) -> str:
    """As Nova writes its timestamps."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


class FakeNova:
    """The base of FakeCompute's parts: the state they share (FakeCompute
    sets it), Nova's clock, and a change to a server as Nova makes it."""

    clock: FakeClock | None
    epoch: datetime.datetime
    dated: bool
    servers: dict[str, Server]
    records: list[Migration]
    calls: collections.Counter[str]
    destination: str
    compute_lag: float
    _failed_stops: set[str]  # FakeServerActions' stops, undone by a step

    def version_range(self) -> VersionRange:
        return VersionRange(mv("2.1"), mv("2.96"))

    def answer_timeout(self) -> float:
        return 60.0

    def now(self) -> datetime.datetime:
        """Nova's clock."""
        elapsed = self.clock.now if self.clock else 0.0
        return self.epoch + datetime.timedelta(seconds=elapsed)

    def nova_now(self) -> datetime.datetime | None:
        # A Date header has whole seconds.
        return self.now().replace(microsecond=0) if self.dated else None

    def change(self, server_id: str, **fields: object) -> None:
        """Change a server as Nova does: its `updated` moves."""
        lag = datetime.timedelta(seconds=self.compute_lag)
        self.servers[server_id] = dataclasses.replace(
            self.servers[server_id],
            updated=stamp(self.now() - lag),
            **fields,  # type: ignore[arg-type]
        )

    # A step of every evacuation and every move under way, taken on a
    # servers read (FakeEvacuations' and FakeMoves').
    def _advance(self) -> None:
        raise NotImplementedError

    def advance_moves(self) -> None:
        raise NotImplementedError
