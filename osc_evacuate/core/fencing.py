"""Fencing: a failed host's servers must not run there any more before
they are started elsewhere.

A host that lost its network, not its power, still runs its servers; Nova
reads it down by its heartbeat all the same. Evacuating then starts each
server twice, and on shared storage two copies write the same disk. So,
as Red Hat's InstanceHA, fence-agents' fence_evacuate and Masakari do, a
host is evacuated only once it is known fenced:

- its nova-compute is forced down already (an operator or a tool said so),
  or this run forces it down (--force-down: the operator says so);
- the operator says so (--fenced);
- this run fences it: --fence-command runs for the host (its name where
  the command has {host}, else as its last argument, as fence-agents take
  `-n <plug>`) and must exit 0; then --fence-check, if given, must report
  it off by fence-agents' `-o status` convention (exit 2: off, 0: on).

how_fenced() and unfenced() decide, from what was read; Fencer runs the
commands, all hosts before anything is sent, their output on stderr.
"""

from __future__ import annotations

import dataclasses
import logging
import shlex
import subprocess
from collections.abc import Sequence
from typing import Protocol, TextIO

from osc_evacuate.core import defaults
from osc_evacuate.core.errors import Refused
from osc_evacuate.core.models import (
    ComputeService,
    FenceCommands,
    Fencing,
    HostFencing,
    Request,
)

LOG = logging.getLogger(__name__)

HOST = "{host}"
# fence-agents' status: 0 on, 2 off, anything else not known.
STATUS_ON, STATUS_OFF = 0, 2


def how_fenced(service: ComputeService, request: Request) -> Fencing:
    """How the host is, or is to be, fenced. Pure."""
    if request.fence.command:
        checked = request.fence.check is not None
        return Fencing.CHECKED if checked else Fencing.COMMAND
    if service.forced_down:
        return Fencing.FORCED_DOWN
    if request.force_down:
        return Fencing.FORCE_DOWN
    if request.fenced:
        return Fencing.OPERATOR
    return Fencing.NOT_FENCED


def unfenced(fencing: Sequence[HostFencing]) -> str | None:
    """Why a run must not evacuate these hosts, or None. Pure."""
    hosts = [f.host for f in fencing if f.fencing is Fencing.NOT_FENCED]
    if not hosts:
        return None
    named = ", ".join(hosts)
    return (
        f"nova-compute on {named} is down by its heartbeat alone: nothing "
        f"says {'they are' if len(hosts) > 1 else 'it is'} fenced, and a "
        "host that lost its network, not its power, still runs its "
        "servers. Fence it and say how: --fence-command <command> (run "
        "here for each host, then checked with --fence-check), --fenced "
        "(you have fenced it), or --force-down (mark it forced down)"
    )


@dataclasses.dataclass(frozen=True)
class Ran:
    returncode: int
    output: str


class Runner(Protocol):
    def __call__(self, argv: list[str], timeout: float) -> Ran: ...


def run(argv: list[str], timeout: float) -> Ran:
    """The command, its output captured (it goes to stderr, never stdout);
    returncode -1 when it did not finish in time, or could not start."""
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.output if isinstance(exc.output, str) else ""
        return Ran(-1, out + f"(did not finish in {timeout:.0f} s)\n")
    except OSError as exc:
        return Ran(-1, f"{exc}\n")
    return Ran(done.returncode, done.stdout)


def command_for(command: str, host: str) -> list[str]:
    """The argv: the host where the command says {host}, else last."""
    words = shlex.split(command)
    if any(HOST in w for w in words):
        return [w.replace(HOST, host) for w in words]
    return [*words, host]


class Fencer:
    """Runs --fence-command (and --fence-check) for each host."""

    def __init__(
        self,
        commands: FenceCommands,
        stderr: TextIO,
        runner: Runner = run,
        timeout: float = defaults.FENCE_TIMEOUT,
    ) -> None:
        self.commands = commands
        self.stderr = stderr
        self.runner = runner
        self.timeout = timeout

    def fence_all(self, fencing: Sequence[HostFencing]) -> None:
        """Fence every host the plan fences by command; Refused at the
        first that fails (nothing is sent then)."""
        for host in fencing:
            if host.fencing in (Fencing.COMMAND, Fencing.CHECKED):
                self.fence(host.host)

    def fence(self, host: str) -> None:
        assert self.commands.command is not None
        done = self._run("--fence-command", self.commands.command, host)
        if done.returncode != 0:
            raise Refused(
                f"--fence-command failed for {host} (exit "
                f"{_code(done)}): it is not known fenced, so nothing was "
                "sent"
            )
        if self.commands.check is None:
            LOG.debug("%s: fenced, exit 0 (no --fence-check)", host)
            return
        checked = self._run("--fence-check", self.commands.check, host)
        if checked.returncode == STATUS_OFF:
            LOG.debug("%s: fenced, and --fence-check says off", host)
            return
        said = "on" if checked.returncode == STATUS_ON else "not known"
        raise Refused(
            f"--fence-check says {host} is {said} (exit {_code(checked)}; "
            f"off is exit {STATUS_OFF}, fence-agents' -o status "
            "convention): nothing was sent"
        )

    def _run(self, option: str, command: str, host: str) -> Ran:
        argv = command_for(command, host)
        LOG.debug("%s for %s: %s", option, host, argv)
        self.stderr.write(f"{option} for {host}: {shlex.join(argv)}\n")
        done = self.runner(argv, self.timeout)
        if done.output:
            self.stderr.write(done.output)
            if not done.output.endswith("\n"):
                self.stderr.write("\n")
        self.stderr.flush()
        LOG.debug("%s for %s: exit %s", option, host, done.returncode)
        return done


def _code(ran: Ran) -> str:
    if ran.returncode < 0:
        return "none: it did not finish"
    return str(ran.returncode)
