"""The sandbox's control interface (``/_sandbox/...``, JSON, no auth).

Routes:

- ``GET  /_sandbox/computes``: ``[{"host": "compute01", "running": true}]``
- ``POST /_sandbox/computes`` ``{"host": "compute10"}``: start a new
  compute (or restart a stopped one); 201 with the compute.
- ``POST /_sandbox/computes/<host>/stop``: crash it (RPC consumer and
  heartbeat stop, as on a dead host; Nova sees it down after
  ``service_down_time``).
- ``POST /_sandbox/computes/<host>/start``: restart it; nova-compute's
  start-up cleans up evacuated instances.
- ``GET  /_sandbox/requests``: ``{"counts": {...}, "log": [...]}``.
- ``POST /_sandbox/requests/reset``: clear both.
- ``POST /_sandbox/shutdown``: clean shutdown (as SIGTERM).
- ``GET  /_sandbox/health``: ``{"ok": true}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from tests.sandbox.recorder import RequestRecorder
from tests.sandbox.wsgiutil import json_response, parse_json, read_body

# A host name Nova accepts and that is safe in a URL path segment.
_HOST = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class UnknownHost(LookupError):
    """No compute of that name was ever started."""


class Computes(Protocol):
    """What the control interface needs from the cloud (see cloud.py)."""

    def computes(self) -> list[dict[str, Any]]: ...

    def add_compute(self, host: str) -> dict[str, Any]: ...

    def stop_compute(self, host: str) -> dict[str, Any]: ...

    def start_compute(self, host: str) -> dict[str, Any]: ...


class Control:
    """WSGI handler for ``/_sandbox``."""

    def __init__(
        self,
        cloud: Computes,
        recorder: RequestRecorder,
        shutdown: Callable[[], None],
    ) -> None:
        self.cloud = cloud
        self.recorder = recorder
        self.shutdown = shutdown

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        parts = [p for p in environ.get("PATH_INFO", "").split("/") if p]
        # parts[0] is "_sandbox".
        route = parts[1:]
        try:
            status, body = self._dispatch(method, route, environ)
        except UnknownHost as exc:
            status, body = 404, {"error": f"unknown compute {exc}"}
        except ValueError as exc:
            status, body = 400, {"error": str(exc)}
        except Exception as exc:  # reported to the caller, not swallowed
            status, body = 500, {"error": f"{type(exc).__name__}: {exc}"}
        return json_response(start_response, status, body)

    def _dispatch(
        self, method: str, route: list[str], environ: dict[str, Any]
    ) -> tuple[int, Any]:
        match method, route:
            case "GET", ["health"]:
                return 200, {"ok": True}
            case "GET", ["computes"]:
                return 200, self.cloud.computes()
            case "POST", ["computes"]:
                body = parse_json(read_body(environ))
                host = body.get("host") if isinstance(body, dict) else None
                if not isinstance(host, str) or not _HOST.match(host):
                    raise ValueError('expected {"host": "<name>"}')
                return 201, self.cloud.add_compute(host)
            case "POST", ["computes", host, "stop"]:
                return 200, self.cloud.stop_compute(host)
            case "POST", ["computes", host, "start"]:
                return 200, self.cloud.start_compute(host)
            case "GET", ["requests"]:
                return 200, self.recorder.snapshot()
            case "POST", ["requests", "reset"]:
                self.recorder.reset()
                return 200, {"ok": True}
            case "POST", ["shutdown"]:
                self.shutdown()
                return 202, {"ok": True}
        return 404, {"error": f"no route {method} /_sandbox/{'/'.join(route)}"}
