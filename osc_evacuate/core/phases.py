"""--priority-property: evacuate in phases, highest priority first, as
Masakari (HA_Enabled=True first) and InstanceHA (restart priority) do, so
that a database is back before the applications that need it.

A server's priority is its metadata value for the key: a number, or true
and false (1 and 0); a server without the key comes last. Servers of one
priority are one phase; a phase is sent only once every row of the one
before has ended (verified or not: the rest of the host is still to come
back), and all within the one --wait. Ctrl-C, or the wait running out,
ends the run where it is: what was never sent says why.

phased() and priority() are pure; in_phases() runs one phase after the
other through the job's own run of one plan (evacuation.py).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence

from osc_evacuate.core.clock import Clock
from osc_evacuate.core.errors import Refused
from osc_evacuate.core.models import (
    Action,
    Plan,
    PlannedRow,
    Report,
    Result,
    Server,
    ServerOutcome,
    WaitPolicy,
)

LOG = logging.getLogger(__name__)

TRUE = frozenset({"true", "yes", "on"})
FALSE = frozenset({"false", "no", "off"})
# What a phase's run is: the plan of its rows, under a wait.
RunOnce = Callable[[Plan, WaitPolicy | None], Report]


def priority(server: Server, key: str) -> float | None:
    """The server's priority under key; None without the key. ValueError
    when the value is no number nor true/false."""
    raw = server.metadata.get(key)
    if raw is None:
        return None
    word = raw.strip().lower()
    if word in TRUE or word in FALSE:
        return 1.0 if word in TRUE else 0.0
    value = float(word)
    if not math.isfinite(value):
        raise ValueError(word)
    return value


def phased(rows: Sequence[PlannedRow], key: str) -> list[PlannedRow]:
    """The rows, those to send or wait for with their phase: 1 for the
    highest priority; servers without the key last. Refused when a value
    is no priority."""
    moving = [
        r for r in rows if r.action in (Action.SUBMITTED, Action.RESUMED)
    ]
    found: dict[str, float | None] = {}
    bad = []
    for row in moving:
        try:
            found[row.id] = priority(row.before, key)
        except ValueError:
            bad.append(f"{row.before.name} ({row.before.metadata[key]!r})")
    if bad:
        raise Refused(
            f"--priority-property {key}: not a number nor true/false for "
            f"{', '.join(sorted(bad))}"
        )
    order = sorted({p for p in found.values() if p is not None}, reverse=True)
    number = {p: n for n, p in enumerate(order, start=1)}
    last = len(order) + 1
    out = []
    for row in rows:
        if row.id in found:
            value = found[row.id]
            phase = last if value is None else number[value]
            row = dataclasses.replace(row, phase=phase)
        out.append(row)
    LOG.debug(
        "phases by %s: %s, then %s without it",
        key,
        order,
        "those" if any(v is None for v in found.values()) else "none",
    )
    return out


def in_phases(
    plan: Plan, wait: WaitPolicy | None, clock: Clock, run_once: RunOnce
) -> Report:
    """The plan, one phase after the other (all at once without phases);
    one report of every row."""
    numbers = sorted({r.phase for r in plan.rows if r.phase is not None})
    if not numbers:
        return run_once(plan, wait)
    started = clock.monotonic()
    reports: list[Report] = []
    for number in numbers:
        rows = tuple(
            r
            for r in plan.rows
            if r.phase == number or (r.phase is None and number == numbers[0])
        )
        left = _time_left(wait, clock.monotonic() - started)
        if reports and (reports[-1].interrupted or left == 0):
            why = "Ctrl-C" if reports[-1].interrupted else "the --wait ran out"
            reports.append(_not_sent(plan, rows, number, why))
            continue
        LOG.debug("phase %d: %d rows", number, len(rows))
        sub = dataclasses.replace(plan, rows=rows)
        timed = dataclasses.replace(wait, timeout=left) if wait else None
        try:
            reports.append(run_once(sub, timed))
        except KeyboardInterrupt:
            # Between two phases: this one was never started.
            reports.append(_not_sent(plan, rows, number, "Ctrl-C"))
    return _merged(plan, reports)


def _time_left(wait: WaitPolicy | None, spent: float) -> float | None:
    if wait is None or wait.timeout is None:
        return None
    return max(0.0, wait.timeout - spent)


def _not_sent(
    plan: Plan, rows: Sequence[PlannedRow], number: int, why: str
) -> Report:
    ended = []
    for row in rows:
        outcome = ServerOutcome.of(row)
        if row.action is Action.SUBMITTED:
            outcome = dataclasses.replace(
                outcome,
                result=Result.INTERRUPTED
                if why == "Ctrl-C"
                else Result.FAILED,
                error=f"not sent: {why} before phase {number}",
            )
        elif row.action is Action.RESUMED:
            error = f"not waited for: {why} before phase {number}"
            outcome = dataclasses.replace(outcome, error=error)
        ended.append(outcome)
    LOG.debug("phase %d not sent: %s", number, why)
    return Report(
        plan.sources,
        plan.microversion,
        tuple(ended),
        interrupted=why == "Ctrl-C",
        fencing=plan.fencing,
    )


def _merged(plan: Plan, reports: Sequence[Report]) -> Report:
    """One report, its rows in the plan's order."""
    by_id = {r.id: r for report in reports for r in report.rows}
    return Report(
        plan.sources,
        plan.microversion,
        tuple(by_id[r.id] for r in plan.rows),
        polls=sum(r.polls for r in reports),
        interrupted=any(r.interrupted for r in reports),
        fencing=plan.fencing,
        on_the_wire=tuple(
            sorted(sid for report in reports for sid in report.on_the_wire)
        ),
    )
