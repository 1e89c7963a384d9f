"""Bounded retries of transient compute API errors."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import TypeVar

from osc_evacuate.core.clock import Clock
from osc_evacuate.core.errors import ComputeAPIError

T = TypeVar("T")
LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    first_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 8.0

    def delays(self) -> list[float]:
        """Pauses between attempts: attempts - 1 of them."""
        delay, out = self.first_delay, []
        for _ in range(self.attempts - 1):
            out.append(min(delay, self.max_delay))
            delay *= self.factor
        return out


def retrying(
    call: Callable[[], T],
    clock: Clock,
    policy: RetryPolicy,
    transient: Callable[[ComputeAPIError], bool] = lambda e: e.transient,
) -> T:
    """call(), again after a pause while it fails transiently."""
    for delay in policy.delays():
        try:
            return call()
        except ComputeAPIError as exc:
            if not transient(exc):
                raise
            LOG.debug("retrying in %.1f s after: %s", delay, exc)
        clock.sleep(delay)
    return call()
