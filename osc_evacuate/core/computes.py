"""The compute services: read (saying what a 403 means), and found by the
exact name of their host, never a substring (nova host-evacuate matched
compute1 in compute10)."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence

from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import ComputeAPIError, NotFound, Refused
from osc_evacuate.core.models import ComputeService

LOG = logging.getLogger(__name__)


def find_compute_service(
    services: Sequence[ComputeService], host: str
) -> ComputeService:
    """The nova-compute service of exactly this host. Pure."""
    exact = [s for s in services if s.host == host]
    if exact:
        return exact[0]
    hosts = sorted({s.host for s in services})
    close = difflib.get_close_matches(host, hosts, n=3, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    raise NotFound(f"No nova-compute service on host '{host}'.{hint}")


def read_services(api: ComputeAPI, host: str | None) -> list[ComputeService]:
    """The compute services, read before anything is sent: Nova's first
    admin-only answer, so the place to say what a 403 means."""
    try:
        return api.compute_services(host)
    except ComputeAPIError as exc:
        if exc.status != 403:
            raise
        raise Refused(
            f"{exc}: evacuation needs an admin (Nova's policies "
            "os_compute_api:os-evacuate and os-services); use admin "
            "credentials"
        ) from exc
