"""Fake virt drivers of the sandbox's own (imports nova: sandbox only).

``FakeIronicDriver`` plays a nova-compute that manages Ironic bare-metal
nodes, as far as the compute API shows it: its hypervisor's
``hypervisor_type`` is ``ironic`` and its node is named by a UUID (Ironic
names each node by its own UUID, never by the compute's host), and, like
Nova's Ironic driver, it cannot be an evacuation's destination
(``supports_evacuate`` is False). Evacuating from it is what the plugin
must refuse. Servers boot on it as on any fake compute.

``FakeVTPMDriver`` plays a compute that offers emulated TPMs, as Nova's
libvirt driver does with swtpm: its provider carries the TPM traits that
the scheduler requires of a server whose flavor or image asks for a vTPM
(nova.scheduler.utils), so such servers boot on it; Nova refuses to
evacuate them.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, ClassVar

from nova.virt import fake

LOG = logging.getLogger("sandbox.drivers")

# Seeds the node UUIDs, so a host keeps its node across restarts.
_NODE_NAMESPACE = uuid.UUID("5b7ad6c1-4d34-4b07-9fc6-6c1b1f3c2a10")


def ironic_node(host: str) -> str:
    """The node UUID that the fake Ironic compute ``host`` manages."""
    return str(uuid.uuid5(_NODE_NAMESPACE, host))


class FakeIronicDriver(fake.FakeDriver):  # type: ignore[misc]
    """A FakeDriver that Nova's API reports as an Ironic compute."""

    capabilities: ClassVar[dict[str, bool]] = {
        **fake.FakeDriver.capabilities,
        "supports_evacuate": False,
    }

    def __init__(self, virtapi: Any, read_only: bool = False) -> None:
        super().__init__(virtapi, read_only)
        self.host_status_base["hypervisor_type"] = "ironic"

    def init_host(self, host: str) -> None:
        super().init_host(host)
        self._set_nodes([ironic_node(host)])
        LOG.debug("fake ironic compute %s manages node %s", host, self._nodes)

    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        resource: dict[str, Any] = super().get_available_resource(nodename)
        if resource:
            # Nova's Ironic driver: the compute node's UUID is the node's.
            resource["uuid"] = nodename
        return resource


# The traits of emulated TPMs (os-traits), as libvirt reports them.
VTPM_TRAITS = (
    "COMPUTE_SECURITY_TPM_1_2",
    "COMPUTE_SECURITY_TPM_2_0",
    "COMPUTE_SECURITY_TPM_TIS",
    "COMPUTE_SECURITY_TPM_CRB",
    # Where the vTPM's secret is kept (nova.scheduler.request_filter's
    # tpm_secret_security_filter; "user", Barbican, by default).
    "COMPUTE_SECURITY_TPM_SECRET_SECURITY_USER",
    "COMPUTE_SECURITY_TPM_SECRET_SECURITY_HOST",
    "COMPUTE_SECURITY_TPM_SECRET_SECURITY_DEPLOYMENT",
)


class FakeVTPMDriver(fake.FakeDriver):  # type: ignore[misc]
    """A FakeDriver whose provider offers emulated TPMs."""

    def update_provider_tree(
        self, provider_tree: Any, nodename: str, allocations: Any = None
    ) -> None:
        super().update_provider_tree(provider_tree, nodename, allocations)
        provider_tree.add_traits(nodename, *VTPM_TRAITS)
