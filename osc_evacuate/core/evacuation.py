"""The two jobs: evacuate failed hosts, or one server.

Each is a plan, then its carrying out. The plan (preflight.plan_hosts,
plan_server) sends nothing that changes anything; a dry run shows it, the
commands confirm what needs confirming, and carry_out then refuses what
does not fit, forces the hosts' services down, submits (locking each
server first with --lock), and with --wait proves every evacuation in one
poll loop for all the hosts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.assess import NOT_NEEDED, CapacityCheck
from osc_evacuate.core.clock import (
    CLOCK_SKEW,
    POLL_OVERLAP,
    Clock,
    SystemClock,
)
from osc_evacuate.core.errors import Refused
from osc_evacuate.core.locks import UNLOCK_ON_INTERRUPT, Locks
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.outcome import (
    Action,
    ServerOutcome,
    mark_interrupted,
)
from osc_evacuate.core.preflight import (
    SCHEDULER,
    Guard,
    HostChange,
    Plan,
    Request,
    plan_hosts,
    plan_server,
)
from osc_evacuate.core.rules import evacuate_body
from osc_evacuate.core.submit import Submission, submit_all, submit_one
from osc_evacuate.core.waiter import Poller, window_start

__all__ = [
    "CLOCK_SKEW",
    "NOT_NEEDED",
    "POLL_OVERLAP",
    "SCHEDULER",
    "CapacityCheck",
    "Guard",
    "HostChange",
    "Plan",
    "Report",
    "Request",
    "carry_out",
    "evacuate_host",
    "evacuate_hosts",
    "evacuate_server",
    "plan_hosts",
    "plan_server",
]

LOG = logging.getLogger(__name__)

ProgressCallback = Callable[[Sequence[ServerOutcome]], None]


@dataclasses.dataclass
class Report:
    sources: tuple[str, ...]
    microversion: Microversion
    rows: list[ServerOutcome]
    polls: int = 0
    interrupted: bool = False  # Ctrl-C: the rows say what is known


def evacuate_hosts(
    api: ComputeAPI,
    hosts: Sequence[str],
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    """Plan, then carry out (no confirmation asked: see the commands)."""
    plan = plan_hosts(api, hosts, request, clock)
    return carry_out(api, plan, request, clock, on_progress)


def evacuate_host(
    api: ComputeAPI,
    host: str,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    return evacuate_hosts(api, [host], request, clock, on_progress)


def evacuate_server(
    api: ComputeAPI,
    name_or_id: str,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    """Plan, then carry out."""
    plan = plan_server(api, name_or_id, request, clock)
    return carry_out(api, plan, request, clock, on_progress)


def carry_out(
    api: ComputeAPI,
    plan: Plan,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    """Refuse what does not fit, change the hosts' compute services, then
    submit and (with --wait) prove."""
    why = plan.refusal(request)
    if why is not None:
        raise Refused(why)
    for change in plan.service_changes:
        assert plan.service_version is not None  # set with the changes
        LOG.debug(
            "compute service of %s: %s %s %s",
            change.host,
            change.request.method,
            change.request.path,
            change.request.body,
        )
        api.update_service(plan.service_version, change.request)
    locks = Locks(api, api.version_range()) if request.lock else None
    clock = clock or SystemClock()
    try:
        report = _run(api, plan, request, clock, on_progress, locks)
    except KeyboardInterrupt:
        LOG.debug("interrupted: reporting what is known")
        for row in plan.rows:
            mark_interrupted(row)
        if locks is not None:
            locks.release_all(plan.rows, within=UNLOCK_ON_INTERRUPT)
        return Report(
            plan.sources, plan.microversion, plan.rows, interrupted=True
        )
    if locks is not None:
        locks.release_all(plan.rows)
    return report


def _run(
    api: ComputeAPI,
    plan: Plan,
    request: Request,
    clock: Clock,
    on_progress: ProgressCallback,
    locks: Locks | None,
) -> Report:
    rows, version = plan.rows, plan.microversion
    # Nova's time before the first request of this run goes out: the polls
    # see every change this run makes, and no record of an earlier run,
    # however old, widens their window.
    window = window_start(api, POLL_OVERLAP)
    submission = Submission(version, evacuate_body(version, request.options))
    if locks is not None:
        for row in rows:
            if row.action is Action.RESUMED:
                locks.take(row)
    submit_all(
        api,
        rows,
        submission,
        clock,
        request.max_parallel,
        on_done=lambda row: on_progress(rows),
        prepare=locks.take if locks is not None else None,
    )
    report = Report(plan.sources, version, rows)
    if request.wait is not None:
        poller = Poller(
            api,
            plan.sources,
            window,
            clock,
            request.wait,
            resubmit=lambda row: submit_one(api, row, submission, clock),
            on_progress=on_progress,
            overlap=POLL_OVERLAP,
            on_end=locks.release if locks is not None else None,
        )
        poller.wait(rows)
        report.polls = poller.polls
    return report
