"""The two jobs: evacuate a failed host, or one server.

Each is a plan, then its carrying out. The plan (plan_host, plan_server)
reads and sends nothing that changes anything: the servers and what to do
with each, what each puts at risk, whether they fit where they can go, and
what is to be done to the host's compute service first (--force-down). A
dry run shows it; the commands confirm what needs confirming; carry_out
then refuses what does not fit, forces the service down, submits and
waits.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core import capacity, risk, rules
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.capacity import Fit
from osc_evacuate.core.clock import (
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
from osc_evacuate.core.microversion import Microversion, mv
from osc_evacuate.core.models import (
    ComputeService,
    EvacuateOptions,
    Flavor,
    Hypervisor,
    Image,
    Server,
    TargetState,
)
from osc_evacuate.core.outcome import (
    Action,
    Result,
    ServerOutcome,
    mark_interrupted,
)
from osc_evacuate.core.plan import (
    already_evacuated_row,
    evacuated_off,
    evacuated_this_outage,
    plan_servers,
    refusal,
)
from osc_evacuate.core.retry import RetryPolicy, retrying
from osc_evacuate.core.rules import choose_microversion, evacuate_body
from osc_evacuate.core.submit import (
    DEFAULT_MAX_PARALLEL,
    Submission,
    submit_all,
    submit_one,
)
from osc_evacuate.core.waiter import Poller, WaitPolicy, window_start

LOG = logging.getLogger(__name__)

# Clocks of Nova's hosts differ (the API's Date, a compute's `updated`):
# every window on Nova's timestamps reaches this far further back. Seconds,
# not servers: a poll returns only what changed in its window.
CLOCK_SKEW = datetime.timedelta(minutes=1)
STOPS_ITSELF = mv("2.95")
IRONIC = "ironic"

ProgressCallback = Callable[[Sequence[ServerOutcome]], None]


@dataclasses.dataclass(frozen=True)
class Request:
    options: EvacuateOptions
    pinned: Microversion | None = None
    wait: WaitPolicy | None = None  # None: submit and return
    max_parallel: int = DEFAULT_MAX_PARALLEL
    # Send them even when the capacity check finds no room for some.
    ignore_capacity: bool = False
    # The operator says the host is fenced: mark its nova-compute forced
    # down first (and disable it, with a reason).
    force_down: bool = False
    disabled_reason: str | None = None


@dataclasses.dataclass(frozen=True)
class CapacityCheck:
    """How the rows' fit was judged: from what, over how many hosts."""

    source: str | None  # "placement", "hypervisor statistics"; None: not
    hosts: int = 0
    why_not: str | None = None  # why it was not judged, when not


NOT_NEEDED = CapacityCheck(None, why_not="nothing to submit")
SCHEDULER = "scheduler"


@dataclasses.dataclass
class Plan:
    """What a run would do, before it does anything."""

    source_host: str | None
    microversion: Microversion
    rows: list[ServerOutcome]
    target: str  # the host asked for, or SCHEDULER
    capacity: CapacityCheck = NOT_NEEDED
    # Changes to the source's compute service, sent before any evacuation.
    service_changes: list[rules.ServiceRequest] = dataclasses.field(
        default_factory=list
    )
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


@dataclasses.dataclass
class Report:
    source_host: str | None
    microversion: Microversion
    rows: list[ServerOutcome]
    polls: int = 0
    interrupted: bool = False  # Ctrl-C: the rows say what is known


def evacuate_host(
    api: ComputeAPI,
    host: str,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    """Plan, then carry out (no confirmation asked: see the commands)."""
    return carry_out(
        api, plan_host(api, host, request, clock), request, clock, on_progress
    )


def plan_host(
    api: ComputeAPI, host: str, request: Request, clock: Clock | None = None
) -> Plan:
    """Every server of the host and what a run would do with it."""
    version = _choose(api, request, "--target-host")
    service = find_compute_service(api, host)
    LOG.debug(
        "nova-compute on %s: %s, %s, forced_down=%s, updated_at %s",
        host,
        service.state,
        service.status,
        service.forced_down,
        service.updated_at,
    )
    _refuse_if_up(service, request.force_down)
    hypervisors = _hypervisors(api, clock or SystemClock())
    _refuse_ironic(host, hypervisors)
    changes = _service_changes(api, service, request)
    _check_target(api, request.options, host)
    on_host = api.servers_on_host(host)
    migrations = api.evacuation_migrations(source_host=host)
    LOG.debug(
        "%d servers on %s, %d evacuation records from it",
        len(on_host),
        host,
        len(migrations),
    )
    target = request.options.target_state
    rows = plan_servers(on_host, migrations, target)
    done = evacuated_this_outage(migrations, {s.id for s in on_host})
    if done:
        # A server's updated_at follows its evacuation record's creation;
        # the margin covers clocks that differ between Nova's hosts.
        oldest = min(parse_nova_time(m.created_at) for m in done.values())
        changed = {
            s.id: s
            for s in api.servers_changed_since(nova_time(oldest - CLOCK_SKEW))
        }
        rows += [
            already_evacuated_row(
                changed[uuid], mig, target, request.wait is not None
            )
            for uuid, mig in done.items()
            if uuid in changed
        ]
    plan = Plan(host, version, rows, _target(request))
    if changes:
        plan.service_changes = changes
        plan.service_version = rules.service_version(api.version_range())
    _assess(api, plan, request, {host}, hypervisors)
    return plan


def carry_out(
    api: ComputeAPI,
    plan: Plan,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    """Refuse what does not fit, change the compute service, then submit
    and (with --wait) prove."""
    why = plan.refusal(request)
    if why is not None:
        raise Refused(why)
    for change in plan.service_changes:
        assert plan.service_version is not None  # set with the changes
        LOG.debug(
            "compute service of %s: %s %s %s",
            plan.source_host,
            change.method,
            change.path,
            change.body,
        )
        api.update_service(plan.service_version, change)
    return _run_until_interrupted(
        api,
        plan.source_host,
        plan.rows,
        plan.microversion,
        request,
        clock or SystemClock(),
        on_progress,
    )


def evacuate_server(
    api: ComputeAPI,
    name_or_id: str,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    """Plan, then carry out."""
    return carry_out(
        api,
        plan_server(api, name_or_id, request, clock),
        request,
        clock,
        on_progress,
    )


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
    services = _services(api, server.host) if server.host else []
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
            return Plan(
                landed.source_compute, version, [row], _target(request)
            )
    why = refusal(server)
    if why is not None:
        raise Refused(
            f"server {server.name} ({server.id}) is {server.status}: {why}"
        )
    hypervisors = _hypervisors(api, clock or SystemClock())
    if server.host:
        _refuse_ironic(server.host, hypervisors)
    _check_target(api, request.options, server.host)
    mine = [m for m in migrations if m.source_compute == server.host]
    rows = plan_servers([server], mine, target)
    plan = Plan(server.host, version, rows, _target(request))
    sources = {server.host} if server.host else set()
    _assess(api, plan, request, sources, hypervisors)
    (row,) = plan.rows
    if row.action is Action.SKIPPED:
        # What Nova would refuse for its flavor or image (a vTPM).
        raise Refused(
            f"server {server.name} ({server.id}) is {server.status}: "
            f"{row.error}"
        )
    return plan


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
    reason = request.disabled_reason
    changes = rules.service_requests(
        version,
        service.id,
        service.host,
        forced_down=forced,
        disabled_reason=reason,
    )
    LOG.debug(
        "--force-down: nova-compute on %s is %s; %d changes at %s",
        service.host,
        "forced down already" if service.forced_down else service.state,
        len(changes),
        version,
    )
    return changes


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


def _assess(
    api: ComputeAPI,
    plan: Plan,
    request: Request,
    sources: set[str],
    hypervisors: list[Hypervisor],
) -> None:
    """Each row's risk, what Nova would refuse for its flavor or image
    (skipped), and whether the rows to submit fit where they can go.

    Flavors and images are read grouped by id, never per server."""
    rows = [r for r in plan.rows if r.action is not Action.NONE]
    flavors = _flavors(api, [r.before for r in rows])
    images = _images(api, [r.before for r in rows])
    for row in rows:
        server = row.before
        flavor = server.flavor or flavors.get(server.flavor_id or "")
        image = images.get(server.image_id or "")
        refused = row.error if row.action is Action.SKIPPED else None
        if refused is None and row.action is Action.SUBMITTED:
            refused = risk.nova_refuses(flavor, image)
            if refused is not None:
                LOG.debug("plan %s: skipped, %s", server.id, refused)
                row.action, row.result = Action.SKIPPED, Result.SKIPPED
                row.expected_status, row.error = None, refused
        row.risk = risk.risk(
            server, flavor, refused, request.options.shared_storage
        )
    plan.capacity = _capacity(
        api, plan, request, sources, flavors, hypervisors
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
    plan: Plan,
    request: Request,
    sources: set[str],
    flavors: dict[str, Flavor],
    hypervisors: list[Hypervisor],
) -> CapacityCheck:
    """Each row to submit's fit (see capacity.py); a constant number of
    requests: the services, the hypervisors, two of Placement."""
    todo = [r for r in plan.rows if r.action is Action.SUBMITTED]
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
        hosts = _candidates(api, request.options, sources)
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
    api: ComputeAPI, options: EvacuateOptions, sources: set[str]
) -> list[str]:
    """The hosts that can take the servers: the target, or every compute
    that is up and enabled, but the hosts being evacuated."""
    if options.host:
        return [options.host]
    return sorted(
        s.host
        for s in api.compute_services()
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


def find_compute_service(api: ComputeAPI, host: str) -> ComputeService:
    """The nova-compute service of exactly this host (never a substring)."""
    exact = [s for s in _services(api, host) if s.host == host]
    if exact:
        return exact[0]
    hosts = sorted({s.host for s in api.compute_services()})
    close = difflib.get_close_matches(host, hosts, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise NotFound(f"No nova-compute service on host '{host}'.{hint}")


def _services(api: ComputeAPI, host: str | None) -> list[ComputeService]:
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
    return version


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


def _check_target(
    api: ComputeAPI, options: EvacuateOptions, source: str | None
) -> None:
    target = options.host
    if target is None:
        return
    if target == source:
        raise UsageError(
            f"the target host {target} is the host being evacuated"
        )
    service = find_compute_service(api, target)
    # --force skips the scheduler, so a disabled spare host is fair game.
    disabled = service.status != "enabled" and not options.force
    if not service.is_up or disabled:
        raise UsageError(
            f"the target host {target} cannot take servers: its "
            f"nova-compute is {service.state} and {service.status}"
        )


def _run_until_interrupted(
    api: ComputeAPI,
    source_host: str | None,
    rows: list[ServerOutcome],
    version: Microversion,
    request: Request,
    clock: Clock,
    on_progress: ProgressCallback,
) -> Report:
    """_run, or on Ctrl-C the report of what is known so far."""
    try:
        return _run(
            api, source_host, rows, version, request, clock, on_progress
        )
    except KeyboardInterrupt:
        LOG.debug("interrupted: reporting what is known")
        for row in rows:
            mark_interrupted(row)
        return Report(source_host, version, rows, interrupted=True)


def _run(
    api: ComputeAPI,
    source_host: str | None,
    rows: list[ServerOutcome],
    version: Microversion,
    request: Request,
    clock: Clock,
    on_progress: ProgressCallback,
) -> Report:
    # Nova's time before the first request of this run goes out: the polls
    # see every change this run makes, and no record of an earlier run,
    # however old, widens their window.
    window = window_start(api, CLOCK_SKEW)
    submission = Submission(
        source_host, version, evacuate_body(version, request.options)
    )
    submit_all(
        api,
        rows,
        submission,
        clock,
        request.max_parallel,
        on_done=lambda row: on_progress(rows),
    )
    report = Report(source_host, version, rows)
    if request.wait is not None:
        poller = Poller(
            api,
            source_host,
            window,
            clock,
            request.wait,
            resubmit=lambda row: submit_one(api, row, submission, clock),
            on_progress=on_progress,
            overlap=CLOCK_SKEW,
        )
        poller.wait(rows)
        report.polls = poller.polls
    return report
