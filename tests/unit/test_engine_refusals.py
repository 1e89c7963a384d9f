"""What the evacuation engine refuses before it sends anything: a host
still up, an unknown host, a target host that cannot take the servers."""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core.errors import NotFound, Refused, UsageError
from osc_evacuate.core.models import ComputeService, EvacuateOptions
from tests.unit import engine
from tests.unit.engine_runs import results, run
from tests.unit.fake_compute import FakeClock, FakeCompute, server


def test_host_still_up_is_refused_before_anything() -> None:
    api = FakeCompute(server("a"), up=True)
    with pytest.raises(Refused, match="openstack compute service set --down"):
        run(api)
    # The plan's first reads go out together (the servers too), but
    # nothing that changes anything does.
    assert api.calls["evacuate"] == 0
    assert api.calls["update_service"] == 0


def test_unknown_host_suggests_close_names() -> None:
    api = FakeCompute()
    request = engine.Request(options=EvacuateOptions())
    with pytest.raises(NotFound, match="Did you mean: c1"):
        engine.evacuate_host(api, "c11", request, FakeClock())


def test_target_host_must_be_up_and_enabled_unless_forced() -> None:
    api = FakeCompute(server("a"))
    api.services[1] = dataclasses.replace(api.services[1], status="disabled")
    with pytest.raises(UsageError, match="nova-compute is up and disabled"):
        run(api, host="c2")
    assert api.calls["evacuate"] == 0
    # --force skips the scheduler: a disabled spare host may take them.
    report = run(api, host="c2", force=True)
    assert results(report) == {"a": "verified"}
    assert report.microversion.minor == 67


def test_a_target_in_a_down_cell_is_refused() -> None:
    api = FakeCompute(server("a"))
    api.services.append(ComputeService("", "c9", "unknown", "unknown", False))
    with pytest.raises(UsageError, match="nova-compute is unknown"):
        run(api, host="c9")
    assert api.calls["evacuate"] == 0
