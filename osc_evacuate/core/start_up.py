"""What a failed host's nova-compute does, when it starts, for each of
its evacuation records (nova 34, nova/compute/manager.py: init_host calls
_destroy_evacuated_instances; see lifecycle.py): the guest it destroys,
the record it marks completed. Pure.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Collection, Mapping, Sequence

from osc_evacuate.core.models import MIGRATION_DONE, Migration

UNDER_WAY = frozenset({"accepted", "pre-migrating"})
# The records nova-compute's start-up reads (and turns completed).
READ_AT_START_UP = UNDER_WAY | {MIGRATION_DONE}


@dataclasses.dataclass(frozen=True)
class AtStartUp:
    """What the host's nova-compute does, when it starts, for one record."""

    record: Migration
    effect: str
    only_copy: bool  # it destroys the server's only copy

    name: str = ""  # its server's, where it was read

    def __str__(self) -> str:
        record = self.record
        server = record.instance_uuid
        if self.name:
            server = f"{self.name} ({server})"
        return f"{server} {record.status}: {self.effect}"


def start_up_effect(status: str, on_host: bool, read: int) -> tuple[str, bool]:
    """What nova-compute's start-up does for one record, from its status,
    whether its server is still on the host, and read: how many of that
    server's records the start-up reads. And whether it destroys the
    server's only copy. Pure."""
    if status == "completed":
        return "nothing: an earlier start-up cleaned up after it", False
    if status not in READ_AT_START_UP:
        return "nothing: Nova does not read it", False
    if not on_host:
        guest = (
            "destroys the guest left behind, if any (the server is no "
            "longer on this host)"
        )
    elif status in UNDER_WAY:
        guest = (
            "destroys the local guest, the server's only copy (its "
            "rebuild elsewhere has not finished)"
        )
    else:
        guest = (
            "destroys the local guest, though Nova still places the "
            "server on this host"
        )
    marks = "marks the record completed"
    if read > 1:
        marks = (
            f"marks one of the server's {read} accepted, pre-migrating or "
            "done records completed (one at each start-up)"
        )
    return f"{guest}, and {marks}", on_host


def at_start_up(
    migrations: Sequence[Migration],
    on_host: Collection[str],
    names: Mapping[str, str] | None = None,
) -> list[AtStartUp]:
    """Every record's effect at start-up, those that destroy an only copy
    first, then by server name (names: by server id, where read). Pure."""
    names = names or {}
    read = collections.Counter(
        m.instance_uuid for m in migrations if m.status in READ_AT_START_UP
    )
    found = []
    for record in migrations:
        uuid = record.instance_uuid
        effect, only_copy = start_up_effect(
            record.status, uuid in on_host, read[uuid]
        )
        found.append(AtStartUp(record, effect, only_copy, names.get(uuid, "")))
    return sorted(
        found,
        key=lambda e: (
            not e.only_copy,
            e.name,
            e.record.instance_uuid,
            e.record.id,
        ),
    )
