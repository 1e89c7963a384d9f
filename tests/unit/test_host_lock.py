"""host_lock.py: one run per host at a time on this machine.

flock(2) locks belong to an open file, so two HostLocks in one process
keep each other out as two runs do."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from osc_evacuate.core.host_lock import Claim, HostBusy, HostLocks

CLOUD = "https://keystone.example:5000/v3|RegionOne|None"


def locks(directory: Path | None, cloud: str = CLOUD) -> HostLocks:
    return HostLocks(directory, cloud, "host evacuate")


def test_a_held_host_refuses_another_run_naming_the_holder(
    tmp_path: Path,
) -> None:
    with locks(tmp_path) as first:
        first.take(Claim(("compute01",)))
        with pytest.raises(HostBusy) as refused, locks(tmp_path) as second:
            second.take(Claim(("compute01",)))
    said = str(refused.value)
    assert said.startswith(
        "another osc-evacuate run on this machine (openstack host "
        f"evacuate, pid {os.getpid()}, since "
    )
    assert "working on host compute01" in said
    assert said.endswith("let that run end, then run this again")


def test_the_host_is_free_once_the_block_ends(tmp_path: Path) -> None:
    with locks(tmp_path) as first:
        first.take(Claim(("compute01",)))
    with locks(tmp_path) as second:
        second.take(Claim(("compute01",)))


def test_the_same_name_in_another_cloud_is_another_host(
    tmp_path: Path,
) -> None:
    with locks(tmp_path) as first, locks(tmp_path, "other|cloud|") as other:
        first.take(Claim(("compute01",)))
        other.take(Claim(("compute01",)))


def test_a_refused_take_holds_none_of_its_hosts(tmp_path: Path) -> None:
    with locks(tmp_path) as holder, locks(tmp_path) as refused:
        holder.take(Claim(("compute02",)))
        with pytest.raises(HostBusy, match="compute02"):
            refused.take(Claim(("compute01", "compute02")))
        with locks(tmp_path) as third:
            third.take(Claim(("compute01",)))


def test_a_run_takes_its_own_hosts_again_without_refusing(
    tmp_path: Path,
) -> None:
    """The command line's hosts before the plan, the plan's after."""
    with locks(tmp_path) as run:
        run.take(Claim(("compute01",)))
        run.take(Claim(("compute01", "compute02")))
        assert run.busy(Claim(("compute01", "compute02"))) is None
        with pytest.raises(HostBusy, match="compute02"), locks(tmp_path) as x:
            x.take(Claim(("compute02",)))


def test_busy_says_why_and_holds_nothing(tmp_path: Path) -> None:
    with locks(tmp_path) as holder, locks(tmp_path) as dry:
        holder.take(Claim(("compute01",)))
        assert "working on host compute01" in (
            dry.busy(Claim(("compute01",))) or ""
        )
        assert dry.busy(Claim(("compute02",))) is None
        with locks(tmp_path) as third:
            third.take(Claim(("compute02",)))


def test_no_directory_keeps_no_locks() -> None:
    with locks(None) as first, locks(None) as second:
        first.take(Claim(("compute01",)))
        second.take(Claim(("compute01",)))


def test_a_directory_that_cannot_be_made_keeps_no_locks(
    tmp_path: Path,
) -> None:
    """A read-only home: the run goes on (and says so at --debug)."""
    blocked = tmp_path / "file"
    blocked.write_text("")
    with locks(blocked / "hosts") as first, locks(blocked / "hosts") as x:
        first.take(Claim(("compute01",)))
        x.take(Claim(("compute01",)))


def test_an_odd_host_name_makes_a_plain_file_name(tmp_path: Path) -> None:
    with locks(tmp_path) as run:
        run.take(Claim(("../etc/compute 01",)))
    (made,) = tmp_path.iterdir()
    assert made.name.startswith("host_.._etc_compute_01-")
    assert made.suffix == ".lock"


def test_one_server_s_runs_share_its_host_and_hold_their_server(
    tmp_path: Path,
) -> None:
    """server evacuate: runs for two servers of a host go on side by
    side; a second for the same server, or a whole host's run, refuse."""
    one = Claim(("compute01",), ("server-a",), shared=True)
    other = Claim(("compute01",), ("server-b",), shared=True)
    with locks(tmp_path) as first, locks(tmp_path) as second:
        first.take(one)
        second.take(other)
        with locks(tmp_path) as again:
            with pytest.raises(HostBusy, match="working on server server-a"):
                again.take(one)
            with pytest.raises(HostBusy, match="working on host compute01"):
                again.take(Claim(("compute01",)))
            assert again.busy(Claim(("compute01",))) is not None


def test_a_whole_host_s_run_keeps_one_server_s_runs_off(
    tmp_path: Path,
) -> None:
    with locks(tmp_path) as whole, locks(tmp_path) as one:
        whole.take(Claim(("compute01",)))
        with pytest.raises(HostBusy, match="working on host compute01"):
            one.take(Claim(("compute01",), ("server-a",), shared=True))
        # Refused whole: its server is not held either.
        with locks(tmp_path) as third:
            third.take(Claim(("compute02",), ("server-a",), shared=True))
