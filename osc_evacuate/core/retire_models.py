"""What host evacuation retire reads and reports, as typed values.

Nova's migration records that involve the host (any type, as source or
destination), Placement's resource providers and consumers, and the rows
of what is removed. Frozen: what was read is never changed, only read
again. Decided on by retire.py, read and carried out by retire_run.py.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping

from osc_evacuate.core.errors import Refused

# The statuses Nova does not count as in progress when it deletes a
# compute service (nova/db/main/api.py,
# migration_get_in_progress_by_host_and_node): any other answers 409, as
# it makes `nova-manage placement audit` keep the record's allocations.
NOT_IN_PROGRESS = frozenset(
    {
        "confirmed",
        "reverted",
        "error",
        "failed",
        "completed",
        "cancelled",
        "done",
    }
)

# The resource classes `nova-manage placement audit` calls Nova's
# (nova/cmd/manage.py, _check_orphaned_allocations_for_provider): an
# allocation with none of them is not Nova's to remove.
NOVA_RESOURCE_CLASSES = frozenset(
    {
        "VCPU",
        "MEMORY_MB",
        "DISK_GB",
        "VGPU",
        "NET_BW_EGR_KILOBIT_PER_SEC",
        "NET_BW_IGR_KILOBIT_PER_SEC",
        "PCPU",
        "MEM_ENCRYPTION_CONTEXT",
    }
)

# Resources by class, as Placement writes an allocation.
Resources = Mapping[str, int]


class ServersOnHost(Refused):
    """Servers are still on the host: Nova refuses (409) to delete a
    compute service that hosts any. The command gives it its own exit
    code (that of show's "evacuation incomplete")."""


@dataclasses.dataclass(frozen=True)
class HostMigration:
    """A migration record of any type that involves the host, as source
    or destination (GET /os-migrations?host=...)."""

    id: int
    uuid: str | None  # from 2.59; the consumer of a move's allocations
    migration_type: str
    status: str
    instance_uuid: str
    source_compute: str | None
    dest_compute: str | None

    @property
    def in_progress(self) -> bool:
        return self.status not in NOT_IN_PROGRESS


@dataclasses.dataclass(frozen=True)
class Provider:
    """A resource provider: a compute node's (its uuid is the node's, its
    name the node's hypervisor_hostname) or one below it in its tree."""

    uuid: str
    name: str
    root_uuid: str
    parent_uuid: str | None = None


@dataclasses.dataclass(frozen=True)
class Consumer:
    """A consumer's allocations on every provider (GET /allocations/{id}
    at 1.28), with the generation a change must name."""

    uuid: str
    allocations: Mapping[str, Resources]
    generation: int | None
    project_id: str | None = None
    user_id: str | None = None


class Kind(enum.Enum):
    ALLOCATION = "allocation"
    SERVICE = "compute service"
    PROVIDER = "resource provider"
    RECORD = "evacuation record"


@dataclasses.dataclass(frozen=True)
class Removal:
    """One thing retire removes (or, for a record, leaves), and why."""

    kind: Kind
    id: str
    name: str
    why: str
    # Allocations: the retired providers the consumer has allocations on.
    providers: tuple[str, ...] = ()


class Outcome(enum.Enum):
    """What became of a Removal."""

    WOULD = "would"  # a dry run
    DONE = "done"
    BY_NOVA = "by Nova"  # a provider Nova deleted with the service
    ALREADY = "already gone"
    KEPT = "kept"  # an evacuation record: Nova's API cannot change it
    FAILED = "failed"
    NOT_DONE = "not done"  # an earlier step failed


@dataclasses.dataclass(frozen=True)
class Removed:
    removal: Removal
    outcome: Outcome
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.outcome in (Outcome.FAILED, Outcome.NOT_DONE)

    @property
    def result(self) -> str:
        """The row's Result, in words."""
        kind = self.removal.kind
        if self.outcome is Outcome.FAILED:
            return f"failed: {self.error}"
        if self.outcome is Outcome.WOULD:
            return _WOULD[kind]
        if self.outcome is Outcome.DONE:
            return _DONE[kind]
        if self.outcome is Outcome.BY_NOVA:
            return "removed by Nova"
        return self.outcome.value if kind is not Kind.RECORD else "left done"


_WOULD = {
    Kind.ALLOCATION: "would remove",
    Kind.SERVICE: "would delete",
    Kind.PROVIDER: "would be removed",
    Kind.RECORD: "would be left done",
}
_DONE = {
    Kind.ALLOCATION: "removed",
    Kind.SERVICE: "deleted",
    Kind.PROVIDER: "removed",
    Kind.RECORD: "left done",
}
