"""Nova's evacuate rules per microversion, as data.

One table says what each range of compute API microversions accepts and
does; request bodies, option checks and microversion choice are all derived
from it, so a new Nova rule is one new row. Each row names only what holds
in its range: a fact left out is false there.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence

from osc_evacuate.core.errors import UsageError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import EvacuateOptions, TargetState

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvacuateRule:
    first: Microversion
    last: Microversion | None = None  # None: in force at the newest version
    requires_shared_storage: bool = False  # body carries onSharedStorage
    host_validated: bool = False  # the scheduler checks a requested host
    accepts_force: bool = False  # body may carry force (skip that check)
    ends_stopped: bool = False  # Nova leaves evacuated servers STOPPED
    returns_admin_pass: bool = False  # the 200 carries {"adminPass": ...}

    def covers(self, version: Microversion) -> bool:
        if version < self.first:
            return False
        return self.last is None or version <= self.last


EVACUATE_RULES: tuple[EvacuateRule, ...] = (
    # A host given is forced: the scheduler is not asked.
    EvacuateRule(
        first=mv("2.1"),
        last=mv("2.13"),
        requires_shared_storage=True,
        returns_admin_pass=True,
    ),
    # Nova finds shared storage itself.
    EvacuateRule(first=mv("2.14"), last=mv("2.28")),
    EvacuateRule(
        first=mv("2.29"),
        last=mv("2.67"),
        host_validated=True,
        accepts_force=True,
    ),
    EvacuateRule(first=mv("2.68"), last=mv("2.94"), host_validated=True),
    EvacuateRule(first=mv("2.95"), host_validated=True, ends_stopped=True),
)


def stops_itself_from() -> Microversion:
    """The first microversion at which Nova leaves evacuated servers
    stopped: below it, --target-state stopped stops them once landed."""
    return next(r.first for r in EVACUATE_RULES if r.ends_stopped)


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
