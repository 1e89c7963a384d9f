"""What a server asks of a host: what Nova's scheduler claims for it.

An evacuation schedules the server's own RequestSpec (nova.conductor.
manager.ComputeTaskManager.rebuild_instance); the scheduler turns it into
Placement's request with nova.scheduler.utils.resources_from_request_spec
(ResourceRequest.from_request_spec) and claims exactly that on the
destination. The RequestSpec's flavor is the server's own copy, which Nova
embeds in the server from 2.47 with its extra specs: so ask_of works the
request out from the flavor (and the image's CPU policy) as
ResourceRequest does, and no server's allocations are read. GET
/allocations/<server> would cost a request per server for the same
amounts, claimed from the same request when it booted. (Before 2.47 the
flavor is read by id: extra specs changed since the server booted are
read as they are now.) A server asks for:

- VCPU, MEMORY_MB and DISK_GB (the root disk unless it is a volume, the
  ephemeral disk, the swap in whole GB), unless extra specs name them;
- every ``resources[N]:<CLASS>=<amount>`` extra spec, of any standard or
  CUSTOM_ class: VGPU, PCI_DEVICE, CUSTOM_... (granular groups, which
  Placement takes each from one provider, are counted into the host's
  total);
- for pinned CPUs (hw:cpu_policy dedicated or mixed, or the image's
  hw_cpu_policy): PCPU, one more for hw:emulator_threads_policy=isolate.
  Nova asks a second time with VCPU instead, for hosts configured the old
  way ([workarounds]disable_fallback_pcpu_query off), so a host takes
  either;
- MEM_ENCRYPTION_CONTEXT for hw:mem_encryption (or the image's
  hw_mem_encryption), CUSTOM_PMEM_NAMESPACE_<label> for hw:pmem.

Not seen: the PCI devices of ``pci_passthrough:alias``, in Placement only
with [filter_scheduler]pci_in_placement and under a class nova.conf names
(unseen() names them: a risk, not a demand), ports' bandwidth and Cyborg's
accelerators (the conductor asks Neutron and Cyborg for those).

Pure: a flavor and image properties in, an Ask out.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

from osc_evacuate.core.models import Flavor

LOG = logging.getLogger(__name__)

VCPU, PCPU, MEMORY_MB, DISK_GB = "VCPU", "PCPU", "MEMORY_MB", "DISK_GB"
MEM_ENCRYPTION_CONTEXT = "MEM_ENCRYPTION_CONTEXT"
# os-resource-classes' standard classes: Nova drops a resources extra spec
# of any other class but a CUSTOM_ one.
STANDARD_CLASSES = frozenset(
    """VCPU MEMORY_MB DISK_GB PCI_DEVICE SRIOV_NET_VF NUMA_SOCKET NUMA_CORE
    NUMA_THREAD NUMA_MEMORY_MB IPV4_ADDRESS VGPU VGPU_DISPLAY_HEAD PCPU FPGA
    PGPU MEM_ENCRYPTION_CONTEXT NET_BW_EGR_KILOBIT_PER_SEC
    NET_BW_IGR_KILOBIT_PER_SEC NET_PACKET_RATE_KILOPACKET_PER_SEC
    NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC
    NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC""".split()
)
CUSTOM = "CUSTOM_"
# The extra specs (and image properties) Nova's ResourceRequest and
# nova.virt.hardware read.
RESOURCES_SPEC = re.compile(r"^resources([a-zA-Z0-9_-]{1,64})?:(.*)$")
CPU_POLICY, IMAGE_CPU_POLICY = "hw:cpu_policy", "hw_cpu_policy"
DEDICATED, MIXED, SHARED = "dedicated", "mixed", "shared"
DEDICATED_MASK = "hw:cpu_dedicated_mask"
REALTIME, REALTIME_MASK = "hw:cpu_realtime", "hw:cpu_realtime_mask"
IMAGE_REALTIME_MASK = "hw_cpu_realtime_mask"
EMULATOR_THREADS = "hw:emulator_threads_policy"
MEM_ENCRYPTION, IMAGE_MEMORY = "hw:mem_encryption", "hw_mem_encryption"
PMEM = "hw:pmem"
PCI_ALIAS = "pci_passthrough:alias"
# oslo's bool_from_string, as Nova reads these flags.
TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})

Amounts = Mapping[str, int]


@dataclasses.dataclass(frozen=True)
class Ask:
    """What one server asks of a host: amounts by class, and the amounts
    Nova asks in a second try (pinned CPUs as VCPU), if it tries one."""

    amounts: Amounts
    fallback: Amounts | None = None

    def choices(self) -> tuple[Amounts, ...]:
        return (self.amounts, *([self.fallback] if self.fallback else []))


def ask_of(
    flavor: Flavor,
    volume_backed: bool,
    image: Mapping[str, Any] | None = None,
) -> Ask:
    """What Nova's scheduler claims for a server of this flavor (and
    image properties), as ResourceRequest.from_request_spec works it out."""
    props = image or {}
    pinned = _pinned_cpus(flavor, props)
    amounts = _request(flavor, volume_backed, props, pinned)
    if pinned is None:
        return Ask(amounts)
    # Nova's fallback query: no translation of the CPU policy.
    return Ask(amounts, _request(flavor, volume_backed, props, None))


def unseen(flavor: Flavor) -> str | None:
    """What the flavor asks that this check cannot count, in words."""
    alias = flavor.extra_specs.get(PCI_ALIAS)
    if alias:
        return f"PCI devices not counted ({PCI_ALIAS}={alias})"
    return None


def _request(
    flavor: Flavor,
    volume_backed: bool,
    props: Mapping[str, Any],
    pinned: tuple[int, int | None] | None,
) -> dict[str, int]:
    groups = _resource_groups(flavor)
    top = groups.setdefault(None, {})
    if pinned is not None:
        pcpus, vcpus = pinned
        if vcpus is not None:
            top[VCPU] = vcpus
        top[PCPU] = pcpus
    merged = _merged(groups)
    if VCPU not in merged and PCPU not in merged:
        top[VCPU] = flavor.vcpus
    if MEMORY_MB not in merged:
        top[MEMORY_MB] = flavor.ram
    if DISK_GB not in merged:
        root = 0 if volume_backed else flavor.disk
        top[DISK_GB] = root + flavor.ephemeral + math.ceil(flavor.swap / 1024)
    specs = flavor.extra_specs
    if _true(specs.get(MEM_ENCRYPTION)) or _true(props.get(IMAGE_MEMORY)):
        top[MEM_ENCRYPTION_CONTEXT] = 1
    top.update(_pmem_namespaces(specs.get(PMEM, "")))
    return {rc: n for rc, n in _merged(groups).items() if n}


def _pmem_namespaces(labels: str) -> collections.Counter[str]:
    """hw:pmem's namespaces by class, as Nova names them
    (os_resource_classes.normalize_name)."""
    out: collections.Counter[str] = collections.Counter()
    for label in (x.strip() for x in labels.split(",")):
        if label:
            name = re.sub("[^0-9A-Za-z]+", "_", f"PMEM_NAMESPACE_{label}")
            out[CUSTOM + name.upper()] += 1
    return out


def _resource_groups(flavor: Flavor) -> dict[str | None, dict[str, int]]:
    """The flavor's resources[N]:<CLASS> extra specs, by group suffix
    (None: the unnumbered group); Nova drops what is not a known class
    or not a whole amount."""
    groups: dict[str | None, dict[str, int]] = {}
    for key, value in flavor.extra_specs.items():
        match = RESOURCES_SPEC.match(key)
        if match is None:
            continue
        suffix, rc = match.groups()
        try:
            amount = int(value)
        except ValueError:
            amount = -1
        if amount < 0 or not (rc.startswith(CUSTOM) or rc in STANDARD_CLASSES):
            LOG.debug("ignoring %s=%r, as Nova does", key, value)
            continue
        groups.setdefault(suffix, {})[rc] = amount
    return groups


def _merged(groups: Mapping[str | None, Amounts]) -> dict[str, int]:
    out: collections.Counter[str] = collections.Counter()
    for amounts in groups.values():
        out.update(amounts)
    return dict(out)


def _true(value: object) -> bool:
    return value is True or str(value).strip().lower() in TRUE


def _pinned_cpus(
    flavor: Flavor, props: Mapping[str, Any]
) -> tuple[int, int | None] | None:
    """(PCPU, VCPU or None) for a pinned CPU policy, as
    ResourceRequest._translate_pinning_policies; None when shared."""
    policy = flavor.extra_specs.get(CPU_POLICY)
    if policy not in (DEDICATED, MIXED, SHARED):
        policy = props.get(IMAGE_CPU_POLICY)
    if policy == DEDICATED:
        pcpus, vcpus = flavor.vcpus, None
    elif policy == MIXED:
        pcpus = len(_dedicated_cpus(flavor, props))
        vcpus = flavor.vcpus - pcpus
    else:
        return None
    if flavor.extra_specs.get(EMULATOR_THREADS) == "isolate":
        pcpus += 1
    return pcpus, vcpus


def _dedicated_cpus(flavor: Flavor, props: Mapping[str, Any]) -> set[int]:
    """A mixed policy's pinned vCPUs: hw:cpu_dedicated_mask, else the
    realtime mask (the image's first), as nova.virt.hardware reads them."""
    specs = flavor.extra_specs
    mask = specs.get(DEDICATED_MASK)
    if not mask and _true(specs.get(REALTIME)):
        mask = props.get(IMAGE_REALTIME_MASK) or specs.get(REALTIME_MASK)
        if not mask:
            return set(range(flavor.vcpus))
    return _cpus(str(mask), flavor.vcpus) if mask else set()


def _cpus(mask: str, vcpus: int) -> set[int]:
    """A CPU mask ("0-3,^2"; one that starts with ^ takes from every
    vCPU), as nova.virt.hardware.parse_cpu_spec reads it."""
    spec = f"0-{vcpus - 1},{mask}" if mask.strip().startswith("^") else mask
    take: set[int] = set()
    drop: set[int] = set()
    for rule in (r.strip() for r in spec.split(",")):
        if not rule:
            continue
        into = drop if rule.startswith("^") else take
        first, _, last = rule.lstrip("^").partition("-")
        try:
            into.update(range(int(first), int(last or first) + 1))
        except ValueError:
            LOG.debug("CPU mask %r: not understood", mask)
            return set()
    return take - drop
