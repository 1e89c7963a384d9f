"""--priority-property on the real Nova: phases, highest priority first,
and Nova's own records show each phase done before the next is sent."""

from __future__ import annotations

import datetime
import json

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import NEVER_UNPROVEN, by_id, crash
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

promise = pytest.mark.promise


def when(stamp: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(stamp.rstrip("Z"))


@promise(NEVER_UNPROVEN)
def test_each_phase_is_done_before_the_next_is_sent(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    run_openstack: RunOpenstack,
) -> None:
    servers = {
        prio: nova.create_server(host=fresh_host, metadata={"prio": str(prio)})
        for prio in (1, 2, 3)
    }
    crash(sandbox, fresh_host)
    # Each rebuild takes a while: a phase sent early would overlap.
    sandbox.slow_spawn(2)

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--priority-property", "prio",
        "--wait", "180", "-f", "json",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    phase = {prio: rows[s["id"]]["Phase"] for prio, s in servers.items()}
    assert phase == {3: 1, 2: 2, 1: 3}
    assert {r["Result"] for r in rows.values()} == {"verified"}
    records = {
        prio: nova.migrations(instance_uuid=s["id"])
        for prio, s in servers.items()
    }
    assert all(len(found) == 1 for found in records.values())
    record = {prio: found[0] for prio, found in records.items()}
    assert record[3]["status"] == record[2]["status"] == "done"
    # Done (its last update) before the next phase's request was made.
    assert when(record[3]["updated_at"]) <= when(record[2]["created_at"])
    assert when(record[2]["updated_at"]) <= when(record[1]["created_at"])
