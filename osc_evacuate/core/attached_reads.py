"""The plan's reads of what the servers to evacuate have attached (see
attached.py for why): their Manila shares, their ports with accelerators
and their encrypted volumes.

Each read is made only where the cloud can have such a thing:

- shares: only where the catalog has a shared-file-system service (Nova
  attaches shares from Manila, nowhere else) and Nova speaks 2.97; Nova
  lists them per server, so a request per server, a few at a time;
- accelerator ports: only where the catalog has a network service; one
  Neutron list per failed host, of its ports bound there with an
  accelerator's vNIC type;
- encrypted volumes: only where the catalog has a block-storage service
  and a server has volumes; a Cinder request per volume, a few at a time.

A read that fails is left out (logged): Nova still refuses shares and
accelerator ports itself, so nothing worse than its refusal follows.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from osc_evacuate.core.attached import ACCELERATOR_VNIC_TYPES, Attachments
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import VersionRange
from osc_evacuate.core.models import Server
from osc_evacuate.core.rules import features
from osc_evacuate.core.transport import Transport

if TYPE_CHECKING:
    from keystoneauth1 import session as ks_session

LOG = logging.getLogger(__name__)

# Requests in flight at once for the reads made per server or volume.
# Beside them the plan has four reads in flight at most (plan_reads.py):
# all within defaults.READS_AT_ONCE.
READERS = 6

_K = TypeVar("_K")
_V = TypeVar("_V")


def read(
    nova: Transport,
    services: AttachedServices,
    cloud: VersionRange,
    servers: Sequence[Server],
    volumes: bool = True,
) -> Attachments:
    """What the servers have attached, as far as the cloud can say; their
    volumes (whether encrypted) only with ``volumes``."""
    hosts = sorted({s.host for s in servers if s.host})
    volume_ids = [v for s in servers for v in s.volumes] if volumes else []
    return Attachments(
        shares=_shares(nova, services, cloud, [s.id for s in servers]),
        accelerator_ports=_accelerator_ports(services.network, hosts),
        encrypted_volumes=_encrypted(services.volumes, volume_ids),
    )


# Service type, and the key of its endpoint override in clouds.yaml.
SERVICE_TYPES = {
    "network": "network_endpoint_override",
    "block-storage": "block_storage_endpoint_override",
    "shared-file-system": "shared_file_system_endpoint_override",
}


@dataclasses.dataclass(frozen=True)
class AttachedServices:
    """The services the reads go to, beside Nova."""

    network: Transport
    volumes: Transport
    shares: Transport

    @classmethod
    def on(
        cls,
        session: ks_session.Session,
        overrides: Mapping[str, str | None],
        **where: Any,
    ) -> AttachedServices:
        """Each service on the session; overrides: endpoint by service
        type (None: the catalog's); where: region_name, interface,
        timeout."""
        made = {
            kind: Transport(
                session,
                service_type=kind,
                endpoint_override=overrides.get(kind),
                **where,
            )
            for kind in SERVICE_TYPES
        }
        return cls(
            made["network"], made["block-storage"], made["shared-file-system"]
        )


def _shares(
    nova: Transport,
    services: AttachedServices,
    cloud: VersionRange,
    server_ids: list[str],
) -> dict[str, tuple[str, ...]]:
    version = features.SERVER_SHARES.first
    if not server_ids or version not in cloud:
        return {}
    if not services.shares.has_endpoint():
        LOG.debug("no shared-file-system service: no server has shares")
        return {}

    def one(server_id: str) -> tuple[str, ...]:
        quoted = urllib.parse.quote(server_id)
        body = nova.get(f"/servers/{quoted}/shares", version)
        return tuple(str(s["share_id"]) for s in body.get("shares") or ())

    return _each(server_ids, one, "shares")


def _accelerator_ports(
    network: Transport, hosts: list[str]
) -> dict[str, tuple[str, ...]]:
    if not hosts or not network.has_endpoint():
        return {}
    found: dict[str, list[str]] = {}
    for host in hosts:
        query = {
            "binding:host_id": host,
            "binding:vnic_type": list(ACCELERATOR_VNIC_TYPES),
            "fields": ["id", "device_id"],
        }
        try:
            body = network.get("/v2.0/ports", None, **query)
        except ComputeAPIError as exc:
            LOG.debug("accelerator ports on %s: not read (%s)", host, exc)
            continue
        for port in body.get("ports") or ():
            found.setdefault(str(port["device_id"]), []).append(port["id"])
    LOG.debug("accelerator ports by server: %s", found)
    return {k: tuple(v) for k, v in found.items()}


def _encrypted(volumes: Transport, volume_ids: list[str]) -> frozenset[str]:
    if not volume_ids or not volumes.has_endpoint():
        return frozenset()

    def one(volume_id: str) -> bool:
        quoted = urllib.parse.quote(volume_id)
        body = volumes.get(f"/volumes/{quoted}", None)
        return bool((body.get("volume") or {}).get("encrypted"))

    found = _each(sorted(set(volume_ids)), one, "volume")
    return frozenset(v for v, encrypted in found.items() if encrypted)


def _each(
    keys: Iterable[_K], read_one: Callable[[_K], _V], what: str
) -> dict[_K, _V]:
    """read_one of each key, READERS at a time; a key whose read fails
    is left out, and one whose answer is empty too."""
    keys = list(keys)
    out: dict[_K, _V] = {}
    with concurrent.futures.ThreadPoolExecutor(READERS) as pool:
        futures = {key: pool.submit(read_one, key) for key in keys}
    for key, future in futures.items():
        try:
            value = future.result()
        except ComputeAPIError as exc:
            LOG.debug("%s %s: not read (%s)", what, key, exc)
            continue
        if value:
            out[key] = value
    LOG.debug("%s: %d read, %d with something", what, len(keys), len(out))
    return out
