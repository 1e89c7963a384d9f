"""Faults the sandbox injects into its Nova API and its fake hypervisor.

The plugin promises never to evacuate a server twice, never to report
what Nova's records do not prove, and never to hang. Tests can show that
only against a cloud that fails the way real ones do: an API that answers
500 or 503, an answer lost by a proxy after Nova acted, a slow API, a
destination that is slow to spawn or dies while spawning. This module
applies those faults (the rules: fault_rules.py); control.py exposes them
under ``/_sandbox/faults``.

Rules are matched, in the order they were added, against every request
that reaches the Nova API, or the Placement API for a rule whose
``service`` is ``placement`` (after the request recorder, so a faulted
request is still logged, with the fault that applied). The first rule
that matches and has a count left applies; a request gets one fault at
most. A rule does one or more of:

- ``error``: answer this status without reaching Nova, with the body
  Nova would send (``{"computeFault": {"code": 500, ...}}``; Placement's
  ``{"errors": [...]}`` for Placement; 401 as keystonemiddleware's
  auth_token sends it), or ``"drop"``: close the connection with no
  answer, Nova never sees the request;
- ``lost``: let Nova do the work, then lose its answer: a proxy's 502 or
  504, or ``"drop"`` (the connection closes with no answer);
- ``delay``: wait that many seconds before the request goes on.

No nova import: plain WSGI. It runs inside the sandbox's eventlet process,
where ``time.sleep`` is eventlet's, so a delay holds only its request.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from tests.sandbox.fault_rules import DROP, FaultRules
from tests.sandbox.recorder import RECORD_KEY
from tests.sandbox.wsgiutil import (
    json_response,
    parse_json,
    read_body,
    service_of,
)

LOG = logging.getLogger("sandbox.faults")

WSGIApp = Callable[..., Iterable[bytes]]
StartResponse = Callable[..., Any]

# How often a delayed request or spawn looks whether it was released.
POLL_INTERVAL = 0.1

# nova.api.openstack.wsgi.Fault._fault_names: the key of Nova's error
# body for each status ("computeFault" for the rest).
NOVA_FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}

# What Nova's API says when a method raised something unexpected.
NOVA_500_MESSAGE = (
    "Unexpected API Error. Please report this at "
    "http://bugs.launchpad.net/nova/ and attach the Nova API log if "
    "possible.\n<class 'tests.sandbox.faults.InjectedFault'>"
)

# keystonemiddleware's auth_token, when it rejects a token.
KEYSTONE_401_MESSAGE = "The request you have made requires authentication."

# What HAProxy sends when the backend failed or timed out.
PROXY_BODIES = {
    502: "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an "
    "invalid or incomplete response.\n</body></html>\n",
    504: "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't "
    "respond in time.\n</body></html>\n",
}


class SpawnDelays:
    """How long the fake hypervisor takes to spawn: for every compute,
    and per compute (which wins over the former, even at 0)."""

    def __init__(self) -> None:
        self._all = 0.0
        self._hosts: dict[str, float] = {}

    def set(self, seconds: float, host: str | None = None) -> None:
        if host is None:
            self._all = seconds
        else:
            self._hosts[host] = seconds
        LOG.info(
            "sandbox: spawns on %s take %.1f s more",
            host or "every host",
            seconds,
        )

    def seconds_for(self, host: str) -> float:
        return self._hosts.get(host, self._all)

    def clear(self) -> None:
        self._all = 0.0
        self._hosts.clear()

    def snapshot(self) -> dict[str, Any]:
        return {"seconds": self._all, "hosts": dict(self._hosts)}


def sleep_until(
    deadline: Callable[[], float], cancelled: Callable[[], bool]
) -> bool:
    """Sleep until ``deadline()`` (time.monotonic), which may move while
    we sleep; False as soon as ``cancelled()`` is true."""
    while not cancelled():
        left = deadline() - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, POLL_INTERVAL))
    return False


def drop_connection() -> Iterable[bytes]:
    """Close the client's connection without a byte of answer.

    eventlet.wsgi's hook for applications that took the socket over
    (websockets): with ``already_handled`` set and start_response never
    called, the server writes nothing and closes the connection. The
    client sees "connection closed without response".
    """
    # Imported here: only the sandbox process (eventlet) ever drops.
    import eventlet.wsgi

    eventlet.wsgi.WSGI_LOCAL.already_handled = True
    return []


def run_and_discard(app: WSGIApp, environ: dict[str, Any]) -> int | None:
    """Let the app do the whole request and throw its answer away; the
    status it answered (None if it never did)."""
    statuses: list[int] = []

    def capture(
        status: str, headers: list[tuple[str, str]], *exc_info: Any
    ) -> Callable[[bytes], None]:
        statuses.append(int(status.split(" ", 1)[0]))
        return lambda data: None

    result = app(environ, capture)
    try:
        for _chunk in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if callable(close):
            close()
    return statuses[-1] if statuses else None


def error_answer(
    environ: dict[str, Any],
    start_response: StartResponse,
    status: int,
    message: str | None,
    identity_url: str = "",
) -> Iterable[bytes]:
    """The answer Nova's API (Placement's for a Placement path, or
    auth_token for 401, naming Keystone at ``identity_url``) gives with
    that status, with a fresh request id as their middleware adds it."""
    request_id = f"req-{uuid.uuid4()}"
    headers = [("x-openstack-request-id", request_id)]
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    placement = service_of(path) == "placement"
    if not placement:
        headers.append(("x-compute-request-id", request_id))
    default = (
        NOVA_500_MESSAGE
        if status == 500 and not placement
        else f"Injected by the sandbox (HTTP {status})."
    )
    body: dict[str, Any]
    if status == 401:
        body = {
            "error": {
                "code": 401,
                "title": "Unauthorized",
                "message": message or KEYSTONE_401_MESSAGE,
            }
        }
        headers.append(
            (
                "WWW-Authenticate",
                f'Keystone uri="{identity_url}"',
            )
        )
    elif placement:
        # placement.util.json_error_formatter's shape.
        body = {
            "errors": [
                {
                    "status": status,
                    "title": HTTPStatus(status).phrase,
                    "detail": message or default,
                    "request_id": request_id,
                    "code": "placement.undefined_code",
                }
            ]
        }
    else:
        name = NOVA_FAULT_NAMES.get(status, "computeFault")
        body = {name: {"code": status, "message": message or default}}
    return json_response(start_response, status, body, headers)


def proxy_answer(
    start_response: StartResponse, status: int
) -> Iterable[bytes]:
    """A proxy's own error page: 502 or 504, text/html."""
    data = PROXY_BODIES[status].encode()
    phrase = "Bad Gateway" if status == 502 else "Gateway Time-out"
    start_response(
        f"{status} {phrase}",
        [
            ("Content-Type", "text/html"),
            ("Content-Length", str(len(data))),
            ("Cache-Control", "no-cache"),
        ],
    )
    return [data]


class FaultInjector:
    """WSGI middleware between the request recorder and the Nova and
    Placement APIs."""

    def __init__(
        self, app: WSGIApp, rules: FaultRules, identity_url: str = ""
    ) -> None:
        self.app = app
        self.rules = rules
        # Where a 401's WWW-Authenticate sends the client (Keystone).
        self.identity_url = identity_url

    def __call__(
        self, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        rule = self.rules.take(
            method,
            path,
            environ.get("QUERY_STRING", ""),
            parse_json(read_body(environ)),
        )
        if rule is None:
            return self.app(environ, start_response)
        applied = rule.applied()
        record = environ.get(RECORD_KEY)
        if isinstance(record, dict):
            record["fault"] = applied
        LOG.info("sandbox: fault %s on %s %s", applied, method, path)

        if rule.delay:
            started = time.monotonic()
            if not sleep_until(
                lambda: started + rule.delay, lambda: not rule.live
            ):
                # Reset or removed while waiting: the fault is over, and
                # the request goes on as if it never was.
                applied["released"] = True
                return self.app(environ, start_response)
        if rule.error == DROP:
            return drop_connection()
        if rule.error is not None:
            return error_answer(
                environ,
                start_response,
                rule.error,
                rule.message,
                self.identity_url,
            )
        if rule.lost is not None:
            applied["nova_status"] = run_and_discard(self.app, environ)
            if rule.lost == DROP:
                return drop_connection()
            return proxy_answer(start_response, rule.lost)
        return self.app(environ, start_response)
