"""What an HA service would leave out, on the real Nova: InstanceHA's
evacuable mark on flavors, images and host aggregates, and servers left
out by name, image or ERROR; the plan says why for each, and nothing
left out is sent."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
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
EXCLUDED = "excluded by --evacuable-mark"


def a_mark() -> str:
    """A mark key no other test's flavor, image or aggregate carries: the
    flavor and image half of the mark reads the whole cloud."""
    return f"ha-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def flavor_with(nova: NovaAPI) -> Iterator[Callable[..., dict[str, Any]]]:
    made: list[str] = []

    def make(**specs: str) -> dict[str, Any]:
        name = f"flv-{uuid.uuid4().hex[:8]}"
        body = {"flavor": {"name": name, "ram": 256, "vcpus": 1, "disk": 1}}
        flavor: dict[str, Any] = nova.request("POST", "/flavors", body).json()[
            "flavor"
        ]
        made.append(flavor["id"])
        extra = {"extra_specs": specs}
        nova.request("POST", f"/flavors/{flavor['id']}/os-extra_specs", extra)
        return flavor

    yield make
    for fid in made:
        nova.request("DELETE", f"/flavors/{fid}")


@pytest.fixture
def aggregate_of(nova: NovaAPI) -> Iterator[Callable[..., str]]:
    made: list[tuple[str, str]] = []

    def make(host: str, **metadata: str) -> str:
        name = f"agg-{uuid.uuid4().hex[:8]}"
        body = {"aggregate": {"name": name}}
        aid = nova.request("POST", "/os-aggregates", body).json()["aggregate"][
            "id"
        ]
        action: dict[str, Any] = {"add_host": {"host": host}}
        nova.request("POST", f"/os-aggregates/{aid}/action", action)
        action = {"set_metadata": {"metadata": metadata}}
        nova.request("POST", f"/os-aggregates/{aid}/action", action)
        made.append((aid, host))
        return name

    yield make
    for aid, host in made:
        action = {"remove_host": {"host": host}}
        nova.request("POST", f"/os-aggregates/{aid}/action", action)
        nova.request("DELETE", f"/os-aggregates/{aid}")


@promise(NEVER_WRONG_SERVER)
def test_only_servers_of_a_marked_flavor_are_evacuated(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    flavor_with: Callable[..., dict[str, Any]],
    run_openstack: RunOpenstack,
) -> None:
    key = a_mark()
    marked_flavor = flavor_with(**{key: "True"})
    marked = nova.create_server(host=fresh_host, flavor=marked_flavor["id"])
    plain = nova.create_server(host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()
    mark = ("--evacuable-mark", key, "--evacuable-mark-on", "flavor")

    plan = run_openstack(
        "host", "evacuate", fresh_host, *mark, "--dry-run", "-f", "json"
    )

    assert plan.returncode == 0, plan.stderr
    planned = by_id(json.loads(plan.stdout))
    let_in = f"flavor {marked_flavor['name']} carries {key}=true"
    assert planned[marked["id"]]["Action"] == "would submit"
    assert planned[marked["id"]]["Selected By"] == let_in
    assert planned[plain["id"]]["Action"] == "skipped"
    assert planned[plain["id"]]["Error"] == (
        f"{EXCLUDED} {key}=true: its flavor carries no {key}=true"
    )
    assert evacuate_posts(sandbox) == []

    proc = run_openstack(
        "host", "evacuate", fresh_host, *mark, "--wait", "120", "-f", "json"
    )

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert rows[marked["id"]]["Result"] == "verified"
    assert rows[plain["id"]]["Result"] == "skipped"
    posted = {p["path"].split("/")[-2] for p in evacuate_posts(sandbox)}
    assert posted == {marked["id"]}
    assert records_per_server(nova, [plain["id"]]) == {plain["id"]: 0}


@promise(NEVER_WRONG_SERVER)
def test_an_image_mark_counts_only_on_a_host_in_a_marked_aggregate(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    aggregate_of: Callable[..., str],
    run_openstack: RunOpenstack,
) -> None:
    key = a_mark()
    image = sandbox.add_image(f"img-{key}", **{key: "true"})
    marked = nova.create_server(host=fresh_host, image=image)
    plain = nova.create_server(host=fresh_host)
    crash(sandbox, fresh_host)

    def plan() -> dict[str, dict[str, Any]]:
        proc = run_openstack(
            "host", "evacuate", fresh_host, "--evacuable-mark", key,
            "--dry-run", "-f", "json",
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return by_id(json.loads(proc.stdout))

    # Aggregates are fail-closed: the host is in none that is marked.
    aggregate_of(fresh_host, **{key: "false"})
    outside = plan()
    assert outside[marked["id"]]["Error"] == (
        f"{EXCLUDED} {key}=true: {fresh_host} is in no aggregate that "
        f"carries {key}=true"
    )

    ha = aggregate_of(fresh_host, **{key: "TRUE"})
    inside = plan()

    assert inside[marked["id"]]["Action"] == "would submit"
    assert inside[marked["id"]]["Selected By"] == (
        f"image img-{key} carries {key}=true; aggregate {ha} carries "
        f"{key}=true"
    )
    assert inside[plain["id"]]["Error"] == (
        f"{EXCLUDED} {key}=true: its flavor and image carry no {key}=true"
    )


@promise(NEVER_WRONG_SERVER)
def test_a_drain_leaves_out_by_name_and_image(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    run_openstack: RunOpenstack,
) -> None:
    name = f"img-{a_mark()}"
    image = sandbox.add_image(name)
    amphora = nova.create_server(name="amphora-1", host=fresh_host)
    of_image = nova.create_server(host=fresh_host, image=image)
    kept = nova.create_server(host=fresh_host)
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "drain", fresh_host, "--exclude-name", "amphora-*",
        "--exclude-image", name, "--wait", "120", "-f", "json",
    )  # fmt: skip

    rows = by_id(json.loads(proc.stdout))
    assert (
        rows[amphora["id"]]["Error"] == "excluded by --exclude-name amphora-*"
    )
    assert (
        rows[of_image["id"]]["Error"] == f"excluded by --exclude-image {name}"
    )
    assert rows[kept["id"]]["Result"] == "verified"
    moved = {m["path"].split("/")[-2] for m in moves(sandbox)}
    assert moved == {kept["id"]}
    # What a drain leaves on the host fails it: it is not empty.
    assert proc.returncode == 3, proc.stderr


@promise(NEVER_WRONG_SERVER)
def test_skip_error_leaves_servers_in_error_on_the_host(
    sandbox: Sandbox,
    nova: NovaAPI,
    fresh_host: str,
    run_openstack: RunOpenstack,
) -> None:
    broken = nova.create_server(host=fresh_host)
    nova.reset_state(broken["id"], "error")
    fine = nova.create_server(host=fresh_host)
    crash(sandbox, fresh_host)
    sandbox.reset_requests()

    proc = run_openstack(
        "host", "evacuate", fresh_host, "--skip-error", "--wait", "120",
        "-f", "json",
    )  # fmt: skip

    assert proc.returncode == 0, proc.stderr
    rows = by_id(json.loads(proc.stdout))
    assert rows[broken["id"]]["Result"] == "skipped"
    assert rows[broken["id"]]["Error"] == (
        "excluded by --skip-error (it is in ERROR)"
    )
    assert rows[fine["id"]]["Result"] == "verified"
    posted = {p["path"].split("/")[-2] for p in evacuate_posts(sandbox)}
    assert posted == {fine["id"]}
