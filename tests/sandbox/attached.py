"""What the sandbox's servers have attached that Nova's evacuate refuses
or breaks: Manila shares, ports with accelerators, encrypted volumes.

Nova refuses the first two from its own records, so the sandbox writes
those records as Nova's API would have: a share mapping in the server's
cell (nova.objects.ShareMapping, as POST /servers/{id}/shares makes once
Manila says yes), and a port of vNIC type accelerator-direct in the
server's network info cache (as Neutron binds it once Cyborg gives the
device). Real Nova then answers evacuate 409 and 400, and GET
/servers/{id}/shares lists the share.

Neutron and Cinder are Nova's in-process fixtures, so the ports and
volumes a client reads are stand-ins over HTTP, served from what was
attached here: ``/network`` (Neutron's port list, filtered by host and
vNIC type) and ``/volume/v3`` (Cinder's volume show, with ``encrypted``).
"""

from __future__ import annotations

import contextlib
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from nova import context as nova_context
from nova import objects
from nova.network import model as network_model

from tests.sandbox.wsgiutil import json_response

ACCELERATOR_VNIC_TYPE = "accelerator-direct"


class Attached:
    """The attachments made through the control interface."""

    def __init__(self) -> None:
        self.ports: list[dict[str, Any]] = []
        self.encrypted: set[str] = set()

    def add_share(self, server_id: str) -> dict[str, Any]:
        """A share mapped to the server, as Nova records one."""
        share_id = str(uuid.uuid4())
        with _cell_of(server_id) as cctxt:
            mapping = objects.ShareMapping(cctxt)
            mapping.uuid = str(uuid.uuid4())
            mapping.instance_uuid = server_id
            mapping.share_id = share_id
            mapping.status = "active"
            mapping.tag = share_id
            mapping.export_location = "192.0.2.1:/shares/sandbox"
            mapping.share_proto = "NFS"
            mapping.create()
        return {"share_id": share_id}

    def add_accelerator_port(self, server_id: str) -> dict[str, Any]:
        """A port with an accelerator bound to the server on its host."""
        port_id = str(uuid.uuid4())
        with _cell_of(server_id) as cctxt:
            instance = objects.Instance.get_by_uuid(
                cctxt, server_id, expected_attrs=["info_cache"]
            )
            vif = network_model.VIF(
                id=port_id,
                address="fa:16:3e:00:00:01",
                network=network_model.Network(
                    id=str(uuid.uuid4()), label="accelerated", subnets=[]
                ),
                type="ovs",
                vnic_type=ACCELERATOR_VNIC_TYPE,
                active=True,
            )
            instance.info_cache.network_info = network_model.NetworkInfo(
                [*instance.info_cache.network_info, vif]
            )
            instance.info_cache.save()
            host = instance.host
        port = {
            "id": port_id,
            "device_id": server_id,
            "binding:host_id": host,
            "binding:vnic_type": ACCELERATOR_VNIC_TYPE,
        }
        self.ports.append(port)
        return port

    def encrypt_volume(self, volume_id: str) -> dict[str, Any]:
        self.encrypted.add(volume_id)
        return {"id": volume_id, "encrypted": True}


@contextlib.contextmanager
def _cell_of(server_id: str) -> Iterator[Any]:
    """The admin context targeted at the server's cell."""
    ctxt = nova_context.get_admin_context()
    mapping = objects.InstanceMapping.get_by_instance_uuid(ctxt, server_id)
    with nova_context.target_cell(ctxt, mapping.cell_mapping) as cctxt:
        yield cctxt


def _query(environ: dict[str, Any]) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))


class _Stub:
    """A read-only stand-in over what was attached here."""

    def __init__(self, attached: Attached) -> None:
        self.attached = attached

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        found = None
        if environ["REQUEST_METHOD"] == "GET":
            path = environ.get("PATH_INFO", "").strip("/")
            found = self.answer(path, _query(environ))
        if found is None:
            return json_response(start_response, 404, {"message": "Not found"})
        return json_response(start_response, 200, found)

    def answer(
        self, path: str, query: dict[str, list[str]]
    ) -> dict[str, Any] | None:
        """The body of a GET of path; None: not found."""
        raise NotImplementedError


class NetworkStub(_Stub):
    """``/network``: Neutron's port list (the accelerator ports)."""

    def answer(
        self, path: str, query: dict[str, list[str]]
    ) -> dict[str, Any] | None:
        if path != "v2.0/ports":
            return None
        ports = [
            p
            for p in self.attached.ports
            if all(
                str(p.get(key)) in wanted
                for key, wanted in query.items()
                if key != "fields"
            )
        ]
        fields = query.get("fields")
        if fields:
            ports = [{k: p[k] for k in fields if k in p} for p in ports]
        return {"ports": ports}


class VolumeStub(_Stub):
    """``/volume``: Cinder's volume show, saying whether it is encrypted
    (any id is a volume, as Nova's CinderFixture has it)."""

    def answer(
        self, path: str, query: dict[str, list[str]]
    ) -> dict[str, Any] | None:
        match path.split("/"):
            case ["v3", "volumes", volume_id]:
                encrypted = volume_id in self.attached.encrypted
                return {
                    "volume": {
                        "id": volume_id,
                        "status": "in-use",
                        "encrypted": encrypted,
                    }
                }
        return None
