"""What the drain tests share: a living host, a drain run through, its
results by server."""

from __future__ import annotations

from osc_evacuate.core import drain, drain_plan
from osc_evacuate.core.models import (
    DrainRequest,
    Report,
    Server,
    WaitPolicy,
)
from tests.unit.fake_compute import FakeClock, FakeCompute

WAIT = WaitPolicy(timeout=600)


def living(*servers: Server) -> FakeCompute:
    return FakeCompute(*servers, up=True)


def run(api: FakeCompute, request: DrainRequest) -> Report:
    clock = FakeClock()
    plan = drain_plan.plan_drain(api, ["c1"], request, clock)
    return drain.carry_out(api, plan, request, clock)


def results(report: Report) -> dict[str, tuple[str, str | None]]:
    return {
        r.id: (r.result.value, r.method.value if r.method else None)
        for r in report.rows
    }
