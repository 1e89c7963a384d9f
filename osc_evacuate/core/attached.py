"""What a server has attached that Nova's evacuate refuses or breaks,
judged before anything is sent.

Nova 34 still refuses to evacuate (nova.compute.api.API.evacuate's
decorators) a server with a Manila share attached (409, block_shares_not_
supported) or with a port whose vNIC type is an accelerator's (400,
block_port_accelerators): no release lifts either yet. Such a row is
skipped with Nova's own words, never sent.

A server with an encrypted volume is taken, but the rebuild on the new
host needs the volume's key from Barbican (the key manager): where the
evacuating identity cannot read it, the server ends in ERROR. The plan
says so; only the operator knows who owns the secrets.

Pure: what was read (attached_reads.py) comes in, words go out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping

from osc_evacuate.core.models import Server

LOG = logging.getLogger(__name__)

# Neutron's vNIC types of a port with an accelerator (Cyborg) behind it,
# as nova.network.model names them.
ACCELERATOR_VNIC_TYPES = ("accelerator-direct", "accelerator-direct-physical")


@dataclasses.dataclass(frozen=True)
class Refusal:
    """One thing Nova refuses to evacuate, in Nova's words, and the Nova
    release that lifts it (None: none yet)."""

    what: str
    nova_says: str
    lifted_in: str | None = None

    def says(self, ids: tuple[str, ...]) -> str:
        lifted = (
            f"lifted in Nova {self.lifted_in}"
            if self.lifted_in
            else "no Nova release lifts it yet"
        )
        return (
            f"it has {self.what} ({', '.join(ids)}), and Nova refuses: "
            f"{self.nova_says} ({lifted})"
        )


# nova.exception.ForbiddenWithShare and ForbiddenPortsWithAccelerator.
SHARES = Refusal(
    "shares attached",
    "Feature not supported with instances that have shares.",
)
ACCELERATOR_PORTS = Refusal(
    "ports with accelerators",
    "Feature not supported with Ports that have accelerators.",
)


@dataclasses.dataclass(frozen=True)
class Attachments:
    """What the plan read of the servers' attachments, by server id: their
    shares and accelerator ports, and which of their volumes are
    encrypted. Empty where the cloud has no such service."""

    shares: Mapping[str, tuple[str, ...]] = dataclasses.field(
        default_factory=dict
    )
    accelerator_ports: Mapping[str, tuple[str, ...]] = dataclasses.field(
        default_factory=dict
    )
    encrypted_volumes: frozenset[str] = frozenset()


NONE = Attachments()


def refusal(server: Server, attached: Attachments) -> str | None:
    """Why Nova refuses to evacuate the server for what it has attached,
    or None."""
    for ids, refused in (
        (attached.shares.get(server.id), SHARES),
        (attached.accelerator_ports.get(server.id), ACCELERATOR_PORTS),
    ):
        if ids:
            LOG.debug("%s: skipped, %s %s", server.id, refused.what, ids)
            return refused.says(ids)
    return None


def risk(server: Server, attached: Attachments) -> str | None:
    """The risk of the server's encrypted volumes, if it has any."""
    encrypted = [v for v in server.volumes if v in attached.encrypted_volumes]
    if not encrypted:
        return None
    return (
        f"encrypted volume {', '.join(encrypted)}: the rebuild needs its key "
        "from Barbican, and ends in ERROR if this identity cannot read it"
    )
