"""Typed values passed between the commands, the core and the compute API."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

# Nova evacuates only servers in these vm_states.
EVACUABLE_VM_STATES = frozenset({"active", "stopped", "error"})

# Evacuation migration statuses (nova.objects.Migration), by meaning.
# "done" turns "completed" once the source's nova-compute restarts.
MIGRATION_DONE = "done"
MIGRATION_SUCCEEDED = frozenset({"done", "completed"})
MIGRATION_FAILED = frozenset({"error", "failed"})


class TargetState(enum.Enum):
    """The power state an evacuated server must end in."""

    PRESERVE = "preserve"  # ACTIVE stays ACTIVE, SHUTOFF stays SHUTOFF
    STOPPED = "stopped"  # every server ends SHUTOFF


@dataclasses.dataclass(frozen=True)
class EvacuateOptions:
    host: str | None = None  # destination; None lets the scheduler pick
    force: bool = False  # bypass the scheduler's check of host
    shared_storage: bool = False  # only meaningful before 2.14
    password: str | None = dataclasses.field(default=None, repr=False)
    target_state: TargetState = TargetState.PRESERVE


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

    @property
    def evacuable(self) -> bool:
        return self.vm_state in EVACUABLE_VM_STATES


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
class ComputeService:
    id: str
    host: str
    state: str  # "up" or "down" as Nova judges it
    status: str  # "enabled" or "disabled"
    forced_down: bool
    zone: str | None = None
    updated_at: str | None = None  # its last heartbeat (or admin change)

    @property
    def is_up(self) -> bool:
        return self.state == "up" and not self.forced_down


@dataclasses.dataclass(frozen=True)
class Migration:
    id: int
    instance_uuid: str
    status: str
    source_compute: str | None
    dest_compute: str | None
    created_at: str
    updated_at: str | None

    @property
    def succeeded(self) -> bool:
        return self.status in MIGRATION_SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.status in MIGRATION_FAILED

    @property
    def finished(self) -> bool:
        return self.succeeded or self.failed
