"""--spare and --spares-from-reason: spare hosts, as Masakari's reserved
hosts and InstanceHA's spares.

A spare is a nova-compute kept disabled (its disabled reason often says
"reserved"), up, in the availability zone of a failed host. When the
capacity check finds no room for some servers, the plan enables just
enough spares for every server to fit (the fewest, in name order), or,
when even all of them cannot make every server fit, those that leave the
fewest without room; none when no spare helps. A row that fits only
thanks to them says so. After the wait, a spare that received nothing is
disabled again, with the reason it had.

Pure but for give_back (which reads and changes the spares' services).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core import rules
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import (
    CapacityCheck,
    ComputeService,
    Fit,
    HostChange,
    PlannedRow,
    Report,
    SpareOutcome,
)

LOG = logging.getLogger(__name__)

# The rows and their capacity check, with these services as they would be.
Judge = Callable[
    [Sequence[ComputeService]], tuple[list[PlannedRow], CapacityCheck]
]


def candidates(
    services: Sequence[ComputeService],
    named: Sequence[str],
    reason: str | None,
    sources: set[str],
) -> list[ComputeService]:
    """The spares that may be enabled: named, or disabled with reason in
    their disabled reason; disabled, up, in a failed host's zone."""
    zones = {s.zone for s in services if s.host in sources}
    found = []
    for service in sorted(services, key=lambda s: s.host):
        said = (service.disabled_reason or "").lower()
        wanted = service.host in named or bool(
            reason and reason.lower() in said
        )
        usable = (
            service.status == "disabled"
            and service.is_up
            and service.zone in zones
            and service.host not in sources
        )
        if wanted and not usable:
            LOG.debug(
                "spare %s: not usable (%s, %s, zone %s)",
                service.host,
                service.status,
                service.state,
                service.zone,
            )
        if wanted and usable:
            found.append(service)
    return found


def no_room(rows: Sequence[PlannedRow]) -> int:
    return sum(r.fit is Fit.NO_ROOM for r in rows)


def enabled(
    services: Sequence[ComputeService], spares: Sequence[ComputeService]
) -> list[ComputeService]:
    """The services, the spares among them enabled."""
    hosts = {s.host for s in spares}
    return [
        dataclasses.replace(s, status="enabled") if s.host in hosts else s
        for s in services
    ]


def choose(
    services: Sequence[ComputeService],
    spares: Sequence[ComputeService],
    judged: tuple[list[PlannedRow], CapacityCheck],
    judge: Judge,
) -> tuple[list[PlannedRow], CapacityCheck, list[ComputeService]]:
    """The fewest spares that leave the fewest servers without room, the
    rows and check as they would be with them enabled."""
    best = (*judged, list[ComputeService]())
    for count in range(1, len(spares) + 1):
        if no_room(best[0]) == 0:
            break
        chosen = list(spares[:count])
        rows, check = judge(enabled(services, chosen))
        if no_room(rows) < no_room(best[0]):
            best = (rows, check, chosen)
    rows, check, chosen = best
    LOG.debug(
        "spares: %s enabled would leave %d without room (%d without)",
        [s.host for s in chosen] or "none",
        no_room(rows),
        no_room(judged[0]),
    )
    return _said(judged[0], rows, chosen), check, chosen


def _said(
    before: Sequence[PlannedRow],
    after: Sequence[PlannedRow],
    chosen: Sequence[ComputeService],
) -> list[PlannedRow]:
    """The rows, those that fit only with the spares saying so."""
    if not chosen:
        return list(before)
    without = {r.id for r in before if r.fit is Fit.NO_ROOM}
    said = f"room only with spare {', '.join(s.host for s in chosen)}"
    said += ", enabled by this run"
    return [
        dataclasses.replace(
            row, fit_why="; ".join(filter(None, (row.fit_why, said)))
        )
        if row.id in without and row.fit is not Fit.NO_ROOM
        else row
        for row in after
    ]


def changes(
    api: ComputeAPI, chosen: Sequence[ComputeService]
) -> list[HostChange]:
    """The requests that enable the chosen spares."""
    version = rules.service_version(api.version_range())
    return [
        HostChange(spare.host, change)
        for spare in chosen
        for change in rules.service_requests(
            version, spare.id, spare.host, enable=True
        )
    ]


def give_back(
    api: ComputeAPI, chosen: Sequence[ComputeService], report: Report
) -> Report:
    """After the wait: a spare that received nothing is disabled again,
    with the reason it had; the report says what became of each."""
    if not chosen:
        return report
    version = rules.service_version(api.version_range())
    outcomes = []
    for spare in chosen:
        try:
            received = len(api.servers_on_host(spare.host))
            if received or report.interrupted:
                outcomes.append(SpareOutcome(spare.host, received, False))
                continue
            for change in rules.service_requests(
                version,
                spare.id,
                spare.host,
                disabled_reason=spare.disabled_reason or "spare",
            ):
                api.update_service(version, change)
            outcomes.append(SpareOutcome(spare.host, 0, True))
        except ComputeAPIError as exc:
            LOG.debug("spare %s: not given back: %s", spare.host, exc)
            outcomes.append(SpareOutcome(spare.host, None, False, str(exc)))
    return dataclasses.replace(report, spares=tuple(outcomes))
