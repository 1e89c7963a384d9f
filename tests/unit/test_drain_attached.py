"""host drain and what servers have attached: what Nova refuses to move
is skipped or moved cold; an encrypted volume is no risk to a move."""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core.attached import ACCELERATOR_PORTS, SHARES, Attachments
from osc_evacuate.core.models import (
    DrainRequest,
)
from tests.unit.drain_runs import WAIT, living, results, run
from tests.unit.fake_compute import server


@pytest.mark.parametrize(
    ("fallback", "expected"),
    [
        (False, {"sh": ("skipped", "live"), "sh-off": ("verified", "cold")}),
        # A share stops a live migration only: cold, it moves.
        (True, {"sh": ("verified", "cold"), "sh-off": ("verified", "cold")}),
    ],
)
def test_accelerator_ports_and_shares_as_nova_refuses_them(
    fallback: bool, expected: dict[str, tuple[str, str | None]]
) -> None:
    api = living(
        server("acc"), server("sh"), server("sh-off", "stopped"), server("a")
    )
    api.attached = Attachments(
        shares={"sh": ("share-1",), "sh-off": ("share-2",)},
        accelerator_ports={"acc": ("port-1",)},
    )
    wait = dataclasses.replace(WAIT, cold_fallback=fallback)
    report = run(api, DrainRequest(wait=wait, cold_fallback=fallback))
    # A skipped row keeps the method Nova refused.
    assert results(report) == {
        "acc": ("skipped", "live"),
        "a": ("verified", "live"),
        **expected,
    }
    rows = {r.id: r for r in report.rows}
    assert rows["acc"].error == ACCELERATOR_PORTS.says(("port-1",))
    if not fallback:
        assert rows["sh"].error == SHARES.says(("share-1",))
    assert sorted(report.left) == (["acc"] if fallback else ["acc", "sh"])


def test_an_encrypted_volume_is_no_risk_to_a_move_and_is_not_read() -> None:
    """An encrypted volume is a risk to an evacuation only
    (test_refusals.py): drain neither reads Cinder for it nor flags it."""
    api = living(dataclasses.replace(server("v"), volumes=("vol-1",)))
    api.attached = Attachments(encrypted_volumes=frozenset({"vol-1"}))
    report = run(api, DrainRequest(wait=WAIT))
    assert results(report) == {"v": ("verified", "live")}
    assert report.rows[0].risk is None
    assert api.calls["attachments"] == 1
    assert api.calls["volumes read"] == 0
