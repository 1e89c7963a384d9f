"""Nova's request ids, shown: the `Request ID` column holds the id of the
evacuate request that did the work, and every error line that came from
Nova names the request, so that an operator can find it in Nova's logs."""

from __future__ import annotations

import json
from typing import Any

from tests.functional.conftest import RunOpenstack
from tests.functional.scenario import (
    Boot,
    by_id,
    crash,
    evacuate_posts,
    servers_in_states,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI


def logged_ids(sandbox: Sandbox) -> dict[str, list[str]]:
    """The request id of each evacuate POST the sandbox answered, by
    server, in the order they came."""
    found: dict[str, list[str]] = {}
    for post in evacuate_posts(sandbox):
        server_id = post["path"].split("/")[-2]
        found.setdefault(server_id, []).append(post["request_id"])
    return found


def test_each_row_names_the_request_nova_logged_for_it(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    servers = servers_in_states(
        boot_servers,
        nova,
        fresh_host,
        {"ACTIVE": 2, "SHUTOFF": 1, "PAUSED": 1},
    )
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    logged = logged_ids(sandbox)
    for server in servers["ACTIVE"] + servers["SHUTOFF"]:
        row = rows[server["id"]]
        assert row["Result"] == "verified"
        [request_id] = logged[server["id"]]
        assert request_id.startswith("req-")
        assert row["Request ID"] == request_id
    (paused,) = servers["PAUSED"]
    assert rows[paused["id"]]["Request ID"] is None
    assert paused["id"] not in logged


def test_server_evacuate_shows_its_request_id_as_a_column(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    (server,) = boot_servers(1, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    proc = run_openstack(
        "server",
        "evacuate",
        server["id"],
        "--wait",
        "120",
        "-f",
        "value",
        "-c",
        "Request ID",
    )

    assert proc.returncode == 0, proc.stderr
    [request_id] = logged_ids(sandbox)[server["id"]]
    assert proc.stdout.strip() == request_id


def test_a_refusal_from_nova_names_its_request(
    sandbox: Sandbox,
    fresh_host: str,
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    hit, fine = boot_servers(2, host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    match: dict[str, Any] = {
        "method": "POST",
        "path": f"^/v2\\.1/servers/{hit['id']}/action$",
        "body_key": "evacuate",
    }
    sandbox.fail_requests(409, **match, count=None)

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--wait", "120", "-f", "json"
    )

    assert proc.returncode == 3, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    [refused] = logged_ids(sandbox)[hit["id"]]
    assert rows[hit["id"]]["Result"] == "failed"
    assert f"(HTTP 409) (Request-ID: {refused})" in rows[hit["id"]]["Error"]
    assert rows[hit["id"]]["Request ID"] == refused
    [accepted] = logged_ids(sandbox)[fine["id"]]
    assert rows[fine["id"]]["Request ID"] == accepted
