"""The clients the ways run, and running one measured.

Stock python-openstackclient and python-novaclient run from a venv of
their own (.bench/stock); osc-evacuate from the same packages plus this
tree's plugin (.bench/plugin), so that start-up costs compare; the osc
floor from the same packages plus tools/bench_floor (.bench/floor), and
neither of the others has it, so that their start-up is as it was. A client
runs as a process of its own, waited for with wait4: its wall time, its
CPU seconds with its children's, its peak RSS.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import IO

from .report import say

LOG = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / ".bench"


def venv(name: str, packages: list[str]) -> Path:
    """A venv of its own under .bench, made once: its bin directory."""
    path = BENCH / name
    stamp = path / ".installed"
    wanted = " ".join(packages)
    if stamp.exists() and stamp.read_text() == wanted:
        LOG.debug("%s already has %s", path, wanted)
    else:
        say(f"making {path} with {wanted}")
        subprocess.run(
            [sys.executable, "-m", "venv", "--clear", str(path)], check=True
        )
        pip = [str(path / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, *packages], check=True)
        stamp.write_text(wanted)
    return path / "bin"


@dataclasses.dataclass(frozen=True)
class Clients:
    stock: Path  # bin of python-openstackclient and python-novaclient
    plugin: Path  # the same, and osc-evacuate
    floor: Path  # the same as stock, and tools/bench_floor


def clients() -> Clients:
    version = metadata.version("python-openstackclient")
    stock = [f"python-openstackclient=={version}", "python-novaclient"]
    stock.append("requests")
    plugin = venv("plugin", stock)
    floor = venv("floor", stock)
    # Each as it is in this tree, installed as a user would (not editable:
    # an editable install's import hooks cost start-up time).
    install(plugin, REPO, "this tree's osc-evacuate")
    with tempfile.TemporaryDirectory(prefix="osc-bench-floor-") as tmp:
        # Built from a copy: setuptools leaves build/ beside its source,
        # where mypy and ruff, checking tools/, would find a second copy.
        copy = shutil.copytree(
            REPO / "tools" / "bench_floor", Path(tmp) / "src"
        )
        install(floor, copy, "the osc floor")
    return Clients(stock=venv("stock", stock), plugin=plugin, floor=floor)


def install(bin_dir: Path, source: Path, what: str) -> None:
    """A package of this tree into a venv, anew, without its
    dependencies (the venv has them)."""
    say(f"installing {what} into {bin_dir.parent}")
    pip = [str(bin_dir / "python"), "-m", "pip", "install", "-q"]
    subprocess.run(
        [*pip, "--no-deps", "--force-reinstall", str(source)], check=True
    )


@dataclasses.dataclass(frozen=True)
class Ran:
    """A client process that ran, and what it used."""

    stdout: str
    stderr: str
    returncode: int
    cpu_seconds: float  # user + system, with its waited-for children
    peak_rss_kib: int
    started: float  # time.monotonic()
    ended: float


def measured(
    cmd: Sequence[str] | str, env: dict[str, str], shell: bool = False
) -> Ran:
    """Run a client to its end, reading its output meanwhile."""
    started = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        env=env,
        shell=shell,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outputs: dict[str, str] = {}

    def read(name: str, pipe: IO[str] | None) -> None:
        assert pipe is not None
        outputs[name] = pipe.read()

    readers = [
        threading.Thread(target=read, args=("out", proc.stdout)),
        threading.Thread(target=read, args=("err", proc.stderr)),
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    ended = time.monotonic()
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return Ran(
        outputs["out"],
        outputs["err"],
        proc.returncode,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss,
        started,
        ended,
    )


def check(ran: Ran, what: str) -> Ran:
    if ran.returncode != 0:
        raise SystemExit(
            f"{what} exited {ran.returncode}: {ran.stderr[-2000:]}"
        )
    return ran


@dataclasses.dataclass(frozen=True)
class WayRun:
    """A way's run, as its clients saw it."""

    started: float
    done_at: float
    processes: list[Ran]
    # When each poll cycle began; None: from the request log (ours).
    cycles: list[float] | None
