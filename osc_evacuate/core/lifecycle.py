"""After the evacuation: when can the failed host come back?

Nova keeps an evacuation record ``done`` until the source host's
nova-compute starts again: its start-up destroys the guests left there
and turns the records ``completed`` (also ``accepted`` and
``pre-migrating`` ones: it takes an unfinished evacuation as done). Until
then Nova refuses to clear the service's forced-down (400), and nothing
tells the operator so. So a host is, in turn:

- ``evacuation incomplete``: servers that could be evacuated are still on
  it (never sent, or their evacuation failed), or an evacuation is still
  unfinished: run host evacuate again, or accept it (finish --force);
- ``waiting for nova-compute to restart``: every evacuation is done, and
  the records wait for the host's nova-compute to start;
- ``ready to return``: nothing is left but to clear forced-down and
  enable the service (finish);
- ``in service``: up, not forced down, enabled: nothing to do.

judge() decides, from what was read; host_state() reads (three
requests), finish() carries out what the verdict allows.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import logging
from collections.abc import Sequence

from osc_evacuate.core import rules
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.computes import find_compute_service, read_services
from osc_evacuate.core.errors import Refused
from osc_evacuate.core.history import latest_by_instance
from osc_evacuate.core.models import (
    MIGRATION_DONE,
    ComputeService,
    Migration,
    Server,
    ServiceRequest,
)

LOG = logging.getLogger(__name__)

UNFINISHED = frozenset({"accepted", "pre-migrating"})


class Standing(enum.Enum):
    INCOMPLETE = "evacuation incomplete"
    WAITING = "waiting for nova-compute to restart"
    READY = "ready to return"
    IN_SERVICE = "in service"


@dataclasses.dataclass(frozen=True)
class HostState:
    service: ComputeService
    records: dict[str, int]  # every evacuation record from it, by status
    servers: list[Server]  # still on it
    left: list[Server]  # of those, the ones that could be evacuated
    unfinished: list[Migration]  # servers' latest records, still under way
    done: list[Migration]  # records Nova waits to see completed
    verdict: Standing

    @property
    def next_step(self) -> str:
        host = self.service.host
        if self.verdict is Standing.INCOMPLETE:
            return (
                f"run: openstack host evacuate {host} --wait; or, to keep "
                f"them as they are: openstack host evacuation finish {host} "
                "--force"
            )
        if self.verdict is Standing.WAITING:
            return (
                f"start nova-compute on {host} (forced down, the scheduler "
                f"keeps off it): its start-up turns the {len(self.done)} "
                "done records completed; then: openstack host evacuation "
                f"finish {host}"
            )
        if self.verdict is Standing.READY:
            return f"run: openstack host evacuation finish {host}"
        return "nothing"

    @property
    def missing(self) -> str:
        """What stops the host's return, in words."""
        parts = []
        if self.left:
            parts.append(
                f"{_count(self.left, 'server')} that could be evacuated "
                f"{_are(self.left)} still on {self.service.host} "
                f"({_names(self.left)})"
            )
        if self.unfinished:
            servers = ", ".join(m.instance_uuid for m in self.unfinished)
            parts.append(
                f"{_count(self.unfinished, 'evacuation')} "
                f"{_are(self.unfinished)} unfinished ({servers})"
            )
        if self.done:
            parts.append(
                f"{_count(self.done, 'evacuation record')} "
                f"{_are(self.done)} still done: nova-compute on "
                f"{self.service.host} has not started since"
            )
        return "; ".join(parts)


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _are(items: Sequence[object]) -> str:
    return "is" if len(items) == 1 else "are"


def _names(servers: list[Server], most: int = 5) -> str:
    shown = ", ".join(s.name or s.id for s in servers[:most])
    more = len(servers) - most
    return shown + (f" and {more} more" if more > 0 else "")


def judge(
    service: ComputeService,
    migrations: list[Migration],
    on_host: list[Server],
) -> HostState:
    """The host's verdict from its service, its evacuation records and the
    servers still on it. Pure."""
    latest = latest_by_instance(migrations)
    unfinished = [m for m in latest.values() if m.status in UNFINISHED]
    done = [m for m in migrations if m.status == MIGRATION_DONE]
    # A server on the host whose evacuation is unfinished counts there.
    pending = {m.instance_uuid for m in unfinished}
    left = [s for s in on_host if s.evacuable and s.id not in pending]
    in_service = (
        service.is_up
        and service.status == "enabled"
        and not service.forced_down
    )
    if left or unfinished:
        verdict = Standing.INCOMPLETE
    elif done:
        verdict = Standing.WAITING
    elif in_service:
        verdict = Standing.IN_SERVICE
    else:
        verdict = Standing.READY
    records = collections.Counter(m.status for m in migrations)
    LOG.debug(
        "%s: %s; records %s; %d servers on it, %d could be evacuated; "
        "%d unfinished",
        service.host,
        verdict.value,
        dict(records),
        len(on_host),
        len(left),
        len(unfinished),
    )
    return HostState(
        service=service,
        records=dict(sorted(records.items())),
        servers=on_host,
        left=left,
        unfinished=unfinished,
        done=done,
        verdict=verdict,
    )


def host_state(api: ComputeAPI, host: str) -> HostState:
    service = find_compute_service(read_services(api, None), host)
    return judge(
        service,
        api.evacuation_migrations(source_host=host),
        api.servers_on_host(host),
    )


@dataclasses.dataclass(frozen=True)
class Finished:
    before: HostState
    after: ComputeService
    changes: list[ServiceRequest]
    warning: str | None  # what --force leaves behind, when it does


def finish(
    api: ComputeAPI, host: str, keep_disabled: bool, force: bool
) -> Finished:
    """Clear forced-down and enable the service, once the verdict allows
    (READY; INCOMPLETE with force): else Refused, saying what is missing.
    Done records stop it, force or not: Nova refuses then."""
    state = host_state(api, host)
    service = state.service
    if state.done:
        raise Refused(
            f"{host} cannot return yet: {state.missing}. Start it (its "
            f"start-up turns them completed), then run this again; Nova "
            "refuses to clear forced-down until then, --force or not"
        )
    warning = None
    if state.verdict is Standing.INCOMPLETE:
        if not force:
            raise Refused(
                f"{host} cannot return yet: {state.missing}. Evacuate them "
                f"(openstack host evacuate {host} --wait), or pass --force "
                "to return the host with them as they are"
            )
        warning = _forced(state)
    version = rules.service_version(api.version_range())
    enable = not keep_disabled and service.status != "enabled"
    changes = rules.service_requests(
        version,
        service.id,
        host,
        forced_down=False if service.forced_down else None,
        enable=enable,
    )
    for change in changes:
        LOG.debug(
            "%s: %s %s %s", host, change.method, change.path, change.body
        )
        api.update_service(version, change)
    after = find_compute_service(read_services(api, None), host)
    return Finished(state, after, changes, warning)


def _forced(state: HostState) -> str:
    """What Nova does with what --force leaves behind."""
    host = state.service.host
    parts = []
    if state.unfinished:
        parts.append(
            f"when nova-compute on {host} starts, Nova destroys the guests "
            f"there of the {len(state.unfinished)} servers whose evacuation "
            "is unfinished and marks their records completed, though their "
            "rebuild elsewhere never finished"
        )
    if state.left:
        parts.append(
            f"the {len(state.left)} servers never evacuated stay on {host} "
            "and run there again"
        )
    return "; ".join(parts)
