"""A safe return of an evacuated host, through the real CLI on the
sandbox: while an evacuation from the host is still ``accepted`` or
``pre-migrating``, its nova-compute must not start (its start-up would
destroy those servers' guests there, their only copy), so ``finish``
refuses, --force or not, with exit 6, and ``show`` says what the start-up
would do to each record."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.functional.conftest import OpenstackJson, RunOpenstack
from tests.functional.scenario import (
    NEVER_UNPROVEN,
    Boot,
    crash,
    evacuation_show,
    refused_finish,
)
from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

ONLY_COPY = "destroys the local guest, the server's only copy"


def still_forced_down(nova: NovaAPI, host: str) -> bool:
    service = nova.service(host)
    return bool(service["forced_down"]) and service["status"] == "enabled"


@pytest.mark.promise(NEVER_UNPROVEN)
def test_finish_is_refused_while_an_evacuation_is_accepted(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
    openstack_json: OpenstackJson,
) -> None:
    source, destination = new_compute(), new_compute()
    [server] = boot_servers(1, host=source)
    crash(sandbox, source)
    # The destination dies too, before Nova sees it down: the scheduler
    # still sends the rebuild there, and nothing takes it up.
    sandbox.crash_compute(destination)
    nova.evacuate(server["id"], host=destination)
    assert nova.wait_for_migration(server["id"], "accepted")

    for options in (("--force",), ()):
        line = refused_finish(run_openstack, source, *options)
        assert f"{source} must not return yet" in line
        assert f"({server['id']}) accepted" in line
        assert server["name"] in line
        assert "--force does not override this" in line
        assert still_forced_down(nova, source)
    code, state = evacuation_show(run_openstack, source)
    assert (code, state["Verdict"]) == (6, "evacuation under way")
    assert state["Unfinished"] == [server["id"]]
    [effect] = state["When Nova-Compute Starts"]
    assert effect.startswith(
        f"{server['name']} ({server['id']}) accepted: {ONLY_COPY}"
    )
    assert "do not start nova-compute" in state["Next Step"]

    # The destination comes back and rebuilds the server: the evacuation
    # is done, and the return goes on as before.
    sandbox.start_compute(destination)
    nova.wait_for_migration(server["id"], "done", timeout=60)
    line = refused_finish(run_openstack, source)
    assert "1 evacuation record is still done" in line
    code, state = evacuation_show(run_openstack, source)
    assert (code, state["Verdict"]) == (
        6,
        "waiting for nova-compute to restart",
    )
    sandbox.start_compute(source)
    nova.wait_for_migration(server["id"], "completed", timeout=60)
    finished = openstack_json("host", "evacuation", "finish", source)
    assert (finished["Forced Down"], finished["Status"]) == (False, "enabled")
    assert nova.server(server["id"])["OS-EXT-SRV-ATTR:host"] == destination


@pytest.mark.promise(NEVER_UNPROVEN)
def test_finish_is_refused_while_an_evacuation_is_pre_migrating(
    sandbox: Sandbox,
    nova: NovaAPI,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    run_openstack: RunOpenstack,
) -> None:
    source, destination = new_compute(), new_compute()
    servers = boot_servers(2, host=source)
    crash(sandbox, source)
    # The rebuild of the first waits on the destination; the second is
    # evacuated and done.
    nova.evacuate(servers[1]["id"], host=destination)
    nova.wait_for_migration(servers[1]["id"], "done")
    sandbox.slow_spawn(600, host=destination)
    nova.evacuate(servers[0]["id"], host=destination)
    nova.wait_for_migration(servers[0]["id"], "pre-migrating")

    line = refused_finish(run_openstack, source, "--force")
    assert (
        f"1 evacuation from {source} is still under way "
        f"({servers[0]['name']} ({servers[0]['id']}) pre-migrating)"
    ) in line
    assert still_forced_down(nova, source)
    code, state = evacuation_show(run_openstack, source)
    assert (code, state["Verdict"]) == (6, "evacuation under way")
    assert state["When Nova-Compute Starts"] == [
        f"{servers[0]['name']} ({servers[0]['id']}) pre-migrating: "
        f"{ONLY_COPY} (its rebuild elsewhere has not finished), and marks "
        "the record completed",
        f"{servers[1]['name']} ({servers[1]['id']}) done: destroys the "
        "guest left behind, if any (the server is no longer on this host), "
        "and marks the record completed",
    ]

    # The rebuild ends: only the done records stand in the way.
    sandbox.slow_spawn(0, host=destination)
    nova.wait_for_migration(servers[0]["id"], "done", timeout=60)
    line = refused_finish(run_openstack, source, "--force")
    assert "2 evacuation records are still done" in line
