"""Whether an idle evacuation's destination is up: the destination watch.

One read of the compute services, only once some row has been idle
DEST_CHECK_AFTER seconds, and at most every DEST_CHECK_EVERY seconds: not
a request per poll. A destination forced down is dead (the operator says
so); one Nova reads down by its heartbeat alone may be busy and a beat
late, so it is dead only when a read DEST_CHECK_EVERY later still finds it
down.
"""

from __future__ import annotations

import logging
from collections.abc import Set

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import ComputeService

LOG = logging.getLogger(__name__)

# Idle seconds before asking whether a row's destination is up, and the
# least time between two such asks.
DEST_CHECK_AFTER = 30.0
DEST_CHECK_EVERY = 30.0


class DestinationWatch:
    def __init__(self, api: ComputeAPI) -> None:
        self.api = api
        self._read_at: float | None = None
        # Destinations read down by their heartbeat: when first so.
        self._silent_since: dict[str, float] = {}

    def check(self, idle: Set[str], now: float) -> dict[str, bool]:
        """Whether each destination of an idle evacuation is up; empty
        when not read this poll (none idle, or read too recently)."""
        if not idle:
            return {}
        last = self._read_at
        if last is not None and now - last < DEST_CHECK_EVERY:
            return {}
        self._read_at = now
        try:
            services = self.api.compute_services()
        except ComputeAPIError as exc:
            LOG.debug("destinations %s: not known (%s)", sorted(idle), exc)
            return {}
        up = {
            s.host: judged
            for s in services
            if s.host in idle and (judged := self._judge(s, now)) is not None
        }
        LOG.debug("idle evacuations' destinations up: %s", up)
        return up

    def _judge(self, service: ComputeService, now: float) -> bool | None:
        """Up, down, or None: read down by its heartbeat for the first
        time, and so not known yet."""
        if service.is_up:
            self._silent_since.pop(service.host, None)
            return True
        if service.forced_down:
            return False
        first = self._silent_since.setdefault(service.host, now)
        if now - first >= DEST_CHECK_EVERY:
            return False
        LOG.debug(
            "%s reads down by its heartbeat: asked again in %.0f s before "
            "its evacuations are called stuck",
            service.host,
            DEST_CHECK_EVERY,
        )
        return None
