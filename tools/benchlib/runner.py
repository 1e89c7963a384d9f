"""The ways, each run on a sandbox of its own, measured.

For each size and each way, a new sandbox boots the servers on a host,
crashes it (forced down), the way evacuates them, and every server is
then verified the same way: its one evacuation record done, on another
host, ACTIVE with no task. Meanwhile the Nova process's CPU seconds are
sampled; afterwards the sandbox's request log is counted (metrics.py),
and the evacuation records tell when the last one turned done. Before
each of osc-evacuate's runs, stock `openstack server list` runs once on
the same sandbox (osc-evacuate's start is judged against it). The sizes
run in turns, so that a slow spell of the machine hits every way, each
turn starting with the next way; a way's median run is kept, with
figures of every run.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.sandbox import accounts
from tests.sandbox.client import Sandbox

from .clients import Clients, Ran, WayRun, check, measured
from .metrics import busy_seconds, by_phase, done_at, metrics, others_cpu
from .report import say
from .results import FLOOR, OURS, Run, WayResult

LOG = logging.getLogger(__name__)

CLIENT = Path(__file__).resolve().parents[1] / "bench_client.py"
HOST = "failed01"
MICROVERSION = "2.94"  # every way: servers end as they were (ACTIVE)
SIZES = (10, 50, 200)
# Runs of each way at each size: the machine's noise is some seconds (the
# same run of one way at 50 servers has taken 24 s and 36 s), so the goals
# at 50 are judged over five turns, and at 200 over three.
REPEAT = {10: 3, 50: 5, 200: 3}
ONCE = frozenset({"osc loop"})

Way = Callable[[Sandbox, list[str], Clients], WayRun]


def stock_env(sandbox: Sandbox, bin_dir: Path) -> dict[str, str]:
    env = sandbox.cli_env()
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    return env


def nova_env(sandbox: Sandbox, bin_dir: Path) -> dict[str, str]:
    """python-novaclient (it reads no clouds.yaml) logging in to the
    sandbox's Keystone as admin, with the OS_* variables a user of it
    sets: no password on a command line."""
    env = stock_env(sandbox, bin_dir)
    env.update(
        {
            "OS_AUTH_URL": sandbox.auth_url,
            "OS_USERNAME": "admin",
            "OS_PASSWORD": accounts.PASSWORDS["admin"],
            "OS_PROJECT_NAME": "admin",
            "OS_USER_DOMAIN_ID": accounts.DOMAIN_ID,
            "OS_PROJECT_DOMAIN_ID": accounts.DOMAIN_ID,
            "OS_COMPUTE_API_VERSION": MICROVERSION,
        }
    )
    return env


def poll_after(
    sandbox: Sandbox, env: dict[str, str], ids: list[str], *extra: str
) -> Ran:
    cmd = [
        str(Path(env["PATH"].split(":")[0]) / "python"),
        str(CLIENT),
        *extra,
        "--url",
        sandbox.url,
        # A Keystone token of the admin's, valid an hour: longer than a run.
        "--token",
        sandbox.admin.token,
        "--source",
        HOST,
        *ids,
    ]
    return check(measured(cmd, env), f"bench_client {extra[0]}")


def polled(poller: Ran, *before: Ran) -> WayRun:
    """A way's run that tools/bench_client.py polled until the last
    server was done, from the start of its first process."""
    out = json.loads(poller.stdout)
    processes = [*before, poller]
    return WayRun(
        processes[0].started, out["done_at"], processes, out["rounds"]
    )


def ours(sandbox: Sandbox, ids: list[str], bins: Clients) -> WayRun:
    env = stock_env(sandbox, bins.plugin)
    ran = check(
        measured(
            [
                str(bins.plugin / "openstack"),
                "host",
                "evacuate",
                HOST,
                "--wait",
                "900",
                "-f",
                "json",
            ],
            env,
        ),
        "openstack host evacuate",
    )
    rows = json.loads(ran.stdout)
    assert {r["Result"] for r in rows} == {"verified"}, rows
    return WayRun(ran.started, ran.ended, [ran], None)


def osc_floor(sandbox: Sandbox, ids: list[str], bins: Clients) -> WayRun:
    """tools/bench_floor's `openstack bench floor <host>`: it lists the
    host's servers itself; its run ends when it exits."""
    env = stock_env(sandbox, bins.floor)
    cmd = [str(bins.floor / "openstack"), "bench", "floor", HOST]
    ran = check(measured(cmd, env), "openstack bench floor")
    return WayRun(ran.started, ran.ended, [ran], None)


def server_list(sandbox: Sandbox, bins: Clients) -> float:
    """The wall seconds of stock `openstack server list` on the sandbox:
    what osc-evacuate's start is judged against."""
    cmd = [str(bins.stock / "openstack"), "server", "list"]
    env = stock_env(sandbox, bins.stock)
    ran = check(
        measured([*cmd, "--all-projects", "-f", "value"], env), "server list"
    )
    return round(ran.ended - ran.started, 2)


def nova_host_evacuate(
    sandbox: Sandbox, ids: list[str], bins: Clients
) -> WayRun:
    env = nova_env(sandbox, bins.stock)
    cmd = [
        str(bins.stock / "nova"),
        "host-evacuate",
        "--strict",
        HOST,
    ]
    evacuate = check(measured(cmd, env), "nova host-evacuate")
    poller = poll_after(sandbox, env, ids, "poll", "--interval", "1")
    return polled(poller, evacuate)


def osc_loop(sandbox: Sandbox, ids: list[str], bins: Clients) -> WayRun:
    env = stock_env(sandbox, bins.stock)
    script = (
        f"for id in {' '.join(ids)}; do "
        f"{shlex.quote(str(bins.stock / 'openstack'))} "
        f"--os-compute-api-version {MICROVERSION} server evacuate "
        '"$id" > /dev/null || exit 1; done'
    )
    loop = check(measured(script, env, shell=True), "openstack loop")
    poller = poll_after(sandbox, env, ids, "poll", "--interval", "1")
    return polled(poller, loop)


def raw(parallel: int) -> Way:
    def run(sandbox: Sandbox, ids: list[str], bins: Clients) -> WayRun:
        env = stock_env(sandbox, bins.stock)
        ran = poll_after(
            sandbox,
            env,
            ids,
            "raw",
            "--parallel",
            str(parallel),
            "--interval",
            "0.5",
            "--microversion",
            MICROVERSION,
        )
        return polled(ran)

    return run


RUNNERS: dict[str, Way] = {
    OURS: ours,
    FLOOR: osc_floor,
    "nova host-evacuate": nova_host_evacuate,
    "osc loop": osc_loop,
    "raw parallel": raw(8),
    "raw sequential": raw(1),
}
WAYS = tuple(RUNNERS)


def verify(sandbox: Sandbox, ids: list[str]) -> list[dict[str, Any]]:
    """Every server evacuated once, done, elsewhere, ACTIVE and idle: the
    evacuation records."""
    found = []
    for sid in ids:
        server = sandbox.admin.server(sid)
        records = sandbox.admin.migrations(instance_uuid=sid)
        found += records
        assert len(records) == 1, (sid, records)
        assert records[0]["status"] in ("done", "completed"), records
        assert server["OS-EXT-SRV-ATTR:host"] != HOST, server
        assert server["status"] == "ACTIVE", server
        assert server["OS-EXT-STS:task_state"] is None, server
    return found


class CPUSampler:
    """The sandbox process's CPU seconds, read every 0.1 s (the kernel
    counts in ticks of 10 ms), with the monotonic time of each read."""

    EVERY = 0.1

    def __init__(self, read: Callable[[], float]) -> None:
        self.read = read
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CPUSampler:
        self.samples.append((time.monotonic(), self.read()))
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.monotonic(), self.read()))

    def _run(self) -> None:
        while not self._stop.wait(self.EVERY):
            self.samples.append((time.monotonic(), self.read()))


def process_cpu(sandbox: Sandbox) -> float:
    """CPU seconds (user and system) the sandbox's process has used."""
    assert sandbox.process is not None
    stat = Path(f"/proc/{sandbox.process.pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def machine_busy() -> float:
    """The CPU seconds the machine has been busy since it booted."""
    stat = Path("/proc/stat").read_text()
    return busy_seconds(stat, os.sysconf("SC_CLK_TCK"))


def measure(servers: int, way: str, bins: Clients, state: Path) -> Run:
    """One run of a way on a new sandbox, verified and counted."""
    # Nova's updated_at (UTC, its wall clock) on the monotonic clock that
    # the request log and the runs read: the same machine's clocks.
    offset = time.time() - time.monotonic()
    with Sandbox(state, computes=3) as sandbox:
        sandbox.add_compute(HOST)
        booted = sandbox.admin.create_servers(servers, host=HOST, timeout=900)
        ids = [s["id"] for s in booted]
        sandbox.crash_compute(HOST, force_down=True)
        # Before the log is reset: its requests are not the run's.
        listed = server_list(sandbox, bins) if way == OURS else None
        sandbox.reset_requests()
        say(f"{way}, {servers} servers ...")
        busy = machine_busy()
        with CPUSampler(lambda: process_cpu(sandbox)) as cpu:
            run = RUNNERS[way](sandbox, ids, bins)
        busy = machine_busy() - busy
        log = sandbox.requests()["log"]
        last_done = done_at(verify(sandbox, ids), offset)
    nova_cpu = cpu.samples[-1][1] - cpu.samples[0][1]
    result = Run.from_counted(
        metrics(log, run, servers, way),
        nova_cpu_seconds=round(nova_cpu, 2),
        phases=by_phase(log, run, cpu.samples),
        server_list_seconds=listed,
        done_to_exit_seconds=(
            None if last_done is None else round(run.done_at - last_done, 2)
        ),
        others_cpu_seconds=others_cpu(
            busy, nova_cpu, sum(p.cpu_seconds for p in run.processes)
        ),
    )
    say(
        f"{way}, {servers} servers: {result.wall_seconds} s, "
        f"{result.requests} requests, last record done "
        f"{result.done_to_exit_seconds} s before the end, "
        f"{result.others_cpu_seconds} CPU s of other processes"
    )
    return result


def median_run(samples: Sequence[Run]) -> WayResult:
    """The run of median wall time, with every run's figures."""
    ordered = sorted(samples, key=lambda r: r.wall_seconds)
    chosen = ordered[(len(ordered) - 1) // 2]
    LOG.debug(
        "%s at %d: the median of %d runs took %s s",
        chosen.way,
        chosen.servers,
        len(samples),
        chosen.wall_seconds,
    )
    return WayResult.from_runs(chosen, tuple(samples))


def turn_order(ways: Sequence[str], turn: int) -> list[str]:
    """The ways in the order of this turn: each turn starts one later, so
    that no way always runs first (or right after another): in one A/B,
    whichever ran first in a pair was the slower in six of eight."""
    start = turn % len(ways)
    return [*ways[start:], *ways[:start]]


def run_sizes(
    sizes: Sequence[int],
    ways: Sequence[str],
    bins: Clients,
    repeat: int | None = None,
) -> list[WayResult]:
    """Every way at every size, in turns (default: REPEAT), each way's
    median run in the order of the ways."""
    out = []
    with tempfile.TemporaryDirectory(prefix="osc-evacuate-bench-") as tmp:
        for n in sizes:
            samples: dict[str, list[Run]] = {way: [] for way in ways}
            # In turns, so that a slow spell of the machine hits all ways.
            for turn in range(repeat or REPEAT.get(n, 1)):
                for i, way in enumerate(turn_order(ways, turn)):
                    if turn and way in ONCE:
                        LOG.debug("%s runs in the first turn only", way)
                        continue
                    state = Path(tmp) / f"n{n}-{turn}-{i}"
                    samples[way].append(measure(n, way, bins, state))
            out += [median_run(samples[way]) for way in ways]
    return out
