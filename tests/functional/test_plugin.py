"""The installed plugin as OSC sees it."""

from __future__ import annotations

from tests.functional.conftest import RunOpenstack


def test_commands_are_listed_and_ours_replaces_oscs(
    run_openstack: RunOpenstack,
) -> None:
    listing = run_openstack("help")
    assert listing.returncode == 0
    assert listing.stderr == ""
    lines = listing.stdout.splitlines()
    assert any(
        line.split()[:2] == ["host", "evacuate"] and "(osc-evacuate)" in line
        for line in lines
    )
    assert any(
        line.split()[:2] == ["server", "evacuate"] and "(osc-evacuate)" in line
        for line in lines
    )

    ours = run_openstack("server", "evacuate", "--help")
    assert ours.returncode == 0
    assert ours.stderr == ""
    # OSC's options, with ours on top of them.
    for option in (
        "--host",
        "--password",
        "--shared-storage",
        "--wait",
        "--force",
        "--target-state",
        "--retries",
    ):
        assert option in ours.stdout
    assert "exit codes:" in ours.stdout
