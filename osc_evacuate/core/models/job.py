"""What the operator asks of a run: the options sent to Nova, the waiting
and retry policies, the host filters, the mass-failure guard, and the
whole Request the commands hand to the core.

Frozen values; their defaults are defaults.py's.
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
from collections.abc import Mapping

from osc_evacuate.core import defaults
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models.cloud import Server


class TargetState(enum.Enum):
    """The power state an evacuated server must end in."""

    PRESERVE = defaults.PRESERVE  # ACTIVE stays ACTIVE, SHUTOFF SHUTOFF
    STOPPED = defaults.STOPPED  # every server ends SHUTOFF


@dataclasses.dataclass(frozen=True)
class EvacuateOptions:
    host: str | None = None  # destination; None lets the scheduler pick
    force: bool = False  # bypass the scheduler's check of host
    shared_storage: bool = False  # only meaningful before 2.14
    password: str | None = dataclasses.field(default=None, repr=False)
    target_state: TargetState = TargetState.PRESERVE


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often, and after which pauses, a transient error is retried."""

    attempts: int = defaults.RETRY_ATTEMPTS
    first_delay: float = defaults.RETRY_FIRST_DELAY
    factor: float = defaults.RETRY_FACTOR
    max_delay: float = defaults.RETRY_MAX_DELAY

    def delays(self) -> list[float]:
        """Pauses between attempts: attempts - 1 of them."""
        delay, out = self.first_delay, []
        for _ in range(self.attempts - 1):
            out.append(min(delay, self.max_delay))
            delay *= self.factor
        return out


@dataclasses.dataclass(frozen=True)
class WaitPolicy:
    timeout: float | None = None  # seconds; None waits as long as it takes
    interval: float = defaults.POLL_INTERVAL  # first pause between polls
    max_interval: float = defaults.POLL_MAX_INTERVAL  # the pause, idle
    backoff: float = defaults.POLL_BACKOFF
    # The pause while requests are still going out.
    sending_interval: float = defaults.POLL_SENDING_INTERVAL
    retries: int = 0  # re-submissions after NoValidHost (a drain: failure)
    # host drain: a failed live migration is followed by a cold one.
    cold_fallback: bool = False
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)
    # Seconds with no progress, or no answer, after which a row ends.
    stuck_after: float = defaults.STUCK_AFTER


@dataclasses.dataclass(frozen=True)
class Guard:
    """More hosts down than this is a mass failure (a power domain, a
    network partition), not hosts to evacuate: refused unless --yes."""

    max_hosts: int = defaults.GUARD_MAX_HOSTS
    max_fraction: float = defaults.GUARD_MAX_FRACTION  # of the enabled

    def breached(self, down: int, enabled: int) -> bool:
        # A hair of slack: 3 of 9 is a third, not more.
        return (
            down > self.max_hosts or down > self.max_fraction * enabled + 1e-9
        )


class MarkPlace(enum.Enum):
    """Where --evacuable-mark is looked for."""

    FLAVOR = "flavor"  # its extra specs
    IMAGE = "image"  # its properties
    AGGREGATE = "aggregate"  # the metadata of an aggregate of the host


@dataclasses.dataclass(frozen=True)
class EvacuableMark:
    """InstanceHA's evacuable tag: a key whose value must match (any case).

    On flavors and images it is fail-open: when no flavor or image of the
    cloud carries it, every server passes; once one does, only servers
    whose flavor or image carries it. On aggregates it is fail-closed:
    only servers whose host is in an aggregate that carries it.
    """

    key: str
    value: str = "true"
    places: frozenset[MarkPlace] = frozenset(MarkPlace)

    def carried_by(self, where: Mapping[str, object]) -> bool:
        found = where.get(self.key)
        return found is not None and str(found).lower() == self.value.lower()

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@dataclasses.dataclass(frozen=True)
class ServerFilter:
    """Which of a host's servers this run evacuates: host evacuate's
    filters.

    Some servers must not be evacuated by the operator's tool: load-balancer
    amphorae that their own service recreates, say, or all but those tagged
    for HA (Masakari's HA_Enabled=True). The filters choose what this run
    sends; every other server of the host still gets its row, skipped with
    the filter that left it out, so that the report covers the whole host.
    Evacuations already under way or done are reported as they are: a
    filter decides what to send, not what Nova already did.

    Include filters of different kinds must all hold; servers and projects
    match any of theirs; every tag and property must hold. An exclude
    filter that matches leaves the server out.
    """

    servers: frozenset[str] = frozenset()  # ids, resolved from names
    projects: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    properties: tuple[tuple[str, str], ...] = ()
    exclude_tags: frozenset[str] = frozenset()
    exclude_properties: tuple[tuple[str, str], ...] = ()
    exclude_names: tuple[str, ...] = ()  # glob patterns
    exclude_images: frozenset[str] = frozenset()  # names or ids
    skip_error: bool = False
    mark: EvacuableMark | None = None

    @property
    def by_tags(self) -> bool:
        return bool(self.tags or self.exclude_tags)

    @property
    def by_reads(self) -> bool:
        """Some filter needs more than the server: its image, its
        flavor, the cloud's marks (selection.py)."""
        return bool(self.exclude_images or self.mark)

    def __bool__(self) -> bool:
        return any(dataclasses.astuple(self))

    def left_out(self, server: Server) -> str | None:
        """Why this run does not evacuate the server; None: it does."""
        if self.servers and server.id not in self.servers:
            return "not named by --server"
        if self.projects and server.project_id not in self.projects:
            return (
                f"excluded by --project (its project is {server.project_id})"
            )
        for tag in sorted(self.tags):
            if tag not in server.tags:
                return f"excluded by --tag {tag} (it has no such tag)"
        for key, value in self.properties:
            if server.metadata.get(key) != value:
                return f"excluded by --property {key}={value}"
        for tag in sorted(self.exclude_tags & server.tags):
            return f"excluded by --exclude-tag {tag}"
        for key, value in self.exclude_properties:
            if server.metadata.get(key) == value:
                return f"excluded by --exclude-property {key}={value}"
        for pattern in self.exclude_names:
            if fnmatch.fnmatchcase(server.name, pattern):
                return f"excluded by --exclude-name {pattern}"
        if self.skip_error and server.vm_state == "error":
            return "excluded by --skip-error (it is in ERROR)"
        return None


class BlockMigration(enum.Enum):
    """--block-migration of host drain: OSC's meaning."""

    AUTO = "auto"  # Nova decides from the storage (2.25+)
    TRUE = "true"  # copy the local disks
    FALSE = "false"  # shared storage: copy memory only


class Method(enum.Enum):
    """How a drain moves a server."""

    LIVE = "live"  # os-migrateLive: it keeps running
    COLD = "cold"  # migrate, then confirmResize: stopped and started


@dataclasses.dataclass(frozen=True)
class DrainOptions:
    """What to ask Nova for every server a drain moves."""

    host: str | None = None  # destination; None: the scheduler picks
    block_migration: BlockMigration = BlockMigration.AUTO


@dataclasses.dataclass(frozen=True)
class DrainRequest:
    """Everything a run of host drain is asked to do."""

    options: DrainOptions = dataclasses.field(default_factory=DrainOptions)
    pinned: Microversion | None = None
    wait: WaitPolicy | None = None  # None: send and return
    max_parallel: int = defaults.MAX_PARALLEL
    ignore_capacity: bool = False
    methods: frozenset[Method] = frozenset(Method)  # --live/--cold-only
    cold_fallback: bool = False  # a failed live migration: cold instead
    disabled_reason: str = defaults.DRAIN_REASON
    filters: ServerFilter = dataclasses.field(default_factory=ServerFilter)
    server_names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class FenceCommands:
    """How to fence a failed host before its servers are evacuated: a
    command run for each host (its name where the command says {host},
    else as its last argument; exit 0 is success), and a check that must
    then report the host off (fence-agents' `-o status`: exit 2 is off,
    0 on)."""

    command: str | None = None
    check: str | None = None


@dataclasses.dataclass(frozen=True)
class Request:
    """Everything a run of evacuate is asked to do."""

    options: EvacuateOptions
    pinned: Microversion | None = None
    wait: WaitPolicy | None = None  # None: submit and return
    max_parallel: int = defaults.MAX_PARALLEL
    # Send them even when the capacity check finds no room for some.
    ignore_capacity: bool = False
    # The operator says the hosts are fenced: mark their nova-compute
    # forced down first (and disable them, with a reason).
    force_down: bool = False
    disabled_reason: str | None = None
    # host evacuate's filters; --server names, resolved on the hosts.
    filters: ServerFilter = dataclasses.field(default_factory=ServerFilter)
    server_names: tuple[str, ...] = ()
    # Lock each server while it is evacuated (needs --wait).
    lock: bool = False
    guard: Guard = dataclasses.field(default_factory=Guard)
    accept_mass_failure: bool = False  # --yes
    # A host down by its heartbeat alone is evacuated only once it is
    # known fenced: by the commands here, or on the operator's word.
    fence: FenceCommands = dataclasses.field(default_factory=FenceCommands)
    fenced: bool = False  # --fenced
    # Reset what Nova would refuse to error, evacuate it, then put back
    # the state it had where that means something (rescue.py).
    rescue: bool = False
    # Evacuate in phases by this metadata key, highest first (phases.py).
    priority_property: str | None = None
    # Spare hosts to enable when servers have no room (spares.py): named,
    # or disabled with this text in their reason.
    spares: tuple[str, ...] = ()
    spares_reason: str | None = None
