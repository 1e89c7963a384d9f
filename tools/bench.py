"""`make bench`: how fast `openstack host evacuate --wait` proves an
evacuation, what it costs the API per poll, and the CLI's peak memory.

For N servers on a crashed host (default 5, 50 and 200) it prints one JSON
line: wall-clock seconds of the command, requests it made by kind, poll
cycles, requests per cycle, and the CLI process's peak RSS. Numbers come
from the sandbox Nova on this machine: compare runs, not clouds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.sandbox.client import Sandbox

OPENSTACK = Path(sys.executable).parent / "openstack"


def measure(sandbox: Sandbox, host: str, count: int) -> dict[str, object]:
    sandbox.add_compute(host)
    sandbox.admin.create_servers(count, host=host)
    sandbox.crash_compute(host, force_down=True)
    sandbox.reset_requests()
    start = time.monotonic()
    proc = subprocess.Popen(
        [
            str(OPENSTACK),
            "host",
            "evacuate",
            host,
            "--wait",
            "600",
            "-f",
            "json",
        ],
        env=sandbox.cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr, returncode, peak_kib = _collect(proc)
    seconds = time.monotonic() - start
    if returncode != 0:
        raise SystemExit(f"host evacuate failed: {stderr}")
    rows = json.loads(stdout)
    log = sandbox.requests()["log"]
    kinds: dict[str, int] = {}
    for entry in log:
        key = f"{entry['method']} {entry['path']}"
        if "changes-since" in (entry.get("query") or ""):
            key += " (poll)"
        kinds[key] = kinds.get(key, 0) + 1
    # The servers poll alone carries changes-since; each cycle adds one
    # read of the migration records to it.
    cycles = kinds.get("GET /v2.1/servers/detail (poll)", 0)
    polls = 2 * cycles
    return {
        "servers": count,
        "verified": sum(r["Result"] == "verified" for r in rows),
        "seconds": round(seconds, 2),
        "requests": len(log),
        "poll_cycles": cycles,
        "requests_per_cycle": round(polls / cycles, 2) if cycles else None,
        "cli_peak_rss_mib": round(peak_kib / 1024, 1) if peak_kib else None,
    }


def _collect(proc: subprocess.Popen[str]) -> tuple[str, str, int, int]:
    """Output, exit code and peak RSS (KiB) of the finished process."""
    outputs: dict[str, str] = {}
    readers = [
        threading.Thread(
            target=lambda name=name, pipe=pipe: outputs.update(
                {name: pipe.read()}
            )
        )
        for name, pipe in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    # wait4 rather than wait: it also gives this child's own rusage.
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return outputs["out"], outputs["err"], proc.returncode, usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, nargs="+", default=[5, 50, 200])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="osc-evacuate-bench-") as tmp:
        with Sandbox(Path(tmp) / "sandbox") as sandbox:
            for i, count in enumerate(args.servers):
                result = measure(sandbox, f"bench{i:02d}", count)
                print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
