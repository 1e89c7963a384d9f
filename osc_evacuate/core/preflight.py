"""Everything a run reads and checks before it sends anything: its plan.

A plan (plan_hosts, plan_server) sends nothing that changes anything. It
finds the hosts' compute services (exact names, never substrings) and
refuses what Nova would refuse or an operator would regret: a host still
up (unless --force-down), a host in a cell Nova cannot reach, an Ironic
compute, a mass failure (more hosts down than the guard allows, unless
--yes), a target that cannot take servers, options the microversion
cannot honour. Then it decides each server's row (plan.py), applies the
filters (filters.py), and judges risk and capacity (assess.py). A dry run
shows the plan; evacuation.carry_out carries it out.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from collections.abc import Sequence

from osc_evacuate.core import assess, defaults, rules
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.capacity import Fit
from osc_evacuate.core.clock import (
    CLOCK_SKEW,
    Clock,
    SystemClock,
    nova_time,
    parse_nova_time,
)
from osc_evacuate.core.errors import (
    ComputeAPIError,
    NotFound,
    Refused,
    UsageError,
)
from osc_evacuate.core.filters import ServerFilter, resolve_servers
from osc_evacuate.core.microversion import Microversion, mv
from osc_evacuate.core.models import (
    ComputeService,
    EvacuateOptions,
    Hypervisor,
    Migration,
    Server,
    TargetState,
)
from osc_evacuate.core.outcome import Action, Result, ServerOutcome
from osc_evacuate.core.plan import (
    already_evacuated_row,
    evacuated_off,
    evacuated_this_outage,
    plan_servers,
    refusal,
)
from osc_evacuate.core.retry import RetryPolicy, retrying
from osc_evacuate.core.rules import choose_microversion
from osc_evacuate.core.submit import DEFAULT_MAX_PARALLEL
from osc_evacuate.core.waiter import WaitPolicy

LOG = logging.getLogger(__name__)

STOPS_ITSELF = mv("2.95")
IRONIC = "ironic"
SCHEDULER = "scheduler"


@dataclasses.dataclass(frozen=True)
class Guard:
    """More hosts down than this is a mass failure (a power domain, a
    network partition), not hosts to evacuate: refused unless --yes."""

    max_hosts: int = defaults.GUARD_MAX_HOSTS
    max_fraction: float = defaults.GUARD_MAX_FRACTION  # of the enabled

    def breached(self, down: int, enabled: int) -> bool:
        # A hair of slack: 3 of 9 is a third, not more.
        return (
            down > self.max_hosts or down > self.max_fraction * enabled + 1e-9
        )


@dataclasses.dataclass(frozen=True)
class Request:
    options: EvacuateOptions
    pinned: Microversion | None = None
    wait: WaitPolicy | None = None  # None: submit and return
    max_parallel: int = DEFAULT_MAX_PARALLEL
    # Send them even when the capacity check finds no room for some.
    ignore_capacity: bool = False
    # The operator says the hosts are fenced: mark their nova-compute
    # forced down first (and disable them, with a reason).
    force_down: bool = False
    disabled_reason: str | None = None
    # host evacuate's filters; --server names, resolved on the hosts.
    filters: ServerFilter = dataclasses.field(default_factory=ServerFilter)
    server_names: tuple[str, ...] = ()
    # Lock each server while it is evacuated (needs --wait).
    lock: bool = False
    guard: Guard = dataclasses.field(default_factory=Guard)
    accept_mass_failure: bool = False  # --yes


@dataclasses.dataclass(frozen=True)
class HostChange:
    """A change to a source host's compute service (--force-down)."""

    host: str
    request: rules.ServiceRequest


@dataclasses.dataclass
class Plan:
    """What a run would do, before it does anything."""

    sources: tuple[str, ...]  # the hosts evacuated
    microversion: Microversion
    rows: list[ServerOutcome]
    target: str  # the host asked for, or SCHEDULER
    capacity: assess.CapacityCheck = assess.NOT_NEEDED
    # Sent before any evacuation, at service_version.
    service_changes: list[HostChange] = dataclasses.field(default_factory=list)
    service_version: Microversion | None = None

    @property
    def no_room(self) -> list[ServerOutcome]:
        return [r for r in self.rows if r.fit is Fit.NO_ROOM]

    def refusal(self, request: Request) -> str | None:
        """Why a run of this plan would refuse to send anything."""
        if not self.no_room or request.ignore_capacity:
            return None
        todo = [r for r in self.rows if r.action is Action.SUBMITTED]
        where = (
            f"on the {self.capacity.hosts} hosts that can take them (by "
            f"{self.capacity.source})"
            if self.capacity.hosts
            else "anywhere: no compute can take them (every other one is "
            "down or disabled)"
        )
        return (
            f"{len(self.no_room)} of the {len(todo)} servers to evacuate do "
            f"not fit {where}: nothing was sent. Free room first, or pass "
            "--ignore-capacity to send them anyway"
        )


def plan_hosts(
    api: ComputeAPI,
    hosts: Sequence[str],
    request: Request,
    clock: Clock | None = None,
) -> Plan:
    """Every server of the hosts, and what a run would do with each."""
    sources = tuple(dict.fromkeys(hosts))
    version = _choose(api, request, "--target-host")
    _check_filters(api, request)
    everything = read_services(api, None)
    services = {h: find_compute_service(everything, h) for h in sources}
    for service in services.values():
        LOG.debug(
            "nova-compute on %s: %s, %s, forced_down=%s, updated_at %s",
            service.host,
            service.state,
            service.status,
            service.forced_down,
            service.updated_at,
        )
        _refuse_if_up(service, request.force_down)
    _guard(everything, sources, request)
    hypervisors = _hypervisors(api, clock or SystemClock())
    for host in sources:
        _refuse_ironic(host, hypervisors)
    _check_target(request.options, set(sources), everything)
    on_host = {h: api.servers_on_host(h) for h in sources}
    records = {h: api.evacuation_migrations(source_host=h) for h in sources}
    filters = request.filters
    if request.server_names:
        everyone = [s for servers in on_host.values() for s in servers]
        ids = resolve_servers(request.server_names, everyone, sources)
        filters = dataclasses.replace(filters, servers=ids)
    target = request.options.target_state
    rows: list[ServerOutcome] = []
    for host in sources:
        LOG.debug(
            "%d servers on %s, %d evacuation records from it",
            len(on_host[host]),
            host,
            len(records[host]),
        )
        rows += plan_servers(on_host[host], records[host], target)
    _filter(rows, filters)
    rows += _evacuated_earlier(api, on_host, records, request)
    # Host by host, by name: Nova's order (newest first, servers booted in
    # the same second in any order) would change from run to run.
    order = {host: n for n, host in enumerate(sources)}
    rows.sort(
        key=lambda r: (
            order.get(r.before.host or "", 0),
            r.before.name,
            r.before.id,
        )
    )
    plan = Plan(sources, version, rows, _target(request))
    plan.service_changes = [
        HostChange(host, change)
        for host in sources
        for change in _service_changes(api, services[host], request)
    ]
    if plan.service_changes:
        plan.service_version = rules.service_version(api.version_range())
    plan.capacity = assess.assess(
        api,
        plan.rows,
        request.options,
        set(sources),
        [s for s in everything if s.host not in sources],
        hypervisors,
    )
    return plan


def plan_server(
    api: ComputeAPI,
    name_or_id: str,
    request: Request,
    clock: Clock | None = None,
) -> Plan:
    """The server, and what a run would do with it."""
    version = _choose(api, request, "--host")
    server = find_server(api, name_or_id)
    target = request.options.target_state
    migrations = api.evacuation_migrations(instance_uuid=server.id)
    services = read_services(api, server.host) if server.host else []
    up = [s for s in services if s.is_up]
    if up:
        landed = evacuated_off(server, migrations)
        if landed is None:
            _refuse_if_up(up[0])
        else:
            # Its host is the healthy destination of an earlier
            # evacuation: report that rather than evacuate it again.
            LOG.debug(
                "%s was evacuated from %s by migration %s",
                server.id,
                landed.source_compute,
                landed.id,
            )
            row = already_evacuated_row(
                server, landed, target, request.wait is not None
            )
            source = landed.source_compute or ""
            return Plan((source,), version, [row], _target(request))
    why = refusal(server)
    if why is not None:
        raise Refused(
            f"server {server.name} ({server.id}) is {server.status}: {why}"
        )
    hypervisors = _hypervisors(api, clock or SystemClock())
    sources: tuple[str, ...] = (server.host,) if server.host else ()
    for host in sources:
        _refuse_ironic(host, hypervisors)
    everything = read_services(api, None) if request.options.host else []
    _check_target(request.options, set(sources), everything)
    mine = [m for m in migrations if m.source_compute == server.host]
    rows = plan_servers([server], mine, target)
    plan = Plan(sources, version, rows, _target(request))
    plan.capacity = assess.assess(
        api, rows, request.options, set(sources), None, hypervisors
    )
    (row,) = plan.rows
    if row.action is Action.SKIPPED:
        # What Nova would refuse for its flavor or image (a vTPM).
        raise Refused(
            f"server {server.name} ({server.id}) is {server.status}: "
            f"{row.error}"
        )
    return plan


def find_server(api: ComputeAPI, name_or_id: str) -> Server:
    matches = api.find_servers(name_or_id)
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


def find_compute_service(
    services: Sequence[ComputeService], host: str
) -> ComputeService:
    """The nova-compute service of exactly this host (never a substring)."""
    exact = [s for s in services if s.host == host]
    if exact:
        return exact[0]
    hosts = sorted({s.host for s in services})
    close = difflib.get_close_matches(host, hosts, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise NotFound(f"No nova-compute service on host '{host}'.{hint}")


def read_services(api: ComputeAPI, host: str | None) -> list[ComputeService]:
    """The compute services, read before anything is sent: Nova's first
    admin-only answer, so the place to say what a 403 means."""
    try:
        return api.compute_services(host)
    except ComputeAPIError as exc:
        if exc.status != 403:
            raise
        raise Refused(
            f"{exc}: evacuation needs an admin (Nova's policies "
            "os_compute_api:os-evacuate and os-services); use admin "
            "credentials"
        ) from exc


def _choose(
    api: ComputeAPI, request: Request, host_option: str
) -> Microversion:
    version = choose_microversion(
        request.options, api.version_range(), request.pinned, host_option
    )
    stopped = request.options.target_state is TargetState.STOPPED
    if stopped and version < STOPS_ITSELF and request.wait is None:
        raise UsageError(
            f"--target-state stopped at microversion {version} needs --wait: "
            "before 2.95 Nova keeps servers running, so they are stopped "
            "once they have landed"
        )
    if request.lock and request.wait is None:
        raise UsageError(
            "--lock needs --wait: each server is unlocked once its "
            "evacuation is proven, and only a wait sees that"
        )
    return version


def _check_filters(api: ComputeAPI, request: Request) -> None:
    if request.filters.by_tags:
        rules.require_tags(api.version_range())


def _refuse_if_up(service: ComputeService, force_down: bool = False) -> None:
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


def _guard(
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


def _hypervisors(api: ComputeAPI, clock: Clock) -> list[Hypervisor]:
    """Every compute node, read once per run: for the ironic check and
    the capacity check. Transient errors are tried again; the run stops
    on any other: bare-metal servers must never be sent by mistake."""
    return retrying(api.hypervisors, clock, RetryPolicy())


def _refuse_ironic(host: str, hypervisors: list[Hypervisor]) -> None:
    ironic = [
        hv.node for hv in hypervisors if hv.host == host and hv.type == IRONIC
    ]
    if ironic:
        raise Refused(
            f"nova-compute on {host} drives Ironic bare-metal nodes "
            f"({len(ironic)}): Nova cannot evacuate bare-metal servers, and "
            "would fail every one into ERROR. Recover them through Ironic "
            "(openstack baremetal node ...) instead"
        )


def _check_target(
    options: EvacuateOptions,
    sources: set[str],
    services: Sequence[ComputeService],
) -> None:
    target = options.host
    if target is None:
        return
    if target in sources:
        which = "the host" if len(sources) == 1 else "one of the hosts"
        raise UsageError(
            f"the target host {target} is {which} being evacuated"
        )
    service = find_compute_service(services, target)
    # --force skips the scheduler, so a disabled spare host is fair game.
    disabled = service.status != "enabled" and not options.force
    if not service.is_up or disabled:
        raise UsageError(
            f"the target host {target} cannot take servers: its "
            f"nova-compute is {service.state} and {service.status}"
        )


def _filter(rows: list[ServerOutcome], filters: ServerFilter) -> None:
    """Rows this run would send that a filter leaves out: skipped, with
    the filter that did."""
    if not filters:
        return
    for row in rows:
        if row.action is not Action.SUBMITTED:
            continue
        why = filters.left_out(row.before)
        if why is not None:
            LOG.debug("plan %s: skipped, %s", row.before.id, why)
            row.action, row.result = Action.SKIPPED, Result.SKIPPED
            row.expected_status, row.error = None, why
            row.filtered = True


def _evacuated_earlier(
    api: ComputeAPI,
    on_host: dict[str, list[Server]],
    records: dict[str, list[Migration]],
    request: Request,
) -> list[ServerOutcome]:
    """Rows for the servers evacuated off the hosts earlier in this outage,
    judged as they are now: one read of the servers changed since the
    oldest of their records."""
    done: dict[str, Migration] = {}
    for host, migrations in records.items():
        done |= evacuated_this_outage(
            migrations, {s.id for s in on_host[host]}
        )
    if not done:
        return []
    # A server's updated_at follows its evacuation record's creation; the
    # margin covers clocks that differ between Nova's hosts.
    oldest = min(parse_nova_time(m.created_at) for m in done.values())
    changed = {
        s.id: s
        for s in api.servers_changed_since(nova_time(oldest - CLOCK_SKEW))
    }
    target = request.options.target_state
    return [
        already_evacuated_row(
            changed[uuid], mig, target, request.wait is not None
        )
        for uuid, mig in done.items()
        if uuid in changed
    ]


def _target(request: Request) -> str:
    return request.options.host or SCHEDULER


def _service_changes(
    api: ComputeAPI, service: ComputeService, request: Request
) -> list[rules.ServiceRequest]:
    """What --force-down (and --disable-reason) change on the service."""
    if not request.force_down:
        return []
    version = rules.service_version(api.version_range())
    forced = None if service.forced_down else True
    changes = rules.service_requests(
        version,
        service.id,
        service.host,
        forced_down=forced,
        disabled_reason=request.disabled_reason,
    )
    LOG.debug(
        "--force-down: nova-compute on %s is %s; %d changes at %s",
        service.host,
        "forced down already" if service.forced_down else service.state,
        len(changes),
        version,
    )
    return changes
