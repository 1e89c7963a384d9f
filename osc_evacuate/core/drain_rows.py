"""Decide, per server of a living host, how a drain moves it: its row.

ACTIVE and PAUSED servers are live-migrated (they keep running), SHUTOFF
ones cold-migrated and confirmed (they stay stopped); --live-only and
--cold-only narrow that. A server whose migration is under way (an
earlier run's, or an operator's) is waited for, never sent again; one in
VERIFY_RESIZE is confirmed; any other state is skipped, saying why. What
Nova refuses outright for a server's flavor or image is skipped before
anything is sent, with Nova's own words, and what slows or endangers a
live migration is the row's risk.

Pure: servers, records and flavors in, frozen PlannedRows out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping

from osc_evacuate.core import history
from osc_evacuate.core.attached import (
    ACCELERATOR_PORTS,
    SHARES,
    Attachments,
)
from osc_evacuate.core.models import (
    LIVE_MIGRATION,
    BlockMigration,
    Flavor,
    Method,
    Migration,
    PlannedRow,
    Result,
    Server,
)
from osc_evacuate.core.models import Action as Act
from osc_evacuate.core.plan import skipped

LOG = logging.getLogger(__name__)

LIVE_STATES = frozenset({"ACTIVE", "PAUSED"})
RUNNING = 1  # Nova's power state of a running guest
COLD_STATES = frozenset({"SHUTOFF"})
# A server with more memory than this takes long to copy live.
LARGE_RAM_MB = 64 * 1024
TPM_SECURITY = "hw:tpm_secret_security"


def method_for(
    server: Server, allowed: frozenset[Method]
) -> tuple[Method | None, str | None]:
    """How the server would be moved, or why it is not. Pure."""
    if server.status in LIVE_STATES:
        if Method.LIVE in allowed:
            return Method.LIVE, None
        if server.status == "ACTIVE":
            return Method.COLD, None  # --cold-only: stopped and started
        return None, "PAUSED: only a live migration moves it (--cold-only)"
    if server.status in COLD_STATES:
        if Method.COLD in allowed:
            return Method.COLD, None
        return None, "SHUTOFF: only a cold migration moves it (--live-only)"
    return None, (
        f"{server.status or 'unknown'}: a drain moves ACTIVE, PAUSED and "
        "SHUTOFF servers only"
    )


def resumed_status(server: Server) -> str:
    """The status a server in the middle of a cold migration had: it is
    moved as it was, running or stopped (its power state says which)."""
    return "ACTIVE" if server.power_state == RUNNING else "SHUTOFF"


def live_refused(flavor: Flavor | None) -> str | None:
    """Why Nova refuses to live-migrate a server of this flavor (its own
    words, nova.compute.api), or None."""
    if flavor is None:
        return None
    specs = flavor.extra_specs
    if specs.get("hw:tpm_version") and specs.get(TPM_SECURITY, "user") != (
        "host"
    ):
        return (
            "it has a vTPM whose secret is not kept by the host, and Nova "
            "refuses: Operation 'live-migration' not supported for "
            "vTPM-enabled instance"
        )
    if specs.get("hw:mem_encryption", "").lower() in ("true", "1", "yes"):
        return "its memory is encrypted, and Nova refuses to live-migrate it"
    return None


def refused(flavor: Flavor | None) -> str | None:
    """Why Nova refuses to move a server of this flavor at all."""
    if flavor is not None and flavor.extra_specs.get("accel:device_profile"):
        return (
            "it has an accelerator (accel:device_profile), and Nova "
            "refuses to migrate it"
        )
    return None


def live_risk(
    server: Server, flavor: Flavor | None, block: BlockMigration
) -> str | None:
    """What slows or endangers the server's live migration, in words."""
    notes = []
    if server.image_id and not server.volume_backed:
        if block is BlockMigration.FALSE:
            notes.append(
                "local disk with --block-migration false: fails unless the "
                "instance storage is shared"
            )
        else:
            notes.append("local disk: copied by block migration")
    if server.config_drive:
        notes.append(
            "config drive: its file is copied too (block migration) unless "
            "the instance storage is shared"
            if block is not BlockMigration.FALSE
            else "config drive with --block-migration false: fails unless "
            "the instance storage is shared"
        )
    specs = flavor.extra_specs if flavor is not None else {}
    if "pci_passthrough:alias" in specs:
        notes.append("PCI device: Nova live-migrates only SR-IOV ports")
    if any(k.endswith(":VGPU") or k == "resources:VGPU" for k in specs):
        notes.append("vGPU: the destination needs the same mdev type")
    if flavor is not None and flavor.ram >= LARGE_RAM_MB:
        notes.append(f"{flavor.ram // 1024} GB of memory to copy: slow")
    return "; ".join(notes) or None


def drain_rows(
    on_host: Iterable[Server],
    migrations: list[Migration],
    flavors: Mapping[str, Flavor],
    allowed: frozenset[Method],
    block: BlockMigration,
    fallback: bool,
) -> list[PlannedRow]:
    """Rows for the servers on the host being drained."""
    latest = history.latest_by_instance(migrations)
    ids = history.ids_by_instance(migrations)
    rows = []
    for server in on_host:
        flavor = server.flavor or flavors.get(server.flavor_id or "")
        known = frozenset(ids.get(server.id, set()))
        row = _row(server, latest.get(server.id), known, flavor, allowed)
        rows.append(_judged(row, flavor, block, fallback))
    return rows


def _row(
    server: Server,
    mig: Migration | None,
    known: frozenset[int],
    flavor: Flavor | None,
    allowed: frozenset[Method],
) -> PlannedRow:
    if mig is not None and not mig.finished:
        # An earlier run's (or an operator's) migration: waited for, and
        # confirmed if it is a cold one.
        live = mig.migration_type == LIVE_MIGRATION
        return PlannedRow(
            before=server,
            action=Act.RESUMED,
            result=Result.IN_PROGRESS,
            expected_status=server.status if live else resumed_status(server),
            migration=mig,
            known_migrations=known - {mig.id},
            attempts=1,
            method=Method.LIVE if live else Method.COLD,
        )
    method, why = method_for(server, allowed)
    if method is None:
        return PlannedRow(server, Act.SKIPPED, Result.SKIPPED, error=why)
    return PlannedRow(
        before=server,
        action=Act.SUBMITTED,
        result=Result.SUBMITTED,
        expected_status=server.status,
        known_migrations=known,
        method=method,
    )


def _judged(
    row: PlannedRow,
    flavor: Flavor | None,
    block: BlockMigration,
    fallback: bool,
) -> PlannedRow:
    """The row with Nova's refusals and its risk."""
    if row.action is not Act.SUBMITTED:
        return row
    why = refused(flavor)
    if why is None and row.method is Method.LIVE:
        why = live_refused(flavor)
        if why is not None and fallback and row.before.status == "ACTIVE":
            LOG.debug("plan %s: cold, as %s", row.id, why)
            return dataclasses.replace(
                row, method=Method.COLD, risk=f"cold: {why}"
            )
    if why is not None:
        return _skipped(row, why)
    risk = None
    if row.method is Method.LIVE:
        risk = live_risk(row.before, flavor, block)
    elif row.before.status == "ACTIVE":
        risk = "cold migration: stopped and started again"
    LOG.debug("plan %s: %s, %s", row.id, row.method, risk or "no risk")
    return dataclasses.replace(row, risk=risk)


def with_attachments(
    row: PlannedRow, found: Attachments, fallback: bool
) -> PlannedRow:
    """The row once what the server has attached is known: Nova moves no
    server with a port with an accelerator, and live-migrates none with
    a share (a cold migration takes it: --cold-fallback)."""
    if row.action is not Act.SUBMITTED:
        return row
    ports = found.accelerator_ports.get(row.id)
    if ports:
        return _skipped(row, ACCELERATOR_PORTS.says(ports))
    shares = found.shares.get(row.id)
    if not shares or row.method is not Method.LIVE:
        return row
    why = SHARES.says(shares)
    if fallback and row.before.status == "ACTIVE":
        LOG.debug("plan %s: cold, as %s", row.id, why)
        return dataclasses.replace(
            row, method=Method.COLD, risk=f"cold: {why}"
        )
    return _skipped(row, why)


def _skipped(row: PlannedRow, why: str) -> PlannedRow:
    refused = skipped(row, why, filtered=False)
    return dataclasses.replace(refused, risk=f"refused by Nova: {why}")
