"""Nova's live and cold migration rules per microversion, as data.

What `host drain` sends: os-migrateLive for a running server, migrate (a
cold migration, then confirmResize) for a stopped one. Each table says
what each range of compute API microversions accepts; the request bodies
and the choice of microversion are derived from them, as evacuate's are
(evacuate.py). Each row names only what holds in its range.
"""

from __future__ import annotations

import dataclasses
import logging

from osc_evacuate.core.errors import UsageError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import BlockMigration, DrainOptions

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LiveRule:
    first: Microversion
    last: Microversion | None = None
    block_auto: bool = False  # block_migration may be "auto"
    disk_over_commit: bool = False  # the body must carry disk_over_commit
    host_validated: bool = False  # the scheduler checks a requested host
    accepts_force: bool = False  # force: skip that check

    def covers(self, version: Microversion) -> bool:
        return self.first <= version and (
            self.last is None or version <= self.last
        )


LIVE_RULES: tuple[LiveRule, ...] = (
    # A host given is forced: the scheduler is not asked.
    LiveRule(first=mv("2.1"), last=mv("2.24"), disk_over_commit=True),
    LiveRule(first=mv("2.25"), last=mv("2.29"), block_auto=True),
    LiveRule(
        first=mv("2.30"),
        last=mv("2.67"),
        block_auto=True,
        host_validated=True,
        accepts_force=True,
    ),
    LiveRule(first=mv("2.68"), block_auto=True, host_validated=True),
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ColdRule:
    first: Microversion
    last: Microversion | None = None
    accepts_host: bool = False  # migrate may name a host (the scheduler
    # checks it)

    def covers(self, version: Microversion) -> bool:
        return self.first <= version and (
            self.last is None or version <= self.last
        )


COLD_RULES: tuple[ColdRule, ...] = (
    ColdRule(first=mv("2.1"), last=mv("2.55")),
    ColdRule(first=mv("2.56"), accepts_host=True),
)


def live_rule(version: Microversion) -> LiveRule:
    return next(r for r in LIVE_RULES if r.covers(version))


def cold_rule(version: Microversion) -> ColdRule:
    return next(r for r in COLD_RULES if r.covers(version))


def choose_drain_version(
    options: DrainOptions,
    cloud: VersionRange,
    pinned: Microversion | None,
    cold: bool,
) -> Microversion:
    """The microversion to migrate with: the pin, honoured or refused;
    else the cloud's newest. What the options need (block_migration auto
    from 2.25, a host for a cold migration from 2.56) is checked either
    way, naming the option."""
    version = cloud.maximum if pinned is None else pinned
    if pinned is not None and pinned not in cloud:
        raise UsageError(
            f"--os-compute-api-version {pinned} is not supported by this "
            f"cloud, which accepts {cloud}"
        )
    needs = []
    if options.block_migration is BlockMigration.AUTO:
        first = next(r.first for r in LIVE_RULES if r.block_auto)
        needs.append(("--block-migration auto (the default)", first))
    if cold and options.host:
        first = next(r.first for r in COLD_RULES if r.accepts_host)
        needs.append(("--target-host, for a cold migration", first))
    for option, first in needs:
        if version < first:
            raise UsageError(
                f"{option} needs compute API microversion {first} or "
                f"later (this run: {version}); pass --block-migration "
                "true or false, or pin a newer version"
                if "block" in option
                else f"{option} needs compute API microversion {first} or "
                f"later (this run: {version})"
            )
    LOG.debug("migrations at %s (the cloud: %s)", version, cloud)
    return version


def live_body(
    version: Microversion, options: DrainOptions
) -> dict[str, object]:
    """The body of POST /servers/{id}/action {"os-migrateLive": body}."""
    rule = live_rule(version)
    body: dict[str, object] = {"host": options.host}
    block = options.block_migration
    if block is BlockMigration.AUTO:
        if not rule.block_auto:
            raise UsageError(
                f"--block-migration auto is not accepted at {version}"
            )
        body["block_migration"] = "auto"
    else:
        body["block_migration"] = block is BlockMigration.TRUE
    if rule.disk_over_commit:
        body["disk_over_commit"] = False
    return body


def cold_body(
    version: Microversion, options: DrainOptions
) -> dict[str, object] | None:
    """The body of POST /servers/{id}/action {"migrate": body}."""
    if options.host is None:
        return None
    if not cold_rule(version).accepts_host:
        raise UsageError(f"a host for a cold migration needs 2.56 ({version})")
    return {"host": options.host}
