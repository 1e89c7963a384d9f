"""What evacuating a server puts at risk, judged before anything is sent.

Evacuation rebuilds a server on another host. What survives depends on
where its disks are:

- booted from a volume: the root disk is the volume, and is kept (an
  ephemeral disk of its flavor is not);
- an image-backed root disk on the failed host's local storage is lost:
  the server is rebuilt from its image;
- on storage the hosts share, the disk is kept. Nova finds that out on
  the destination, at rebuild time (from 2.14), and no API shows it
  beforehand: the tool can only take the operator's word for it
  (--shared-storage, before 2.14), and otherwise warns "local disk lost".

Some servers Nova refuses outright: vTPM (its flavor's hw:tpm_version or
its image's hw_tpm_version, as nova.virt.hardware.get_vtpm_constraint
reads them), and, while any nova-compute predates Wallaby, an accelerator
device profile (accel:device_profile). The first is skipped up front; the
second can only be warned about, since no API shows compute versions.
Attached shares and accelerator ports are attached.py's.

Pure: the server, its flavor and its image come in (looked up by the
caller, grouped by id).
"""

from __future__ import annotations

import logging

from osc_evacuate.core.attached import Refusal
from osc_evacuate.core.models import Flavor, Image, Server

LOG = logging.getLogger(__name__)

LOCAL_DISK_LOST = "local disk lost"
VOLUME_KEPT = "volume-backed: disk kept"
REFUSED = "refused by Nova"
TPM_SPEC = "hw:tpm_version"
TPM_PROPERTY = "hw_tpm_version"
DEVICE_PROFILE = "accel:device_profile"
# Nova's own words (nova.exception.OperationNotSupportedForVTPM).
VTPM = Refusal(
    "a vTPM", "Operation 'evacuate' not supported for vTPM-enabled instance"
)


def vtpm(flavor: Flavor | None, image: Image | None) -> str | None:
    """Where the server asks for a vTPM, if it does."""
    if flavor is not None and flavor.extra_specs.get(TPM_SPEC):
        return f"flavor {TPM_SPEC}={flavor.extra_specs[TPM_SPEC]}"
    if image is not None and image.properties.get(TPM_PROPERTY):
        return f"image {TPM_PROPERTY}={image.properties[TPM_PROPERTY]}"
    return None


def nova_refuses(flavor: Flavor | None, image: Image | None) -> str | None:
    """Why Nova refuses to evacuate a server of this flavor and image
    (beyond its state: plan.refusal), or None."""
    where = vtpm(flavor, image)
    return None if where is None else VTPM.says((where,))


def risk(
    server: Server,
    flavor: Flavor | None,
    refused: str | None,
    shared_storage: bool,
) -> str | None:
    """The server's risk, in words; None when it is plain (nothing is
    lost and Nova takes it). refused: why it is skipped, if it is."""
    if refused is not None:
        return f"{REFUSED}: {refused}"
    notes = []
    if server.volume_backed:
        notes.append(VOLUME_KEPT)
        if flavor is not None and flavor.ephemeral:
            notes.append(f"ephemeral disk lost ({flavor.ephemeral} GB)")
    elif server.image_id and not shared_storage:
        notes.append(LOCAL_DISK_LOST)
    if flavor is not None and flavor.extra_specs.get(DEVICE_PROFILE):
        notes.append(
            f"{REFUSED} if a nova-compute predates Wallaby: accelerator "
            f"device profile {flavor.extra_specs[DEVICE_PROFILE]}"
        )
    text = "; ".join(notes) or None
    LOG.debug("risk %s: %s", server.id, text or "none")
    return text
