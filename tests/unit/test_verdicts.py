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

from osc_evacuate.core import evacuation
from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import EvacuateOptions, Migration, Server
from osc_evacuate.core.outcome import Result
from osc_evacuate.core.verdict import (
    FAULT_POLLS,
    RULES,
    Kind,
    Observation,
    RowPolicy,
    Verdict,
    decide,
)
from osc_evacuate.core.waiter import WaitPolicy
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
STOP_REQUESTED = (False, True)
FAULT_POLLS_SPENT = (0, FAULT_POLLS)

# Groups of values, named as the table below uses them.
SUCCEEDED = {"done", "completed"}
FAILED = {"error", "failed"}
UNFINISHED = {"accepted", "pre-migrating", "running", "migrating"}
ERRORS = {"ERROR, no valid host", "ERROR, other fault", "ERROR, no fault"}
NO_FAULT = {"ACTIVE", "SHUTOFF", "ERROR, no fault", "not seen"}


@dataclasses.dataclass(frozen=True)
class Case:
    record: str
    host: str
    server: str
    task: str | None
    expect: str
    retries_left: int
    stop_requested: bool
    fault_polls: int

    def __str__(self) -> str:
        return (
            f"record {self.record}, {self.host}, server {self.server}, "
            f"task {self.task}, expect {self.expect}, "
            f"retries left {self.retries_left}, "
            f"stop requested {self.stop_requested}, "
            f"fault polls {self.fault_polls}"
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
    stop_requested: set[bool] | None = None
    fault_polls: set[int] | None = None

    def matches(self, case: Case) -> bool:
        return all(
            allowed is None or getattr(case, name) in allowed
            for name, allowed in dataclasses.asdict(self).items()
            if name != "verdict"
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


EXPECTED: list[Expect] = [
    # Gone, records and all: nothing left to evacuate or prove.
    Expect(Kind.DELETED, server={"DELETED"}),
    # Nothing to judge: no record yet, or one still on its way.
    Expect(Kind.KEEP_WAITING, record={"none"}),
    Expect(Kind.KEEP_WAITING, record=UNFINISHED),
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
    # Landed running where stopped was promised: stop it, once.
    when_landed(
        Kind.STOP, {"ACTIVE"}, expect={"SHUTOFF"}, stop_requested={False}
    ),
    # The rest proves nothing yet: done but not seen, still on the source
    # host, a task still under way there, landed SHUTOFF where ACTIVE was
    # promised, or a stop sent and not yet carried out.
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
        STOP_REQUESTED,
        FAULT_POLLS_SPENT,
    ):
        case = Case(*values)
        if case.server == "not seen" and (case.host, case.task) != (
            "moved",
            None,
        ):
            continue  # host and task of a server not seen mean nothing
        yield case


def expected_verdict(case: Case) -> Kind:
    return next(row.verdict for row in EXPECTED if row.matches(case))


def expected_reason(case: Case, kind: Kind) -> str | None:
    """A failure or a retry names Nova's fault, else the record's status."""
    if kind is Kind.DELETED:
        return "deleted while it was being evacuated"
    if kind not in (Kind.FAILED, Kind.RESUBMIT):
        return None
    return fault_of(case.server) or f"migration {case.record}"


def fault_of(server: str) -> str | None:
    return {
        "ERROR, no valid host": NO_VALID_HOST,
        "ERROR, other fault": OTHER_FAULT,
    }.get(server)


def record(status: str, mid: int = 7) -> Migration:
    return Migration(
        id=mid,
        instance_uuid="a",
        status=status,
        source_compute=SOURCE,
        dest_compute="c2",
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
    return Observation(record=mig, server=seen, source_host=SOURCE)


def row_policy(case: Case) -> RowPolicy:
    return RowPolicy(
        expected_status=case.expect,
        retries_left=case.retries_left,
        stop_requested=case.stop_requested,
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
    assert wrong == []
    assert count == len(RECORDS) * 25 * 16  # 6 seen x 2 x 2, + not seen


def test_a_poll_nova_did_not_answer_decides_nothing() -> None:
    # Whatever the polls showed before: no answer is no news.
    busy = ComputeAPIError("Service Unavailable", 503)
    for case in every_case():
        seen = dataclasses.replace(observation(case), poll_error=busy)
        verdict = decide(seen, row_policy(case))
        assert verdict.kind is Kind.KEEP_WAITING, case
        assert verdict.reason == "Service Unavailable (HTTP 503)"


def test_every_rule_decides_some_case() -> None:
    # A row no combination reaches is dead, or the dimensions miss a value.
    used = {
        decide(observation(case), row_policy(case)).rule
        for case in every_case()
    }
    used.add(
        decide(
            Observation(None, None, SOURCE, ComputeAPIError("x")),
            row_policy(next(every_case())),
        ).rule
    )
    assert used == {rule.name for rule in RULES}
    assert len(used) == len(RULES)  # names are unique


def test_only_keep_waiting_leaves_the_row_alone() -> None:
    for rule in RULES:
        acts = Verdict(rule.kind, None, rule.name).acts
        assert acts == (rule.kind is not Kind.KEEP_WAITING)
    assert Kind.VERIFIED.ends_as is not None
    assert Kind.FAILED.ends_as is not None
    for kind in (Kind.RESUBMIT, Kind.STOP, Kind.AWAIT_FAULT):
        assert kind.ends_as is None


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
    stop_requested: bool = False,
    fault_polls: int = 0,
) -> Verdict:
    return decide(
        Observation(mig, seen, SOURCE),
        RowPolicy(expect, retries_left, stop_requested, fault_polls),
    )


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
    "a stop already sent is waited for, not sent again": (
        verdict_of(
            record("done"), landed(), expect="SHUTOFF", stop_requested=True
        ),
        Kind.KEEP_WAITING,
        None,
    ),
    # Today's behaviour; issue 7 (wrong final state) will make this a row.
    "landed SHUTOFF where ACTIVE was promised is not proof": (
        verdict_of(record("done"), landed("SHUTOFF", "stopped")),
        Kind.KEEP_WAITING,
        None,
    ),
    "a server no poll has shown is waited for": (
        verdict_of(record("done"), None),
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
    request = evacuation.Request(
        options=EvacuateOptions(password="s3cr3t-Pa55"),
        wait=WaitPolicy(timeout=600),
    )
    with caplog.at_level(logging.DEBUG, logger="osc_evacuate"):
        evacuation.evacuate_host(api, "c1", request, FakeClock())
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
) -> evacuation.Report:
    request = evacuation.Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600, retries=retries),
    )
    return evacuation.evacuate_host(api, "c1", request, clock)


def test_the_pause_stays_short_while_nova_shows_progress() -> None:
    # Each poll of the fake shows a record one step further: never idle.
    api = FakeCompute(server("a"))
    clock = FakeClock()
    report = wait_for(api, clock)
    assert report.rows[0].result is Result.VERIFIED
    assert clock.sleeps == [1.0] * (report.polls - 1)


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
    assert clock.sleeps == [1.0] * (report.polls - 1)
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
    read = api.evacuation_migrations
    hidden_reads = [FAULT_POLLS + 1]

    def lagging(
        source_host: str | None = None, instance_uuid: str | None = None
    ) -> list[Migration]:
        found = read(source_host, instance_uuid)
        if len(found) > 1 and hidden_reads[0] > 0:
            hidden_reads[0] -= 1
            return [m for m in found if m.id != 2]
        return found

    api.evacuation_migrations = lagging  # type: ignore[method-assign]
    report = wait_for(api, FakeClock(), retries=1)
    assert report.rows[0].result is Result.VERIFIED
    assert report.rows[0].migration is not None
    assert report.rows[0].migration.id == 2
    assert api.calls["evacuate"] == 2
