"""Compute sizes and fills: how full a compute looks to Placement.

The plugin's capacity check, Placement and the scheduler all read a
resource provider's free capacity as ``(total - reserved) *
allocation_ratio - used``. The sandbox changes what the fake driver
reports, so that Nova's resource tracker writes it to Placement and keeps
it there (a value written behind Nova's back would be undone by the next
inventory update):

- a *size* is the hypervisor itself: ``vcpus``, ``memory_mb`` and
  ``local_gb`` become the inventories' ``total`` (and ``max_unit``) and
  the hypervisor's figures in ``os-hypervisors``;
- a *fill* leaves exactly a chosen amount free: ``reserved`` takes the
  rest and ``allocation_ratio`` becomes 1.0, so the figure is exact (a
  VCPU ratio of 4.0 would round it). Only Placement sees a fill, as only
  Placement sees an operator's ``reserved_host_*`` settings.

No nova import: the arithmetic and the checks of the control calls' bodies.
fills.py applies the results to a compute's driver.
"""

from __future__ import annotations

import logging
from typing import Any

LOG = logging.getLogger("sandbox.capacity")

# The resource classes a flavor's VCPU, RAM and root disk consume.
RESOURCE_CLASSES = ("VCPU", "MEMORY_MB", "DISK_GB")

# Driver attributes for a compute's size, and their resource classes.
SIZE_FIELDS = {
    "vcpus": "VCPU",
    "memory_mb": "MEMORY_MB",
    "local_gb": "DISK_GB",
}

# Large enough for any test, small enough for sqlite's integers.
MAX_AMOUNT = 10**9

Inventory = dict[str, dict[str, Any]]


def _amount(value: Any, key: str, low: int) -> int:
    # bool is an int to Python, never to a caller of this API.
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not low <= value <= MAX_AMOUNT
    ):
        raise ValueError(f"{key}: expected an integer in {low}..{MAX_AMOUNT}")
    return value


def parse_size(body: dict[str, Any]) -> dict[str, int]:
    """``{"vcpus": 4, "memory_mb": 4096, "local_gb": 40}``, any subset;
    ValueError if a value is not a positive integer."""
    return {
        key: _amount(body[key], key, 1) for key in SIZE_FIELDS if key in body
    }


def parse_free(body: Any) -> dict[str, int]:
    """What a fill leaves free: ``{"free": {"VCPU": 1}}`` gives
    ``{"VCPU": 1, "MEMORY_MB": 0, "DISK_GB": 0}`` (a class not named is
    left with nothing free); ``{}`` fills every class."""
    if body is None:
        body = {}
    if not isinstance(body, dict) or set(body) - {"free"}:
        raise ValueError('expected {"free": {"VCPU": 0, "MEMORY_MB": 0, ...}}')
    free = body.get("free") or {}
    if not isinstance(free, dict):
        raise ValueError("free: expected an object of resource classes")
    unknown = sorted(set(free) - set(RESOURCE_CLASSES))
    if unknown:
        raise ValueError(
            f"free: unknown resource classes {', '.join(unknown)}; "
            f"expected {', '.join(RESOURCE_CLASSES)}"
        )
    return {rc: _amount(free.get(rc, 0), rc, 0) for rc in RESOURCE_CLASSES}


def free_capacity(
    inventory: Inventory, usages: dict[str, int]
) -> dict[str, int]:
    """Free capacity per resource class, as Placement counts it."""
    out: dict[str, int] = {}
    for rc, inv in inventory.items():
        capacity = (inv["total"] - inv["reserved"]) * inv["allocation_ratio"]
        out[rc] = int(capacity) - usages.get(rc, 0)
    return out


def fill_overrides(
    inventory: Inventory, usages: dict[str, int], free: dict[str, int]
) -> Inventory:
    """Inventory fields that leave exactly ``free`` of each class.

    With a ratio of 1.0, capacity is ``total - reserved``; ``reserved``
    takes what neither the servers there nor ``free`` need. Should those
    two exceed ``total`` (servers placed at a ratio above 1.0), ``total``
    grows to fit them rather than leave a negative ``reserved``.
    """
    out: Inventory = {}
    for rc, want in free.items():
        if rc not in inventory:
            raise ValueError(f"the compute has no {rc} inventory")
        current = inventory[rc]
        needed = usages.get(rc, 0) + want
        fields: dict[str, Any] = {"allocation_ratio": 1.0}
        total = current["total"]
        if needed > total:
            total = needed
            fields.update(total=total, max_unit=total)
        fields["reserved"] = total - needed
        out[rc] = fields
    LOG.debug("fill %s with %s used: %s", free, usages, out)
    return out


def apply_overrides(inventory: Inventory, overrides: Inventory) -> Inventory:
    """The inventory with each class's fields replaced by the overrides'."""
    out = {rc: dict(fields) for rc, fields in inventory.items()}
    for rc, fields in overrides.items():
        if rc in out:
            out[rc].update(fields)
    return out
