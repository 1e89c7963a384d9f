"""The sandbox cloud's sizes and fills (capacity.py): a compute's
hypervisor size, and how much of it Placement and the scheduler count as
free.

Import it only from the sandbox process (see cloud.py): it imports nova.
"""

from __future__ import annotations

import logging
from typing import Any

from nova import context as nova_context

from tests.sandbox import capacity
from tests.sandbox.cloud_base import CloudBase
from tests.sandbox.control import UnknownHost

LOG = logging.getLogger("sandbox.cloud")

# Placement microversion of the sandbox's own reads (any has what it
# reads: inventories, usages, providers by name).
PLACEMENT_VERSION = "1.14"


class Fills(CloudBase):
    """Sizes and fills of the computes."""

    def resources(self, host: str) -> dict[str, Any]:
        """What Placement has for the host's node: ``{"host",
        "resource_provider", "inventories", "usages", "free", "filled"}``
        (``free`` by Placement's arithmetic; ``filled`` what a fill asked
        for, or None)."""
        rp = self._provider(host)
        inventories = self._placement_get(
            f"/resource_providers/{rp}/inventories"
        )["inventories"]
        usages = self._placement_get(f"/resource_providers/{rp}/usages")[
            "usages"
        ]
        return {
            "host": host,
            "resource_provider": rp,
            "inventories": inventories,
            "usages": usages,
            "free": capacity.free_capacity(inventories, usages),
            "filled": self._free.get(host),
        }

    def resize_compute(self, host: str, size: dict[str, int]) -> None:
        """Give the running compute's hypervisor another size, now (a
        fill in force is done again on the new size)."""
        with self._lock:
            manager = self._running_manager(host)
            resize_driver(manager.driver, size)
            if host in self._free:
                self._fill(host, manager, self._free[host])
            else:
                self._update_resources(host, manager)
        LOG.info("sandbox: compute %s resized to %s", host, size)

    def fill_compute(self, host: str, free: dict[str, int]) -> None:
        """Leave only ``free`` of each class on the running compute, as
        Placement and the scheduler count it. Servers that come or go
        later change what is free; a new fill starts over."""
        with self._lock:
            self._fill(host, self._running_manager(host), free)
        LOG.info("sandbox: compute %s filled, %s left free", host, free)

    def _fill(self, host: str, manager: Any, free: dict[str, int]) -> None:
        if self._fills.pop(host, None) is not None:
            # From the driver's own inventory, not the last fill's.
            self._update_resources(host, manager)
        now = self.resources(host)
        self._base_ratios.setdefault(
            host,
            {
                rc: {"allocation_ratio": inv["allocation_ratio"]}
                for rc, inv in now["inventories"].items()
            },
        )
        self._fills[host] = capacity.fill_overrides(
            now["inventories"], now["usages"], free
        )
        self._free[host] = dict(free)
        self._update_resources(host, manager)
        # The resource tracker logs and swallows what it could not write.
        written = self.resources(host)["inventories"]
        for rc, fields in self._fills[host].items():
            for key, value in fields.items():
                if written[rc][key] != value:
                    raise RuntimeError(
                        f"Placement did not take the fill of {host}: "
                        f"{rc} {key} is {written[rc][key]}, not {value} "
                        "(see sandbox.log)"
                    )

    def unfill_compute(self, host: str) -> bool:
        """End the host's fill: the driver's inventory again (pushed now
        if the compute runs, else at its restart). False if not filled."""
        with self._lock:
            if self._fills.pop(host, None) is None:
                return False
            self._free.pop(host, None)
            service = self._running.get(host)
            if service is not None:
                self._update_resources(host, service.manager)
        LOG.info("sandbox: compute %s no longer filled", host)
        return True

    def filled(self) -> dict[str, dict[str, int]]:
        """``{host: free}`` for every fill in force."""
        return {host: dict(free) for host, free in self._free.items()}

    def unfill_all(self) -> None:
        for host in list(self._fills):
            self.unfill_compute(host)

    def _running_manager(self, host: str) -> Any:
        service = self._running.get(host)
        if service is None:
            if host in self._stopped:
                raise ValueError(f"compute {host} is stopped")
            raise UnknownHost(host)
        return service.manager

    def _provider(self, host: str) -> str:
        """The resource provider of the host's (only) node."""
        if host not in self._running and host not in self._stopped:
            raise UnknownHost(host)
        nodes = self._driver(host).get_available_nodes()
        found = self._placement_get(f"/resource_providers?name={nodes[0]}")
        providers = found["resource_providers"]
        if len(providers) != 1:
            raise ValueError(f"no resource provider for {host} yet")
        return str(providers[0]["uuid"])

    def _driver(self, host: str) -> Any:
        service = self._running.get(host)
        return service.manager.driver if service else self._stopped[host]

    def _placement_get(self, url: str) -> Any:
        resp = self.case.placement.get(url, version=PLACEMENT_VERSION)
        if resp.status != 200:
            raise RuntimeError(f"placement GET {url}: {resp.status}")
        return resp.body

    def _update_resources(self, host: str, manager: Any) -> None:
        """Run the compute's resource update now (the periodic task is off
        in the sandbox, as in Nova's functional tests): the compute node
        record and Placement's inventory follow the driver."""
        ctxt = nova_context.get_admin_context()
        cell = self.case.host_mappings[host].cell_mapping
        with nova_context.target_cell(ctxt, cell) as cctxt:
            manager.update_available_resource(cctxt)

    def _apply_fills(self, host: str, driver: Any) -> None:
        """Make the driver's inventory carry the host's fill, if any.

        Wraps update_provider_tree once per driver (a restarted compute
        keeps its driver); the fill is looked up at every update.
        """
        if getattr(driver, "_sandbox_real_update_provider_tree", None):
            return
        real = driver.update_provider_tree
        driver._sandbox_real_update_provider_tree = real

        def update_provider_tree(
            provider_tree: Any, nodename: str, allocations: Any = None
        ) -> None:
            real(provider_tree, nodename, allocations=allocations)
            overrides = {
                **self._base_ratios.get(host, {}),
                **self._fills.get(host, {}),
            }
            if overrides:
                inventory = provider_tree.data(nodename).inventory
                provider_tree.update_inventory(
                    nodename, capacity.apply_overrides(inventory, overrides)
                )

        driver.update_provider_tree = update_provider_tree


def resize_driver(driver: Any, size: dict[str, int]) -> None:
    """Set the fake driver's hypervisor size: its inventory (``total``,
    ``max_unit``) and the compute node's figures follow at the next
    resource update."""
    for field, value in size.items():
        setattr(driver, field, value)
        setattr(driver.resources, field, value)
