"""Small WSGI helpers shared by the sandbox's own endpoints."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

StartResponse = Callable[..., Any]


def json_response(
    start_response: StartResponse,
    status: int,
    body: Any,
    headers: Iterable[tuple[str, str]] = (),
) -> Iterable[bytes]:
    """Send ``body`` as JSON with the given status code and headers."""
    data = json.dumps(body).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            *headers,
        ],
    )
    return [data]


def base_url(environ: dict[str, Any]) -> str:
    """The URL clients used to reach us, e.g. ``http://127.0.0.1:4242``."""
    host = environ.get("HTTP_HOST") or (
        f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    )
    return f"{environ.get('wsgi.url_scheme', 'http')}://{host}"


def read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back for the next reader."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    data: bytes
    if length > 0:
        data = environ["wsgi.input"].read(length)
    elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
        data = environ["wsgi.input"].read()
        environ["CONTENT_LENGTH"] = str(len(data))
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(data)
    return data


def parse_json(data: bytes) -> Any:
    """The parsed JSON document, or None if ``data`` is empty or not JSON."""
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return None


# Where the sandbox serves Placement's API on its one port.
PLACEMENT_PREFIX = "/placement"


def service_of(path: str) -> str:
    """``"placement"`` for a path under PLACEMENT_PREFIX, else
    ``"compute"`` (Nova's API)."""
    if path == PLACEMENT_PREFIX or path.startswith(PLACEMENT_PREFIX + "/"):
        return "placement"
    return "compute"
