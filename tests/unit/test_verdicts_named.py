"""The waiter's verdicts in named cases: the traps, faults and stuck
evacuations an operator meets, each with the verdict and reason it gets."""

from __future__ import annotations

from typing import Any

import pytest

from osc_evacuate.core.models import Migration, Server
from osc_evacuate.core.observation import Observation, RowPolicy
from osc_evacuate.core.verdict import (
    FAULT_POLLS,
    STUCK_AFTER,
    Kind,
    Verdict,
    decide,
)
from tests.unit.verdict_table import NO_VALID_HOST, OTHER_FAULT, SOURCE, record


def landed(
    status: str = "ACTIVE",
    vm_state: str = "active",
    host: str | None = "c2",
    task: str | None = None,
    fault: str | None = None,
) -> Server:
    return Server(
        id="a",
        name="vm-a",
        project_id="p1",
        status=status,
        vm_state=vm_state,
        task_state=task,
        host=host,
        fault=fault,
    )


def verdict_of(
    mig: Migration | None,
    seen: Server | None,
    expect: str = "ACTIVE",
    retries_left: int = 0,
    stops_sent: int = 0,
    fault_polls: int = 0,
    **seen_more: Any,
) -> Verdict:
    return decide(
        Observation(mig, seen, SOURCE, **seen_more),
        RowPolicy(expect, retries_left, stops_sent, fault_polls),
    )


RESET = "openstack server set --state error a"
NAMED = {
    # The trap: Nova shows ACTIVE on the source host while the rebuild is
    # still being prepared.
    "active on the source while pre-migrating is not proof": (
        verdict_of(record("pre-migrating"), landed(host=SOURCE)),
        Kind.KEEP_WAITING,
        None,
    ),
    "done but still on the source host is not proof": (
        verdict_of(record("done"), landed(host=SOURCE)),
        Kind.KEEP_WAITING,
        None,
    ),
    "done and moved but rebuilding there is not proof": (
        verdict_of(record("done"), landed(task="rebuild_spawning")),
        Kind.KEEP_WAITING,
        None,
    ),
    "done, moved and ACTIVE is verified": (
        verdict_of(record("done"), landed()),
        Kind.VERIFIED,
        None,
    ),
    "completed, moved and SHUTOFF as promised is verified": (
        verdict_of(
            record("completed"),
            landed("SHUTOFF", "stopped"),
            expect="SHUTOFF",
        ),
        Kind.VERIFIED,
        None,
    ),
    "no valid host with a retry left is sent again": (
        verdict_of(
            record("error"),
            landed("ERROR", "error", SOURCE, fault=NO_VALID_HOST),
            retries_left=1,
        ),
        Kind.RESUBMIT,
        NO_VALID_HOST,
    ),
    "no valid host without retries fails with Nova's fault": (
        verdict_of(
            record("error"),
            landed("ERROR", "error", SOURCE, fault=NO_VALID_HOST),
        ),
        Kind.FAILED,
        NO_VALID_HOST,
    ),
    "another fault is not retried": (
        verdict_of(
            record("failed"),
            landed("ERROR", "error", fault=OTHER_FAULT),
            retries_left=1,
        ),
        Kind.FAILED,
        OTHER_FAULT,
    ),
    "a failed record waits for its fault": (
        verdict_of(record("error"), landed(host=SOURCE)),
        Kind.AWAIT_FAULT,
        None,
    ),
    "a fault that never shows fails with the record's status": (
        verdict_of(
            record("error"), landed(host=SOURCE), fault_polls=FAULT_POLLS
        ),
        Kind.FAILED,
        "migration error",
    ),
    "landed running under stopped is stopped": (
        verdict_of(record("done"), landed(), expect="SHUTOFF"),
        Kind.STOP,
        None,
    ),
    "a stop not yet seen through is waited for, not sent again": (
        verdict_of(
            record("done"),
            landed(),
            expect="SHUTOFF",
            stops_sent=1,
            seen_since_stop=False,
        ),
        Kind.KEEP_WAITING,
        None,
    ),
    "a stop being carried out is waited for": (
        verdict_of(
            record("done"),
            landed(task="powering-off"),
            expect="SHUTOFF",
            stops_sent=1,
        ),
        Kind.KEEP_WAITING,
        None,
    ),
    # Nova marks the server powering-off before it answers a stop: seen
    # since, running with no task, the stop failed on its host.
    "a stop that did not take is sent once more": (
        verdict_of(record("done"), landed(), expect="SHUTOFF", stops_sent=1),
        Kind.STOP,
        None,
    ),
    "a second stop that did not take fails the row": (
        verdict_of(record("done"), landed(), expect="SHUTOFF", stops_sent=2),
        Kind.FAILED,
        "landed ACTIVE on c2",
    ),
    # Issue 7, defect 5: the guest crashed after it landed.
    "landed SHUTOFF where ACTIVE was promised fails, with the fault": (
        verdict_of(
            record("done"),
            landed("SHUTOFF", "stopped", fault="guest crashed"),
        ),
        Kind.FAILED,
        "landed SHUTOFF on c2: guest crashed",
    ),
    "a server no poll has shown is waited for": (
        verdict_of(record("done"), None),
        Kind.KEEP_WAITING,
        None,
    ),
    # Issue 7, defect 4: stuck records.
    "pre-migrating to a destination that is down is stuck": (
        verdict_of(
            record("pre-migrating"),
            landed("REBUILD", "active", SOURCE, task="rebuild_spawning"),
            destination_up=False,
            idle=31.0,
        ),
        Kind.STUCK,
        "stuck: migration 7 pre-migrating to c2, whose nova-compute is "
        "down; server REBUILD, task rebuild_spawning on c1. To evacuate "
        f"it anew: fence c2, then reset it ({RESET}) and run this command "
        "again",
    ),
    "accepted for ten minutes with no destination is stuck": (
        verdict_of(
            record("accepted", dest=None),
            landed("REBUILD", "active", SOURCE, task="rebuilding"),
            idle=STUCK_AFTER,
        ),
        Kind.STUCK,
        "stuck: migration 7 accepted, no progress for 600 s; server "
        "REBUILD, task rebuilding on c1. To evacuate it anew: if nothing "
        f"is running it, reset it ({RESET}) and run this command again",
    ),
    "a destination that is up is no reason to stop waiting": (
        verdict_of(
            record("pre-migrating"),
            landed("REBUILD", "active", SOURCE, task="rebuild_spawning"),
            destination_up=True,
            idle=STUCK_AFTER - 1,
        ),
        Kind.KEEP_WAITING,
        None,
    ),
    "a destination down does not undo a landing": (
        verdict_of(record("done"), landed(), destination_up=False),
        Kind.VERIFIED,
        None,
    ),
    "stuck, then reset by the operator, is evacuated anew": (
        verdict_of(
            record("pre-migrating"),
            landed("ERROR", "error", SOURCE),
            destination_up=False,
        ),
        Kind.RESUBMIT,
        "migration 7 was stuck, and the server was reset",
    ),
    "reset while its destination is up and busy is not sent again": (
        verdict_of(
            record("pre-migrating"),
            landed("ERROR", "error", SOURCE),
            destination_up=True,
            idle=60.0,
        ),
        Kind.KEEP_WAITING,
        None,
    ),
}


@pytest.mark.parametrize("name", NAMED)
def test_named_case(name: str) -> None:
    verdict, kind, reason = NAMED[name]
    assert (verdict.kind, verdict.reason) == (kind, reason)
