"""Records every request that reaches the Nova or Placement API, or one of
the stand-ins for Glance, Neutron and Cinder (``/image``, ``/network``,
``/volume``: router.py).

The plugin's tests read this through ``GET /_sandbox/requests`` to check
what the CLI really sent (the evacuate body at each microversion, how many
list calls a command made). The recorder sits in front of the fault
injector (faults.py), so a faulted request is recorded too: its entry's
``fault`` says which fault applied (None for the others).

Placement's requests are those whose path starts with ``/placement``
(``GET /placement/resource_providers``); the computes' own calls to
Placement never cross HTTP and are not recorded.

Each entry also says when the request arrived (``at``: time.monotonic(),
the system's monotonic clock, which a benchmark in another process on
this machine reads too), how long the answer took (``seconds``, until its
last chunk was ready to send, to 0.1 ms) and how many bytes its body had
(``bytes``), counted as the server sends them, and the request id of
the answer (``request_id``, Nova's ``x-openstack-request-id``).

A JSON answer to a GET also lists what it held (``items``): each server,
migration or other object, as ``[kind, id, digest]`` (the digest, of its
JSON, changes whenever any of its fields does). The benchmark tells from
these whether a poll read what changed since the client's last read, or
what it had seen already.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tests.sandbox.wsgiutil import parse_json, read_body

WSGIApp = Callable[..., Iterable[bytes]]

_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}"
)

# Bounded so a long session with thousands of requests stays small.
MAX_LOG = 20000

# Where the entry for the request in progress is left in the WSGI
# environ, for the fault injector to say what it did.
RECORD_KEY = "sandbox.record"


def path_key(method: str, path: str) -> str:
    """``GET /v2.1/servers/<uuid>`` becomes ``GET /v2.1/servers/{id}``."""
    return f"{method} {_UUID.sub('{id}', path)}"


def microversion(environ: dict[str, Any]) -> str | None:
    """The requested microversion, without the service name.

    ``OpenStack-API-Version: compute 2.95`` and
    ``X-OpenStack-Nova-API-Version: 2.95`` both give ``"2.95"``;
    ``OpenStack-API-Version: placement 1.39`` gives ``"1.39"``.
    """
    value = str(environ.get("HTTP_OPENSTACK_API_VERSION") or "").strip()
    if value:
        parts = value.split()
        if len(parts) == 2 and parts[0].lower() in ("compute", "placement"):
            return parts[1]
        return value
    legacy = str(environ.get("HTTP_X_OPENSTACK_NOVA_API_VERSION") or "")
    return legacy.strip() or None


class RequestRecorder:
    """WSGI middleware counting and logging requests to the wrapped app."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.counts: collections.Counter[str] = collections.Counter()
        self.log: collections.deque[dict[str, Any]] = collections.deque(
            maxlen=MAX_LOG
        )

    def reset(self) -> None:
        self.counts.clear()
        self.log.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "log": list(self.log)}

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return self.record(self.app, environ, start_response)

    def recording(self, app: WSGIApp) -> WSGIApp:
        """app, its requests recorded in this log too."""
        return functools.partial(self.record, app)

    def record(
        self,
        app: WSGIApp,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "query": environ.get("QUERY_STRING", ""),
            "microversion": microversion(environ),
            "status": None,
            "body": parse_json(read_body(environ)),
            "fault": None,
            "at": time.monotonic(),
            "seconds": None,
            "bytes": 0,
            "items": None,
            # Nova's x-openstack-request-id of its answer: what its own
            # logs name the request by.
            "request_id": None,
        }
        environ[RECORD_KEY] = entry
        # Counted on arrival so a request that hangs still shows up.
        self.counts[path_key(method, path)] += 1
        self.log.append(entry)

        def recording_start_response(
            status: str, headers: list[tuple[str, str]], *exc: Any
        ) -> Any:
            entry["status"] = int(status.split(" ", 1)[0])
            entry["request_id"] = next(
                (
                    v
                    for k, v in headers
                    if k.lower() == "x-openstack-request-id"
                ),
                None,
            )
            return start_response(status, headers, *exc)

        return _counted(app(environ, recording_start_response), entry)


def items_of(body: bytes) -> list[list[str]] | None:
    """What a JSON answer held: ``[kind, id, digest]`` for each object in
    its top-level lists (``{"servers": [...]}``) or for its one object
    (``{"server": {...}}``); None for an answer that is not JSON."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    found: list[list[str]] = []
    for key, value in sorted(document.items()):
        members = value if isinstance(value, list) else [value]
        kind = (
            key[:-1] if isinstance(value, list) and key.endswith("s") else key
        )
        for member in members:
            if isinstance(member, dict) and "id" in member:
                digest = hashlib.sha1(
                    json.dumps(member, sort_keys=True).encode()
                ).hexdigest()[:12]
                found.append([kind, str(member["id"]), digest])
    return found


def _counted(body: Iterable[bytes], entry: dict[str, Any]) -> Iterator[bytes]:
    """The body, as it is sent, counting its bytes and the time the answer
    took: until its last chunk was ready to send.

    The clock is read before each chunk is handed to the server, never
    after: the server may write the last chunk before it asks for more, so a
    client may already hold the whole answer by the time this generator
    resumes. Read then, a duration could end after the client's own clock
    says the answer arrived (it did, under load, in CI)."""
    ready: float | None = None
    kept: list[bytes] | None = [] if entry["method"] == "GET" else None
    try:
        for chunk in body:
            entry["bytes"] += len(chunk)
            if kept is not None:
                kept.append(chunk)
            ready = time.monotonic()
            yield chunk
        if ready is None:
            # No body: eventlet writes the headers only after this returns.
            ready = time.monotonic()
        if kept and entry["status"] == 200:
            # After the answer was timed: parsing it is not Nova's time.
            entry["items"] = items_of(b"".join(kept))
    finally:
        end = time.monotonic() if ready is None else ready
        entry["seconds"] = round(end - entry["at"], 4)
        close = getattr(body, "close", None)
        if close is not None:
            close()
