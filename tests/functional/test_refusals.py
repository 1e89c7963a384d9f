"""What Nova would refuse, or break, is said before anything is sent: a
vTPM server, one with a share or a port with an accelerator, is skipped
with Nova's reason and never sent; an encrypted volume is a risk; the
plan shows it first."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import (
    NEVER_WRONG_SERVER,
    by_id,
    crash,
    evacuate_posts,
    records_per_server,
)
from tests.functional.test_drain import moves
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

promise = pytest.mark.promise


def vtpm_flavor(nova: NovaAPI) -> str:
    """A flavor that asks for a vTPM (m1.tiny's size), made once."""
    name = "vtpm.tiny"
    found = nova.get("/flavors", name=name)["flavors"]
    if found:
        return str(found[0]["id"])
    flavor: dict[str, Any] = nova.request(
        "POST",
        "/flavors",
        {"flavor": {"name": name, "ram": 512, "vcpus": 1, "disk": 1}},
    ).json()["flavor"]
    nova.request(
        "POST",
        f"/flavors/{flavor['id']}/os-extra_specs",
        {"extra_specs": {"hw:tpm_version": "2.0", "hw:tpm_model": "tpm-tis"}},
    )
    return str(flavor["id"])


@promise(NEVER_WRONG_SERVER)
def test_a_vtpm_server_is_skipped_with_nova_s_reason_and_never_sent(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    run_openstack: RunOpenstack,
) -> None:
    host = new_compute(hypervisor_type="vtpm")
    vtpm = nova.create_server(host=host, flavor=vtpm_flavor(nova))
    plain = nova.create_server(host=host)
    crash(sandbox, host)
    sandbox.reset_requests()
    reason = (
        "it has a vTPM (flavor hw:tpm_version=2.0), and Nova refuses: "
        "Operation 'evacuate' not supported for vTPM-enabled instance "
        "(no Nova release lifts it yet)"
    )

    plan = run_openstack("host", "evacuate", host, "--dry-run", "-f", "json")
    assert plan.returncode == 0, plan.stderr
    planned = by_id(json.loads(plan.stdout))
    assert planned[vtpm["id"]]["Action"] == "skipped"
    assert planned[vtpm["id"]]["Error"] == reason
    assert planned[vtpm["id"]]["Risk"] == f"refused by Nova: {reason}"
    assert planned[plain["id"]]["Action"] == "would submit"

    proc = run_openstack(
        "host", "evacuate", host, "--wait", "120", "-f", "json"
    )
    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert rows[vtpm["id"]]["Result"] == "skipped"
    assert rows[vtpm["id"]]["Error"] == reason
    assert rows[plain["id"]]["Result"] == "verified"
    posted = {p["path"].split("/")[-2] for p in evacuate_posts(sandbox)}
    assert posted == {plain["id"]}
    assert records_per_server(nova, [vtpm["id"]]) == {vtpm["id"]: 0}


@promise(NEVER_WRONG_SERVER)
def test_a_host_hidden_by_a_down_cell_before_2_69_is_explained(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    run_openstack: RunOpenstack,
) -> None:
    """Below 2.69 Nova lists nothing of a cell it cannot reach: the host
    looks unknown, and the error says why it may be so."""
    server = nova.create_server(host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    sandbox.cap_microversion("2.68")
    sandbox.set_cell_down(True)
    proc = run_openstack("host", "evacuate", fresh_host, "-f", "json")
    sandbox.set_cell_down(False)  # the records are read below
    sandbox.cap_microversion(None)
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"No nova-compute service on host '{fresh_host}'." in proc.stderr
    assert "Below compute API microversion 2.69" in proc.stderr
    assert evacuate_posts(sandbox) == []
    assert records_per_server(nova, [server["id"]]) == {server["id"]: 0}


def with_manila(sandbox: Sandbox, tmp_path: Path) -> dict[str, str]:
    """The CLI's environment on a cloud that has Manila: its clouds.yaml
    names a shared-file-system endpoint (never called: Nova lists the
    shares)."""
    clouds = sandbox.clouds_yaml.read_text().replace(
        "    region_name: RegionOne\n",
        "    region_name: RegionOne\n"
        f"    shared_file_system_endpoint_override: {sandbox.url}/share\n",
    )
    (tmp_path / "clouds.yaml").write_text(clouds)
    return {"OS_CLIENT_CONFIG_FILE": str(tmp_path / "clouds.yaml")}


@promise(NEVER_WRONG_SERVER)
def test_shares_and_accelerator_ports_are_skipped_encryption_is_a_risk(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    run_openstack: RunOpenstack,
    tmp_path: Path,
) -> None:
    shared = nova.create_server(host=fresh_host)
    share_id = sandbox.attach(shared["id"], "share")["share_id"]
    accelerated = nova.create_server(host=fresh_host)
    port_id = sandbox.attach(accelerated["id"], "accel-port")["id"]
    encrypted = nova.create_server(host=fresh_host, volume_backed=True)
    volume_id = volume_of(nova, encrypted["id"])
    sandbox.encrypt_volume(volume_id)
    plain = nova.create_server(host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    env = with_manila(sandbox, tmp_path)

    plan = run_openstack(
        "host", "evacuate", fresh_host, "--dry-run", "-f", "json", env=env
    )
    assert plan.returncode == 0, plan.stderr
    planned = by_id(json.loads(plan.stdout))
    assert planned[shared["id"]]["Action"] == "skipped"
    assert planned[shared["id"]]["Error"] == share_refusal(share_id)
    assert planned[accelerated["id"]]["Action"] == "skipped"
    assert planned[accelerated["id"]]["Error"] == port_refusal(port_id)
    assert planned[encrypted["id"]]["Action"] == "would submit"
    assert (
        f"encrypted volume {volume_id}: the rebuild needs its key from "
        "Barbican" in planned[encrypted["id"]]["Risk"]
    )
    assert planned[plain["id"]]["Action"] == "would submit"

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json", env=env
    )
    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert rows[shared["id"]]["Result"] == "skipped"
    assert rows[accelerated["id"]]["Result"] == "skipped"
    assert rows[encrypted["id"]]["Result"] == "verified"
    assert rows[plain["id"]]["Result"] == "verified"
    posted = {p["path"].split("/")[-2] for p in evacuate_posts(sandbox)}
    assert posted == {encrypted["id"], plain["id"]}
    assert f"/volume/v3/volumes/{volume_id}" in cinder_reads(sandbox)
    refused = [shared["id"], accelerated["id"]]
    assert records_per_server(nova, refused) == dict.fromkeys(refused, 0)
    # Real Nova does refuse them, in the words the rows quote.
    nova_refuses(nova, shared["id"], 409, "instances that have shares")
    nova_refuses(nova, accelerated["id"], 400, "Ports that have accelerators")


def cinder_reads(sandbox: Sandbox) -> list[str]:
    """The paths of the requests Cinder's stand-in served."""
    log = sandbox.requests()["log"]
    return [e["path"] for e in log if e["path"].startswith("/volume/")]


def volume_of(nova: NovaAPI, server_id: str) -> str:
    """The id of the server's one volume."""
    (attachment,) = nova.volume_attachments(server_id)
    return str(attachment["volumeId"])


def share_refusal(share_id: str) -> str:
    return (
        f"it has shares attached ({share_id}), and Nova refuses: Feature "
        "not supported with instances that have shares. (no Nova release "
        "lifts it yet)"
    )


def port_refusal(port_id: str) -> str:
    return (
        f"it has ports with accelerators ({port_id}), and Nova refuses: "
        "Feature not supported with Ports that have accelerators. (no Nova "
        "release lifts it yet)"
    )


def nova_refuses(
    nova: NovaAPI, server_id: str, status: int, words: str
) -> None:
    """Nova itself answers the evacuate request with status and words."""
    resp = nova.request(
        "POST",
        f"/servers/{server_id}/action",
        {"evacuate": {}},
        microversion="2.95",
        ok=None,
    )
    assert resp.status_code == status and words in resp.text, resp.text


@promise(NEVER_WRONG_SERVER)
def test_a_drain_moves_nothing_nova_refuses_for_what_it_has_attached(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    run_openstack: RunOpenstack,
    tmp_path: Path,
) -> None:
    """Nova live-migrates no server with a share, and moves none with a
    port with an accelerator: skipped before anything is sent, and the
    host is left with them (exit 3); a share is moved cold on asking. An
    encrypted volume is no risk to a migration (its key stays where it
    is): the plan does not name it."""
    shared = nova.create_server(host=fresh_host)
    share_id = sandbox.attach(shared["id"], "share")["share_id"]
    accelerated = nova.create_server(host=fresh_host)
    port_id = sandbox.attach(accelerated["id"], "accel-port")["id"]
    plain = nova.create_server(host=fresh_host)
    encrypted = nova.create_server(host=fresh_host, volume_backed=True)
    sandbox.encrypt_volume(volume_of(nova, encrypted["id"]))
    env = with_manila(sandbox, tmp_path)
    sandbox.reset_requests()

    plan = run_openstack(
        "host",
        "drain",
        fresh_host,
        "--cold-fallback",
        "--dry-run",
        "-f",
        "json",
        env=env,
    )
    assert plan.returncode == 0, plan.stderr
    planned = by_id(json.loads(plan.stdout))
    assert planned[shared["id"]]["Action"] == "would submit"
    assert planned[shared["id"]]["Method"].startswith("cold")
    assert f"shares attached ({share_id})" in planned[shared["id"]]["Risk"]
    assert planned[encrypted["id"]]["Method"] == "live"
    assert planned[encrypted["id"]]["Risk"] is None

    proc = run_openstack(
        "host", "drain", fresh_host, "--wait", "180", "-f", "json", env=env
    )
    assert proc.returncode == 3, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert rows[shared["id"]]["Result"] == "skipped"
    assert f"shares attached ({share_id})" in rows[shared["id"]]["Error"]
    assert rows[accelerated["id"]]["Result"] == "skipped"
    assert (
        f"ports with accelerators ({port_id})"
        in rows[accelerated["id"]]["Error"]
    )
    assert rows[plain["id"]]["Result"] == "verified"
    assert rows[encrypted["id"]]["Result"] == "verified"
    moved = {e["path"].split("/")[-2] for e in moves(sandbox)}
    assert moved == {plain["id"], encrypted["id"]}
    # Unlike an evacuation's plan, a drain's asks Cinder nothing.
    assert cinder_reads(sandbox) == []
    assert "2 server(s) still on it" in proc.stderr
