"""--spare on the real Nova: room only on a disabled spare; refused
without spares; with --spare the spare is enabled, the servers land
there, and each is proven."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import (
    NEVER_UNPROVEN,
    Boot,
    by_id,
    crash,
    gets_by_path,
)
from tests.functional.test_capacity_rules import full_cloud
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

__all__ = ["full_cloud"]  # the fixture, used by name below
promise = pytest.mark.promise
REASON = "reserved for HA"


@promise(NEVER_UNPROVEN)
def test_a_spare_is_enabled_only_when_needed_and_takes_the_servers(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    full_cloud: Callable[..., list[str]],
) -> None:
    source, spare = new_compute(), new_compute()
    servers = boot_servers(2, host=source)
    nova.update_service(spare, status="disabled", disabled_reason=REASON)
    crash(sandbox, source)
    full_cloud(spare)  # room nowhere else

    refused = run_openstack(
        "host", "evacuate", source, "--dry-run", "-f", "json"
    )
    assert refused.returncode == 1, refused.stderr
    assert refused.stderr.startswith("A run would refuse: "), refused.stderr

    sandbox.reset_requests()
    proc = run_openstack(
        "host", "evacuate", source, "--spares-from-reason", "reserved",
        "--wait", "180", "-f", "json",
    )  # fmt: skip
    # Judged without the spare, then with it: Placement and the server
    # groups read once all the same (the groups' list from its first page:
    # groups other tests made take more pages).
    gets = gets_by_path(sandbox)
    assert gets["/placement/resource_providers"] == 1, gets
    assert gets["/placement/allocation_candidates"] == 1, gets
    first_pages = [
        e
        for e in sandbox.requests()["log"]
        if e["path"] == "/v2.1/os-server-groups"
        and "offset=0" in (e.get("query") or "")
    ]
    assert len(first_pages) == 1, first_pages

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    for server in servers:
        row = rows[server["id"]]
        assert (row["Result"], row["Destination"]) == ("verified", spare)
    assert nova.service(spare)["status"] == "enabled"
    assert proc.stderr.splitlines() == [
        f"Enabled spare {spare}: without it, servers would have no room.",
        f"Spare {spare}: enabled, 2 server(s) on it.",
    ]
