"""The capacity check counts what Nova's scheduler counts: every resource
class a flavor asks, the availability zone a server is pinned to, and its
server group. Through the real CLI on the sandbox: the dry run says which
rule leaves a server no room, a run refuses, and sent anyway
(--ignore-capacity) exactly those servers fail with Nova's NoValidHost."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import (
    NEVER_WRONG_SERVER,
    Boot,
    by_id,
    check,
    crash,
    evacuate_posts,
    one_line,
    records_per_server,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import IMAGE_ID, MV_CREATE, NovaAPI, wait_for

CUSTOM_X = "CUSTOM_X"
LIMIT = "Capacity Limit"


def changes(sandbox: Sandbox) -> list[str]:
    """Every request that may change something (Nova's and Placement's)."""
    return [
        f"{e['method']} {e['path']}"
        for e in sandbox.requests()["log"]
        if e["method"] != "GET"
    ]


def add_inventory(sandbox: Sandbox, host: str, rc: str, total: int) -> None:
    """Give the host's provider an inventory of rc, beside Nova's own.

    Written behind Nova's back, it lasts: the resource tracker writes an
    inventory only when its own changes (the fake driver's never does
    here) or after it read Placement again (every 300 s), and never takes
    away a class while servers use it (Placement answers 409)."""
    placement = sandbox.placement
    placement.request("PUT", f"/resource_classes/{rc}", microversion="1.7")
    rp = sandbox.resources(host)["resource_provider"]
    path = f"/resource_providers/{rp}/inventories"
    now = placement.get(path)
    inventories = {
        **now["inventories"],
        rc: {"total": total, "reserved": 0, "allocation_ratio": 1.0},
    }
    body = {
        "resource_provider_generation": now["resource_provider_generation"],
        "inventories": inventories,
    }
    placement.request("PUT", path, body)


@pytest.fixture
def custom_flavor(nova: NovaAPI) -> Iterator[str]:
    """A flavor of 1 VCPU, 256 MB and 1 GB that asks for one CUSTOM_X."""
    name = f"custom-{uuid.uuid4().hex[:8]}"
    flavor = {"name": name, "ram": 256, "vcpus": 1, "disk": 1}
    made = nova.request("POST", "/flavors", {"flavor": flavor}).json()
    fid = made["flavor"]["id"]
    specs = {"extra_specs": {f"resources:{CUSTOM_X}": "1"}}
    nova.request("POST", f"/flavors/{fid}/os-extra_specs", specs)
    yield fid
    nova.request("DELETE", f"/flavors/{fid}")


@pytest.fixture
def full_cloud(sandbox: Sandbox) -> Callable[..., list[str]]:
    """Fill every running compute but those named: they take nothing."""

    def fill_all_but(*keep: str) -> list[str]:
        filled = [
            c["host"]
            for c in sandbox.computes()
            if c["running"] and c["host"] not in keep
        ]
        for host in filled:
            sandbox.fill_compute(host)
        return filled

    # reset_faults (autouse) unfills them.
    return fill_all_but


def dry_run(run_openstack: RunOpenstack, host: str) -> Any:
    """The plan of host evacuate: a run would refuse (exit 1)."""
    proc = run_openstack("host", "evacuate", host, "--dry-run", "-f", "json")
    assert proc.returncode == 1, proc.stderr
    said = one_line(proc.stderr)
    assert said.startswith("A run would refuse: "), said
    return json.loads(proc.stdout)


def sent_anyway(
    run_openstack: RunOpenstack, nova: NovaAPI, host: str, fail: set[str]
) -> dict[str, Any]:
    """Evacuate host with --ignore-capacity: Nova's scheduler finds no
    host for exactly the servers in fail (the check judged as Nova does);
    the rows by id."""
    proc = run_openstack(
        "host",
        "evacuate",
        host,
        "--ignore-capacity",
        "--wait",
        "120",
        "-f",
        "json",
    )
    rows = by_id(json.loads(proc.stdout or "[]"))
    assert proc.returncode == 3, proc.stderr
    failed = {sid for sid, r in rows.items() if r["Result"] == "failed"}
    assert failed == fail, rows
    assert all("No valid host" in rows[sid]["Error"] for sid in fail)
    assert records_per_server(nova, list(rows)) == dict.fromkeys(rows, 1)
    return rows


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_a_custom_class_refuses_when_only_vcpu_and_ram_would_fit(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    custom_flavor: str,
) -> None:
    source, other = new_compute(), new_compute()
    add_inventory(sandbox, source, CUSTOM_X, 2)
    add_inventory(sandbox, other, CUSTOM_X, 1)
    servers = boot_servers(2, host=source, flavor=custom_flavor)
    # The other's only CUSTOM_X is taken; the base computes have none.
    boot_servers(1, host=other, flavor=custom_flavor)
    assert sandbox.resources(other)["free"][CUSTOM_X] == 0
    crash(sandbox, source)
    # Room enough for their VCPU and RAM elsewhere.
    roomy = sandbox.resources("compute01")["free"]
    assert roomy["VCPU"] >= 2 and roomy["MEMORY_MB"] >= 512
    sandbox.reset_requests()
    none = {s["id"]: 0 for s in servers}

    rows = by_id(dry_run(run_openstack, source))
    for server in servers:
        row = rows[server["id"]]
        assert (row["Capacity"], row[LIMIT]) == ("no room", CUSTOM_X), row

    # A run refuses before any request, in one line.
    proc = run_openstack("host", "evacuate", source, "--wait")
    check(proc, 1, nova, none, "2 of the 2 servers to evacuate do not fit")
    assert evacuate_posts(sandbox) == []
    assert changes(sandbox) == []
    # Sent anyway, Nova says NoValidHost: the judgement was Nova's own.
    sent_anyway(run_openstack, nova, source, set(none))


def boot_in_group(
    nova: NovaAPI, host: str, group: str, flavor: str = "1"
) -> dict[str, Any]:
    """A server booted on host as a member of the server group."""
    body = {
        "server": {
            "name": f"member-{uuid.uuid4().hex[:8]}",
            "imageRef": IMAGE_ID,
            "flavorRef": flavor,
            "networks": "none",
            "host": host,
        },
        "os:scheduler_hints": {"group": group},
    }
    made = nova.request("POST", "/servers", body, microversion=MV_CREATE)
    server: dict[str, Any] = nova.wait_for_server(
        made.json()["server"]["id"], "ACTIVE"
    )
    return server


def server_group(nova: NovaAPI, policy: str) -> dict[str, Any]:
    name = f"{policy}-{uuid.uuid4().hex[:8]}"
    made: dict[str, Any] = nova.request(
        "POST",
        "/os-server-groups",
        {"server_group": {"name": name, "policy": policy}},
        microversion="2.64",
    ).json()["server_group"]
    return made


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_an_anti_affinity_member_avoids_the_host_of_another(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    run_openstack: RunOpenstack,
    full_cloud: Callable[..., list[str]],
) -> None:
    source, other = new_compute(), new_compute()
    group = server_group(nova, "anti-affinity")
    member = boot_in_group(nova, source, group["id"])
    boot_in_group(nova, other, group["id"])
    crash(sandbox, source)
    # Room on the other member's host only.
    full_cloud(other)
    sandbox.reset_requests()

    [row] = dry_run(run_openstack, source)
    assert row["ID"] == member["id"]
    assert row["Capacity"] == "no room"
    assert row[LIMIT] == f"anti-affinity group {group['name']}"
    assert changes(sandbox) == []
    sent_anyway(run_openstack, nova, source, {member["id"]})


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_affinity_members_have_no_room_as_nova_gives_them_none(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    run_openstack: RunOpenstack,
) -> None:
    """Nova keeps an affinity group's members where the others run: off
    the failed host they share, the scheduler finds them no host."""
    source = new_compute()
    group = server_group(nova, "affinity")
    members = [boot_in_group(nova, source, group["id"]) for _ in range(2)]
    crash(sandbox, source)
    sandbox.reset_requests()

    rows = dry_run(run_openstack, source)
    assert {(r["Capacity"], r[LIMIT]) for r in rows} == {
        ("no room", f"affinity group {group['name']}")
    }

    # Sent anyway, Nova says NoValidHost: the judgement was Nova's own.
    sent_anyway(run_openstack, nova, source, {m["id"] for m in members})


def gone(nova: NovaAPI, host: str) -> Callable[[], bool | None]:
    """A probe: True once no server is left on host."""
    return lambda: True if not nova.servers(host=host) else None


@pytest.fixture
def zone(nova: NovaAPI) -> Iterator[Callable[..., str]]:
    """Put hosts in a new availability zone (an aggregate), for this test."""
    made: list[tuple[str, list[str]]] = []

    def put(*hosts: str) -> str:
        name = f"az-{uuid.uuid4().hex[:8]}"
        body = {"aggregate": {"name": name, "availability_zone": name}}
        agg = nova.request("POST", "/os-aggregates", body).json()
        aid = agg["aggregate"]["id"]
        made.append((aid, list(hosts)))
        for host in hosts:
            action = {"add_host": {"host": host}}
            nova.request("POST", f"/os-aggregates/{aid}/action", action)
        return name

    yield put
    # Nova keeps a host with servers in its zone: they go first.
    for aid, hosts in made:
        for host in hosts:
            for server in nova.servers(host=host):
                nova.delete_server(server["id"])
            wait_for(f"no server on {host}", gone(nova, host), 60)
            action = {"remove_host": {"host": host}}
            nova.request("POST", f"/os-aggregates/{aid}/action", action)
        nova.request("DELETE", f"/os-aggregates/{aid}")


@pytest.mark.promise(NEVER_WRONG_SERVER)
def test_a_server_pinned_to_a_zone_stays_in_it(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    zone: Callable[..., str],
) -> None:
    source, other = new_compute(), new_compute()
    az = zone(source, other)
    (pinned,) = boot_servers(1, host=source, availability_zone=az)
    (free,) = boot_servers(1, host=source)
    crash(sandbox, source)
    # The only other host of its zone is full; the base computes (zone
    # nova) have room.
    sandbox.fill_compute(other)
    sandbox.reset_requests()

    rows = by_id(dry_run(run_openstack, source))
    assert rows[pinned["id"]]["Capacity"] == "no room"
    assert rows[pinned["id"]][LIMIT] == f"availability zone {az}"
    assert rows[free["id"]]["Capacity"] == "fits"
    assert rows[free["id"]][LIMIT] is None
    assert changes(sandbox) == []
    done = sent_anyway(run_openstack, nova, source, {pinned["id"]})
    assert done[free["id"]]["Result"] == "verified"
