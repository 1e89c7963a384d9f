"""The other microversion facts the tool relies on, one row each.

What each microversion adds (or takes away) that a read, a lock or a
filter here needs. The microversions the tool reads and displays at are
chosen from these rows, and tests/unit/test_rules.py keeps the choice
consistent with them: the reads need every feature they use, and nothing
that makes Nova's lists dearer.
"""

from __future__ import annotations

import dataclasses

from osc_evacuate.core.errors import UsageError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv

COMPUTE = "compute"
PLACEMENT = "placement"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Feature:
    """What an API does in a range of microversions."""

    first: Microversion
    last: Microversion | None = None  # None: at the newest too
    what: str
    service: str = COMPUTE

    def covers(self, version: Microversion) -> bool:
        return self.first <= version and (
            self.last is None or version <= self.last
        )

    def versions(self) -> str:
        if self.last is None:
            return f"{self.first} or later"
        return f"{self.first} to {self.last}"


LOCKED = Feature(first=mv("2.9"), what="servers show whether they are locked")
TAGS = Feature(
    first=mv("2.26"), what="servers show their tags and take tag filters"
)
HYPERVISORS_PAGED = Feature(
    first=mv("2.33"), what="os-hypervisors pages its list"
)
EMBEDDED_FLAVOR = Feature(
    first=mv("2.47"),
    what="servers embed their flavor and its extra specs (before: its id)",
)
FLAVOR_EXTRA_SPECS = Feature(
    first=mv("2.61"),
    what="flavor lists show each flavor's extra specs (before: a request "
    "per flavor)",
)
MIGRATIONS_PAGED = Feature(
    first=mv("2.59"),
    what="os-migrations pages its records by uuid and takes changes-since",
)
DOWN_CELLS = Feature(
    first=mv("2.69"),
    what="lists show what is in a cell Nova cannot reach, partly (a "
    "service: its host and status UNKNOWN)",
)
FORCE_COMPLETE = Feature(
    first=mv("2.22"),
    what="a running live migration can be forced to complete",
)
LIVE_ABORT = Feature(
    first=mv("2.24"),
    what="a running live migration can be aborted (DELETE "
    "/servers/{id}/migrations/{migration})",
)
LIVE_ABORT_QUEUED = Feature(
    first=mv("2.65"), what="a queued or preparing live migration too"
)
MIGRATION_TYPE = Feature(
    first=mv("2.23"),
    what="os-migrations shows and filters each record's migration_type",
)
LOCK_REASON = Feature(
    first=mv("2.73"), what="a lock keeps a reason, and servers show it"
)
HYPERVISOR_FIGURES = Feature(
    first=mv("2.1"),
    last=mv("2.87"),
    what="hypervisors show their own usage figures (vCPUs, memory, disk)",
)
REQUEST_SPEC_PER_SERVER = Feature(
    first=mv("2.96"),
    what="each server shown costs Nova a request spec read (its pinned "
    "availability zone): too dear for lists read every poll",
)
PROVIDER_SUMMARIES = Feature(
    first=mv("1.29"),
    what="allocation candidates' provider summaries carry every provider "
    "of each tree (a node's vGPU and PCI children), with its root, and "
    "every resource class of each, with its capacity and use",
    service=PLACEMENT,
)
HYPERVISOR_SERVERS = Feature(
    first=mv("2.53"), what="os-hypervisors lists each node's servers"
)
SERVER_SHARES = Feature(
    first=mv("2.97"),
    what="servers list the Manila shares attached to them (a request per "
    "server)",
)

FEATURES: tuple[Feature, ...] = (
    LOCKED,
    TAGS,
    FORCE_COMPLETE,
    MIGRATION_TYPE,
    LIVE_ABORT,
    HYPERVISORS_PAGED,
    EMBEDDED_FLAVOR,
    HYPERVISOR_SERVERS,
    MIGRATIONS_PAGED,
    FLAVOR_EXTRA_SPECS,
    DOWN_CELLS,
    LOCK_REASON,
    LIVE_ABORT_QUEUED,
    HYPERVISOR_FIGURES,
    REQUEST_SPEC_PER_SERVER,
    PROVIDER_SUMMARIES,
    SERVER_SHARES,
)

# Every read of the tool's (lists, polls, one server) asks for this, or the
# cloud's newest if older: new enough for every feature the reads use
# (READ_FEATURES), older than what makes lists dearer.
READ_VERSION = mv("2.80")
READ_FEATURES = (
    LOCKED,
    TAGS,
    EMBEDDED_FLAVOR,
    MIGRATIONS_PAGED,
    FLAVOR_EXTRA_SPECS,
    DOWN_CELLS,
    LOCK_REASON,
)
# A server shown to the user (server evacuate's stock OSC columns) is read
# at what openstacksdk asks for, so that the fields match `server show`.
DISPLAY_VERSION = mv("2.100")


def read_version(cloud: VersionRange) -> Microversion:
    return min(READ_VERSION, cloud.maximum)


def display_version(cloud: VersionRange) -> Microversion:
    return min(DISPLAY_VERSION, cloud.maximum)


def hypervisor_version(cloud: VersionRange) -> Microversion:
    """The newest that still shows each node's own figures."""
    assert HYPERVISOR_FIGURES.last is not None
    return min(HYPERVISOR_FIGURES.last, cloud.maximum)


def lock_version(cloud: VersionRange) -> Microversion:
    """Lock at LOCK_REASON where the cloud has it (the lock then says
    who locked it), else at the cloud's newest."""
    return LOCK_REASON.first if LOCK_REASON.first in cloud else cloud.maximum


def require_tags(cloud: VersionRange) -> None:
    if cloud.maximum < TAGS.first:
        raise UsageError(
            f"--tag and --exclude-tag need compute API microversion "
            f"{TAGS.first} or later; this cloud accepts {cloud}"
        )
