"""What a run refuses before it sends anything, each check a pure function.

A host still up (unless --force-down), a host down by its heartbeat
alone and not known fenced (fencing.py), a host in a cell Nova cannot
reach, an Ironic compute, a mass failure (more hosts down than the guard
allows, unless --yes), a target that cannot take servers, options that
need --wait, a name that is ambiguous, servers that do not fit. Each check
takes what was read and raises a one-line error saying what to do, or
returns; preflight.py does the reading.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

from osc_evacuate.core.computes import find_compute_service
from osc_evacuate.core.errors import NotFound, Refused, UsageError
from osc_evacuate.core.fencing import unfenced
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    ComputeService,
    Hypervisor,
    Plan,
    Request,
    Server,
    TargetState,
)
from osc_evacuate.core.rules import stops_itself_from

LOG = logging.getLogger(__name__)


def check_request(request: Request, version: Microversion) -> None:
    """Options that only a wait can carry out."""
    stopped = request.options.target_state is TargetState.STOPPED
    if stopped and version < stops_itself_from() and request.wait is None:
        raise UsageError(
            f"--target-state stopped at microversion {version} needs --wait: "
            f"before {stops_itself_from()} Nova keeps servers running, so "
            "they are stopped once they have landed"
        )
    if request.lock and request.wait is None:
        raise UsageError(
            "--lock needs --wait: each server is unlocked once its "
            "evacuation is proven, and only a wait sees that"
        )


def refuse_if_up(service: ComputeService, force_down: bool = False) -> None:
    if service.state not in ("up", "down"):
        # A cell Nova cannot reach: nobody knows whether the host runs.
        raise Refused(
            f"nova-compute on {service.host} is in a cell Nova cannot reach "
            f"(state {service.state}), so Nova cannot tell whether the host "
            "is down; evacuate once its cell is back"
        )
    if service.is_up and not force_down:
        raise Refused(
            f"nova-compute on {service.host} is up, and Nova refuses to "
            "evacuate from a running host. If the host has failed, fence it "
            "(power it off), then run this again with --force-down, or: "
            f"openstack compute service set --down {service.host} "
            "nova-compute"
        )


def check_guard(
    services: Sequence[ComputeService],
    hosts: Sequence[str],
    request: Request,
) -> None:
    """Refuse a mass failure unless --yes: the hosts named and every other
    enabled compute already down, against the enabled computes."""
    enabled = {s.host for s in services if s.status == "enabled"}
    already = {
        s.host
        for s in services
        if s.host in enabled and not s.is_up and s.host not in hosts
    }
    down = len(already) + len(hosts)
    total = len(enabled | set(hosts))
    guard = request.guard
    breached = guard.breached(down, total)
    LOG.debug(
        "mass-failure guard: %d down (%d named, %d more), %d enabled; "
        "limits %d hosts, %.0f%%: %s",
        down,
        len(hosts),
        len(already),
        total,
        guard.max_hosts,
        guard.max_fraction * 100,
        "breached" if breached else "fine",
    )
    if not breached or request.accept_mass_failure:
        return
    more = f", {len(already)} more already down" if already else ""
    raise Refused(
        f"{down} computes would be down ({len(hosts)} named{more}) of "
        f"{total} enabled: more than {guard.max_hosts} hosts or "
        f"{guard.max_fraction:.0%} of the enabled computes is a mass "
        "failure (a power domain, a network partition?), not hosts to "
        "evacuate. Check first; pass --yes to evacuate anyway"
    )


def refuse_ironic(host: str, hypervisors: Iterable[Hypervisor]) -> None:
    ironic = [
        hv.node for hv in hypervisors if hv.host == host and hv.bare_metal
    ]
    if ironic:
        raise Refused(
            f"nova-compute on {host} drives Ironic bare-metal nodes "
            f"({len(ironic)}): Nova cannot evacuate bare-metal servers, and "
            "would fail every one into ERROR. Recover them through Ironic "
            "(openstack baremetal node ...) instead"
        )


def refuse_if_down(service: ComputeService) -> None:
    """A drain moves servers off a living host: a dead one is for host
    evacuate."""
    if service.state not in ("up", "down"):
        raise Refused(
            f"nova-compute on {service.host} is in a cell Nova cannot reach "
            f"(state {service.state}): nothing can be migrated off it until "
            "its cell is back"
        )
    if not service.is_up:
        why = "forced down" if service.forced_down else "down"
        raise Refused(
            f"nova-compute on {service.host} is {why}: a drain moves servers "
            "off a living host, by live and cold migration. A dead host "
            f"needs: openstack host evacuate {service.host}"
        )


def check_target(
    target: str | None,
    force: bool,
    sources: set[str],
    services: Sequence[ComputeService],
) -> None:
    if target is None:
        return
    if target in sources:
        which = "the host" if len(sources) == 1 else "one of the hosts"
        raise UsageError(
            f"the target host {target} is {which} being evacuated"
        )
    service = find_compute_service(services, target)
    # --force skips the scheduler, so a disabled spare host is fair game.
    disabled = service.status != "enabled" and not force
    if not service.is_up or disabled:
        raise UsageError(
            f"the target host {target} cannot take servers: its "
            f"nova-compute is {service.state} and {service.status}"
        )


def only_match(name_or_id: str, matches: Sequence[Server]) -> Server:
    """The one server a name or id names, or why not."""
    if not matches:
        raise NotFound(
            f"No server with a name or ID of '{name_or_id}' exists."
        )
    if len(matches) > 1:
        listed = ", ".join(f"{s.id} (project {s.project_id})" for s in matches)
        raise UsageError(
            f"More than one server is named '{name_or_id}': {listed}; "
            "give the ID instead"
        )
    return matches[0]


def resolve_servers(
    wanted: Iterable[str], on_hosts: Iterable[Server], hosts: Iterable[str]
) -> frozenset[str]:
    """--server names or IDs, as ids of servers on the hosts; a UsageError
    for one that is not there, or a name more than one server has."""
    servers = list(on_hosts)
    found: set[str] = set()
    for name in wanted:
        matches = [s for s in servers if name in (s.id, s.name)]
        by_id = [s for s in matches if s.id == name]
        if by_id:
            matches = by_id
        if not matches:
            where = ", ".join(sorted(hosts))
            raise UsageError(f"--server {name} is not on {where}")
        if len(matches) > 1:
            ids = ", ".join(sorted(s.id for s in matches))
            raise UsageError(
                f"--server {name}: more than one server has that name on "
                f"the host ({ids}); give the ID instead"
            )
        found.add(matches[0].id)
    LOG.debug("--server: %s", sorted(found))
    return frozenset(found)


def plan_refusal(plan: Plan, request: Request) -> str | None:
    """Why a run of this plan would refuse to send anything: a host not
    known fenced, or servers that fit nowhere."""
    return unfenced(plan.fencing) or capacity_refusal(
        plan, request.ignore_capacity
    )


def capacity_refusal(plan: Plan, ignore_capacity: bool) -> str | None:
    """Why a run of this plan would refuse to send anything: servers that
    fit nowhere, unless --ignore-capacity."""
    if not plan.no_room or ignore_capacity:
        return None
    where = (
        f"on the {plan.capacity.hosts} hosts that can take them (by "
        f"{plan.capacity.source})"
        if plan.capacity.hosts
        else "anywhere: no compute can take them (every other one is "
        "down or disabled)"
    )
    return (
        f"{len(plan.no_room)} of the {len(plan.to_send)} servers to "
        f"evacuate do not fit {where}: nothing was sent. Free room first, "
        "or pass --ignore-capacity to send them anyway"
    )
