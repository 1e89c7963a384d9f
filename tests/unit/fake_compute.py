"""An in-memory ComputeAPI whose evacuations advance one step per poll.

It keeps Nova's own clock: every change is stamped with it (a server's
`updated`, a record's `created_at` and `updated_at`), changes-since returns
only what changed at or after the time asked, and nova_now() tells it as
the Date of Nova's answers would. That clock runs at NOVA_EPOCH plus the
fake monotonic clock it is given, so tests can set it apart from the
client's.

FakeCompute is put together from one part per area, each in its module:
fake_servers (the servers' reads, polls and actions), fake_cloud (hosts
and catalog), fake_evacuations, fake_moves (live and cold migrations);
fake_nova holds the state and the clock they share.
"""

from __future__ import annotations

import collections
import datetime

from osc_evacuate.core.models import ComputeService, Migration, Server
from tests.unit.fake_cloud import FakeCatalog, FakeHosts
from tests.unit.fake_evacuations import FakeEvacuations
from tests.unit.fake_moves import FakeMoves
from tests.unit.fake_nova import NOVA_EPOCH, FakeClock, stamp
from tests.unit.fake_servers import FakeServerActions, FakeServerReads

__all__ = ["NOVA_EPOCH", "FakeClock", "FakeCompute", "server", "stamp"]


def server(
    sid: str,
    vm_state: str = "active",
    host: str = "c1",
    project: str = "p1",
) -> Server:
    status = {"active": "ACTIVE", "stopped": "SHUTOFF", "error": "ERROR"}
    return Server(
        id=sid,
        name=f"vm-{sid}",
        project_id=project,
        status=status.get(vm_state, vm_state.upper()),
        vm_state=vm_state,
        task_state=None,
        host=host,
    )


class FakeCompute(
    FakeServerReads,
    FakeServerActions,
    FakeHosts,
    FakeCatalog,
    FakeEvacuations,
    FakeMoves,
):
    """A behavioural fake of the ComputeAPI protocol: the servers given,
    c1 down and forced down (unless up), c2 to c7 up."""

    def __init__(
        self,
        *servers: Server,
        up: bool = False,
        clock: FakeClock | None = None,
        epoch: datetime.datetime = NOVA_EPOCH,
    ) -> None:
        """clock: Nova's time runs with it from epoch (else stands)."""
        super().__init__()
        self.clock = clock
        self.epoch = epoch
        self.dated = True  # answers carry a Date (nova_now knows)
        self.servers = {s.id: s for s in servers}
        self.services = [
            ComputeService(
                "s1",
                "c1",
                "up" if up else "down",
                "enabled",
                not up,
                updated_at="2026-01-01T00:00:00",
            ),
            ComputeService("s2", "c2", "up", "enabled", False),
            # Enough healthy computes that a host or two down is no mass
            # failure to the guard.
            *(
                ComputeService(f"s{n}", f"c{n}", "up", "enabled", False)
                for n in range(3, 8)
            ),
        ]
        self.records: list[Migration] = []
        self.calls: collections.Counter[str] = collections.Counter()
        self.destination = "c2"  # where the scheduler sends them
        # Seconds the computes' clocks (a server's `updated`) run behind
        # the API's (its Date): changes-since then misses fresh changes.
        self.compute_lag = 0.0
