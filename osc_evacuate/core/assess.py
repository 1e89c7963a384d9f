"""The plan's judgement of each row: its risk, what Nova would refuse for
its flavor or image, and whether the rows to submit fit where they can go.

The reads cost the same whatever the number of servers: flavors (only
before 2.47, when servers name theirs by id) and images grouped by id,
Placement twice, and the compute services and hypervisors the preflight
already read. What is judged is risk.py's and capacity.py's; this module
only gathers their inputs and returns the rows with their judgement.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from osc_evacuate.core import capacity, risk
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import (
    NOT_NEEDED,
    Action,
    CapacityCheck,
    ComputeService,
    EvacuateOptions,
    Fit,
    Flavor,
    Hypervisor,
    Image,
    PlannedRow,
    Server,
)
from osc_evacuate.core.plan import skipped

LOG = logging.getLogger(__name__)


def assess(
    api: ComputeAPI,
    rows: Sequence[PlannedRow],
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService] | None,
    hypervisors: list[Hypervisor],
) -> tuple[list[PlannedRow], CapacityCheck]:
    """The rows with their risk (skipped where Nova would refuse for their
    flavor or image) and, for those to submit, their fit; and how the fit
    was judged.

    services: every compute service but the sources' (None: read here,
    once, if the capacity check needs them)."""
    judged = [r for r in rows if r.action is not Action.NONE]
    flavors = _flavors(api, [r.before for r in judged])
    images = _images(api, [r.before for r in judged])
    out = [
        _risk(row, flavors, images, options.shared_storage)
        if row.action is not Action.NONE
        else row
        for row in rows
    ]
    return _capacity(
        api, out, options, sources, services, flavors, hypervisors
    )


def _risk(
    row: PlannedRow,
    flavors: dict[str, Flavor],
    images: dict[str, Image],
    shared_storage: bool,
) -> PlannedRow:
    server = row.before
    flavor = _flavor_of(server, flavors)
    image = images.get(server.image_id or "")
    refused = (
        row.error
        if row.action is Action.SKIPPED and not row.filtered
        else None
    )
    if refused is None and row.action is Action.SUBMITTED:
        refused = risk.nova_refuses(flavor, image)
        if refused is not None:
            row = skipped(row, refused, filtered=False)
    return dataclasses.replace(
        row, risk=risk.risk(server, flavor, refused, shared_storage)
    )


def _flavor_of(server: Server, flavors: dict[str, Flavor]) -> Flavor | None:
    return server.flavor or flavors.get(server.flavor_id or "")


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
    rows: list[PlannedRow],
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService] | None,
    flavors: dict[str, Flavor],
    hypervisors: list[Hypervisor],
) -> tuple[list[PlannedRow], CapacityCheck]:
    """Each row to submit's fit (see capacity.py)."""
    todo = [r for r in rows if r.action is Action.SUBMITTED]
    demands = {}
    for row in todo:
        flavor = _flavor_of(row.before, flavors)
        if flavor is not None:
            volume = row.before.volume_backed
            demands[row.id] = capacity.demand_of(flavor, volume)
    if not demands:
        check = NOT_NEEDED if not todo else CapacityCheck(None, 0, "flavors")
        return _fitted(rows, {}), check
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
        return _fitted(rows, {}), CapacityCheck(None, 0, str(exc))
    fits = capacity.pack(demands, room)
    LOG.debug(
        "capacity by %s on %d hosts (%s): %s",
        check.source,
        check.hosts,
        ", ".join(hosts),
        {f.value: sum(v is f for v in fits.values()) for f in Fit},
    )
    return _fitted(rows, fits), check


def _fitted(rows: list[PlannedRow], fits: dict[str, Fit]) -> list[PlannedRow]:
    """Each row to submit with its fit (UNKNOWN where not judged)."""
    return [
        dataclasses.replace(row, fit=fits.get(row.id, Fit.UNKNOWN))
        if row.action is Action.SUBMITTED
        else row
        for row in rows
    ]


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
        if hv.host in nodes and not hv.bare_metal:
            nodes[hv.host].append(hv.node)
    return nodes
