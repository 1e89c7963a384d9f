"""The sandbox's Placement over HTTP, volume-backed servers, compute
sizes and fills, an Ironic compute and a down cell (issue 8's sandbox,
issue 7's 13 and 14). Fills and the down cell are reset with the faults
after each test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from keystoneauth1.adapter import Adapter
from openstack.config import OpenStackConfig

from tests.functional.scenario import HOST, Boot
from tests.sandbox.client import Sandbox, SandboxError
from tests.sandbox.rest import NovaAPI

MV_CELL_DOWN = "2.69"


def _placement_adapter(sandbox: Sandbox, cloud: str) -> Adapter:
    """Placement as a client on OSC's session finds it: in the catalog of
    the cloud's Keystone, in its region."""
    region = OpenStackConfig(
        config_files=[str(sandbox.clouds_yaml)],
        vendor_files=[],
        secure_files=[],
        load_envvars=False,
    ).get_one(cloud=cloud)
    adapter = Adapter(
        region.get_session(),
        service_type="placement",
        interface=region.get_interface(),
        region_name=region.get_region_name(),
    )
    assert adapter.get_endpoint() == f"{sandbox.url}/placement"
    return adapter


def _free(inventory: dict[str, Any], used: int) -> float:
    """Placement's free capacity of one resource class."""
    capacity = (inventory["total"] - inventory["reserved"]) * inventory[
        "allocation_ratio"
    ]
    return float(capacity - used)


def test_placement_over_http_is_the_computes_placement(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    sandbox.reset_requests()
    placement = _placement_adapter(sandbox, "sandbox")

    root = placement.get("/", raise_exc=False)
    assert root.status_code == 200
    assert root.json()["versions"][0]["id"] == "v1.0"
    providers = placement.get(
        "/resource_providers", microversion="1.39", raise_exc=False
    )
    assert providers.status_code == 200
    by_name = {
        p["name"]: p["uuid"] for p in providers.json()["resource_providers"]
    }
    # The providers the computes created: a compute node's UUID is its
    # provider's.
    (hypervisor,) = nova.hypervisors(fresh_host)
    assert by_name[fresh_host] == hypervisor["id"]
    assert {"compute01", "compute02", "compute03"} <= set(by_name)
    # What Nova's scheduler allocated for the server is there too.
    allocations = placement.get(
        f"/allocations/{server['id']}", microversion="1.39"
    ).json()["allocations"]
    assert allocations[by_name[fresh_host]]["resources"] == {
        "VCPU": 1,
        "MEMORY_MB": 512,
        "DISK_GB": 1,
    }

    # Placement's default policy: admin only.
    refused = _placement_adapter(sandbox, "sandbox-demo").get(
        "/resource_providers", raise_exc=False
    )
    assert refused.status_code == 403

    recorded_under_placement(sandbox)
    nova.servers(host=fresh_host)
    assert sandbox.request_counts()["GET /v2.1/servers/detail"] == 1


def recorded_under_placement(sandbox: Sandbox) -> None:
    """The requests above are recorded under /placement; Nova's keys are
    unchanged."""
    recorded = sandbox.requests()
    assert {
        key: count
        for key, count in recorded["counts"].items()
        if key.startswith("GET /placement")
    } == {
        "GET /placement/": 1,
        "GET /placement/resource_providers": 2,
        "GET /placement/allocations/{id}": 1,
    }
    assert recorded["counts"]["GET /v2.1/os-hypervisors/detail"] == 1
    listed = [
        e
        for e in recorded["log"]
        if e["path"] == "/placement/resource_providers"
    ]
    assert [(e["microversion"], e["status"]) for e in listed] == [
        ("1.39", 200),
        (None, 403),
    ]


def test_placement_fault_rules(sandbox: Sandbox, nova: NovaAPI) -> None:
    placement = sandbox.placement
    # A rule is Nova's unless it says otherwise, even without a path.
    sandbox.fail_requests(503, method="GET", count=None)
    assert placement.request("GET", "/resource_providers").status_code == 200
    sandbox.reset_faults()

    rule = sandbox.fail_requests(
        503, service="placement", path="/usages$", count=2
    )
    assert rule["service"] == "placement"
    rp = placement.provider("compute01")["uuid"]
    resp = placement.request(
        "GET", f"/resource_providers/{rp}/usages", ok=None
    )
    assert resp.status_code == 503
    (error,) = resp.json()["errors"]
    assert error["status"] == 503
    assert error["detail"] == "Injected by the sandbox (HTTP 503)."
    assert error["request_id"] == resp.headers["x-openstack-request-id"]
    # Nova's API and Placement's other paths are untouched.
    assert nova.request("GET", "/flavors", ok=None).status_code == 200
    assert placement.inventories(rp)["VCPU"]["total"] > 0
    assert (
        placement.request(
            "GET", f"/resource_providers/{rp}/usages", ok=None
        ).status_code
        == 503
    )
    assert placement.usages(rp)["VCPU"] >= 0

    with pytest.raises(SandboxError, match="400"):
        sandbox.control("POST", "faults", {"error": 503, "service": "glance"})


def test_default_compute_resources(sandbox: Sandbox, nova: NovaAPI) -> None:
    # FakeDriver's hypervisor, as doc/source/sandbox.rst documents it.
    resources = sandbox.resources("compute01")
    inventories = resources["inventories"]
    assert {
        rc: (
            inv["total"],
            inv["reserved"],
            inv["allocation_ratio"],
            inv["max_unit"],
        )
        for rc, inv in inventories.items()
    } == {
        "VCPU": (1000, 0, 4.0, 1000),
        "MEMORY_MB": (800000, 512, 1.0, 800000),
        "DISK_GB": (600000, 0, 1.0, 600000),
    }
    assert resources["filled"] is None
    rp = resources["resource_provider"]
    usages = sandbox.placement.usages(rp)
    assert resources["free"] == {
        rc: _free(inv, usages[rc]) for rc, inv in inventories.items()
    }
    (hypervisor,) = nova.hypervisors("compute01", microversion="2.87")
    assert (
        hypervisor["vcpus"],
        hypervisor["memory_mb"],
        hypervisor["local_gb"],
        hypervisor["hypervisor_type"],
    ) == (1000, 800000, 600000, "fake")


def test_fill_compute_leaves_exactly_what_was_asked(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    boot_servers(host=fresh_host)
    filled = sandbox.fill_compute(
        fresh_host, vcpus=1, memory_mb=512, disk_gb=1
    )
    wanted = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert filled["free"] == wanted
    assert filled["filled"] == wanted
    assert sandbox.faults()["filled"] == {fresh_host: wanted}
    # Placement itself, over HTTP, gives the same arithmetic.
    rp = filled["resource_provider"]
    inventories = sandbox.placement.inventories(rp)
    usages = sandbox.placement.usages(rp)
    assert usages == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
    assert {
        rc: _free(inv, usages[rc]) for rc, inv in inventories.items()
    } == wanted

    # One more m1.tiny fits; the next one does not: Placement and the
    # scheduler refuse it.
    boot_servers(host=fresh_host)
    (refused,) = boot_servers(host=fresh_host, status="ERROR")
    assert "No valid host" in refused["fault"]["message"]
    assert sandbox.resources(fresh_host)["free"] == {
        "VCPU": 0,
        "MEMORY_MB": 0,
        "DISK_GB": 0,
    }

    unfilled = sandbox.unfill_compute(fresh_host)
    assert unfilled["filled"] is None
    assert unfilled["inventories"]["VCPU"]["allocation_ratio"] == 4.0
    assert unfilled["inventories"]["MEMORY_MB"]["reserved"] == 512
    assert unfilled["free"]["VCPU"] == 4000 - 2
    boot_servers(host=fresh_host)
    assert sandbox.faults()["filled"] == {}


def test_full_computes_make_an_evacuation_fail_no_valid_host(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    sandbox.crash_compute(fresh_host, force_down=True)
    others = [
        c["host"]
        for c in sandbox.computes()
        if c["running"] and c["host"] != fresh_host
    ]
    assert others
    for host in others:
        # Room for anything but the server's RAM.
        sandbox.fill_compute(host, vcpus=10, memory_mb=256, disk_gb=10)

    assert nova.evacuate(server["id"]).status_code == 200
    nova.wait_for_migration(server["id"], "error")
    failed = nova.wait_for_server(server["id"], "ERROR")
    assert "No valid host" in failed["fault"]["message"]

    # reset_faults (after every test) ends every fill.
    sandbox.reset_faults()
    for host in others:
        assert sandbox.resources(host)["filled"] is None
        assert sandbox.resources(host)["free"]["MEMORY_MB"] > 512


def test_compute_size_and_resize(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    nova: NovaAPI,
) -> None:
    host = new_compute(vcpus=1, memory_mb=1536, local_gb=3)
    (hypervisor,) = nova.hypervisors(host, microversion="2.87")
    assert (
        hypervisor["vcpus"],
        hypervisor["memory_mb"],
        hypervisor["local_gb"],
    ) == (1, 1536, 3)
    inventories = sandbox.resources(host)["inventories"]
    assert inventories["MEMORY_MB"]["total"] == 1536
    assert inventories["DISK_GB"]["max_unit"] == 3
    # 1536 MB less 512 reserved: two m1.tiny, and no third.
    boot_servers(2, host=host)
    (refused,) = boot_servers(host=host, status="ERROR")
    assert "No valid host" in refused["fault"]["message"]

    resized = sandbox.resize_compute(host, memory_mb=2048)
    assert resized["inventories"]["MEMORY_MB"]["total"] == 2048
    assert resized["free"]["MEMORY_MB"] == 512
    boot_servers(host=host)

    for bad in ({"vcpus": 0}, {"memory_mb": "1"}, {"ram": 1}, {}):
        with pytest.raises(SandboxError, match="400"):
            sandbox.control("POST", f"computes/{host}/size", bad)
    with pytest.raises(SandboxError, match="400"):
        sandbox.add_compute(host, vcpus=2)  # exists: sizes are for new ones
    bad_fills: list[Any] = [{"free": {"GPU": 1}}, {"free": {"VCPU": -1}}, []]
    for bad_free in bad_fills:
        with pytest.raises(SandboxError, match="400"):
            sandbox.control("POST", f"computes/{host}/fill", bad_free)
    with pytest.raises(SandboxError, match="404"):
        sandbox.fill_compute("no-such-compute")


def test_ironic_compute_and_how_to_recognise_it(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    nova: NovaAPI,
) -> None:
    ironic = new_compute(hypervisor_type="ironic")
    plain = new_compute()
    (server,) = boot_servers(host=ironic)
    node = server["OS-EXT-SRV-ATTR:hypervisor_hostname"]
    # Ironic names the node by its UUID, not by the compute's host.
    assert node != ironic
    assert str(uuid.UUID(node)) == node

    # One request: the hypervisor of a server's node, at 2.53 or later,
    # gives the type and the compute service's host.
    sandbox.crash_compute(ironic)  # crashed, still reported up
    started = time.monotonic()
    (hypervisor,) = nova.hypervisors(node, microversion="2.53")
    assert time.monotonic() - started < 5
    assert hypervisor["hypervisor_hostname"] == node
    assert hypervisor["hypervisor_type"] == "ironic"
    assert hypervisor["service"]["host"] == ironic
    assert nova.service(ironic)["state"] == "up"
    (other,) = nova.hypervisors(plain, microversion="2.53")
    assert other["hypervisor_type"] == "fake"
    # The pattern is a substring match: callers compare the name.
    assert len(nova.hypervisors("compute0", microversion="2.53")) >= 3
    assert nova.hypervisors("no-such-node", microversion="2.53") == []

    # Like Nova's Ironic driver, it never takes an evacuated server.
    (moving,) = boot_servers(host=plain)
    sandbox.crash_compute(plain, force_down=True)
    sandbox.start_compute(ironic)
    nova.evacuate(moving["id"], host=ironic)
    nova.wait_for_migration(moving["id"], ("error", "failed"))
    assert nova.wait_for_server(moving["id"], "ERROR")[HOST] == plain


def test_down_cell_hides_service_ids(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    assert sandbox.set_cell_down(True)["down_cell"] is True

    def services(microversion: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = nova.get("/os-services", microversion)[
            "services"
        ]
        return found

    # 2.69: the down cell's computes, from the host mappings, without id.
    rows = {s["host"]: s for s in services(MV_CELL_DOWN)}
    assert rows[fresh_host] == {
        "binary": "nova-compute",
        "host": fresh_host,
        "status": "UNKNOWN",
    }
    assert all("id" not in row for row in rows.values())
    # Before 2.69 Nova leaves them out.
    assert services("2.53") == []
    listed = nova.get("/servers/detail", MV_CELL_DOWN, all_tenants=1)
    (minimal,) = [s for s in listed["servers"] if s["id"] == server["id"]]
    assert minimal["status"] == "UNKNOWN"

    # Up again: the same services with their ids, and Nova works.
    assert sandbox.set_cell_down(False)["down_cell"] is False
    assert nova.service(fresh_host)["id"]
    boot_servers(host=fresh_host)

    # reset_faults (after every test) brings it up too.
    sandbox.set_cell_down(True)
    sandbox.reset_faults()
    assert "id" in nova.service(fresh_host)
    with pytest.raises(SandboxError, match="400"):
        sandbox.control("POST", "down-cell", {"down": "yes"})
