"""One run's figures, counted from the sandbox's request log.

Everything is measured, nothing derived: the requests, by method and path,
and the bytes of the answers; the requests and bytes of each poll cycle,
bucketed from the log by when each cycle began; what the polls read, and
how much of it had changed; the run's phases (before its first evacuate,
while it sends them, after), with Nova's CPU in each, read from samples
of the Nova process's CPU seconds.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import math
import statistics
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

from tests.sandbox.recorder import path_key

from .clients import WayRun
from .results import AFTER, BEFORE, SENDING, Counted, Phase, PollItems, Spread

LOG = logging.getLogger(__name__)


class LogEntry(TypedDict):
    """One request of the sandbox's log (tests/sandbox/recorder.py)."""

    at: float  # time.monotonic() on arrival
    method: str
    path: str
    bytes: int  # of the answer
    query: NotRequired[str]
    seconds: NotRequired[float | None]  # until the answer was sent
    # What the answer held: [kind, id, digest] for each object.
    items: NotRequired[list[list[str]] | None]


def ours_cycles(log: Sequence[LogEntry]) -> list[float]:
    """When each poll cycle of a client that polls the host's records
    (osc-evacuate, the osc floor) began: each read of the host's records
    (GET .../os-migrations without instance_uuid) after the run's first
    evacuate request. osc-evacuate polls while it is still sending, from
    its first accepted request on; its plan's one read of the records
    comes before its first POST."""
    posts = [e["at"] for e in log if e["method"] == "POST"]
    after = min(posts, default=0.0)
    return [
        e["at"]
        for e in log
        if e["method"] == "GET"
        and e["path"].endswith("/os-migrations")
        and "instance_uuid" not in (e.get("query") or "")
        and e["at"] > after
    ]


def poll_items(log: Sequence[LogEntry], first: float) -> tuple[int, int]:
    """How many objects (servers, records) the poll cycles read, from the
    first cycle on, and how many of them had changed since the client last
    read them (or it never had): by each answer's items, in the order of
    the log. Reads before the first cycle (a plan) count as seen."""
    seen: dict[tuple[str, str], str] = {}
    read = changed = 0
    for entry in sorted(log, key=lambda e: e["at"]):
        for kind, ident, digest in entry.get("items") or ():
            if entry["at"] >= first:
                read += 1
                changed += seen.get((kind, ident)) != digest
            seen[kind, ident] = digest
    return read, changed


def spread(values: list[float]) -> Spread | None:
    if not values:
        return None
    return Spread(min(values), statistics.median(values), max(values))


def metrics(
    log: Sequence[LogEntry], run: WayRun, servers: int, way: str
) -> Counted:
    """What the log shows of a run, from its start until its last server
    was seen done, and what its clients used."""
    log = [e for e in log if run.started <= e["at"] <= run.done_at]
    by_kind: dict[str, int] = {}
    for entry in log:
        key = path_key(entry["method"], entry["path"])
        by_kind[key] = by_kind.get(key, 0) + 1
    starts = run.cycles if run.cycles is not None else ours_cycles(log)
    per_requests, per_bytes = per_cycle(log, starts, run.done_at)
    read, changed = poll_items(log, starts[0] if starts else math.inf)
    return Counted(
        servers=servers,
        way=way,
        wall_seconds=round(run.done_at - run.started, 2),
        first_request_seconds=(
            round(min(e["at"] for e in log) - run.started, 2) if log else None
        ),
        requests=len(log),
        by_kind=dict(sorted(by_kind.items())),
        bytes=sum(e["bytes"] for e in log),
        cycles=len(starts),
        requests_per_cycle=spread(per_requests),
        bytes_per_cycle=spread(per_bytes),
        # Of the objects the polls read, those new to the client: changed
        # since it last read them, or never read before.
        poll_items=PollItems(read=read, changed=changed),
        bytes_per_changed_item=(
            round(sum(per_bytes) / changed) if changed else None
        ),
        client_cpu_seconds=round(sum(p.cpu_seconds for p in run.processes), 2),
        client_peak_rss_mib=round(
            max(p.peak_rss_kib for p in run.processes) / 1024, 1
        ),
    )


def per_cycle(
    log: Sequence[LogEntry], starts: list[float], done_at: float
) -> tuple[list[float], list[float]]:
    """The requests and the bytes of each poll cycle: from its start until
    the next one's (the last: until a second after the run). The evacuate
    requests are not the poll's: a client that polls while it sends has
    them between its reads, and they are left out."""
    bounds = [*starts, done_at + 1]
    reads = [e for e in log if e["method"] != "POST"]
    per_requests, per_bytes = [], []
    for begin, end in itertools.pairwise(bounds):
        inside = [e for e in reads if begin <= e["at"] < end]
        per_requests.append(float(len(inside)))
        per_bytes.append(float(sum(e["bytes"] for e in inside)))
    return per_requests, per_bytes


def phases(
    log: Sequence[LogEntry], run: WayRun
) -> list[tuple[str, float, float]]:
    """A run's phases, by the request log: before its first evacuate
    request (planning, or listing the servers), while it sends them (the
    first one's arrival to the last one's answer), and after, until every
    server was seen done."""
    posts = [
        e
        for e in log
        if e["method"] == "POST" and run.started <= e["at"] <= run.done_at
    ]
    if not posts:
        LOG.debug("no evacuate request: the run is one phase")
        return [("whole run", run.started, run.done_at)]
    first = min(e["at"] for e in posts)
    last = max(e["at"] + (e.get("seconds") or 0.0) for e in posts)
    return [
        (BEFORE, run.started, first),
        (SENDING, first, last),
        (AFTER, last, run.done_at),
    ]


def cpu_between(
    samples: Sequence[tuple[float, float]], begin: float, end: float
) -> float:
    """CPU seconds used between two monotonic times, from (time, CPU
    seconds) samples, read between the samples either side."""

    def at(moment: float) -> float:
        before = [s for s in samples if s[0] <= moment]
        after = [s for s in samples if s[0] >= moment]
        if not before:
            return samples[0][1]
        if not after:
            return samples[-1][1]
        (t0, c0), (t1, c1) = before[-1], after[0]
        if t1 == t0:
            return c0
        return c0 + (c1 - c0) * (moment - t0) / (t1 - t0)

    return max(0.0, at(end) - at(begin))


def by_phase(
    log: Sequence[LogEntry],
    run: WayRun,
    samples: Sequence[tuple[float, float]],
) -> tuple[Phase, ...]:
    """Wall and Nova CPU seconds of each phase, and the requests in it."""
    return tuple(
        Phase(
            phase=name,
            wall_seconds=round(end - begin, 2),
            nova_cpu_seconds=round(cpu_between(samples, begin, end), 2),
            requests=sum(1 for e in log if begin <= e["at"] < end),
        )
        for name, begin, end in phases(log, run)
    )


def done_at(records: Sequence[dict[str, Any]], offset: float) -> float | None:
    """When the last of a run's evacuation records turned done, on the
    bench's monotonic clock: the latest of their updated_at (Nova's UTC
    wall clock), less `offset`, time.time() - time.monotonic() as the
    bench process read it (Nova runs on the same machine, its clock the
    same). None: no record has an updated_at.

    Nova's API writes updated_at as "%Y-%m-%dT%H:%M:%S.%f" with no zone
    (oslo.serialization's to_primitive of the DB's naive UTC datetime):
    to the microsecond as the database keeps it. The sandbox's SQLite
    keeps microseconds; a MySQL DATETIME column would keep whole seconds
    (the moment then up to a second early).
    """
    moments = [
        stamp(record["updated_at"])
        for record in records
        if record.get("updated_at")
    ]
    return max(moments) - offset if moments else None


def stamp(text: str) -> float:
    """A time as Nova's API writes it (UTC, with or without a zone), in
    seconds since the epoch."""
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def busy_seconds(stat: str, ticks: int) -> float:
    """The CPU seconds the whole machine has been busy, from the first
    line of /proc/stat: every state but idle and waiting for I/O (a
    guest's time is counted in user's), stolen time included."""
    fields = [int(f) for f in stat.splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / ticks


def others_cpu(busy: float, nova: float, clients: float) -> float:
    """The CPU seconds the machine was busy during a run outside Nova's
    process and the way's clients: the sandbox's Keystone, the bench
    itself, and anything else that ran beside it. Ticks of 10 ms on each
    reading make a quiet run's figure a few hundredths either way: never
    below nothing."""
    return round(max(0.0, busy - nova - clients), 2)
