"""Top-level WSGI app: one port for Nova, Placement, the image stand-in
and the control interface (Keystone has a port and process of its own:
identity.py).

- ``/_sandbox/...``: control interface (control.py)
- ``/image/...``: Glance v2 stand-in (stubs.py); ``/network/...`` and
  ``/volume/...``: Neutron's ports and Cinder's volumes (attached.py);
  each behind keystonemiddleware's auth_token
- everything else goes through the request recorder and the fault
  injector to ApiRouter: ``/placement/...`` to the Placement app the
  computes report to, the rest to Nova's stock osapi_compute app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tests.sandbox.control import Control
from tests.sandbox.recorder import RequestRecorder
from tests.sandbox.wsgiutil import PLACEMENT_PREFIX, service_of

WSGIApp = Callable[..., Iterable[bytes]]


def _shift(environ: dict[str, Any], prefix: str) -> None:
    environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + prefix
    environ["PATH_INFO"] = environ["PATH_INFO"][len(prefix) :]


class Router:
    def __init__(
        self,
        nova: RequestRecorder,
        control: Control,
        stubs: Mapping[str, WSGIApp],
    ) -> None:
        self.nova = nova
        self.control = control
        # Each stand-in by the prefix it is served under.
        self.stubs = dict(stubs)

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            return self.control(environ, start_response)
        for prefix, stub in self.stubs.items():
            if path == prefix or path.startswith(prefix + "/"):
                _shift(environ, prefix)
                return stub(environ, start_response)
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
