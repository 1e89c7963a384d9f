"""The table of the waiter's verdicts: the dimensions of what a poll can
show, every combination of them, and the verdict and reason each must get.

EXPECTED is read top to bottom like verdict.RULES, but written in terms of
what an operator would check by hand (test_verdicts.py walks it).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from typing import Any

from osc_evacuate.core.models import Migration, Server
from osc_evacuate.core.observation import (
    EarlierRequest,
    Observation,
    RowPolicy,
)
from osc_evacuate.core.verdict import FAULT_POLLS, STUCK_AFTER, Kind

SOURCE = "c1"
NO_VALID_HOST = "No valid host was found. There are not enough hosts."
OTHER_FAULT = "Virtual Interface creation failed"

# Dimensions of a case.
RECORDS = (
    "none",
    "accepted",
    "pre-migrating",
    "running",
    "migrating",
    "done",
    "completed",
    "error",
    "failed",
)
HOSTS = ("moved", "on source")
SERVERS = (
    "ACTIVE",
    "SHUTOFF",
    "ERROR, no valid host",
    "ERROR, other fault",
    "ERROR, no fault",
    "DELETED",
    "not seen",
)
TASKS = (None, "rebuilding")
EXPECTS = ("ACTIVE", "SHUTOFF")  # preserve of ACTIVE; stopped or SHUTOFF
RETRIES_LEFT = (0, 1)
# Stop requests sent since it landed, and whether a poll showed the server
# after the last one.
STOPS = ("none", "1, not seen since", "1, seen since", "2, seen since")
FAULT_POLLS_SPENT = (0, FAULT_POLLS)
# Time since the record or the server last changed.
IDLE = ("moving", "no progress")
# The nova-compute of the record's destination, when it was asked.
DESTINATIONS = ("up", "down", "not known")
# An earlier run's request that Nova never answered (journal.py).
EARLIER = ("none", "on its way", "never landed")

# Groups of values, named as the table below uses them.
SUCCEEDED = {"done", "completed"}
FAILED = {"error", "failed"}
UNFINISHED = {"accepted", "pre-migrating", "running", "migrating"}
ERRORS = {"ERROR, no valid host", "ERROR, other fault", "ERROR, no fault"}
NO_FAULT = {"ACTIVE", "SHUTOFF", "ERROR, no fault", "not seen"}
STOP_UNSEEN = {"1, not seen since"}
STOP_TRIED_ONCE = {"1, seen since"}


@dataclasses.dataclass(frozen=True)
class Case:
    record: str
    host: str
    server: str
    task: str | None
    expect: str
    retries_left: int
    stops: str
    fault_polls: int
    idle: str
    destination: str
    earlier: str

    def __str__(self) -> str:
        return ", ".join(
            f"{field.name} {getattr(self, field.name)}"
            for field in dataclasses.fields(self)
        )


@dataclasses.dataclass(frozen=True)
class Expect:
    """One row: the verdict of every case whose values are in its sets.

    A dimension left out matches every value.
    """

    verdict: Kind
    record: set[str] | None = None
    host: set[str] | None = None
    server: set[str] | None = None
    task: set[str | None] | None = None
    expect: set[str] | None = None
    retries_left: set[int] | None = None
    stops: set[str] | None = None
    fault_polls: set[int] | None = None
    idle: set[str] | None = None
    destination: set[str] | None = None
    earlier: set[str] | None = None

    # The dimensions given, as (name, allowed) pairs: set once, read for
    # each of the cases.
    given: tuple[tuple[str, set[Any]], ...] = dataclasses.field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        given = tuple(
            (field.name, getattr(self, field.name))
            for field in dataclasses.fields(self)
            if field.name not in ("verdict", "given")
            and getattr(self, field.name) is not None
        )
        object.__setattr__(self, "given", given)

    def matches(self, case: Case) -> bool:
        return all(
            getattr(case, name) in allowed for name, allowed in self.given
        )


def when_landed(verdict: Kind, server: set[str], **more: Any) -> Expect:
    """A row for servers that landed: the record done, the server seen on
    another host with no task under way there."""
    return Expect(
        verdict,
        record=SUCCEEDED,
        host={"moved"},
        task={None},
        server=server,
        **more,
    )


def when_stuck(verdict: Kind, **more: Any) -> list[Expect]:
    """Rows for an evacuation Nova will not finish: its record unfinished
    and its destination down, or no progress at all for a while."""
    down = {"record": UNFINISHED, "destination": {"down"}}
    return [
        Expect(verdict, **{**more, **down}),
        Expect(verdict, idle={"no progress"}, **more),
    ]


EXPECTED: list[Expect] = [
    # Gone, records and all: nothing left to evacuate or prove.
    Expect(Kind.DELETED, server={"DELETED"}),
    # No record yet: an earlier run's request that may still land is
    # waited for; once it cannot, the server is sent its own.
    Expect(Kind.KEEP_WAITING, record={"none"}, earlier={"on its way"}),
    Expect(Kind.RESUBMIT, record={"none"}, earlier={"never landed"}),
    # Nothing to judge: no record yet.
    Expect(Kind.KEEP_WAITING, record={"none"}),
    # The record failed: give its fault a few polls to show, then retry
    # a NoValidHost while retries are left, else fail.
    Expect(Kind.AWAIT_FAULT, record=FAILED, server=NO_FAULT, fault_polls={0}),
    Expect(
        Kind.RESUBMIT,
        record=FAILED,
        server={"ERROR, no valid host"},
        retries_left={1},
    ),
    Expect(Kind.FAILED, record=FAILED),
    # Done, but landed in ERROR: the same as a failed record.
    when_landed(Kind.AWAIT_FAULT, {"ERROR, no fault"}, fault_polls={0}),
    when_landed(Kind.RESUBMIT, {"ERROR, no valid host"}, retries_left={1}),
    when_landed(Kind.FAILED, ERRORS),
    # Done and landed in the promised state: proven.
    when_landed(Kind.VERIFIED, {"ACTIVE"}, expect={"ACTIVE"}),
    when_landed(Kind.VERIFIED, {"SHUTOFF"}, expect={"SHUTOFF"}),
    # Landed running where stopped was promised: stop it; a stop seen
    # through that left it running did not take: once more.
    when_landed(Kind.STOP, {"ACTIVE"}, expect={"SHUTOFF"}, stops={"none"}),
    when_landed(
        Kind.STOP, {"ACTIVE"}, expect={"SHUTOFF"}, stops=STOP_TRIED_ONCE
    ),
    # A stop not yet seen through is waited for, a while.
    when_landed(
        Kind.KEEP_WAITING,
        {"ACTIVE", "SHUTOFF"},
        stops=STOP_UNSEEN,
        idle={"moving"},
    ),
    # Any other state it landed in breaks the promise: ACTIVE where
    # SHUTOFF was promised after two stops, SHUTOFF where ACTIVE was.
    when_landed(Kind.FAILED, {"ACTIVE", "SHUTOFF"}, stops={"none"}),
    when_landed(Kind.FAILED, {"ACTIVE", "SHUTOFF"}, stops={"2, seen since"}),
    when_landed(Kind.FAILED, {"ACTIVE", "SHUTOFF"}, stops=STOP_TRIED_ONCE),
    # Stuck, and the operator reset the server as the error told (ERROR,
    # no task, on the source host): evacuate it anew.
    *when_stuck(
        Kind.RESUBMIT,
        record=UNFINISHED,
        server=ERRORS,
        host={"on source"},
        task={None},
    ),
    # Stuck otherwise: end the row, saying what to do.
    *when_stuck(Kind.STUCK),
    # The rest proves nothing yet: done but not seen, still on the source
    # host, a task still under way there, or a stop not yet carried out.
    Expect(Kind.KEEP_WAITING),
]


def every_case() -> Iterator[Case]:
    for values in itertools.product(
        RECORDS,
        HOSTS,
        SERVERS,
        TASKS,
        EXPECTS,
        RETRIES_LEFT,
        STOPS,
        FAULT_POLLS_SPENT,
        IDLE,
        DESTINATIONS,
    ):
        for earlier in EARLIER:
            case = Case(*values, earlier)
            if case.server == "not seen" and (case.host, case.task) != (
                "moved",
                None,
            ):
                continue  # host and task of a server not seen mean nothing
            if earlier != "none" and case.record != "none":
                continue  # an earlier request matters only with no record
            yield case


def expected_verdict(case: Case) -> Kind:
    return next(row.verdict for row in EXPECTED if row.matches(case))


def expected_reason(case: Case, kind: Kind) -> str | None:
    """A failure or a retry names Nova's fault, else what went wrong."""
    if kind is Kind.DELETED:
        return "deleted while it was being evacuated"
    if kind is Kind.STUCK:
        return stuck_reason(case)
    if kind is Kind.RESUBMIT and case.record in UNFINISHED:
        return "migration 7 was stuck, and the server was reset"
    if kind is Kind.RESUBMIT and case.record == "none":
        return "the earlier request never reached Nova: sent anew"
    landed = case.record in SUCCEEDED and case.host == "moved"
    if kind is Kind.FAILED and landed and case.server in ("ACTIVE", "SHUTOFF"):
        return f"landed {case.server} on c2"
    if kind not in (Kind.FAILED, Kind.RESUBMIT):
        return None
    return fault_of(case.server) or f"migration {case.record}"


def stuck_reason(case: Case) -> str:
    """What is stuck, and what to do: reset the server, then run again
    (fencing the destination first when it is down)."""
    where = "no evacuation record"
    if case.record != "none":
        where = f"migration 7 {case.record} to c2"
    unfinished = case.record in UNFINISHED
    if case.destination == "down" and unfinished:
        why, first = f"{where}, whose nova-compute is down", "fence c2, then "
    else:
        why = f"{where}, no progress for {STUCK_AFTER:.0f} s"
        first = "if nothing is running it, "
    if case.server != "not seen":
        status = case.server.split(",")[0]
        task = f", task {case.task}" if case.task else ""
        host = "c2" if case.host == "moved" else SOURCE
        why += f"; server {status}{task} on {host}"
    if not unfinished:
        return f"stuck: {why}. Check the server, then run this command again"
    return (
        f"stuck: {why}. To evacuate it anew: {first}reset it "
        "(openstack server set --state error a) and run this command again"
    )


def fault_of(server: str) -> str | None:
    return {
        "ERROR, no valid host": NO_VALID_HOST,
        "ERROR, other fault": OTHER_FAULT,
    }.get(server)


def record(status: str, mid: int = 7, dest: str | None = "c2") -> Migration:
    return Migration(
        id=mid,
        instance_uuid="a",
        status=status,
        source_compute=SOURCE,
        dest_compute=dest,
        created_at="2026-01-01T00:01:00",
        updated_at=None,
    )


def observation(case: Case) -> Observation:
    seen = None
    if case.server != "not seen":
        status = case.server.split(",")[0]
        vm_state = {
            "ACTIVE": "active",
            "SHUTOFF": "stopped",
            "DELETED": "deleted",
        }
        seen = Server(
            id="a",
            name="vm-a",
            project_id="p1",
            status=status,
            vm_state=vm_state.get(status, "error"),
            task_state=case.task,
            host="c2" if case.host == "moved" else SOURCE,
            fault=fault_of(case.server),
        )
    mig = None if case.record == "none" else record(case.record)
    return Observation(
        record=mig,
        server=seen,
        source_host=SOURCE,
        idle=STUCK_AFTER if case.idle == "no progress" else 2.0,
        destination_up={"up": True, "down": False}.get(case.destination),
        seen_since_stop=case.stops != "1, not seen since",
        earlier=EarlierRequest(case.earlier),
    )


def row_policy(case: Case) -> RowPolicy:
    return RowPolicy(
        expected_status=case.expect,
        retries_left=case.retries_left,
        stops_sent=0 if case.stops == "none" else int(case.stops[0]),
        fault_polls=case.fault_polls,
    )
