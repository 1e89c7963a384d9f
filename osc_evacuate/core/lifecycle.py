"""After the evacuation: when can the failed host come back, safely?

What the host's nova-compute does when it starts (nova 34,
nova/compute/manager.py: ComputeManager.init_host calls
_destroy_evacuated_instances, when its driver's capabilities say
supports_evacuate: libvirt's and the fake one do, Ironic's and VMware's
do not):

- it reads the host's evacuation records in ``accepted``,
  ``pre-migrating`` or ``done`` (deleted servers' too); no others;
- it destroys the guest that its hypervisor still has of each of their
  servers, with its disks unless they are on storage shared with the
  record's destination. It never asks where Nova places the server: one
  still on the host, whose rebuild elsewhere has not finished, loses its
  only copy (Nova moves a server's host only once the rebuild succeeded,
  just before the record turns ``done``: resource_tracker.py,
  finish_evacuation). Then it removes the server's allocation on the
  host's node and marks the record ``completed``: one record per server
  at each start-up (it keys them by server), and none of a server
  deleted meanwhile or of a node it does not know;
- it leaves those servers out of its start-up of the others
  (_init_instance). Records ``failed``, ``error``, ``completed`` it does
  not read: a server of theirs still on the host starts up as any other
  (an ERROR one is left as it is), and the records stay.

Nova refuses (400) to clear forced-down while a record from the host is
``done`` (api/openstack/compute/services.py, _check_for_evacuations).
So a host is, in turn:

- ``evacuation under way``: a server still on the host has an evacuation
  ``accepted`` or ``pre-migrating`` (or ``done``, in the moment before
  Nova moves its host): its nova-compute must not start, and finish
  refuses, --force or not;
- ``evacuation incomplete``: servers that could be evacuated are still on
  it (never sent, or their evacuation failed): run host evacuate again,
  or accept it (finish --force);
- ``waiting for nova-compute to restart``: every evacuation is done, and
  the records wait for the host's nova-compute to start;
- ``ready to return``: nothing is left but to clear forced-down and
  enable the service (finish);
- ``in service``: up, not forced down, enabled: nothing to do.

An ``accepted`` record of a server no longer on the host (a request the
conductor never took up: it rebuilds a server's first ``accepted``
record, so a later request may leave its own behind) is no evacuation
under way: the start-up only clears the guest left there.

judge() and start_up.py decide, from what was read; host_state() reads
(four requests: the records' servers for their names), finish() carries
out what the verdict allows.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import logging
from collections.abc import Mapping, Sequence

from osc_evacuate.core import rules
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import CLOCK_SKEW, nova_time, parse_nova_time
from osc_evacuate.core.computes import find_compute_service, read_services
from osc_evacuate.core.errors import NotYet, Refused
from osc_evacuate.core.models import (
    EVACUATION,
    MIGRATION_DONE,
    ComputeService,
    Migration,
    Server,
    ServiceRequest,
)
from osc_evacuate.core.start_up import (
    READ_AT_START_UP,
    AtStartUp,
    at_start_up,
)

LOG = logging.getLogger(__name__)


class Standing(enum.Enum):
    UNDER_WAY = "evacuation under way"
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
    # Records of those, accepted, pre-migrating, or done while Nova still
    # places the server here.
    under_way: list[Migration]
    done: list[Migration]  # records Nova waits to see completed
    start_up: list[AtStartUp]  # every record: what the start-up does
    verdict: Standing

    @property
    def next_step(self) -> str:
        host = self.service.host
        if self.verdict is Standing.UNDER_WAY:
            return (
                "wait for the evacuations under way (openstack host "
                f"evacuate {host} --wait waits for them without sending "
                f"them again); do not start nova-compute on {host} before "
                "they are done: its start-up would destroy those servers' "
                "guests there, their only copy"
            )
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
        if self.under_way:
            parts.append(
                f"{_count(self.under_way, 'evacuation')} from "
                f"{self.service.host} {_are(self.under_way)} still under "
                f"way ({self.under_way_names})"
            )
        if self.left:
            parts.append(
                f"{_count(self.left, 'server')} that could be evacuated "
                f"{_are(self.left)} still on {self.service.host} "
                f"({_names(self.left)})"
            )
        if self.done:
            parts.append(
                f"{_count(self.done, 'evacuation record')} "
                f"{_are(self.done)} still done: nova-compute on "
                f"{self.service.host} has not started since"
            )
        return "; ".join(parts)

    @property
    def under_way_names(self) -> str:
        """Each server under way, its name, ID and record's status."""
        names = {s.id: s.name for s in self.servers}
        shown = [
            f"{names.get(m.instance_uuid) or '?'} ({m.instance_uuid}) "
            f"{m.status}"
            for m in self.under_way[:MOST]
        ]
        more = len(self.under_way) - MOST
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


MOST = 5  # servers named in a line


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _are(items: Sequence[object]) -> str:
    return "is" if len(items) == 1 else "are"


def _names(servers: list[Server]) -> str:
    shown = ", ".join(s.name or s.id for s in servers[:MOST])
    more = len(servers) - MOST
    return shown + (f" and {more} more" if more > 0 else "")


def _standing(
    service: ComputeService, under_way: bool, left: bool, done: bool
) -> Standing:
    """The first that holds, in this order."""
    in_service = (
        service.is_up
        and service.status == "enabled"
        and not service.forced_down
    )
    if under_way:
        return Standing.UNDER_WAY
    if left:
        return Standing.INCOMPLETE
    if done:
        return Standing.WAITING
    return Standing.IN_SERVICE if in_service else Standing.READY


def judge(
    service: ComputeService,
    migrations: list[Migration],
    on_host: list[Server],
    names: Mapping[str, str] | None = None,
) -> HostState:
    """The host's verdict from its service, its evacuation records and the
    servers still on it (names: every server's name, by id, where read).
    Pure."""
    here = {s.id for s in on_host}
    # Any record, not only a server's latest: the start-up reads them all.
    # A done record whose server Nova still places here is under way too:
    # Nova moves the server's host a moment after, and a start-up before
    # that would destroy the only copy.
    under_way = sorted(
        (
            m
            for m in migrations
            if m.status in READ_AT_START_UP and m.instance_uuid in here
        ),
        key=lambda m: (m.instance_uuid, m.id),
    )
    done = [m for m in migrations if m.status == MIGRATION_DONE]
    pending = {m.instance_uuid for m in under_way}
    left = [s for s in on_host if s.evacuable and s.id not in pending]
    verdict = _standing(service, bool(under_way), bool(left), bool(done))
    records = collections.Counter(m.status for m in migrations)
    start_up = at_start_up(migrations, here, names)
    LOG.debug(
        "%s: %s; records %s; %d servers on it, %d could be evacuated; "
        "%d records under way; %d guests whose only copy its start-up "
        "would destroy",
        service.host,
        verdict.value,
        dict(records),
        len(on_host),
        len(left),
        len(under_way),
        sum(e.only_copy for e in start_up),
    )
    return HostState(
        service=service,
        records=dict(sorted(records.items())),
        servers=on_host,
        left=left,
        under_way=under_way,
        done=done,
        start_up=start_up,
        verdict=verdict,
    )


def host_state(api: ComputeAPI, host: str) -> HostState:
    service = find_compute_service(read_services(api, None), host)
    migrations = api.migrations(EVACUATION, source_host=host)
    on_host = api.servers_on_host(host)
    return judge(service, migrations, on_host, _server_names(api, migrations))


def _server_names(
    api: ComputeAPI, migrations: list[Migration]
) -> dict[str, str]:
    """The names of the records' servers: one read of the servers changed
    since the oldest record (a server's updated_at follows its records)."""
    stamps = [
        parse_nova_time(m.created_at) for m in migrations if m.created_at
    ]
    if not stamps:
        return {}
    since = nova_time(min(stamps) - CLOCK_SKEW)
    return {s.id: s.name for s in api.servers_changed_since(since)}


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
    An evacuation under way, or done records, stop it, force or not
    (NotYet): Nova would destroy the only copy, or refuses."""
    state = host_state(api, host)
    _refuse_while_not_yet(state)
    service = state.service
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


def _refuse_while_not_yet(state: HostState) -> None:
    """NotYet while an evacuation is under way or records are done."""
    host = state.service.host
    if state.under_way:
        LOG.debug("%s: refused, evacuations under way", host)
        raise NotYet(
            f"{host} must not return yet: {state.missing}. When "
            f"nova-compute on {host} starts, it destroys the guests there "
            "of the servers under way and marks their records completed: "
            "if a rebuild then fails, that server's only copy is gone. "
            "Wait until they are done (openstack host evacuation show "
            f"{host}), and start nova-compute only then; --force does not "
            "override this"
        )
    if state.done:
        LOG.debug("%s: refused, records still done", host)
        raise NotYet(
            f"{host} cannot return yet: {state.missing}. Start it (its "
            f"start-up turns them completed), then run this again; Nova "
            "refuses to clear forced-down until then, --force or not"
        )


def _forced(state: HostState) -> str:
    """What Nova does with what --force leaves behind."""
    left = state.left
    return (
        f"{_count(left, 'server')} never evacuated ({_names(left)}) "
        f"{_are(left)} left on {state.service.host}, to run there again"
    )
