"""What Nova's evacuation records say of each server: its latest record,
whether it was evacuated this outage, and which evacuation took it where
it is now.

Pure: records (and servers) in, answers out. The plan, the reruns and the
host's return (lifecycle.py) all read the records the same way through
these.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from osc_evacuate.core.models import MIGRATION_DONE, Migration, Server

LOG = logging.getLogger(__name__)


def latest_by_instance(
    migrations: Iterable[Migration],
) -> dict[str, Migration]:
    """Each server's newest record (the highest id)."""
    latest: dict[str, Migration] = {}
    for mig in migrations:
        old = latest.get(mig.instance_uuid)
        if old is None or mig.id > old.id:
            latest[mig.instance_uuid] = mig
    return latest


def ids_by_instance(migrations: Iterable[Migration]) -> dict[str, set[int]]:
    """Every record id of each server."""
    ids: dict[str, set[int]] = {}
    for record in migrations:
        ids.setdefault(record.instance_uuid, set()).add(record.id)
    return ids


def evacuated_this_outage(
    migrations: Iterable[Migration], on_host: set[str]
) -> dict[str, Migration]:
    """Servers already evacuated off the host during this outage.

    A record stays "done" until the host's nova-compute starts again and
    cleans up, which turns it "completed": so "done" means this outage,
    whatever the operator did to the service row since (disable, reason,
    forced-down), and "completed" an earlier one.
    """
    found = {}
    for uuid, mig in latest_by_instance(migrations).items():
        if uuid not in on_host and mig.status == MIGRATION_DONE:
            LOG.debug(
                "plan %s: evacuated this outage (migration %s)", uuid, mig.id
            )
            found[uuid] = mig
    return found


def evacuated_off(
    server: Server, migrations: Iterable[Migration]
) -> Migration | None:
    """The evacuation that took the server to where it is now, if any:
    its newest evacuation record succeeded and it left that source."""
    latest = latest_by_instance(migrations).get(server.id)
    if latest is None or not latest.succeeded:
        return None
    if server.host == latest.source_compute:
        return None
    return latest
