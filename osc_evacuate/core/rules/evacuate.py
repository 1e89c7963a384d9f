"""Nova's evacuate rules per microversion, as data.

One table says what each range of compute API microversions accepts and
does; request bodies, option checks and microversion choice are all derived
from it, so a new Nova rule is one new row.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core.errors import UsageError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import EvacuateOptions, TargetState

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EvacuateRule:
    first: Microversion
    last: Microversion | None  # None: still in force at the newest version
    requires_shared_storage: bool  # body must carry onSharedStorage
    host_validated: bool  # the scheduler checks a requested host
    accepts_force: bool  # body may carry force (skip that check)
    ends_stopped: bool  # Nova leaves evacuated servers STOPPED
    returns_admin_pass: bool  # the 200 carries {"adminPass": ...}

    def covers(self, version: Microversion) -> bool:
        if version < self.first:
            return False
        return self.last is None or version <= self.last


EVACUATE_RULES: tuple[EvacuateRule, ...] = (
    EvacuateRule(mv("2.1"), mv("2.13"), True, False, False, False, True),
    EvacuateRule(mv("2.14"), mv("2.28"), False, False, False, False, False),
    EvacuateRule(mv("2.29"), mv("2.67"), False, True, True, False, False),
    EvacuateRule(mv("2.68"), mv("2.94"), False, True, False, False, False),
    EvacuateRule(mv("2.95"), None, False, True, False, True, False),
)


def rule_for(version: Microversion) -> EvacuateRule:
    for rule in EVACUATE_RULES:
        if rule.covers(version):
            return rule
    raise UsageError(f"compute API microversion {version} is not supported")


@dataclasses.dataclass(frozen=True)
class Requirement:
    """An option that only some rows of the table can honour."""

    option: str  # as the user wrote it, e.g. "--force"
    holds: Callable[[EvacuateRule], bool]
    hint: str = ""

    def versions(self) -> str:
        """Where it holds, in words derived from the table."""
        rows = [r for r in EVACUATE_RULES if self.holds(r)]
        first, last = rows[0].first, rows[-1].last
        if first == EVACUATE_RULES[0].first:
            return f"{last} or earlier"
        if last is None:
            return f"{first} or later"
        return f"{first} to {last}"


def requirements(
    options: EvacuateOptions, host_option: str = "--host"
) -> list[Requirement]:
    needs: list[Requirement] = []
    if options.shared_storage:
        needs.append(
            Requirement("--shared-storage", _shared_storage_rule),
        )
    if options.host and not options.force:
        needs.append(Requirement(host_option, _host_validated_rule))
    if options.force:
        needs.append(Requirement("--force", _force_rule))
    if options.target_state is TargetState.PRESERVE:
        needs.append(
            Requirement(
                "--target-state preserve (the default)",
                _keeps_power_state_rule,
                hint=(
                    "; from 2.95 Nova stops every evacuated server: pass "
                    "--target-state stopped, or pin an earlier version"
                ),
            )
        )
    return needs


def _shared_storage_rule(rule: EvacuateRule) -> bool:
    return rule.requires_shared_storage


def _host_validated_rule(rule: EvacuateRule) -> bool:
    return rule.host_validated


def _force_rule(rule: EvacuateRule) -> bool:
    return rule.accepts_force


def _keeps_power_state_rule(rule: EvacuateRule) -> bool:
    return not rule.ends_stopped


def validate_options(options: EvacuateOptions, host_option: str) -> None:
    """Combinations Nova refuses at every microversion."""
    if options.force and not options.host:
        raise UsageError(f"--force requires {host_option}")
    if options.password and options.shared_storage:
        raise UsageError(
            "--password cannot be used with --shared-storage: the server "
            "keeps its disk, and so its password"
        )


def choose_microversion(
    options: EvacuateOptions,
    cloud: VersionRange,
    pinned: Microversion | None,
    host_option: str = "--host",
) -> Microversion:
    """The microversion to evacuate with, or a UsageError naming why not.

    A pinned version is honoured or refused, never changed. Otherwise the
    newest version that honours every option wins, taking 2.95 rather than
    anything newer because 2.95 is the behaviour this table describes.
    """
    validate_options(options, host_option)
    needs = requirements(options, host_option)
    why = ", ".join(f"{n.option} ({n.versions()})" for n in needs)
    if pinned is not None:
        version = _check_pinned(pinned, cloud, needs)
        LOG.debug(
            "microversion %s: pinned by --os-compute-api-version; "
            "it honours %s",
            version,
            why or "every option",
        )
        return version
    for rule in reversed(EVACUATE_RULES):
        candidate = min(rule.last or rule.first, cloud.maximum)
        if not rule.covers(candidate) or candidate not in cloud:
            continue
        if all(need.holds(rule) for need in needs):
            LOG.debug(
                "microversion %s: the newest this cloud (%s) accepts "
                "that honours %s",
                candidate,
                cloud,
                why or "every option",
            )
            return candidate
    wanted = "; ".join(f"{n.option} needs {n.versions()}" for n in needs)
    raise UsageError(
        f"no compute API microversion this cloud accepts ({cloud}) "
        f"honours these options: {wanted}"
    )


def _check_pinned(
    pinned: Microversion, cloud: VersionRange, needs: Sequence[Requirement]
) -> Microversion:
    if pinned not in cloud:
        raise UsageError(
            f"--os-compute-api-version {pinned} is not supported by this "
            f"cloud, which accepts {cloud}"
        )
    rule = rule_for(pinned)
    for need in needs:
        if not need.holds(rule):
            raise UsageError(
                f"{need.option} requires --os-compute-api-version "
                f"{need.versions()} (pinned: {pinned}){need.hint}"
            )
    return pinned


def evacuate_body(
    version: Microversion, options: EvacuateOptions
) -> dict[str, object]:
    """The body of POST /servers/{id}/action {"evacuate": body}."""
    rule = rule_for(version)
    body: dict[str, object] = {}
    if options.host:
        body["host"] = options.host
    if rule.requires_shared_storage:
        body["onSharedStorage"] = options.shared_storage
    elif options.shared_storage:
        raise UsageError(
            f"--shared-storage is not accepted at {version}: Nova detects "
            "shared storage itself from 2.14"
        )
    if options.password:
        body["adminPass"] = options.password
    if options.force:
        if not rule.accepts_force:
            raise UsageError(f"--force is not accepted at {version}")
        body["force"] = True
    return body


# Servers show their tags, and take tag filters, from 2.26.
TAGS = mv("2.26")


def require_tags(cloud: VersionRange) -> None:
    if cloud.maximum < TAGS:
        raise UsageError(
            f"--tag and --exclude-tag need compute API microversion {TAGS} "
            f"or later; this cloud accepts {cloud}"
        )


# -- The compute service: forcing it down, disabling it (os-services) --


@dataclasses.dataclass(frozen=True)
class ServiceRule:
    first: Microversion
    last: Microversion | None
    by_id: bool  # PUT /os-services/{id}; before, an action per change

    def covers(self, version: Microversion) -> bool:
        return self.first <= version and (
            self.last is None or version <= self.last
        )


SERVICE_RULES: tuple[ServiceRule, ...] = (
    # forced_down exists from 2.11: PUT /os-services/force-down, and
    # disable-log-reason for a reason.
    ServiceRule(mv("2.11"), mv("2.52"), False),
    # From 2.53 services are addressed by UUID, one PUT for every change.
    ServiceRule(mv("2.53"), None, True),
)
BINARY = "nova-compute"


@dataclasses.dataclass(frozen=True)
class ServiceRequest:
    method: str
    path: str
    body: dict[str, object]


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
