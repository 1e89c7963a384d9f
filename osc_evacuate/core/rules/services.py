"""Nova's rules for changing a compute service (os-services), as data:
forcing it down, disabling it with a reason, enabling it again.

From 2.11 a service can be forced down, by an action per change; from
2.53 a service is addressed by its UUID, one PUT for every change.
"""

from __future__ import annotations

import dataclasses
import logging

from osc_evacuate.core.errors import UsageError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import ServiceRequest

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServiceRule:
    first: Microversion
    last: Microversion | None = None
    by_id: bool = False  # PUT /os-services/{id}; before, a PUT per change

    def covers(self, version: Microversion) -> bool:
        return self.first <= version and (
            self.last is None or version <= self.last
        )


SERVICE_RULES: tuple[ServiceRule, ...] = (
    # forced_down exists from 2.11: PUT /os-services/force-down, and
    # disable-log-reason for a reason.
    ServiceRule(first=mv("2.11"), last=mv("2.52")),
    # From 2.53 services are addressed by UUID, one PUT for every change.
    ServiceRule(first=mv("2.53"), by_id=True),
)
BINARY = "nova-compute"


def service_version(cloud: VersionRange) -> Microversion:
    """The microversion to change a compute service at: the first of the
    newest rule this cloud accepts, or a UsageError."""
    for rule in reversed(SERVICE_RULES):
        if rule.first in cloud:
            LOG.debug("compute service changes at %s", rule.first)
            return rule.first
    raise UsageError(
        f"--force-down needs compute API microversion "
        f"{SERVICE_RULES[0].first} or later; this cloud accepts {cloud}"
    )


def service_requests(
    version: Microversion,
    service_id: str,
    host: str,
    *,
    forced_down: bool | None = None,
    disabled_reason: str | None = None,
    enable: bool = False,
) -> list[ServiceRequest]:
    """The requests that set forced_down, and disable the service with a
    reason (or enable it), at version."""
    rule = next((r for r in SERVICE_RULES if r.covers(version)), None)
    if rule is None:
        raise UsageError(
            f"compute services cannot be forced down at {version}"
        )
    if rule.by_id:
        body: dict[str, object] = {}
        if forced_down is not None:
            body["forced_down"] = forced_down
        if disabled_reason is not None:
            body.update(status="disabled", disabled_reason=disabled_reason)
        elif enable:
            body["status"] = "enabled"
        if not body:
            return []
        return [ServiceRequest("PUT", f"/os-services/{service_id}", body)]
    which: dict[str, object] = {"host": host, "binary": BINARY}
    out = []
    if forced_down is not None:
        out.append(
            ServiceRequest(
                "PUT",
                "/os-services/force-down",
                {**which, "forced_down": forced_down},
            )
        )
    if disabled_reason is not None:
        out.append(
            ServiceRequest(
                "PUT",
                "/os-services/disable-log-reason",
                {**which, "disabled_reason": disabled_reason},
            )
        )
    elif enable:
        out.append(ServiceRequest("PUT", "/os-services/enable", which))
    return out
