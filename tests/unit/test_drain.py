"""The drain job on the in-memory compute API (its live and cold
migrations: tests/unit/fake_moves.py), and its verdict table."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from osc_evacuate.core import drain, drain_plan, drain_rows, drain_verdict
from osc_evacuate.core.errors import ComputeAPIError, Refused
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    BlockMigration,
    DrainOptions,
    DrainRequest,
    Flavor,
    Method,
    Migration,
    Report,
    Server,
    ServerOutcome,
)
from osc_evacuate.core.observation import Observation, RowPolicy
from osc_evacuate.core.verdict import Kind, decide
from tests.unit.drain_runs import WAIT, living, results, run
from tests.unit.fake_compute import FakeClock, FakeCompute, server


def test_live_cold_and_skipped_each_as_its_state_asks() -> None:
    api = living(
        server("a"),
        server("b", "stopped"),
        server("p", "paused"),
        server("e", "error"),
    )
    report = run(api, DrainRequest(wait=WAIT))
    assert results(report) == {
        "a": ("verified", "live"),
        "b": ("verified", "cold"),
        "e": ("skipped", None),
        "p": ("verified", "live"),
    }
    after = {r.id: r.status_after for r in report.rows}
    assert after["a"] == "ACTIVE" and after["b"] == "SHUTOFF"
    assert after["p"] == "PAUSED"
    assert api.calls["confirm_resize"] == 1
    # The host was disabled first; the error server is still on it.
    assert api.service_changes[0][1].body["status"] == "disabled"
    assert report.left == ("e",)


def test_a_dead_host_is_refused_naming_host_evacuate() -> None:
    with pytest.raises(Refused, match="needs: openstack host evacuate c1"):
        run(FakeCompute(server("a")), DrainRequest(wait=WAIT))


def test_a_dead_host_is_refused_though_its_servers_could_not_be_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The plan's first reads go out together; the host's service is
    judged first, so a failed list never hides why a drain is refused."""
    api = FakeCompute(server("a"))

    def fails(host: str) -> list[Server]:
        raise ComputeAPIError("GET /servers/detail: 503", status=503)

    monkeypatch.setattr(api, "servers_on_host", fails)
    with pytest.raises(Refused, match="needs: openstack host evacuate c1"):
        run(api, DrainRequest(wait=WAIT))


def test_a_failed_live_migration_fails_or_falls_back_cold() -> None:
    api = living(server("a"))
    api.live_fails = {"a"}
    report = run(api, DrainRequest(wait=WAIT))
    (row,) = report.rows
    assert row.result.value == "failed"
    assert (row.error or "").startswith("live migration 1 error")

    api = living(server("a"))
    api.live_fails = {"a"}
    fallback = dataclasses.replace(WAIT, cold_fallback=True)
    report = run(api, DrainRequest(wait=fallback, cold_fallback=True))
    (row,) = report.rows
    assert (row.result.value, row.method) == ("verified", Method.COLD)
    assert row.fell_back == "live migration 1 error"
    assert api.calls["migrate"] == 1


REFUSED = ComputeAPIError("Migration pre-check error: no room", status=400)


@pytest.mark.parametrize(
    ("error", "fallback", "expected"),
    [
        (REFUSED, True, ("verified", "cold", 1)),
        (REFUSED, False, ("failed", "live", 0)),
        # No answer: it may have started, so nothing else is sent.
        (
            ComputeAPIError("timed out", transient=False),
            True,
            ("failed", "live", 0),
        ),
    ],
)
def test_a_refused_live_migration_falls_back_cold_only_when_refused(
    error: ComputeAPIError, fallback: bool, expected: tuple[str, str, int]
) -> None:
    api = living(server("a"))
    api.move_errors = [error]
    wait = dataclasses.replace(WAIT, cold_fallback=fallback)
    report = run(api, DrainRequest(wait=wait, cold_fallback=fallback))
    (row,) = report.rows
    assert (row.result.value, row.method and row.method.value) == (
        expected[:2]
    )
    assert api.calls["migrate"] == expected[2]
    if fallback and error is REFUSED:
        assert (row.fell_back or "").startswith(
            "live migration refused: Migration pre-check error"
        )
    else:
        assert row.fell_back is None and error.message in (row.error or "")


def test_live_only_and_cold_only_narrow_the_moves() -> None:
    api = living(server("a"), server("b", "stopped"))
    live = DrainRequest(wait=WAIT, methods=frozenset({Method.LIVE}))
    assert results(run(api, live))["b"] == ("skipped", None)
    api = living(server("a"), server("p", "paused"))
    cold = DrainRequest(wait=WAIT, methods=frozenset({Method.COLD}))
    found = results(run(api, cold))
    assert found == {"a": ("verified", "cold"), "p": ("skipped", None)}


def test_a_rerun_moves_nothing_twice() -> None:
    api = living(server("a"))
    run(api, DrainRequest())  # sent, not waited for
    sent = api.calls["live_migrate"]
    report = run(api, DrainRequest(wait=WAIT))
    assert api.calls["live_migrate"] == sent == 1
    assert [r.action.value for r in report.rows] == ["resumed"]
    assert report.rows[0].result.value == "verified"


def interrupted_at(
    api: FakeCompute, status: str, pin: str | None = None
) -> Report:
    """A drain with --wait, Ctrl-C once every row's record reads status."""

    def ctrl_c(rows: Sequence[ServerOutcome]) -> None:
        if rows and all(
            r.migration is not None and r.migration.status == status
            for r in rows
        ):
            raise KeyboardInterrupt

    clock = FakeClock()
    version = Microversion.parse(pin) if pin else None
    # Below 2.25 a block migration is said, not "auto".
    options = DrainOptions(block_migration=BlockMigration.FALSE)
    request = DrainRequest(wait=WAIT, pinned=version, options=options)
    plan = drain_plan.plan_drain(api, ["c1"], request, clock)
    return drain.carry_out(api, plan, request, clock, ctrl_c)


def test_ctrl_c_asks_nova_to_abort_the_live_migrations_under_way() -> None:
    api = living(server("a"), server("b"))
    api.abort_errors = [ComputeAPIError("Conflict", status=409)]
    report = interrupted_at(api, "running")
    assert report.interrupted
    assert [(sid, mig) for sid, mig, _ in api.aborts] == [("a", 1), ("b", 2)]
    errors = {r.id: r.error for r in report.rows}
    assert errors == {
        "a": "interrupted: the abort of live migration 1 failed (Conflict "
        "(HTTP 409)); it may still complete; run the command again to move "
        "it",
        "b": "interrupted: Nova took the abort of live migration 2 (it "
        "reads cancelled once stopped); run the command again to move it",
    }


@pytest.mark.parametrize(
    ("pin", "status", "aborted"),
    [
        ("2.24", "running", ["a"]),  # the first that aborts
        ("2.23", "running", []),  # none before it
        ("2.64", "queued", []),  # a queued one only from 2.65
        ("2.65", "queued", ["a"]),
    ],
)
def test_ctrl_c_aborts_at_the_runs_microversion(
    pin: str, status: str, aborted: list[str]
) -> None:
    api = living(server("a"))
    report = interrupted_at(api, status, pin)
    assert [sid for sid, _, _ in api.aborts] == aborted
    assert {str(v) for _, _, v in api.aborts} <= {pin}
    (row,) = report.rows
    assert ("abort" in (row.error or "")) is bool(aborted)


def record(status: str, kind: str = "live-migration") -> Migration:
    return Migration(
        1, "a", status, "c1", "c2", "2026-01-01T00:00:00", None, kind
    )


def seen(status: str, host: str, kind: str, idle: float = 0.0) -> Observation:
    moved = dataclasses.replace(server("a"), status=status, host=host)
    return Observation(record(kind_status(kind), kind), moved, "c1", idle=idle)


def kind_status(kind: str) -> str:
    return "completed" if kind == "live-migration" else "confirmed"


@pytest.mark.parametrize(
    ("observation", "policy", "verdict"),
    [
        # Done and moved as it was: proven.
        (seen("ACTIVE", "c2", "live-migration"), {}, Kind.VERIFIED),
        (
            seen("SHUTOFF", "c2", "migration"),
            {"status": "SHUTOFF"},
            Kind.VERIFIED,
        ),
        # Done on paper, still on the source: never success.
        (seen("ACTIVE", "c1", "live-migration"), {}, Kind.KEEP_WAITING),
        (
            seen("ACTIVE", "c1", "live-migration", drain_verdict.SETTLE),
            {},
            Kind.FAILED,
        ),
        # Moved, in another state.
        (seen("SHUTOFF", "c2", "live-migration"), {}, Kind.FAILED),
    ],
)
def test_drain_verdicts(
    observation: Observation, policy: dict[str, str], verdict: Kind
) -> None:
    expected = policy.get("status", "ACTIVE")
    decided = decide(
        observation, RowPolicy(expected, 0, 0, 0), drain_verdict.RULES
    )
    assert decided.kind is verdict


def test_a_finished_cold_migration_is_confirmed_once() -> None:
    moved = dataclasses.replace(server("a"), status="VERIFY_RESIZE", host="c2")
    finished = Observation(record("finished", "migration"), moved, "c1")
    first = decide(
        finished, RowPolicy("SHUTOFF", 0, 0, 0), drain_verdict.RULES
    )
    assert first.kind is Kind.CONFIRM
    again = RowPolicy("SHUTOFF", 0, 0, 0, confirms_sent=1)
    assert decide(finished, again, drain_verdict.RULES).kind is (
        Kind.KEEP_WAITING
    )


@pytest.mark.parametrize(
    ("status", "fallback", "retries", "verdict"),
    [
        ("error", True, 0, Kind.FALLBACK),
        ("cancelled", True, 0, Kind.FALLBACK),
        ("error", False, 1, Kind.RESUBMIT),
        ("failed", False, 0, Kind.FAILED),
    ],
)
def test_a_failed_live_migration(
    status: str, fallback: bool, retries: int, verdict: Kind
) -> None:
    failed = Observation(record(status), server("a"), "c1")
    policy = RowPolicy("ACTIVE", retries, 0, 0, fallback=fallback)
    assert decide(failed, policy, drain_verdict.RULES).kind is verdict


SMALL = Flavor(vcpus=1, ram=512, disk=1)
# (image, config drive, flavor, --block-migration): the risk in words.
LIVE_RISKS = {
    "volume-backed, nothing to copy": ("", False, SMALL, "auto", None),
    "local disk": (
        "img",
        False,
        SMALL,
        "auto",
        "local disk: copied by block migration",
    ),
    "local disk, no block migration": (
        "img",
        False,
        SMALL,
        "false",
        "local disk with --block-migration false: fails unless the "
        "instance storage is shared",
    ),
    "config drive": (
        "",
        True,
        SMALL,
        "auto",
        "config drive: its file is copied too (block migration) unless "
        "the instance storage is shared",
    ),
    "config drive, no block migration": (
        "",
        True,
        SMALL,
        "false",
        "config drive with --block-migration false: fails unless the "
        "instance storage is shared",
    ),
    "PCI and vGPU": (
        "",
        False,
        Flavor(
            1,
            512,
            1,
            extra_specs={
                "pci_passthrough:alias": "a1:1",
                "resources:VGPU": "1",
            },
        ),
        "auto",
        "PCI device: Nova live-migrates only SR-IOV ports; vGPU: the "
        "destination needs the same mdev type",
    ),
    "huge memory": (
        "",
        False,
        Flavor(8, 128 * 1024, 1),
        "auto",
        "128 GB of memory to copy: slow",
    ),
}


@pytest.mark.parametrize("case", LIVE_RISKS, ids=list(LIVE_RISKS))
def test_what_endangers_or_slows_a_live_migration(case: str) -> None:
    image, config_drive, flavor, block, expected = LIVE_RISKS[case]
    moved = dataclasses.replace(
        server("a"), image_id=image, config_drive=config_drive
    )
    risk = drain_rows.live_risk(moved, flavor, BlockMigration(block))
    assert risk == expected
