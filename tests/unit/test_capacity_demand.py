"""The capacity check's demand (demand.py): what a server asks of a host,
as Nova's scheduler claims it from the flavor and the image."""

from __future__ import annotations

from typing import Any

import pytest

from osc_evacuate.core.demand import Ask, ask_of, unseen
from osc_evacuate.core.models import Flavor

TINY = Flavor(vcpus=1, ram=512, disk=1)


def specs(**extra: str) -> Flavor:
    """A 4-vCPU flavor with these extra specs ("__" for ":")."""
    return Flavor(
        vcpus=4,
        ram=4096,
        disk=40,
        extra_specs={k.replace("__", ":"): v for k, v in extra.items()},
    )


BASE = {"MEMORY_MB": 4096, "DISK_GB": 40}

# flavor, volume-backed, image properties, what Nova's scheduler claims
# (ResourceRequest.from_request_spec), its fallback query's if any.
ASKS: dict[str, tuple[Flavor, bool, dict[str, Any], dict[str, int], Any]] = {
    "vcpu, memory, disk": (
        TINY,
        False,
        {},
        {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1},
        None,
    ),
    "a volume is the root disk: no DISK_GB (no zero amounts)": (
        TINY,
        True,
        {},
        {"VCPU": 1, "MEMORY_MB": 512},
        None,
    ),
    "ephemeral and swap (in whole GB, rounded up) stay local": (
        Flavor(vcpus=2, ram=2048, disk=20, ephemeral=5, swap=1500),
        True,
        {},
        {"VCPU": 2, "MEMORY_MB": 2048, "DISK_GB": 7},
        None,
    ),
    "a custom class is asked besides": (
        specs(resources__CUSTOM_X="1"),
        False,
        {},
        {"VCPU": 4, **BASE, "CUSTOM_X": 1},
        None,
    ),
    "extra specs replace the flavor's own; granular groups add up": (
        specs(
            resources__VCPU="0",
            resources__PCPU="4",
            resources1__VGPU="1",
            resources_gpu2__VGPU="2",
            resources__MEMORY_MB="1024",
        ),
        False,
        {},
        {"PCPU": 4, "MEMORY_MB": 1024, "DISK_GB": 40, "VGPU": 3},
        None,
    ),
    "what Nova drops: unknown classes, no whole amount, negative": (
        specs(
            resources__FOO="1",
            resources__VGPU="one",
            resources__PCI_DEVICE="-1",
            trait__CUSTOM_T="required",
        ),
        False,
        {},
        {"VCPU": 4, **BASE},
        None,
    ),
    "pinned CPUs are PCPU, or VCPU in Nova's second try": (
        specs(hw__cpu_policy="dedicated"),
        False,
        {},
        {"PCPU": 4, **BASE},
        {"VCPU": 4, **BASE},
    ),
    "the image's CPU policy when the flavor has none; isolated threads": (
        specs(hw__emulator_threads_policy="isolate"),
        False,
        {"hw_cpu_policy": "dedicated"},
        {"PCPU": 5, **BASE},
        {"VCPU": 4, **BASE},
    ),
    "the flavor's shared policy wins over the image's": (
        specs(hw__cpu_policy="shared"),
        False,
        {"hw_cpu_policy": "dedicated"},
        {"VCPU": 4, **BASE},
        None,
    ),
    "mixed: the dedicated mask's CPUs pinned, the others shared": (
        specs(hw__cpu_policy="mixed", hw__cpu_dedicated_mask="^0-1"),
        False,
        {},
        {"VCPU": 2, "PCPU": 2, **BASE},
        {"VCPU": 4, **BASE},
    ),
    "mixed by a realtime mask": (
        specs(
            hw__cpu_policy="mixed",
            hw__cpu_realtime="yes",
            hw__cpu_realtime_mask="3",
        ),
        False,
        {},
        {"VCPU": 3, "PCPU": 1, **BASE},
        {"VCPU": 4, **BASE},
    ),
    "memory encryption and persistent memory namespaces": (
        specs(hw__mem_encryption="True", hw__pmem="small, large,small"),
        False,
        {},
        {
            "VCPU": 4,
            **BASE,
            "MEM_ENCRYPTION_CONTEXT": 1,
            "CUSTOM_PMEM_NAMESPACE_SMALL": 2,
            "CUSTOM_PMEM_NAMESPACE_LARGE": 1,
        },
        None,
    ),
    "memory encryption asked by the image": (
        specs(),
        False,
        {"hw_mem_encryption": True},
        {"VCPU": 4, **BASE, "MEM_ENCRYPTION_CONTEXT": 1},
        None,
    ),
}


@pytest.mark.parametrize("case", ASKS)
def test_a_server_asks_what_nova_s_scheduler_claims(case: str) -> None:
    flavor, volume_backed, image, amounts, fallback = ASKS[case]
    assert ask_of(flavor, volume_backed, image) == Ask(amounts, fallback)


def test_pci_aliases_are_not_counted_but_said() -> None:
    pci = specs(pci_passthrough__alias="a1:2")
    assert ask_of(pci, False) == Ask({"VCPU": 4, **BASE})
    assert unseen(pci) == (
        "PCI devices not counted (pci_passthrough:alias=a1:2)"
    )
    assert unseen(TINY) is None
