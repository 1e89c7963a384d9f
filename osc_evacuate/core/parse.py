"""Nova's JSON (and Glance's) as the core's typed values.

Pure: each function takes one decoded object of an answer and returns the
model (models/cloud.py) the rest of the core judges. What Nova leaves out
at an older microversion stays None, so that the judges can tell "not
known" from "no".
"""

from __future__ import annotations

import logging
from typing import Any

from osc_evacuate.core.errors import one_line
from osc_evacuate.core.models import (
    Aggregate,
    ComputeService,
    Flavor,
    Hypervisor,
    Image,
    Migration,
    Server,
)
from osc_evacuate.core.models.cloud import EVACUATION, ServerGroup

LOG = logging.getLogger(__name__)

LAUNCHED_AT = "OS-SRV-USG:launched_at"
EPHEMERAL = "OS-FLV-EXT-DATA:ephemeral"
VOLUMES_ATTACHED = "os-extended-volumes:volumes_attached"


def server(raw: dict[str, Any]) -> Server:
    fault = raw.get("fault") or {}
    return Server(
        id=raw["id"],
        name=raw.get("name") or "",
        project_id=raw.get("tenant_id") or "",
        status=raw.get("status") or "",
        vm_state=raw.get("OS-EXT-STS:vm_state") or "",
        task_state=raw.get("OS-EXT-STS:task_state"),
        host=raw.get("OS-EXT-SRV-ATTR:host"),
        fault=one_line(fault["message"]) if fault.get("message") else None,
        updated=raw.get("updated"),
        # null when it never launched; absent when Nova does not say.
        launched=raw.get(LAUNCHED_AT, "unknown") is not None,
        image_id=image_id(raw.get("image")),
        flavor=embedded_flavor(raw.get("flavor")),
        flavor_id=flavor_id(raw.get("flavor")),
        tags=frozenset(str(t) for t in raw.get("tags") or ()),
        metadata={
            str(k): str(v) for k, v in (raw.get("metadata") or {}).items()
        },
        locked=raw.get("locked"),
        locked_reason=raw.get("locked_reason"),
        power_state=_int_or_none(raw.get("OS-EXT-STS:power_state")),
        # Nova shows "True", or "" without one.
        config_drive=str(raw.get("config_drive") or "").lower() == "true",
        volumes=tuple(
            str(v["id"])
            for v in raw.get(VOLUMES_ATTACHED) or ()
            if isinstance(v, dict) and v.get("id")
        ),
    )


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


def image_id(image: object) -> str | None:
    """ "" when booted from a volume (Nova's own way to say so)."""
    if image == "":
        return ""
    if isinstance(image, dict) and image.get("id"):
        return str(image["id"])
    return None


def embedded_flavor(raw: object) -> Flavor | None:
    """The flavor Nova embeds from 2.47; None before (only its id)."""
    if not isinstance(raw, dict) or "vcpus" not in raw:
        return None
    return flavor(raw, raw.get("original_name") or "")


def flavor_id(raw: object) -> str | None:
    if isinstance(raw, dict) and raw.get("id") and "vcpus" not in raw:
        return str(raw["id"])
    return None


def flavor(raw: dict[str, Any], name: str) -> Flavor:
    return Flavor(
        vcpus=int(raw.get("vcpus") or 0),
        ram=int(raw.get("ram") or 0),
        disk=int(raw.get("disk") or 0),
        ephemeral=int(raw.get("ephemeral") or raw.get(EPHEMERAL) or 0),
        # Nova shows no swap as "" in flavor lists.
        swap=int(raw.get("swap") or 0),
        extra_specs={
            str(k): str(v) for k, v in (raw.get("extra_specs") or {}).items()
        },
        name=name,
    )


# Nova's state of a service it cannot see: its cell's database is down.
UNKNOWN = "unknown"


def service(raw: dict[str, Any]) -> ComputeService:
    if "id" not in raw:
        # From 2.69 a service in a down cell is only its binary, host and
        # "status": "UNKNOWN". Unknown is not up: never a target, never
        # judged alive.
        LOG.debug("nova-compute on %s: in a down cell", raw.get("host"))
        return ComputeService(
            id="",
            host=raw.get("host") or "",
            state=UNKNOWN,
            status=UNKNOWN,
            forced_down=False,
        )
    return ComputeService(
        id=str(raw["id"]),
        host=raw["host"],
        state=raw.get("state") or "",
        status=raw.get("status") or "",
        forced_down=bool(raw.get("forced_down")),
        zone=raw.get("zone"),
        updated_at=raw.get("updated_at"),
        disabled_reason=raw.get("disabled_reason"),
    )


def hypervisor(raw: dict[str, Any]) -> Hypervisor:
    def figure(key: str) -> int | None:
        value = raw.get(key)
        return int(value) if isinstance(value, int | float) else None

    service = raw.get("service") or {}
    return Hypervisor(
        host=service.get("host") or "",
        node=raw.get("hypervisor_hostname") or "",
        type=raw.get("hypervisor_type") or "",
        vcpus=figure("vcpus"),
        vcpus_used=figure("vcpus_used"),
        memory_mb=figure("memory_mb"),
        memory_mb_used=figure("memory_mb_used"),
        local_gb=figure("local_gb"),
        local_gb_used=figure("local_gb_used"),
    )


def image(raw: dict[str, Any]) -> Image:
    return Image(id=raw["id"], name=raw.get("name") or "", properties=raw)


def aggregate(raw: dict[str, Any]) -> Aggregate:
    return Aggregate(
        name=raw.get("name") or "",
        hosts=frozenset(str(h) for h in raw.get("hosts") or ()),
        metadata={
            str(k): str(v) for k, v in (raw.get("metadata") or {}).items()
        },
    )


def migration(raw: dict[str, Any]) -> Migration:
    return Migration(
        id=int(raw["id"]),
        instance_uuid=raw["instance_uuid"],
        status=raw.get("status") or "",
        source_compute=raw.get("source_compute"),
        dest_compute=raw.get("dest_compute"),
        created_at=raw.get("created_at") or "",
        updated_at=raw.get("updated_at"),
        # Shown from 2.23; the reads before ask for evacuations only.
        migration_type=raw.get("migration_type") or EVACUATION,
    )


def server_group(raw: dict[str, Any]) -> ServerGroup:
    """A server group as os-server-groups shows it: its "policy" and
    "rules" from 2.64, a one-policy "policies" list before."""
    policies = raw.get("policies") or [""]
    most = (raw.get("rules") or {}).get("max_server_per_host")
    return ServerGroup(
        id=str(raw.get("id") or ""),
        name=raw.get("name") or "",
        policy=str(raw.get("policy") or policies[0]),
        members=frozenset(str(m) for m in raw.get("members") or ()),
        max_per_host=max(1, int(str(most))) if str(most).isdigit() else 1,
    )


def node_servers(raw: dict[str, Any]) -> tuple[str, frozenset[str]]:
    """A compute node's name and its servers' ids, as os-hypervisors
    lists them with_servers (2.53+; a node without one has no "servers")."""
    servers = raw.get("servers") or ()
    return (
        raw.get("hypervisor_hostname") or "",
        frozenset(str(s["uuid"]) for s in servers if s.get("uuid")),
    )
