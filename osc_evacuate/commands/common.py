"""What both evacuate commands share: options, pins, progress, exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from osc_lib import exceptions
from osc_lib.command import command

from osc_evacuate.core import evacuation
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.errors import EvacuateError
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import EvacuateOptions, TargetState
from osc_evacuate.core.outcome import Result, ServerOutcome, progress_of
from osc_evacuate.core.submit import DEFAULT_MAX_PARALLEL
from osc_evacuate.core.waiter import WaitPolicy

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 3
EXIT_TIMED_OUT = 4

EXIT_CODES_HELP = """\
exit codes:
  0  every server was evacuated (verified, with --wait), or nothing needed
     doing; servers Nova cannot evacuate are reported as skipped
  1  an error before any evacuation request (bad option, unknown name,
     host still up): nothing was evacuated
  2  the command line could not be parsed: nothing was evacuated
  3  one or more servers were refused or failed to evacuate
  4  --wait timed out before every evacuation was proven (none failed)
"""


class Secret(str):
    """A password: osc-lib logs the parsed arguments at --debug."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--wait",
        metavar="<timeout>",
        nargs="?",
        type=_non_negative_seconds,
        const=0.0,
        default=None,
        help=(
            "Wait until each evacuation is proven: its migration record "
            "is done, the server is on another host and in the state "
            "--target-state promises. Optionally give a timeout in "
            "seconds; without one (or with 0), wait as long as it takes"
        ),
    )
    parser.add_argument(
        "--target-state",
        choices=[t.value for t in TargetState],
        default=TargetState.PRESERVE.value,
        help=(
            "State the evacuated servers must end in: 'preserve' "
            "(default) keeps ACTIVE servers ACTIVE and SHUTOFF servers "
            "SHUTOFF, and brings ERROR servers back ACTIVE; 'stopped' "
            "leaves every server SHUTOFF, with Nova's own behaviour from "
            "--os-compute-api-version 2.95, else by stopping each server "
            "once it has landed (needs --wait)"
        ),
    )
    parser.add_argument(
        "--retries",
        metavar="<count>",
        type=_non_negative_int,
        default=0,
        help=(
            "With --wait, evacuate a server again up to <count> times when "
            "the scheduler found no valid host for it (default: 0)"
        ),
    )


def accept_bare_wait(parser: argparse.ArgumentParser) -> None:
    """Keep OSC's `--wait <server>` meaning "wait", not "timeout <server>".

    --wait takes an optional timeout; a following word that is not a
    number is the positional argument, as with OSC's plain --wait.
    """
    parse = parser.parse_known_args

    def parse_known_args(
        args: Sequence[str] | None = None, namespace: Any = None
    ) -> Any:
        if args is not None:
            args = _bare_wait(list(args))
        return parse(args, namespace)

    setattr(parser, "parse_known_args", parse_known_args)  # noqa: B010


def _bare_wait(args: list[str]) -> list[str]:
    out = []
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else None
        if arg == "--wait" and following and not _is_number(following):
            arg = "--wait=0"
        out.append(arg)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def add_max_parallel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-parallel",
        metavar="<count>",
        type=_positive_int,
        default=DEFAULT_MAX_PARALLEL,
        help=(
            "Evacuate requests in flight at once "
            f"(default: {DEFAULT_MAX_PARALLEL})"
        ),
    )


def add_force(parser: argparse.ArgumentParser, host_option: str) -> None:
    parser.add_argument(
        "--force",
        action="store_true",
        help=(
            f"Rebuild on {host_option} without the scheduler checking it "
            "(supported by --os-compute-api-version 2.29 to 2.67)"
        ),
    )


def add_shared_storage(parser: Any) -> None:
    parser.add_argument(
        "--shared-storage",
        action="store_true",
        dest="shared_storage",
        help=(
            "Indicate that the server's disk is on shared storage. "
            "This will be auto-calculated with --os-compute-api-version "
            "2.14 and greater and should not be used with later "
            "microversions"
        ),
    )


def wait_policy(parsed_args: argparse.Namespace) -> WaitPolicy | None:
    if parsed_args.wait is None:
        return None
    return WaitPolicy(
        timeout=parsed_args.wait or None,
        retries=parsed_args.retries,
    )


if TYPE_CHECKING:
    _Command = command.Command
else:
    _Command = object


class EvacuateCommand(_Command):
    """Mixed into both commands, before cliff's Lister or ShowOne.

    cliff exits 0 once it has printed; these commands print every row and
    then say through the exit code whether some server failed.
    """

    exit_code = EXIT_OK

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = EXIT_CODES_HELP
        return parser

    def run(self, parsed_args: argparse.Namespace) -> int:
        super().run(parsed_args)
        return self.exit_code

    def evacuate(
        self,
        parsed_args: argparse.Namespace,
        destination: str | None,
        job: Callable[[ComputeAPI, evacuation.Request, ProgressLine], T],
    ) -> T:
        """Build the request from the shared options and run job on it,
        turning the core's errors into OSC's one-line CommandError."""
        api = compute_api(self.app)
        progress = ProgressLine(self.app.stderr)
        try:
            request = evacuation.Request(
                options=EvacuateOptions(
                    host=destination,
                    force=parsed_args.force,
                    shared_storage=parsed_args.shared_storage,
                    password=getattr(parsed_args, "password", None),
                    target_state=TargetState(parsed_args.target_state),
                ),
                pinned=pinned_version(self.app, api),
                wait=wait_policy(parsed_args),
                max_parallel=getattr(
                    parsed_args, "max_parallel", DEFAULT_MAX_PARALLEL
                ),
            )
            return job(api, request, progress)
        except EvacuateError as exc:
            raise exceptions.CommandError(str(exc)) from exc
        finally:
            progress.close()


def compute_api(app: Any) -> ComputeAPI:
    """The client plugin.make_client built (OSC creates it lazily)."""
    api: ComputeAPI = app.client_manager.evacuate
    return api


def pinned_version(app: Any, api: ComputeAPI) -> Microversion | None:
    """The user's --os-compute-api-version / OS_COMPUTE_API_VERSION."""
    config = app.client_manager.get_configuration()
    text = config.get("compute_api_version")
    if text is None or str(text).strip() in ("", "2", "2.0"):
        return None
    text = str(text).strip()
    if text.lower() == "2.latest":
        return api.version_range().maximum
    try:
        return Microversion.parse(text)
    except ValueError:
        raise exceptions.CommandError(
            f"--os-compute-api-version {text} is not a compute "
            "microversion (expected 2.<n>)"
        ) from None


def exit_code(rows: Sequence[ServerOutcome]) -> int:
    if any(row.result is Result.FAILED for row in rows):
        return EXIT_FAILED
    if any(row.result is Result.TIMED_OUT for row in rows):
        return EXIT_TIMED_OUT
    return EXIT_OK


class ProgressLine:
    """A one-line counter on stderr, only when stderr is a terminal."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = False

    def __call__(self, rows: Sequence[ServerOutcome]) -> None:
        if not self.enabled:
            return
        p = progress_of(list(rows))
        self.stream.write(
            f"\rEvacuating: {p.verified} verified, {p.failed} failed, "
            f"{p.remaining} remaining "
        )
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()


def _number(text: str, kind: type[float], minimum: float, what: str) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected {what}, got {text!r}"
        ) from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be at least {minimum:g}")
    return value


def _non_negative_seconds(text: str) -> float:
    return _number(text, float, 0, "a number of seconds")


def _non_negative_int(text: str) -> int:
    return int(_number(text, int, 0, "a whole number"))


def _positive_int(text: str) -> int:
    return int(_number(text, int, 1, "a whole number"))
