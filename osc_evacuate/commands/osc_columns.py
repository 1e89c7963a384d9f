"""The columns of python-openstackclient's own `server evacuate`, kept.

Stock OSC's command prints the server after the evacuation the way
`openstack server show` does (its ``_prep_server_detail``): Nova's fields
under their legacy names, a few renamed or formatted. A script that reads
``-c OS-EXT-SRV-ATTR:host`` or ``-f json`` of it keeps working with ours:
`server evacuate` prints its own columns first, then these.

Built from Nova's body as it came (nova.DISPLAY_VERSION, openstacksdk's),
with one difference: stock OSC shows an embedded flavor as openstacksdk's
Flavor resource, we as Nova gives it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cliff import columns as cliff_columns
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


class PowerStateColumn(cliff_columns.FormattableColumn[int]):
    """Nova's power state number, named in tables (as stock OSC does)."""

    NAMES = (
        "NOSTATE",
        "Running",
        "",
        "Paused",
        "Shutdown",
        "",
        "Crashed",
        "Suspended",
    )

    def human_readable(self) -> str:
        try:
            return self.NAMES[self._value]
        except (IndexError, TypeError):
            return "N/A"


class AddressesColumn(cliff_columns.FormattableColumn[Any]):
    """Each network's addresses, as stock OSC shows them."""

    def machine_readable(self) -> Any:
        return {
            net: [a["addr"] for a in addrs if "addr" in a]
            for net, addrs in (self._value or {}).items()
        }

    def human_readable(self) -> str:
        return "; ".join(
            f"{net}={', '.join(addrs)}"
            for net, addrs in sorted(self.machine_readable().items())
        )


def _volumes(value: Any) -> Any:
    return format_columns.ListDictColumn(
        [
            {k: v for k, v in volume.items() if v is not None}
            for volume in value or []
        ]
    )


FORMATS: dict[str, Callable[[Any], Any]] = {
    "OS-EXT-STS:power_state": PowerStateColumn,
    "addresses": AddressesColumn,
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
    fields = []
    wanted = [*STOCK_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in values)]
    for name in wanted:
        if _normal(name) in seen:
            continue
        value = values.get(name)
        if value is not None and name in FORMATS:
            value = FORMATS[name](value)
        fields.append((name, value))
    LOG.debug("stock OSC columns shown: %d", len(fields))
    return fields


def _normal(name: str) -> str:
    """As cliff compares -c names with columns."""
    return name.lower().strip().replace(" ", "_")
