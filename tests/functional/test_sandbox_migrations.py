"""The sandbox's live and cold migrations, and its live-migration faults.

``host drain`` empties a living host by live migration (ACTIVE and
PAUSED servers) and cold migration with confirmResize (SHUTOFF ones), and
proves each by its migration record. These tests show, through Nova's
REST API only (no plugin), that the sandbox's Nova does those moves with
its own code on the fake driver, which record and server states a test
can expect on the way, and that the live-migration faults
(tests/sandbox/migrations.py) make Nova itself write a failed, refused,
cancelled or interrupted live migration.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.functional.scenario import HOST, Boot
from tests.sandbox.client import Sandbox, SandboxError
from tests.sandbox.rest import NovaAPI

TASK = "OS-EXT-STS:task_state"
LIVE = "live-migration"
COLD = "migration"
# Where a live migration ends.
LIVE_ENDS = ("completed", "failed", "error", "cancelled")


def newest_id(nova: NovaAPI, server_id: str) -> int:
    """The id of the server's newest migration record of any type (ids
    are the cell's, so a later move's record has a greater one)."""
    found = nova.migrations(instance_uuid=server_id, migration_type=None)
    return max((m["id"] for m in found), default=0)


def live_migrate(
    nova: NovaAPI,
    server_id: str,
    ends: str | tuple[str, ...] = "completed",
    **kw: Any,
) -> dict[str, Any]:
    """Live-migrate and wait for the new record to reach ``ends``."""
    before = newest_id(nova, server_id)
    nova.live_migrate(server_id, **kw)
    return nova.wait_for_migration(
        server_id, ends, migration_type=LIVE, newer_than=before
    )


def ended(nova: NovaAPI, server_id: str) -> dict[str, Any]:
    """The server's newest live migration, once it has ended."""
    return nova.wait_for_migration(server_id, LIVE_ENDS, migration_type=LIVE)


@pytest.fixture
def pair(new_compute: Callable[..., str]) -> tuple[str, str]:
    """Two fresh computes: a source and a target."""
    return new_compute(), new_compute()


@pytest.fixture
def hosts_up(sandbox: Sandbox, nova: NovaAPI) -> Iterator[Callable[..., None]]:
    """Disable every running compute but the ones given."""
    disabled: list[str] = []

    def keep(*hosts: str) -> None:
        for compute in sandbox.computes():
            if compute["running"] and compute["host"] not in hosts:
                nova.disable_service(compute["host"], "test: hosts_up")
                disabled.append(compute["host"])

    yield keep
    for host in disabled:
        nova.enable_service(host)


def test_active_server_live_migrates_with_and_without_a_host(
    pair: tuple[str, str], boot_servers: Boot, nova: NovaAPI
) -> None:
    source, target = pair
    (server,) = boot_servers(host=source)
    record = live_migrate(nova, server["id"], host=target)
    assert (record["source_compute"], record["dest_compute"]) == (
        source,
        target,
    )
    assert record["migration_type"] == LIVE
    # The server reads ACTIVE on its new host a moment before its record
    # is completed: the record is the proof, the server follows it.
    assert nova.wait_for_server(server["id"], "ACTIVE")[HOST] == target
    assert nova.server_migrations(server["id"]) == []
    listed = nova.migrations(host=target, migration_type=LIVE)
    assert [m["id"] for m in listed] == [record["id"]]

    # With no host: the scheduler's choice, never the server's host.
    again = live_migrate(nova, server["id"])
    assert again["source_compute"] == target
    moved = nova.wait_for_server(server["id"], "ACTIVE")
    assert moved[HOST] == again["dest_compute"] != target


def test_paused_server_live_migrates_and_stays_paused(
    fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    nova.pause_server(server["id"])
    record = live_migrate(nova, server["id"])
    assert record["source_compute"] == fresh_host
    moved = nova.wait_for_server(server["id"], "PAUSED")
    assert moved[HOST] == record["dest_compute"] != fresh_host


def test_shutoff_server_cold_migrates_and_is_confirmed(
    pair: tuple[str, str], boot_servers: Boot, nova: NovaAPI
) -> None:
    source, target = pair
    (server,) = boot_servers(host=source)
    nova.stop_server(server["id"])
    # With a host (2.56), then with none (the scheduler's choice).
    for host in (target, None):
        before = newest_id(nova, server["id"])
        assert nova.migrate(server["id"], host=host).status_code == 202
        resized = nova.wait_for_server(server["id"], "VERIFY_RESIZE")
        record = nova.wait_for_migration(
            server["id"], "finished", migration_type=COLD, newer_than=before
        )
        assert record["dest_compute"] == resized[HOST]
        assert record["source_compute"] != resized[HOST]
        assert resized[HOST] == (host or resized[HOST])
        assert nova.confirm_resize(server["id"]).status_code == 204
        nova.wait_for_migration(
            server["id"], "confirmed", migration_type=COLD, newer_than=before
        )
        stopped = nova.wait_for_server(server["id"], "SHUTOFF")
        assert stopped[HOST] == record["dest_compute"]


def test_cold_migration_statuses_on_the_way(
    sandbox: Sandbox, pair: tuple[str, str], boot_servers: Boot, nova: NovaAPI
) -> None:
    # The fake driver's finish_migration spawns on the destination: a
    # slow spawn there holds the record at post-migrating.
    source, target = pair
    (server,) = boot_servers(host=source)
    nova.stop_server(server["id"])
    sandbox.slow_spawn(2, host=target)
    nova.migrate(server["id"], host=target)
    nova.wait_for_migration(
        server["id"], "post-migrating", migration_type=COLD
    )
    shown = nova.server(server["id"])
    assert (shown["status"], shown[HOST]) == ("RESIZE", target)
    assert shown[TASK] in ("resize_migrated", "resize_finish")
    nova.wait_for_server(server["id"], "VERIFY_RESIZE")
    nova.wait_for_migration(server["id"], "finished", migration_type=COLD)


def test_slow_live_migration_runs_then_completes_when_released(
    sandbox: Sandbox, pair: tuple[str, str], boot_servers: Boot, nova: NovaAPI
) -> None:
    source, target = pair
    (server,) = boot_servers(host=source)
    slow = sandbox.slow_live_migration(600, host=source)
    assert slow["slow"] == {"seconds": 0.0, "hosts": {source: 600.0}}
    record = live_migrate(nova, server["id"], "running", host=target)
    time.sleep(1)
    shown = nova.server(server["id"])
    assert (shown["status"], shown[TASK], shown[HOST]) == (
        "MIGRATING",
        "migrating",
        source,
    )
    (listed,) = nova.server_migrations(server["id"])
    assert (listed["id"], listed["status"]) == (record["id"], "running")
    # reset_faults (after every test) releases it: it completes.
    sandbox.reset_faults()
    assert ended(nova, server["id"])["status"] == "completed"
    assert nova.wait_for_server(server["id"], "ACTIVE")[HOST] == target


def test_abort_and_force_complete_a_slow_live_migration(
    sandbox: Sandbox, pair: tuple[str, str], boot_servers: Boot, nova: NovaAPI
) -> None:
    source, target = pair
    first, second, third = boot_servers(3, host=source)
    sandbox.slow_live_migration(600, host=target)
    running = live_migrate(nova, first["id"], "running", host=target)
    # Nova runs one live migration at a time (max_concurrent_live_
    # migrations; in the sandbox, one for the whole process): the next
    # one waits queued, and from 2.65 it can be aborted too.
    queued = live_migrate(nova, second["id"], "queued", host=target)
    assert nova.server_migrations(second["id"])[0]["status"] == "queued"
    for server, record in ((second, queued), (first, running)):
        response = nova.abort_live_migration(server["id"], record["id"])
        assert response.status_code == 202
        assert ended(nova, server["id"])["status"] == "cancelled"
        assert nova.wait_for_server(server["id"], "ACTIVE")[HOST] == source
    # Only a server that is migrating has one to abort.
    refused = nova.abort_live_migration(first["id"], running["id"], ok=None)
    assert refused.status_code == 409

    record = live_migrate(nova, third["id"], "running", host=target)
    assert nova.force_complete(third["id"], record["id"]).status_code == 202
    assert ended(nova, third["id"])["status"] == "completed"
    assert nova.wait_for_server(third["id"], "ACTIVE")[HOST] == target


def test_live_migration_fails_during_the_copy(
    sandbox: Sandbox, pair: tuple[str, str], boot_servers: Boot, nova: NovaAPI
) -> None:
    source, target = pair
    active, paused = boot_servers(2, host=source)
    nova.pause_server(paused["id"])
    faults = sandbox.fail_live_migrations(source, count=2)
    assert faults["failures"] == [
        {"host": source, "stage": "during", "count": 2, "failed": 0}
    ]
    for server, status in ((active, "ACTIVE"), (paused, "PAUSED")):
        # Accepted, then Nova's rollback: failed, still on its source.
        failed = live_migrate(nova, server["id"], LIVE_ENDS, host=target)
        assert failed["status"] == "failed"
        back = nova.wait_for_server(server["id"], status)
        assert back[HOST] == source
    assert sandbox.live_migration_faults()["failures"][0]["failed"] == 2
    # The count is spent: the next one completes.
    assert live_migrate(nova, active["id"], LIVE_ENDS)["status"] == (
        "completed"
    )

    # To a host, not only from it.
    (other,) = boot_servers(host=source)
    sandbox.fail_live_migrations(target)
    failed = live_migrate(nova, other["id"], LIVE_ENDS, host=target)
    assert failed["status"] == "failed"


def test_live_migration_refused_by_its_pre_checks(
    sandbox: Sandbox, pair: tuple[str, str], boot_servers: Boot, nova: NovaAPI
) -> None:
    source, target = pair
    (server,) = boot_servers(host=source)
    sandbox.fail_live_migrations(target, count=None, stage="pre-check")

    # From 2.34 Nova checks after its 202: the record ends in error and
    # the server is back to ACTIVE on its source.
    refused = live_migrate(nova, server["id"], LIVE_ENDS, host=target)
    assert refused["status"] == "error"
    assert nova.wait_for_server(server["id"], "ACTIVE")[HOST] == source
    actions = nova.get(f"/servers/{server['id']}/os-instance-actions")
    request = actions["instanceActions"][0]["request_id"]
    action = nova.get(
        f"/servers/{server['id']}/os-instance-actions/{request}"
    )["instanceAction"]
    assert action["action"] == "live-migration"
    assert {e["event"]: e["result"] for e in action["events"]} == {
        "compute_check_can_live_migrate_destination": "Error",
        "conductor_live_migrate_instance": "Error",
    }

    # Before, the POST answers 400: with Nova's text at 2.25 to 2.29,
    # where a host given is not the scheduler's to check...
    old = nova.live_migrate(
        server["id"], host=target, microversion="2.29", ok=None
    )
    assert old.status_code == 400
    assert "Migration pre-check error: injected by the sandbox" in old.text
    # ... and as "No valid host" from 2.30, where the scheduler checks it
    # and has no other.
    checked = nova.live_migrate(
        server["id"], host=target, microversion="2.33", ok=None
    )
    assert checked.status_code == 400
    assert "No valid host was found" in checked.text
    assert sandbox.live_migration_faults()["failures"][0]["failed"] == 3
    # A forced live migration (2.30 to 2.67) skips the scheduler, not the
    # destination's checks.
    forced = live_migrate(
        nova,
        server["id"],
        LIVE_ENDS,
        host=target,
        microversion="2.67",
        force=True,
    )
    assert forced["status"] == "error"
    assert sandbox.live_migration_faults()["failures"][0]["failed"] == 4
    assert nova.wait_for_server(server["id"], "ACTIVE")[HOST] == source


def test_pre_checks_of_one_destination_send_it_to_another(
    sandbox: Sandbox,
    new_compute: Callable[..., str],
    boot_servers: Boot,
    nova: NovaAPI,
    hosts_up: Callable[..., None],
) -> None:
    source, refusing, accepting = new_compute(), new_compute(), new_compute()
    (server,) = boot_servers(host=source)
    hosts_up(refusing, accepting)
    sandbox.fail_live_migrations(refusing, count=None, stage="pre-check")
    record = live_migrate(nova, server["id"], LIVE_ENDS)
    assert (record["status"], record["dest_compute"]) == (
        "completed",
        accepting,
    )


def test_pre_checks_from_a_source_refuse_every_destination(
    sandbox: Sandbox, fresh_host: str, boot_servers: Boot, nova: NovaAPI
) -> None:
    (server,) = boot_servers(host=fresh_host)
    sandbox.fail_live_migrations(fresh_host, stage="pre-check")
    # The conductor tries every destination for this one request; the
    # fault counts it once.
    refused = live_migrate(nova, server["id"], LIVE_ENDS)
    assert refused["status"] == "error"
    assert nova.wait_for_server(server["id"], "ACTIVE")[HOST] == fresh_host
    (failure,) = sandbox.live_migration_faults()["failures"]
    assert failure["failed"] == 1
    assert live_migrate(nova, server["id"], LIVE_ENDS)["status"] == (
        "completed"
    )


def test_crashes_during_a_slow_live_migration(
    sandbox: Sandbox, pair: tuple[str, str], boot_servers: Boot, nova: NovaAPI
) -> None:
    source, target = pair
    first, second = boot_servers(2, host=source)
    sandbox.slow_live_migration(600)

    # The destination dies mid-copy: the migration fails, the server
    # stays on its source.
    live_migrate(nova, first["id"], "running", host=target)
    sandbox.crash_compute(target, force_down=True)
    assert ended(nova, first["id"])["status"] == "failed"
    assert nova.wait_for_server(first["id"], "ACTIVE")[HOST] == source

    # The source dies: nothing more is written, as after a real crash.
    live_migrate(nova, second["id"], "running")
    started = time.monotonic()
    sandbox.crash_compute(source, force_down=True)
    assert time.monotonic() - started < 10
    time.sleep(1)
    (record,) = nova.server_migrations(second["id"])
    assert record["status"] == "running"
    shown = nova.server(second["id"])
    assert (shown["status"], shown[HOST]) == ("MIGRATING", source)
    # Its restart puts the record in error and the server back ACTIVE.
    sandbox.start_compute(source)
    nova.force_down(source, False)
    assert ended(nova, second["id"])["status"] == "error"
    assert nova.wait_for_server(second["id"], "ACTIVE")[HOST] == source


def test_live_migration_fault_routes(sandbox: Sandbox) -> None:
    clean = {"failures": [], "slow": {"seconds": 0.0, "hosts": {}}}
    sandbox.fail_live_migrations("compute01", stage="pre-check")
    sandbox.fail_live_migrations("compute02", count=None)
    sandbox.slow_live_migration(5)
    faults = sandbox.slow_live_migration(0, host="compute01")
    assert [
        (f["host"], f["stage"], f["count"]) for f in faults["failures"]
    ] == [
        ("compute01", "pre-check", 1),
        ("compute02", "during", None),
    ]
    assert {f["failed"] for f in faults["failures"]} == {0}
    assert faults["slow"] == {"seconds": 5.0, "hosts": {"compute01": 0.0}}
    assert sandbox.live_migration_faults() == faults
    # reset-faults (after every test) ends them all.
    sandbox.reset_faults()
    assert sandbox.live_migration_faults() == clean

    with pytest.raises(SandboxError, match="404"):
        sandbox.fail_live_migrations("no-such-compute")
    with pytest.raises(SandboxError, match="404"):
        sandbox.slow_live_migration(1, host="no-such-compute")
    bad_failures: list[Any] = [
        {"host": "compute01", "stage": "later"},
        {"host": "compute01", "count": 0},
        {"host": "compute01", "count": True},
        {"host": "compute01", "error": 500},
        {"count": 1},
        [],
    ]
    for body in bad_failures:
        with pytest.raises(SandboxError, match="400"):
            sandbox.control("POST", "live-migration-failures", body)
    for bad in ({"seconds": -1}, {"seconds": "5"}, {"seconds": 1, "x": 1}):
        with pytest.raises(SandboxError, match="400"):
            sandbox.control("POST", "slow-live-migration", bad)
    with pytest.raises(SandboxError, match="404"):
        sandbox.control("DELETE", "live-migration-faults")
    assert sandbox.live_migration_faults() == clean
