"""Top-level WSGI app: one port for Nova, Placement, the stand-ins and
the control interface.

- ``/_sandbox/...``: control interface (control.py)
- ``/image/...``: Glance v2 stand-in; ``/identity/...``: Keystone v3
  stand-in (stubs.py); ``/network/...`` and ``/volume/...``: Neutron's
  ports and Cinder's volumes (attached.py)
- everything else goes through the request recorder and the fault
  injector to ApiRouter: ``/placement/...`` to the Placement app the
  computes report to, the rest to Nova's stock osapi_compute app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from tests.sandbox.attached import Attached, NetworkStub, VolumeStub
from tests.sandbox.control import Control
from tests.sandbox.recorder import RequestRecorder
from tests.sandbox.stubs import GlanceStub, KeystoneStub
from tests.sandbox.wsgiutil import PLACEMENT_PREFIX, base_url, service_of

WSGIApp = Callable[..., Iterable[bytes]]


def _shift(environ: dict[str, Any], prefix: str) -> None:
    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
    environ["PATH_INFO"] = environ["PATH_INFO"][len(prefix) :]


class Router:
    def __init__(
        self,
        nova: RequestRecorder,
        control: Control,
        glance: GlanceStub,
        keystone: KeystoneStub,
        attached: Attached,
    ) -> None:
        self.nova = nova
        self.control = control
        self.glance = glance
        self.keystone = keystone
        self.network = NetworkStub(attached)
        self.volume = VolumeStub(attached)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            return self.control(environ, start_response)
        for prefix, stub in (
            ("/image", self.glance),
            ("/identity", self.keystone),
            ("/network", self.network),
            ("/volume", self.volume),
        ):
            if path == prefix or path.startswith(prefix + "/"):
                url = base_url(environ)
                _shift(environ, prefix)
                return stub(environ, start_response, url)
        return self.nova(environ, start_response)


class ApiRouter:
    """Nova's API, or Placement's under PLACEMENT_PREFIX.

    Placement sees its own paths (``/resource_providers``) with the
    prefix in SCRIPT_NAME, as behind a real proxy that serves it under
    ``/placement``.
    """

    def __init__(self, nova: WSGIApp, placement: WSGIApp) -> None:
        self.nova = nova
        self.placement = placement

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if service_of(environ.get("PATH_INFO", "")) == "placement":
            _shift(environ, PLACEMENT_PREFIX)
            return self.placement(environ, start_response)
        return self.nova(environ, start_response)
