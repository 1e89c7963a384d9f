"""The waiter's verdicts: every combination of what a poll can show.

The cases are generated from the dimensions below; the verdict each must
get is stated by EXPECTED, a table read top to bottom like verdict.RULES,
but written in terms of what an operator would check by hand.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from osc_evacuate.core import defaults
from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    EvacuateOptions,
    Migration,
    Result,
    Server,
    WaitPolicy,
)
from osc_evacuate.core.observation import (
    EarlierRequest,
    Observation,
    RowPolicy,
)
from osc_evacuate.core.verdict import (
    FAULT_POLLS,
    RULES,
    STUCK_AFTER,
    Kind,
    Verdict,
    decide,
)
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute, server

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


def test_every_combination_gets_the_verdict_the_table_states() -> None:
    wrong = []
    count = 0
    for case in every_case():
        count += 1
        verdict = decide(observation(case), row_policy(case))
        kind = expected_verdict(case)
        reason = expected_reason(case, kind)
        if (verdict.kind, verdict.reason) != (kind, reason):
            wrong.append(
                f"{case}: got {verdict.kind.value} ({verdict.reason!r}), "
                f"expected {kind.value} ({reason!r})"
            )
    assert wrong[:5] == []
    # 6 servers seen x 2 hosts x 2 tasks, + not seen; the rest multiply;
    # with no record, each kind of earlier request too.
    per_record = 25 * 2 * 2 * len(STOPS) * 2 * 2 * 3
    assert count == (len(RECORDS) - 1 + len(EARLIER)) * per_record


@pytest.mark.parametrize(
    ("error", "unanswered", "kind"),
    [
        # Busy or unreachable: the next poll will tell, for a while.
        (ComputeAPIError("Service Unavailable", 503), 0.0, Kind.KEEP_WAITING),
        (
            ComputeAPIError("read timed out"),
            STUCK_AFTER - 1,
            Kind.KEEP_WAITING,
        ),
        (ComputeAPIError("Too Many Requests", 429), 0.0, Kind.KEEP_WAITING),
        (
            ComputeAPIError("busy: task_state rebuilding", 409),
            0.0,
            Kind.KEEP_WAITING,
        ),
        # Silent for too long: waiting on would be hanging.
        (
            ComputeAPIError("Service Unavailable", 503),
            STUCK_AFTER,
            Kind.NOT_PROVEN,
        ),
        # Nova's last word: a token it refuses, a policy, a bad marker.
        (
            ComputeAPIError("The request requires auth", 401),
            0.0,
            Kind.NOT_PROVEN,
        ),
        (ComputeAPIError("Policy does not allow", 403), 0.0, Kind.NOT_PROVEN),
        (ComputeAPIError("marker [x] not found", 400), 0.0, Kind.NOT_PROVEN),
        # keystoneauth gave up before sending: Keystone's 503 passes...
        (
            ComputeAPIError("Keystone 503", sent=False, transient=True),
            0.0,
            Kind.KEEP_WAITING,
        ),
        # ...a password Keystone refuses does not.
        (
            ComputeAPIError("Keystone 401", sent=False, transient=False),
            0.0,
            Kind.NOT_PROVEN,
        ),
    ],
)
def test_a_poll_without_an_answer_decides_only_whether_to_go_on(
    error: ComputeAPIError, unanswered: float, kind: Kind
) -> None:
    # Whatever the polls showed before: no answer is no news, until it is
    # clearly no answer for good.
    for case in every_case():
        seen = dataclasses.replace(
            observation(case), poll_error=error, unanswered=unanswered
        )
        verdict = decide(seen, row_policy(case))
        assert verdict.kind is kind, case
        if kind is Kind.KEEP_WAITING:
            assert verdict.reason == str(error)
        else:
            assert verdict.reason is not None
            assert verdict.reason.startswith("the wait cannot go on: ")
            assert str(error) in verdict.reason
            assert "the evacuation was sent" in verdict.reason


def test_every_rule_decides_some_case() -> None:
    # A row no combination reaches is dead, or the dimensions miss a value.
    used = {
        decide(observation(case), row_policy(case)).rule
        for case in every_case()
    }
    policy = row_policy(next(every_case()))
    for error, unanswered in (
        (ComputeAPIError("x"), 0.0),
        (ComputeAPIError("x", 401), 0.0),
        (ComputeAPIError("x"), STUCK_AFTER),
    ):
        seen = Observation(
            None, None, SOURCE, poll_error=error, unanswered=unanswered
        )
        used.add(decide(seen, policy).rule)
    assert used == {rule.name for rule in RULES}
    assert len(used) == len(RULES)  # names are unique


def test_only_keep_waiting_leaves_the_row_alone() -> None:
    for rule in RULES:
        acts = Verdict(rule.kind, None, rule.name).acts
        assert acts == (rule.kind is not Kind.KEEP_WAITING)
    ends = {
        Kind.VERIFIED: Result.VERIFIED,
        Kind.FAILED: Result.FAILED,
        Kind.DELETED: Result.DELETED,
        Kind.STUCK: Result.STUCK,
        Kind.NOT_PROVEN: Result.NOT_PROVEN,
    }
    for kind in Kind:
        assert kind.ends_as is ends.get(kind), kind


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


def test_debug_log_tells_each_poll_and_verdict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    api = FakeCompute(server("a"), server("b"))
    api.no_valid_host = {"b"}
    request = engine.Request(
        options=EvacuateOptions(password="s3cr3t-Pa55"),
        wait=WaitPolicy(timeout=600),
    )
    with caplog.at_level(logging.DEBUG, logger="osc_evacuate"):
        engine.evacuate_host(api, "c1", request, FakeClock())
    waiter = [
        r.getMessage() for r in caplog.records if r.name.endswith("waiter")
    ]
    assert any(
        "2 evacuation records, 2 servers changed since" in m
        and m.endswith("2 pending")
        for m in waiter
    )
    assert any(
        "a: verified (landed in the promised state)" in m for m in waiter
    )
    assert any(
        "b: failed (evacuation failed): No valid host was found." in m
        for m in waiter
    )
    assert "s3cr3t-Pa55" not in caplog.text


# The poller applies the verdicts: what an operator sees of each.


def wait_for(
    api: FakeCompute, clock: FakeClock, retries: int = 0
) -> engine.Report:
    request = engine.Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600, retries=retries),
    )
    return engine.evacuate_host(api, "c1", request, clock)


def test_the_pause_stays_short_while_nova_shows_progress() -> None:
    # Each poll of the fake shows a record one step further: never idle.
    api = FakeCompute(server("a"))
    clock = FakeClock()
    report = wait_for(api, clock)
    assert report.rows[0].result is Result.VERIFIED
    assert clock.sleeps == [defaults.POLL_INTERVAL] * (report.polls - 1)


def test_a_fault_that_never_shows_fails_after_a_few_polls() -> None:
    api = FakeCompute(server("a"))
    api.no_valid_host = {"a"}
    advance = api._advance

    def without_faults() -> None:
        advance()
        for sid, seen in api.servers.items():
            api.servers[sid] = dataclasses.replace(seen, fault=None)

    api._advance = without_faults  # type: ignore[method-assign]
    clock = FakeClock()
    report = wait_for(api, clock, retries=1)
    row = report.rows[0]
    assert (row.result, row.error) == (Result.FAILED, "migration error")
    # One poll sees it accepted, one sees it fail, then FAULT_POLLS more;
    # waiting for the fault is not idling: the pause does not grow.
    assert report.polls == 2 + FAULT_POLLS
    assert clock.sleeps == [defaults.POLL_INTERVAL] * (report.polls - 1)
    assert api.calls["evacuate"] == 1  # no fault, no proof a retry helps


def test_retries_bound_the_evacuations_sent() -> None:
    api = FakeCompute(server("a"))
    evacuate = api.evacuate

    def never_a_host(
        server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        api.no_valid_host.add(server_id)
        return evacuate(server_id, version, body)

    api.evacuate = never_a_host  # type: ignore[method-assign]
    report = wait_for(api, FakeClock(), retries=1)
    row = report.rows[0]
    assert row.result is Result.FAILED
    assert (row.error or "").startswith("No valid host was found.")
    assert api.calls["evacuate"] == 2


def test_a_retry_is_judged_by_its_own_record() -> None:
    # The retry's record shows up some polls late; meanwhile the failed
    # record must not fail the row again.
    api = FakeCompute(server("a"))
    api.no_valid_host = {"a"}
    read = api.migrations
    hidden_reads = [FAULT_POLLS + 1]

    def lagging(
        migration_type: str,
        source_host: str | None = None,
        instance_uuid: str | None = None,
        changes_since: str | None = None,
    ) -> list[Migration]:
        found = read(migration_type, source_host, instance_uuid, changes_since)
        if len(found) > 1 and hidden_reads[0] > 0:
            hidden_reads[0] -= 1
            return [m for m in found if m.id != 2]
        return found

    api.migrations = lagging  # type: ignore[method-assign]
    report = wait_for(api, FakeClock(), retries=1)
    assert report.rows[0].result is Result.VERIFIED
    assert report.rows[0].migration is not None
    assert report.rows[0].migration.id == 2
    assert api.calls["evacuate"] == 2
