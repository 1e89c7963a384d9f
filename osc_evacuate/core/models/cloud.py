"""The cloud's objects as the core sees them: Nova's servers, services,
hypervisors, server groups and evacuation records, Glance's images,
Placement's room.

Parsed from Nova's JSON by parse.py; judged by everything else. Frozen:
what was read is never changed, only read again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

# Nova evacuates only servers in these vm_states.
EVACUABLE_VM_STATES = frozenset({"active", "stopped", "error"})

# Migration record statuses (nova.objects.Migration), by meaning, for
# each migration_type. An evacuation's "done" turns "completed" once the
# source's nova-compute restarts; a cold migration "finished" waits for
# confirmResize to be "confirmed"; a live one ends "completed".
EVACUATION = "evacuation"
LIVE_MIGRATION = "live-migration"
COLD_MIGRATION = "migration"
MIGRATION_DONE = "done"
MIGRATION_SUCCEEDED = frozenset({"done", "completed"})
MIGRATION_FAILED = frozenset({"error", "failed"})
SUCCEEDED = {
    EVACUATION: MIGRATION_SUCCEEDED,
    LIVE_MIGRATION: frozenset({"completed"}),
    COLD_MIGRATION: frozenset({"confirmed"}),
}
FAILED = {
    EVACUATION: MIGRATION_FAILED,
    # Aborted (cancelled) or failed: the server stays where it was.
    LIVE_MIGRATION: frozenset({"error", "failed", "cancelled"}),
    # Reverted (revertResize): the server is back where it was.
    COLD_MIGRATION: frozenset({"error", "failed", "reverted"}),
}
# The hypervisor type of a compute that drives Ironic bare-metal nodes.
IRONIC = "ironic"


@dataclasses.dataclass(frozen=True)
class Flavor:
    """What a server's flavor asks of a host (Nova embeds it in the server
    from 2.47; before, it is read by id)."""

    vcpus: int
    ram: int  # MB
    disk: int  # GB, the root disk
    ephemeral: int = 0  # GB
    swap: int = 0  # MB
    extra_specs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    name: str = ""


@dataclasses.dataclass(frozen=True)
class Server:
    id: str
    name: str
    project_id: str
    status: str  # ACTIVE, SHUTOFF, ERROR, PAUSED, ...
    vm_state: str
    task_state: str | None
    host: str | None
    fault: str | None = None
    updated: str | None = None
    # Nova refuses (409) to evacuate a server that never launched.
    launched: bool = True
    # "": booted from a volume (Nova shows its image so); None: not known.
    image_id: str | None = None
    flavor: Flavor | None = dataclasses.field(default=None, compare=False)
    # Before 2.47 Nova gives only the flavor's id (flavor is then None).
    flavor_id: str | None = dataclasses.field(default=None, compare=False)
    # What the filters of host evacuate select by: tags (2.26+), metadata.
    tags: frozenset[str] = dataclasses.field(
        default=frozenset(), compare=False
    )
    metadata: Mapping[str, str] = dataclasses.field(
        default_factory=dict, compare=False
    )
    # Locked (2.9+), and why (2.73+); None: Nova does not say.
    locked: bool | None = dataclasses.field(default=None, compare=False)
    locked_reason: str | None = dataclasses.field(default=None, compare=False)
    # Nova's power state (1 running, 4 shut down...); None: not shown.
    power_state: int | None = None
    # A config drive attached (a file beside its disk on the host).
    config_drive: bool = dataclasses.field(default=False, compare=False)
    # The ids of the volumes attached (os-extended-volumes).
    volumes: tuple[str, ...] = dataclasses.field(default=(), compare=False)

    @property
    def evacuable(self) -> bool:
        return self.vm_state in EVACUABLE_VM_STATES

    @property
    def volume_backed(self) -> bool:
        return self.image_id == ""


@dataclasses.dataclass(frozen=True)
class ServerDetail:
    """A server as Nova shows it: the typed view the core judges, and
    Nova's whole body, which the commands only display."""

    server: Server
    body: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class Image:
    """A Glance image: its name, and its fields and custom properties
    (Glance v2 shows both at the top level), e.g. hw_tpm_version."""

    id: str
    name: str
    properties: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Aggregate:
    """A host aggregate: its hosts and its metadata (os-aggregates)."""

    name: str
    hosts: frozenset[str]
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ComputeService:
    id: str
    host: str
    state: str  # "up" or "down" as Nova judges it
    status: str  # "enabled" or "disabled"
    forced_down: bool
    zone: str | None = None
    updated_at: str | None = None  # its last heartbeat (or admin change)
    disabled_reason: str | None = None

    @property
    def is_up(self) -> bool:
        return self.state == "up" and not self.forced_down


@dataclasses.dataclass(frozen=True)
class Hypervisor:
    """A compute node as os-hypervisors shows it: the service host it
    belongs to, its node name (Placement's resource provider name), and
    its own figures (only until 2.87; None after)."""

    host: str
    node: str
    type: str  # "fake", "QEMU", "ironic"...
    vcpus: int | None = None
    vcpus_used: int | None = None
    memory_mb: int | None = None
    memory_mb_used: int | None = None
    local_gb: int | None = None
    local_gb_used: int | None = None

    @property
    def bare_metal(self) -> bool:
        """An Ironic node: Nova cannot evacuate its servers."""
        return self.type == IRONIC


@dataclasses.dataclass(frozen=True)
class Room:
    """What a resource provider can still take: per resource class,
    (capacity, used), capacity being (total - reserved) * ratio."""

    node: str
    resources: Mapping[str, tuple[float, float]]


@dataclasses.dataclass(frozen=True)
class ServerGroup:
    """A server group: its policy ("affinity", "anti-affinity", or their
    "soft-" preferences), its members (server ids), and how many of them
    an anti-affinity host may hold (its max_server_per_host rule, 2.64+;
    1 otherwise)."""

    id: str
    name: str
    policy: str
    members: frozenset[str]
    max_per_host: int = 1


@dataclasses.dataclass(frozen=True)
class Migration:
    id: int
    instance_uuid: str
    status: str
    source_compute: str | None
    dest_compute: str | None
    created_at: str
    updated_at: str | None
    migration_type: str = EVACUATION

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCEEDED.get(
            self.migration_type, MIGRATION_SUCCEEDED
        )

    @property
    def failed(self) -> bool:
        return self.status in FAILED.get(self.migration_type, MIGRATION_FAILED)

    @property
    def finished(self) -> bool:
        return self.succeeded or self.failed


@dataclasses.dataclass(frozen=True)
class ServiceRequest:
    """A change to a compute service, as rules.service_requests builds it
    for a microversion (force it down, disable it, enable it)."""

    method: str
    path: str
    body: dict[str, object]
