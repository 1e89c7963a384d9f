"""The plan's judgement of each row: its risk, what Nova would refuse for
its flavor or image, and whether the rows to submit fit where they can go.

The reads cost the same whatever the number of servers: flavors (only
before 2.47, when servers name theirs by id) and images grouped by id,
Placement twice, and the compute services and hypervisors the preflight
already read. What is judged is risk.py's and capacity.py's; this module
only gathers their inputs and sets the rows.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from osc_evacuate.core import capacity, risk
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.capacity import Fit
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import (
    ComputeService,
    EvacuateOptions,
    Flavor,
    Hypervisor,
    Image,
    Server,
)
from osc_evacuate.core.outcome import Action, Result, ServerOutcome

LOG = logging.getLogger(__name__)

IRONIC = "ironic"


@dataclasses.dataclass(frozen=True)
class CapacityCheck:
    """How the rows' fit was judged: from what, over how many hosts."""

    source: str | None  # "placement", "hypervisor statistics"; None: not
    hosts: int = 0
    why_not: str | None = None  # why it was not judged, when not


NOT_NEEDED = CapacityCheck(None, why_not="nothing to submit")


def assess(
    api: ComputeAPI,
    rows: list[ServerOutcome],
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService] | None,
    hypervisors: list[Hypervisor],
) -> CapacityCheck:
    """Set each row's risk (skipping what Nova would refuse for its flavor
    or image) and each row to submit's fit; how the fit was judged.

    services: every compute service but the sources' (None: read here,
    once, if the capacity check needs them)."""
    judged = [r for r in rows if r.action is not Action.NONE]
    flavors = _flavors(api, [r.before for r in judged])
    images = _images(api, [r.before for r in judged])
    for row in judged:
        server = row.before
        flavor = server.flavor or flavors.get(server.flavor_id or "")
        image = images.get(server.image_id or "")
        skipped = row.action is Action.SKIPPED and not row.filtered
        refused = row.error if skipped else None
        if refused is None and row.action is Action.SUBMITTED:
            refused = risk.nova_refuses(flavor, image)
            if refused is not None:
                LOG.debug("plan %s: skipped, %s", server.id, refused)
                row.action, row.result = Action.SKIPPED, Result.SKIPPED
                row.expected_status, row.error = None, refused
        row.risk = risk.risk(server, flavor, refused, options.shared_storage)
    return _capacity(
        api, rows, options, sources, services, flavors, hypervisors
    )


def _flavors(api: ComputeAPI, servers: list[Server]) -> dict[str, Flavor]:
    """Flavors Nova did not embed (before 2.47), by id."""
    wanted = {s.flavor_id for s in servers if s.flavor is None and s.flavor_id}
    if not wanted:
        return {}
    try:
        return api.flavors(wanted)
    except ComputeAPIError as exc:
        LOG.debug("flavors %s: not known (%s)", sorted(wanted), exc)
        return {}


def _images(api: ComputeAPI, servers: list[Server]) -> dict[str, Image]:
    wanted = {s.image_id for s in servers if s.image_id}
    if not wanted:
        return {}
    try:
        return api.images(wanted)
    except ComputeAPIError as exc:
        # Only a vTPM in an image goes unseen: Nova then refuses it.
        LOG.debug("images: not known (%s)", exc)
        return {}


def _capacity(
    api: ComputeAPI,
    rows: list[ServerOutcome],
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService] | None,
    flavors: dict[str, Flavor],
    hypervisors: list[Hypervisor],
) -> CapacityCheck:
    """Each row to submit's fit (see capacity.py)."""
    todo = [r for r in rows if r.action is Action.SUBMITTED]
    demands = {}
    for row in todo:
        server = row.before
        flavor = server.flavor or flavors.get(server.flavor_id or "")
        if flavor is None:
            row.fit = Fit.UNKNOWN
            continue
        demands[server.id] = capacity.demand_of(flavor, server.volume_backed)
    if not demands:
        return NOT_NEEDED if not todo else CapacityCheck(None, 0, "flavors")
    try:
        hosts = _candidates(api, options, sources, services)
        nodes = _nodes(hosts, hypervisors)
        rooms = api.rooms(capacity.smallest(list(demands.values())))
        if rooms is not None:
            check = CapacityCheck("placement", len(hosts))
            room = capacity.rooms_from_placement(nodes, rooms)
        else:
            check = CapacityCheck("hypervisor statistics", len(hosts))
            room = capacity.rooms_from_hypervisors(hosts, hypervisors)
    except ComputeAPIError as exc:
        LOG.debug("capacity not judged: %s", exc)
        for row in todo:
            row.fit = Fit.UNKNOWN
        return CapacityCheck(None, 0, str(exc))
    fits = capacity.pack(demands, room)
    for row in todo:
        row.fit = fits.get(row.before.id, Fit.UNKNOWN)
    LOG.debug(
        "capacity by %s on %d hosts (%s): %s",
        check.source,
        check.hosts,
        ", ".join(hosts),
        {f.value: sum(r.fit is f for r in todo) for f in Fit},
    )
    return check


def _candidates(
    api: ComputeAPI,
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService] | None,
) -> list[str]:
    """The hosts that can take the servers: the target, or every compute
    that is up and enabled, but the hosts being evacuated."""
    if options.host:
        return [options.host]
    if services is None:
        services = api.compute_services()
    return sorted(
        s.host
        for s in services
        if s.is_up and s.status == "enabled" and s.host not in sources
    )


def _nodes(
    hosts: list[str], hypervisors: list[Hypervisor]
) -> dict[str, list[str]]:
    """Each candidate host's compute nodes (Placement's providers); an
    ironic one takes no evacuated server, so it has none."""
    nodes: dict[str, list[str]] = {h: [] for h in hosts}
    for hv in hypervisors:
        if hv.host in nodes and hv.type != IRONIC:
            nodes[hv.host].append(hv.node)
    return nodes
