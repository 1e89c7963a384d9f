"""The first reads of a plan for whole hosts (host evacuate, host drain),
sent at once: the compute services, the hypervisors, each host's servers
and migration records, and the capacity check's reads that depend on no
server (Placement's room, the server groups: plan_reads.py). None waits
for another.

Each plan judges the answers in its own order (preflight.py, drain_plan.py):
a host refused (up or down, in a cell Nova cannot reach, bare metal) is
refused before the servers' answer is looked at, so that a failed list
never hides why.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from osc_evacuate.core import plan_reads
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import Clock
from osc_evacuate.core.computes import read_services
from osc_evacuate.core.defaults import READS_AT_ONCE
from osc_evacuate.core.models import (
    EVACUATION,
    ComputeService,
    Hypervisor,
    Migration,
    RetryPolicy,
    Server,
)
from osc_evacuate.core.retry import retrying

LOG = logging.getLogger(__name__)


def read_hypervisors(api: ComputeAPI, clock: Clock) -> list[Hypervisor]:
    """Every compute node, read once per run: for the ironic check and
    the capacity check. Transient errors are tried again; the run stops
    on any other: bare-metal servers must never be sent by mistake."""
    return retrying(api.hypervisors, clock, RetryPolicy())


@dataclasses.dataclass(frozen=True)
class HostReads:
    """The reads under way; each answer is waited for when asked."""

    _services: Future[list[ComputeService]]
    _hypervisors: Future[list[Hypervisor]]
    _servers: dict[str, Future[list[Server]]]
    _records: dict[tuple[str, str], Future[list[Migration]]]
    room: plan_reads.RoomReads

    def services(self) -> list[ComputeService]:
        """Every compute service."""
        return self._services.result()

    def hypervisors(self) -> list[Hypervisor]:
        return self._hypervisors.result()

    def servers(self) -> dict[str, list[Server]]:
        """Each host's servers, by host."""
        return {host: read.result() for host, read in self._servers.items()}

    def records(self) -> dict[str, list[Migration]]:
        """Each host's migration records of the kinds asked, by host."""
        out: dict[str, list[Migration]] = {h: [] for h in self._servers}
        for (host, _kind), read in self._records.items():
            out[host] += read.result()
        return out


@contextlib.contextmanager
def reading(
    api: ComputeAPI,
    sources: Sequence[str],
    record_types: Sequence[str],
    clock: Clock,
) -> Iterator[HostReads]:
    """Send every read at once; the reads under way, each answer waited
    for when asked (and every one ended when the block ends)."""
    LOG.debug(
        "reading the services, the hypervisors, the servers and %s "
        "records of %s, Placement's room and the server groups at once",
        " and ".join(record_types),
        ", ".join(sources),
    )
    reads = 4 + (1 + len(record_types)) * len(sources)
    threads = min(reads, READS_AT_ONCE)
    with ThreadPoolExecutor(threads) as pool:
        yield HostReads(
            pool.submit(read_services, api, None),
            pool.submit(read_hypervisors, api, clock),
            {h: pool.submit(api.servers_on_host, h) for h in sources},
            {
                (h, kind): pool.submit(api.migrations, kind, source_host=h)
                for h in sources
                for kind in record_types
            },
            plan_reads.start_room(api, pool),
        )


@dataclasses.dataclass(frozen=True)
class ServerReads:
    """One server's first reads under way (server evacuate): its
    evacuation records, every compute service, the hypervisors, and the
    room."""

    _records: Future[list[Migration]]
    _services: Future[list[ComputeService]]
    _hypervisors: Future[list[Hypervisor]]
    room: plan_reads.RoomReads

    def records(self) -> list[Migration]:
        return self._records.result()

    def services(self) -> list[ComputeService]:
        """Every compute service."""
        return self._services.result()

    def hypervisors(self) -> list[Hypervisor]:
        return self._hypervisors.result()


@contextlib.contextmanager
def reading_server(
    api: ComputeAPI, server: Server, clock: Clock
) -> Iterator[ServerReads]:
    """Send the server's first reads at once; each answer waited for when
    asked (and every one ended when the block ends)."""
    LOG.debug(
        "reading %s's evacuation records, the services, the hypervisors "
        "and the room at once",
        server.id,
    )
    with ThreadPoolExecutor(5) as pool:
        yield ServerReads(
            pool.submit(api.migrations, EVACUATION, instance_uuid=server.id),
            pool.submit(read_services, api, None),
            pool.submit(read_hypervisors, api, clock),
            plan_reads.start_room(api, pool),
        )
