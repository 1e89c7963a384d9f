"""``make docs-capture``: the runbook's outputs, captured from the sandbox.

Every command the runbook (doc/source/runbook.rst) shows is run here,
against a real Nova in the sandbox, and its output written to
doc/source/runbook/<step>.txt, which the runbook includes. Nothing in it
is typed by hand. What differs from one run to the next is normalised:
UUIDs become stable placeholders in order of appearance, and seconds a
fixed figure; so capturing again changes nothing
(tests/functional/test_runbook.py checks it).

The cloud: compute01 with five servers in two projects (one stopped, one
booted from a volume, one paused), and compute02 and compute03 to take
them; compute03 is full, so where each server lands does not depend on
timing. Once compute01 is back, compute02 is drained onto it (the
maintenance section), then retired. Tables are as a terminal 100
columns wide shows them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Run as `python tools/capture_runbook.py`: the repo's packages.
sys.path.insert(0, str(REPO))

from tests.sandbox.client import Sandbox  # noqa: E402

OUT = REPO / "doc" / "source" / "runbook"
BIN = Path(sys.executable).parent
HOST = "compute01"
DRAINED = "compute02"  # where compute01's servers land; drained after
UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
SECONDS = re.compile(r'("Seconds": )[0-9.]+')


@dataclasses.dataclass(frozen=True)
class Step:
    name: str  # the file: <name>.txt
    command: str  # as the reader types it
    shell: bool = False  # a pipeline (jq)


# The runbook, in order (runbook.rst includes each by name).
STEPS = (
    Step(
        "01-service",
        "openstack compute service list --service nova-compute "
        "-c Host -c Status -c State",
    ),
    Step(
        "02-plan",
        f"openstack host evacuate {HOST} --force-down --dry-run -c Name "
        "-c Action -c Risk -c Capacity -c 'End State' -c 'Host Action'",
    ),
    # What an HA service would decide: phases by priority, and the
    # paused server rescued.
    Step(
        "02b-ha-plan",
        f"openstack host evacuate {HOST} --force-down --dry-run --wait 600 "
        "--priority-property ha_priority --rescue -c Name -c Action "
        "-c Phase -c Rescue",
    ),
    Step(
        "03-evacuate",
        f"openstack host evacuate {HOST} --force-down --yes --wait 600 "
        "-c Name -c 'Status Before' -c Action -c 'Migration Status' "
        "-c Destination -c 'Status After' -c Result",
    ),
    Step(
        "04-json",
        f"openstack host evacuate {HOST} --wait 600 -f json "
        "-c ID -c Name -c Result -c Error",
    ),
    Step(
        "05-jq",
        f"openstack host evacuate {HOST} --wait 600 -f json | jq -r '.[] "
        '| select(.Result != "verified" and .Result != "already '
        "evacuated\") | [.ID, .Name, .Result, .Error] | @tsv'",
        shell=True,
    ),
    Step(
        "06-csv",
        f"openstack host evacuate {HOST} --wait 600 -f csv "
        "-c Name -c Destination -c Result",
    ),
    Step("07-show-waiting", f"openstack host evacuation show {HOST}"),
    Step("08-finish-refused", f"openstack host evacuation finish {HOST}"),
    Step("09-show-ready", f"openstack host evacuation show {HOST}"),
    Step("10-finish", f"openstack host evacuation finish {HOST}"),
    # Maintenance: the host that took the servers is drained, back onto
    # the host now in service (compute03 is full).
    Step(
        "11-drain-plan",
        f"openstack host drain {DRAINED} --dry-run -c Name -c Method "
        "-c Action -c Risk -c Capacity -c 'Host Action'",
    ),
    Step(
        "12-drain",
        f"openstack host drain {DRAINED} --wait 600 -c Name "
        "-c 'Status Before' -c Method -c 'Migration Status' "
        "-c Destination -c 'Status After' -c Result",
    ),
    Step("13-drain-again", f"openstack host drain {DRAINED} --wait 600"),
    # The drained host never comes back: it is retired.
    Step(
        "14-retire-plan",
        f"openstack host evacuation retire {DRAINED} --dry-run -c Kind "
        "-c Name -c Result",
    ),
    Step(
        "15-retire",
        f"openstack host evacuation retire {DRAINED} -c Kind -c Name "
        "-c Result",
    ),
)


class Normaliser:
    """UUIDs to placeholders in order of first appearance, over every
    step (the same server keeps its placeholder throughout)."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def __call__(self, text: str) -> str:
        def placeholder(match: re.Match[str]) -> str:
            found = match.group(0)
            if found not in self.seen:
                n = len(self.seen) + 1
                self.seen[found] = f"00000000-0000-4000-8000-{n:012d}"
            return self.seen[found]

        return SECONDS.sub(r"\g<1>2.0", UUID.sub(placeholder, text))


def run(sandbox: Sandbox, step: Step) -> str:
    env = sandbox.cli_env()
    env["PATH"] = f"{BIN}:{env.get('PATH', '')}"
    env["CLIFF_MAX_TERM_WIDTH"] = "100"
    proc = subprocess.run(
        step.command if step.shell else shlex.split(step.command),
        shell=step.shell,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    shown = f"$ {step.command}\n{proc.stdout}{proc.stderr}"
    if proc.returncode:
        shown += f"$ echo $?\n{proc.returncode}\n"
    return shown


def build(sandbox: Sandbox) -> None:
    """The cloud the runbook starts from: compute01 has just died."""
    admin = sandbox.admin
    sandbox.fill_compute("compute03")
    # ha_priority: the order an HA service would bring them back in.
    web = {"ha_priority": "1"}
    admin.as_user("admin", "admin").create_server(
        name="web-1", host=HOST, metadata=web
    )
    web2 = admin.create_server(name="web-2", host=HOST, metadata=web)
    admin.stop_server(web2["id"])
    admin.create_server(
        name="db-1",
        host=HOST,
        volume_backed=True,
        metadata={"ha_priority": "2"},
    )
    paused = admin.create_server(name="batch-1", host=HOST)
    admin.pause_server(paused["id"])
    admin.as_user("admin", "demo").create_server(name="app-1", host=HOST)
    sandbox.crash_compute(HOST)


def capture(out: Path, state_dir: Path) -> list[Path]:
    """Run the runbook on a new sandbox; write and return its outputs."""
    out.mkdir(parents=True, exist_ok=True)
    normalise = Normaliser()
    written = []
    with Sandbox(state_dir) as sandbox:
        build(sandbox)
        for step in STEPS:
            if step.name == "14-retire-plan":
                # The drained host dies for good, and is fenced.
                sandbox.crash_compute(DRAINED, force_down=True)
            if step.name == "09-show-ready":
                # The host is mended, and its nova-compute starts: its
                # start-up completes the evacuation records.
                started = sandbox.admin.service(HOST)["updated_at"]
                sandbox.start_compute(HOST)
                _wait_completed(sandbox)
                _wait_heartbeat(sandbox, started)
            path = out / f"{step.name}.txt"
            path.write_text(normalise(run(sandbox, step)))
            written.append(path)
    return written


def _wait_completed(sandbox: Sandbox, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        records = sandbox.admin.migrations(source_compute=HOST)
        if records and all(m["status"] == "completed" for m in records):
            return
        if time.monotonic() > deadline:
            statuses = json.dumps([m["status"] for m in records])
            raise RuntimeError(f"records not completed: {statuses}")
        time.sleep(0.5)


def _wait_heartbeat(
    sandbox: Sandbox, before: str | None, timeout: float = 60
) -> None:
    """Until the restarted compute beats again: Nova then reads it up once
    it is no longer forced down."""
    deadline = time.monotonic() + timeout
    while sandbox.admin.service(HOST)["updated_at"] == before:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{HOST} does not beat since its restart")
        time.sleep(0.5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runbook-") as tmp:
        for path in capture(args.out, Path(tmp)):
            print(
                path.relative_to(REPO) if path.is_relative_to(REPO) else path
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
