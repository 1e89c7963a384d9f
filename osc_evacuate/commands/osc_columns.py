"""The columns of python-openstackclient's own `server evacuate`, kept.

Stock OSC's command prints the server after the evacuation the way
`openstack server show` does (its ``_prep_server_detail``): Nova's fields
under their legacy names, a few renamed or formatted. A script that reads
``-c OS-EXT-SRV-ATTR:host`` or ``-f json`` of it keeps working with ours:
`server evacuate` prints its own columns first, then these.

Built from Nova's body as it came (rules.features.DISPLAY_VERSION,
openstacksdk's), with one difference: stock OSC shows an embedded flavor
as openstacksdk's Flavor resource, we as Nova gives it. The power state
and addresses are formatted by python-openstackclient's own column
classes (PowerStateColumn, AddressesColumn), so that they stay identical
to stock OSC's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from osc_lib.cli import format_columns

LOG = logging.getLogger(__name__)

# What stock OSC 10.5 prints, in its order; openstacksdk gives None for
# what Nova did not send, and so do we.
STOCK_COLUMNS = (
    "OS-DCF:diskConfig",
    "OS-EXT-AZ:availability_zone",
    "OS-EXT-SRV-ATTR:host",
    "OS-EXT-SRV-ATTR:hostname",
    "OS-EXT-SRV-ATTR:hypervisor_hostname",
    "OS-EXT-SRV-ATTR:instance_name",
    "OS-EXT-SRV-ATTR:kernel_id",
    "OS-EXT-SRV-ATTR:launch_index",
    "OS-EXT-SRV-ATTR:ramdisk_id",
    "OS-EXT-SRV-ATTR:reservation_id",
    "OS-EXT-SRV-ATTR:root_device_name",
    "OS-EXT-SRV-ATTR:user_data",
    "OS-EXT-STS:power_state",
    "OS-EXT-STS:task_state",
    "OS-EXT-STS:vm_state",
    "OS-SRV-USG:launched_at",
    "OS-SRV-USG:terminated_at",
    "accessIPv4",
    "accessIPv6",
    "addresses",
    "config_drive",
    "created",
    "description",
    "flavor",
    "hostId",
    "host_status",
    "id",
    "image",
    "key_name",
    "locked",
    "locked_reason",
    "name",
    "pinned_availability_zone",
    "progress",
    "project_id",
    "properties",
    "scheduler_hints",
    "server_groups",
    "status",
    "tags",
    "trusted_image_certificates",
    "updated",
    "user_id",
    "volumes_attached",
)
# Shown only when Nova sends them (a fault: only in trouble).
OPTIONAL_COLUMNS = ("fault", "security_groups")
# Nova's names that stock OSC shows under another.
RENAMED = {
    "tenant_id": "project_id",
    "metadata": "properties",
    "os-extended-volumes:volumes_attached": "volumes_attached",
}
HIDDEN = frozenset({"links"})
BOOTED_FROM_VOLUME = "N/A (booted from volume)"


def _volumes(value: Any) -> Any:
    return format_columns.ListDictColumn(
        [
            {k: v for k, v in volume.items() if v is not None}
            for volume in value or []
        ]
    )


def _formats() -> dict[str, Callable[[Any], Any]]:
    """Each column's formatter; stock OSC's own classes where it has them,
    so that the columns stay identical to its `server show`'s. Imported
    here: OSC's server module is dear to load, and only a run that shows
    a server needs it."""
    from openstackclient.compute.v2 import server

    return {
        "OS-EXT-STS:power_state": server.PowerStateColumn,
        "addresses": server.AddressesColumn,
        **FORMATS,
    }


FORMATS: dict[str, Callable[[Any], Any]] = {
    "properties": format_columns.DictColumn,
    "flavor": format_columns.DictColumn,
    "security_groups": format_columns.ListDictColumn,
    "tags": lambda value: format_columns.ListColumn(value or []),
    "volumes_attached": _volumes,
    "scheduler_hints": format_columns.DictListColumn,
}


def image_id(body: Mapping[str, Any]) -> str | None:
    """The server's image id; None when it booted from a volume."""
    image = body.get("image")
    if isinstance(image, dict) and image.get("id"):
        return str(image["id"])
    return None


def stock_fields(
    body: Mapping[str, Any],
    image_name: str | None,
    taken: Iterable[str],
) -> list[tuple[str, Any]]:
    """Stock OSC's columns of the server, but those whose name is taken
    (cliff's -c matches ID as id: ours are shown, with the same value).

    image_name: Glance's name of the server's image, if it could be read
    (stock OSC, too, shows only the id when it cannot)."""
    values: dict[str, Any] = {}
    for key, value in body.items():
        if key not in HIDDEN:
            values[RENAMED.get(key, key)] = value
    iid = image_id(body)
    if iid is None:
        values["image"] = BOOTED_FROM_VOLUME
    else:
        values["image"] = f"{image_name} ({iid})" if image_name else iid
    seen = {_normal(name) for name in taken}
    formats = _formats()
    fields = []
    wanted = [*STOCK_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in values)]
    for name in wanted:
        if _normal(name) in seen:
            continue
        value = values.get(name)
        if value is not None and name in formats:
            value = formats[name](value)
        fields.append((name, value))
    LOG.debug("stock OSC columns shown: %d", len(fields))
    return fields


def _normal(name: str) -> str:
    """As cliff compares -c names with columns."""
    return name.lower().strip().replace(" ", "_")
