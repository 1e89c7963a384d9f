"""The evacuation engine sending while it proves: an interrupt stops the
submissions, the proof starts with the first accepted request, and the
polls keep to the sending interval."""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from osc_evacuate.core.models import EvacuateOptions, Result, WaitPolicy
from tests.unit import engine
from tests.unit.engine_runs import results
from tests.unit.fake_compute import FakeClock, FakeCompute, server


def test_interrupt_stops_further_submissions() -> None:
    api = FakeCompute(*(server(str(i)) for i in range(10)))
    gate = threading.Event()
    evacuate = api.evacuate

    def gated(*args: Any) -> Any:
        if api.calls["evacuate"] >= 2:
            gate.wait(10)  # the third waits while Ctrl-C is handled
        return evacuate(*args)

    api.evacuate = gated  # type: ignore[method-assign,assignment]
    done: list[object] = []

    def interrupt_after_two(rows: object) -> None:
        done.append(rows)
        if len(done) == 2:
            threading.Timer(0.2, gate.set).start()
            raise KeyboardInterrupt

    request = engine.Request(options=EvacuateOptions(), max_parallel=1)
    report = engine.evacuate_host(
        api, "c1", request, FakeClock(), on_progress=interrupt_after_two
    )
    assert report.interrupted
    gate.wait(10)
    time.sleep(0.3)  # the third, on the wire, may finish; nothing follows
    assert api.calls["evacuate"] == 3
    errors = collections.Counter(
        (r.result.value, r.error) for r in report.rows
    )
    assert errors == {
        (
            "submitted",
            "interrupted before it was proven: run the command "
            "again with --wait to finish",
        ): 2,
        (
            "interrupted",
            "interrupted while its evacuation request was on "
            "its way; Nova may have started it: run the command again to "
            "find out",
        ): 1,
        ("interrupted", "interrupted before its evacuation was sent"): 7,
    }


def test_a_server_accepted_first_is_proven_while_others_are_sent() -> None:
    """The proof starts with the first accepted request: a server is
    verified (and reported) before the last request is even answered."""
    api = FakeCompute(server("a"), server("b"))
    gate = threading.Event()
    evacuate = api.evacuate

    def gated(server_id: str, *args: Any) -> Any:
        if server_id == "b":
            gate.wait(5)  # b's answer waits for a's proof
        return evacuate(server_id, *args)

    api.evacuate = gated  # type: ignore[method-assign,assignment]
    sent_when_a_verified: list[int] = []

    def progress(rows: Any) -> None:
        verified = {r.id for r in rows if r.result is Result.VERIFIED}
        if "a" in verified and not sent_when_a_verified:
            sent_when_a_verified.append(api.calls["evacuate"])
            gate.set()

    request = engine.Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600, sending_interval=0.01),
        max_parallel=1,
    )
    report = engine.evacuate_host(
        api, "c1", request, FakeClock(), on_progress=progress
    )
    assert results(report) == {"a": "verified", "b": "verified"}
    assert sent_when_a_verified == [1]  # b's request not yet through


def test_polls_while_sending_keep_to_the_sending_interval() -> None:
    """Each poll competes with the evacuations for Nova's API: while a
    request is still going out, polls come no more often than every
    sending_interval (not every interval)."""
    api = FakeCompute(server("a"), server("b"))
    evacuate = api.evacuate
    polls_before_b: list[int] = []

    def slow_b(server_id: str, *args: Any) -> Any:
        if server_id == "b":
            time.sleep(2.5)  # b's answer takes long
            polls_before_b.append(api.calls["migrations"])
        return evacuate(server_id, *args)

    api.evacuate = slow_b  # type: ignore[method-assign,assignment]
    request = engine.Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=600, interval=0.5, sending_interval=5.0),
        max_parallel=1,
    )
    report = engine.evacuate_host(api, "c1", request, FakeClock())
    assert results(report) == {"a": "verified", "b": "verified"}
    # The plan's one read, and at most one poll in the 2.5 s (every 0.5 s
    # would have made four).
    assert polls_before_b and polls_before_b[0] <= 2
