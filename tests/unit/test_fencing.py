"""Fencing decided from a table, and the fence commands run on a fake
runner (the real agent on the sandbox: tests/functional/test_fencing.py)."""

from __future__ import annotations

import io

import pytest

from osc_evacuate.core import fencing
from osc_evacuate.core.errors import Refused
from osc_evacuate.core.models import (
    ComputeService,
    EvacuateOptions,
    FenceCommands,
    Fencing,
    HostFencing,
    Request,
)

HEARTBEAT_DOWN = ComputeService("s1", "c1", "down", "enabled", False)
FORCED = ComputeService("s1", "c1", "down", "enabled", True)
COMMAND = FenceCommands("fence_ipmi -o off -n {host}")
CHECKED = FenceCommands("fence_ipmi -o off", "fence_ipmi -o status")


@pytest.mark.parametrize(
    ("service", "asked", "how"),
    [
        (HEARTBEAT_DOWN, {}, Fencing.NOT_FENCED),
        (FORCED, {}, Fencing.FORCED_DOWN),
        (HEARTBEAT_DOWN, {"force_down": True}, Fencing.FORCE_DOWN),
        (HEARTBEAT_DOWN, {"fenced": True}, Fencing.OPERATOR),
        (HEARTBEAT_DOWN, {"fence": COMMAND}, Fencing.COMMAND),
        (HEARTBEAT_DOWN, {"fence": CHECKED}, Fencing.CHECKED),
        # Asked to fence, it is fenced, forced down or not.
        (FORCED, {"fence": CHECKED}, Fencing.CHECKED),
    ],
)
def test_how_a_host_is_fenced(
    service: ComputeService, asked: dict[str, object], how: Fencing
) -> None:
    request = Request(EvacuateOptions(), **asked)  # type: ignore[arg-type]
    assert fencing.how_fenced(service, request) is how


def test_only_unfenced_hosts_refuse_and_the_refusal_says_what_to_do() -> None:
    fine = [
        HostFencing("c1", f) for f in Fencing if f is not Fencing.NOT_FENCED
    ]
    assert fencing.unfenced(fine) is None
    why = fencing.unfenced([*fine, HostFencing("c9", Fencing.NOT_FENCED)])
    assert why is not None
    assert why.startswith("nova-compute on c9 is down by its heartbeat alone")
    for option in ("--fence-command", "--fenced", "--force-down"):
        assert option in why


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("fence_ipmi -o off", ["fence_ipmi", "-o", "off", "c1"]),
        (
            "fence_ipmi -n {host} -o off",
            ["fence_ipmi", "-n", "c1", "-o", "off"],
        ),
        ("ssh bmc-{host} 'power off'", ["ssh", "bmc-c1", "power off"]),
    ],
)
def test_the_host_goes_where_the_command_says(
    command: str, argv: list[str]
) -> None:
    assert fencing.command_for(command, "c1") == argv


class Runner:
    """Answers each command with the next exit code; keeps what ran."""

    def __init__(self, *codes: int) -> None:
        self.codes = list(codes)
        self.ran: list[list[str]] = []

    def __call__(self, argv: list[str], timeout: float) -> fencing.Ran:
        self.ran.append(argv)
        return fencing.Ran(self.codes.pop(0), f"ran {argv[-1]}")


def fence(commands: FenceCommands, *codes: int) -> tuple[Runner, str]:
    runner, stderr = Runner(*codes), io.StringIO()
    fencer = fencing.Fencer(commands, stderr, runner)
    fencer.fence_all(
        [
            HostFencing(
                "c1", fencing.how_fenced(HEARTBEAT_DOWN, request(commands))
            ),
            HostFencing("c2", Fencing.FORCED_DOWN),
        ]
    )
    return runner, stderr.getvalue()


def request(commands: FenceCommands) -> Request:
    return Request(EvacuateOptions(), fence=commands)


def test_a_host_is_fenced_then_checked_off_its_output_on_stderr() -> None:
    runner, said = fence(CHECKED, 0, fencing.STATUS_OFF)
    assert runner.ran == [
        ["fence_ipmi", "-o", "off", "c1"],
        ["fence_ipmi", "-o", "status", "c1"],
    ]
    assert "--fence-command for c1: fence_ipmi -o off c1\nran c1\n" in said
    assert "--fence-check for c1" in said


@pytest.mark.parametrize(
    ("commands", "codes", "why"),
    [
        (CHECKED, (1,), "--fence-command failed for c1 (exit 1)"),
        (COMMAND, (-1,), "(exit none: it did not finish)"),
        (CHECKED, (0, fencing.STATUS_ON), "--fence-check says c1 is on"),
        (CHECKED, (0, 1), "--fence-check says c1 is not known (exit 1"),
    ],
)
def test_a_fence_that_fails_refuses(
    commands: FenceCommands, codes: tuple[int, ...], why: str
) -> None:
    with pytest.raises(Refused, match=r".*") as refused:
        fence(commands, *codes)
    assert why in str(refused.value)
    assert "nothing was sent" in str(refused.value)


def test_the_real_runner_captures_output_and_bounds_the_time() -> None:
    done = fencing.run(["sh", "-c", "echo Status: OFF; exit 2"], 10)
    assert (done.returncode, done.output) == (2, "Status: OFF\n")
    slow = fencing.run(["sleep", "5"], 0.2)
    assert slow.returncode == -1 and "did not finish" in slow.output
    missing = fencing.run(["/no/such/fence-agent"], 1)
    assert missing.returncode == -1
