"""Faults the sandbox injects into its Nova API and its fake hypervisor.

The plugin promises never to evacuate a server twice, never to report
what Nova's records do not prove, and never to hang. Tests can show that
only against a cloud that fails the way real ones do: an API that answers
500 or 503, an answer lost by a proxy after Nova acted, a slow API, a
destination that is slow to spawn or dies while spawning. This module
holds those faults; control.py exposes them under ``/_sandbox/faults``.

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

import itertools
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

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
Drop = Literal["drop"]
DROP: Drop = "drop"

# How often a delayed request or spawn looks whether it was released.
POLL_INTERVAL = 0.1

# Longest delay a rule or a slow spawn may ask for, in seconds.
MAX_DELAY = 3600.0

# Statuses a proxy answers when the service behind it failed it.
LOST_STATUSES = (502, 504)

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

# Statuses with a reason phrase (json_response needs one).
_KNOWN_STATUSES = frozenset(int(status) for status in HTTPStatus)

# The APIs a rule can apply to (wsgiutil.service_of).
SERVICES = ("compute", "placement")

_RULE_FIELDS = frozenset(
    (
        "service",
        "method",
        "path",
        "query",
        "body_key",
        "count",
        "skip",
        "error",
        "lost",
        "delay",
        "message",
    )
)


class UnknownFault(LookupError):
    """No fault rule has that id (never added, removed, or reset)."""


@dataclass
class FaultRule:
    """Which requests to fault, how, and how many so far."""

    id: int
    service: str = "compute"
    method: str | None = None
    path: str | None = None
    query: str | None = None
    body_key: str | None = None
    count: int | None = 1
    skip: int = 0
    error: int | Drop | None = None
    lost: int | Drop | None = None
    delay: float = 0.0
    message: str | None = None
    # Matching requests seen while the rule had a count left, and how
    # many of them were faulted.
    seen: int = 0
    hits: int = 0
    # False once removed or reset: a delayed request goes on at once.
    live: bool = True
    _path_re: re.Pattern[str] | None = field(default=None, repr=False)
    _query_re: re.Pattern[str] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self._path_re = _compile("path", self.path)
        self._query_re = _compile("query", self.query)

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.hits >= self.count

    def matches(self, method: str, path: str, query: str, body: Any) -> bool:
        if service_of(path) != self.service:
            return False
        if self.method is not None and method != self.method:
            return False
        if self._path_re is not None and not self._path_re.search(path):
            return False
        if self._query_re is not None and not self._query_re.search(query):
            return False
        if self.body_key is not None:
            return isinstance(body, dict) and self.body_key in body
        return True

    def to_dict(self) -> dict[str, Any]:
        """The rule as the control interface shows it."""
        return {
            "id": self.id,
            "service": self.service,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "body_key": self.body_key,
            "count": self.count,
            "skip": self.skip,
            "error": self.error,
            "lost": self.lost,
            "delay": self.delay,
            "message": self.message,
            "seen": self.seen,
            "hits": self.hits,
            "exhausted": self.exhausted,
        }

    def applied(self) -> dict[str, Any]:
        """What the request log records for a request this rule faulted."""
        out: dict[str, Any] = {"rule": self.id}
        if self.delay:
            out["delay"] = self.delay
        if self.error is not None:
            out["error"] = self.error
        if self.lost is not None:
            out["lost"] = self.lost
        return out


def _compile(name: str, pattern: str | None) -> re.Pattern[str] | None:
    if pattern is None:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"{name}: not a regular expression: {exc}") from None


def _optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ValueError(f"{key}: expected a non-empty string")
    return value


def _int(value: Any, key: str, low: int) -> int:
    # bool is an int to Python, never to a caller of this API.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{key}: expected an integer")
    if value < low:
        raise ValueError(f"{key}: {value} is below {low}")
    return value


def _status_or_drop(
    value: Any, key: str, allowed: Callable[[int], bool], what: str
) -> int | Drop | None:
    if value is None:
        return None
    if value == DROP:
        return DROP
    if (
        isinstance(value, int)
        and not isinstance(value, bool)
        and allowed(value)
    ):
        return value
    raise ValueError(f'{key}: expected {what} or "drop", not {value!r}')


def parse_rule(body: Any, rule_id: int) -> FaultRule:
    """A FaultRule from a ``POST /_sandbox/faults`` body; ValueError with
    the reason if the body is not a valid rule."""
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(body) - _RULE_FIELDS)
    if unknown:
        raise ValueError(f"unknown fields: {', '.join(unknown)}")
    service = body.get("service", "compute")
    if service not in SERVICES:
        raise ValueError(
            f"service: expected one of {', '.join(SERVICES)}, not {service!r}"
        )
    method = _optional_str(body, "method")
    count = body.get("count", 1)
    if count is not None:
        count = _int(count, "count", 1)
    delay = body.get("delay", 0)
    if (
        not isinstance(delay, int | float)
        or isinstance(delay, bool)
        or not 0 <= delay <= MAX_DELAY
    ):
        raise ValueError(f"delay: expected seconds in 0..{MAX_DELAY:g}")
    error = _status_or_drop(
        body.get("error"),
        "error",
        lambda s: 400 <= s <= 599 and s in _KNOWN_STATUSES,
        "an HTTP error status",
    )
    lost = _status_or_drop(
        body.get("lost"),
        "lost",
        lambda s: s in LOST_STATUSES,
        " or ".join(str(s) for s in LOST_STATUSES),
    )
    if error is not None and lost is not None:
        raise ValueError("error and lost exclude each other")
    if error is None and lost is None and not delay:
        raise ValueError("a rule needs error, lost or delay")
    message = _optional_str(body, "message")
    if message is not None and not isinstance(error, int):
        raise ValueError("message goes with an error status")
    return FaultRule(
        id=rule_id,
        service=service,
        method=method.upper() if method else None,
        path=_optional_str(body, "path"),
        query=_optional_str(body, "query"),
        body_key=_optional_str(body, "body_key"),
        count=count,
        skip=_int(body.get("skip", 0), "skip", 0),
        error=error,
        lost=lost,
        delay=float(delay),
        message=message,
    )


class FaultRules:
    """The rules in force, in the order they were added."""

    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        # Matching and counting must not interleave between requests.
        self._lock = threading.Lock()

    def add(self, body: Any) -> FaultRule:
        rule = parse_rule(body, next(self._ids))
        with self._lock:
            self._rules.append(rule)
        LOG.info("sandbox: fault rule added: %s", rule.to_dict())
        return rule

    def remove(self, rule_id: int) -> FaultRule:
        with self._lock:
            for rule in self._rules:
                if rule.id == rule_id:
                    self._rules.remove(rule)
                    rule.live = False
                    LOG.info("sandbox: fault rule %d removed", rule_id)
                    return rule
        raise UnknownFault(rule_id)

    def clear(self) -> None:
        with self._lock:
            cleared = len(self._rules)
            for rule in self._rules:
                rule.live = False
            self._rules.clear()
        if cleared:
            LOG.info("sandbox: %d fault rules cleared", cleared)

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def take(
        self, method: str, path: str, query: str, body: Any
    ) -> FaultRule | None:
        """The rule that faults this request, counted as a hit; None if
        the request goes to Nova untouched."""
        with self._lock:
            for rule in self._rules:
                if rule.exhausted or not rule.matches(
                    method, path, query, body
                ):
                    continue
                rule.seen += 1
                if rule.seen <= rule.skip:
                    # Skipped by this rule; a later rule may still fault it.
                    continue
                rule.hits += 1
                return rule
        return None


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
