"""Bounded retries of transient compute API errors (models.RetryPolicy
says how many, after which pauses)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from osc_evacuate.core.clock import Clock
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import RetryPolicy

T = TypeVar("T")
LOG = logging.getLogger(__name__)


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
