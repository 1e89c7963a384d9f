"""The engine tests' run: c1 evacuated on a FakeCompute with a fake clock,
and each server's result in the report."""

from __future__ import annotations

from osc_evacuate.core.models import EvacuateOptions, WaitPolicy
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute

WAIT = WaitPolicy(timeout=600)
FOREVER = WaitPolicy(timeout=None)  # plain --wait


def run(
    api: FakeCompute,
    wait: WaitPolicy | None = WAIT,
    clock: FakeClock | None = None,
    **options: object,
) -> engine.Report:
    request = engine.Request(
        options=EvacuateOptions(**options),  # type: ignore[arg-type]
        wait=wait,
    )
    return engine.evacuate_host(api, "c1", request, clock or FakeClock())


def results(report: engine.Report) -> dict[str, str]:
    return {r.before.id: r.result.value for r in report.rows}
