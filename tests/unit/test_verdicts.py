"""The waiter's verdicts: every combination of what a poll can show.

The cases are generated from the dimensions of verdict_table.py; the
verdict each must get is stated by its EXPECTED, a table read top to bottom
like verdict.RULES, but written in terms of what an operator would check by
hand.
"""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.models import Result
from osc_evacuate.core.observation import Observation
from osc_evacuate.core.verdict import RULES, STUCK_AFTER, Kind, Verdict, decide
from tests.unit.verdict_table import (
    EARLIER,
    RECORDS,
    SOURCE,
    STOPS,
    every_case,
    expected_reason,
    expected_verdict,
    observation,
    row_policy,
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
