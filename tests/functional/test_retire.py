"""Retiring a dead host, through the real CLI on the sandbox: what
``host evacuation retire`` removes (the allocations left on the host's
resource provider, its compute service, the provider), that Placement
has nothing left of it, that a host reinstalled under its name registers
again, and that it refuses, removing nothing, while the host is up,
hosts a server, or has an evacuation under way."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import Boot, crash, one_line
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI, PlacementAPI

CONSUMERS = "1.28"  # Placement's consumer generations


def services(nova: NovaAPI, host: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = nova.get(
        "/os-services", "2.53", host=host, binary="nova-compute"
    )["services"]
    return found


def provider_allocations(placement: PlacementAPI, rp: str) -> Any:
    """The provider's allocations, or None when it is gone (404)."""
    resp = placement.request(
        "GET", f"/resource_providers/{rp}/allocations", ok=(200, 404)
    )
    return None if resp.status_code == 404 else resp.json()["allocations"]


def allocate(placement: PlacementAPI, rp: str) -> str:
    """An allocation no server or migration of Nova's holds (as a failed
    clean-up leaves behind): Nova's own service deletion keeps it, and
    with it the provider."""
    consumer = str(uuid.uuid4())
    body = {
        "allocations": {
            rp: {"resources": {"VCPU": 1, "MEMORY_MB": 64, "DISK_GB": 1}}
        },
        "consumer_generation": None,
        "project_id": "admin",
        "user_id": "admin",
    }
    placement.request("PUT", f"/allocations/{consumer}", body, CONSUMERS)
    return consumer


def evacuated_host(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
) -> tuple[str, list[dict[str, Any]]]:
    """A dead host, forced down, whose two servers were evacuated (their
    records done: its nova-compute never restarted)."""
    host = new_compute()
    servers = boot_servers(2, host=host)
    crash(sandbox, host)
    for server in servers:
        nova.evacuate(server["id"])
    for server in servers:
        nova.wait_for_migration(server["id"], "done", timeout=60)
    return host, servers


def test_retire_a_dead_evacuated_host(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    placement = sandbox.placement
    host, servers = evacuated_host(sandbox, nova, new_compute, boot_servers)
    rp = placement.provider(host)["uuid"]
    orphan = allocate(placement, rp)
    [service] = services(nova, host)
    before = provider_allocations(placement, rp)
    assert set(before) == {orphan, *(s["id"] for s in servers)}

    planned = openstack_json("host", "evacuation", "retire", host, "--dry-run")

    assert [(r["Kind"], r["Result"]) for r in planned] == [
        *[("allocation", "would remove")] * 3,
        ("compute service", "would delete"),
        ("resource provider", "would be removed"),
        *[("evacuation record", "would be left done")] * 2,
    ]
    assert services(nova, host) == [service]
    assert provider_allocations(placement, rp) == before

    proc = run_openstack("host", "evacuation", "retire", host, "-f", "json")

    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    by_id = {r["ID"]: r for r in rows}
    for server in servers:
        row = by_id[server["id"]]
        assert row["Result"] == "removed"
        assert f"{server['name']} was evacuated to " in row["Why"]
    assert by_id[orphan]["Result"] == "removed"
    assert "Nova has no server or migration of this ID" in by_id[orphan]["Why"]
    assert by_id[service["id"]]["Result"] == "deleted"
    assert by_id[rp]["Result"] == "removed by Nova"
    assert one_line(proc.stderr).startswith(
        f"Note: 2 evacuation record(s) from {host} stay done"
    )

    gone_from_nova_and_placement(sandbox, nova, host, rp, servers)
    assert placement.allocations(orphan) == {}
    registers_again(sandbox, nova, host, servers, service["id"])


def gone_from_nova_and_placement(
    sandbox: Sandbox,
    nova: NovaAPI,
    host: str,
    rp: str,
    servers: list[dict[str, Any]],
) -> None:
    """No service of the host, no provider of its name, nothing allocated
    against its uuid; the evacuated servers keep their destination's
    allocations, and their records stay done (as the note says)."""
    placement = sandbox.placement
    assert services(nova, host) == []
    assert placement.resource_providers(name=host) == []
    assert provider_allocations(placement, rp) is None
    for server in servers:
        held = placement.allocations(server["id"])
        assert rp not in held
        assert len(held) == 1
    records = nova.migrations(source_compute=host)
    assert sorted(m["status"] for m in records) == ["done", "done"]


def registers_again(
    sandbox: Sandbox,
    nova: NovaAPI,
    host: str,
    servers: list[dict[str, Any]],
    retired: str,
) -> None:
    """A host reinstalled under the name registers anew: a new service,
    up, and a provider; its first start cannot complete the records, its
    second does (the note's advice)."""
    sandbox.reinstall_compute(host)
    [again] = services(nova, host)
    assert again["id"] != retired
    assert (again["state"], again["forced_down"]) == ("up", False)
    assert len(sandbox.placement.resource_providers(name=host)) == 1
    records = nova.migrations(source_compute=host)
    assert [m["status"] for m in records] == ["done", "done"]
    sandbox.crash_compute(host)
    sandbox.start_compute(host)
    for server in servers:
        nova.wait_for_migration(server["id"], "completed", timeout=30)


def snapshot(sandbox: Sandbox, nova: NovaAPI, host: str) -> Any:
    """What retire would remove: the service, the provider, what is
    allocated against it."""
    rp = sandbox.placement.provider(host)["uuid"]
    allocations = provider_allocations(sandbox.placement, rp)
    return services(nova, host), rp, allocations


def refused(
    run_openstack: RunOpenstack, host: str, code: int, *options: str
) -> str:
    proc = run_openstack("host", "evacuation", "retire", host, *options)
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert proc.stdout == ""
    return one_line(proc.stderr)


@pytest.mark.parametrize("options", [(), ("--dry-run",)])
def test_refused_while_the_host_is_up_or_hosts_a_server(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    options: tuple[str, ...],
) -> None:
    host = new_compute()
    [server] = boot_servers(1, host=host)
    before = snapshot(sandbox, nova, host)

    line = refused(run_openstack, host, 1, *options)
    assert f"nova-compute on {host} is up" in line

    crash(sandbox, host)
    line = refused(run_openstack, host, 7, *options)
    assert f"1 server(s) still on it ({server['name']})" in line
    assert "Nova refuses (409)" in line
    after = snapshot(sandbox, nova, host)
    assert (after[1], after[2]) == (before[1], before[2])
    assert [s["id"] for s in after[0]] == [s["id"] for s in before[0]]


def test_refused_while_an_evacuation_is_under_way(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    host, destination = new_compute(), new_compute()
    [server] = boot_servers(1, host=host)
    crash(sandbox, host)
    # The rebuild waits on the destination: the record stays
    # pre-migrating, the server on the dead host.
    sandbox.slow_spawn(600, host=destination)
    nova.evacuate(server["id"], host=destination)
    nova.wait_for_migration(server["id"], "pre-migrating")
    before = snapshot(sandbox, nova, host)

    line = refused(run_openstack, host, 6)

    assert f"{host} cannot be retired yet: 1 evacuation from {host}" in line
    assert f"({server['id']}) pre-migrating" in line
    assert snapshot(sandbox, nova, host) == before
