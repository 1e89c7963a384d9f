"""The two jobs: evacuate a failed host, or one server."""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core.api import ComputeAPI
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
    Server,
    TargetState,
)
from osc_evacuate.core.outcome import ServerOutcome, mark_interrupted
from osc_evacuate.core.plan import (
    already_evacuated_row,
    evacuated_off,
    evacuated_this_outage,
    plan_servers,
    refusal,
)
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

ProgressCallback = Callable[[Sequence[ServerOutcome]], None]


@dataclasses.dataclass(frozen=True)
class Request:
    options: EvacuateOptions
    pinned: Microversion | None = None
    wait: WaitPolicy | None = None  # None: submit and return
    max_parallel: int = DEFAULT_MAX_PARALLEL


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
    clock = clock or SystemClock()
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
    _refuse_if_up(service)
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
    return _run_until_interrupted(
        api, host, rows, version, request, clock, on_progress
    )


def evacuate_server(
    api: ComputeAPI,
    name_or_id: str,
    request: Request,
    clock: Clock | None = None,
    on_progress: ProgressCallback = lambda rows: None,
) -> Report:
    clock = clock or SystemClock()
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
            return Report(landed.source_compute, version, [row])
    why = refusal(server)
    if why is not None:
        raise Refused(
            f"server {server.name} ({server.id}) is {server.status}: {why}"
        )
    _check_target(api, request.options, server.host)
    mine = [m for m in migrations if m.source_compute == server.host]
    rows = plan_servers([server], mine, target)
    return _run_until_interrupted(
        api, server.host, rows, version, request, clock, on_progress
    )


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


def _refuse_if_up(service: ComputeService) -> None:
    if service.state not in ("up", "down"):
        # A cell Nova cannot reach: nobody knows whether the host runs.
        raise Refused(
            f"nova-compute on {service.host} is in a cell Nova cannot reach "
            f"(state {service.state}), so Nova cannot tell whether the host "
            "is down; evacuate once its cell is back"
        )
    if service.is_up:
        raise Refused(
            f"nova-compute on {service.host} is up, and Nova refuses to "
            "evacuate from a running host. If the host has failed, fence it "
            "(power it off), then run: openstack compute service set --down "
            f"{service.host} nova-compute"
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
