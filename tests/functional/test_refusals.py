"""What Nova would refuse, or break, is said before anything is sent: a
vTPM server is skipped with Nova's reason and never sent; the plan shows
it first."""

from __future__ import annotations

import json
from collections.abc import Callable
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
        "Operation 'evacuate' not supported for vTPM-enabled instance"
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
