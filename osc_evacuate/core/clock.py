"""Time, injectable so that waiting and backoff are testable; and Nova's.

Two clocks, never mixed: the local monotonic clock measures what this run
waits (pauses, timeouts, how long a row has shown no progress), and Nova's
clock, read from the Date header of its answers, dates what Nova records
(changes-since, the age of an evacuation record). The local wall clock is
neither: a client ten minutes off must see the same as one on time.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from osc_evacuate.core import defaults

LOG = logging.getLogger(__name__)

# How far clocks of Nova's hosts may differ, and how far each poll's window
# reaches back before the last (defaults.py says why).
CLOCK_SKEW = datetime.timedelta(seconds=defaults.CLOCK_SKEW)
POLL_OVERLAP = datetime.timedelta(seconds=defaults.POLL_OVERLAP)


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class NovaClock:
    """Nova's time now: its latest answer's Date plus the local monotonic
    time elapsed since that answer came.

    A Date has whole seconds, rounded down: the time told is up to a second
    early, which errs on the side of a wider changes-since window.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic):
        self._monotonic = monotonic
        self._lock = threading.Lock()  # submission threads answer too
        self._reading: tuple[datetime.datetime, float] | None = None

    def observe(self, date_header: str | None) -> None:
        """Note the Date header of an answer just received."""
        if not date_header:
            return
        try:
            told = email.utils.parsedate_to_datetime(date_header)
        except (TypeError, ValueError):
            LOG.debug(
                "ignoring a Date header that is no date: %r", date_header
            )
            return
        if told.tzinfo is not None:
            told = told.astimezone(datetime.UTC).replace(tzinfo=None)
        with self._lock:
            self._reading = (told, self._monotonic())

    def now(self) -> datetime.datetime | None:
        """Nova's time now; None until an answer carried a Date."""
        with self._lock:
            reading = self._reading
        if reading is None:
            return None
        told, at = reading
        return told + datetime.timedelta(seconds=self._monotonic() - at)


def parse_nova_time(text: str) -> datetime.datetime:
    """Nova's timestamps ("2026-11-22T04:01:02.000000", maybe with a Z or
    an offset) as naive UTC, so that they compare."""
    value = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def nova_time(value: datetime.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")
