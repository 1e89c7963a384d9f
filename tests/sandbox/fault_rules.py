"""The sandbox's fault rules (faults.py): what a rule asks for, as the
control interface takes it (``POST /_sandbox/faults``), and the rules in
force, matched in the order they were added. No nova import.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from tests.sandbox.wsgiutil import service_of

LOG = logging.getLogger("sandbox.faults")

Drop = Literal["drop"]
DROP: Drop = "drop"

# Longest delay a rule or a slow spawn may ask for, in seconds.
MAX_DELAY = 3600.0

# Statuses a proxy answers when the service behind it failed it.
LOST_STATUSES = (502, 504)

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
