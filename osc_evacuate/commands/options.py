"""The options both commands share, their checks, and what they mean.

Numbers are checked when the command line is parsed: a bad one is a
one-line error and exit 2 before anything is sent. Each has an upper
bound, stated in --help: a wait of NaN or infinity would never time out,
and a count past the bound is a typo more often than a plan.
"""

from __future__ import annotations

import argparse
import logging
import math
from typing import TYPE_CHECKING

from osc_evacuate.core import defaults

if TYPE_CHECKING:
    from osc_evacuate.core.models import EvacuateOptions, WaitPolicy

LOG = logging.getLogger(__name__)

# A week: past that, an evacuation is not being waited for but forgotten.
MAX_WAIT = 7 * 24 * 60 * 60
# Each retry is a new evacuation after NoValidHost; ten are plenty for
# capacity to free up, and more hides a cloud that has none.
MAX_RETRIES = 10
# Every request in flight is a rebuild the scheduler and conductor take on
# at once; the default is 4 (defaults.MAX_PARALLEL), Masakari uses 3.
PARALLEL_CEILING = defaults.PARALLEL_CEILING


class Secret(str):
    """A password: osc-lib logs the parsed arguments at --debug.

    repr() (and so %r, and the Namespace osc-lib logs) shows '***'; the
    value itself is only for the request body.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "'***'"


def seconds(text: str) -> float:
    """--wait's timeout: finite, from 0 to MAX_WAIT seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan  # a word: refused below, as NaN is
    # NaN compares false with everything: test "in range", not "below".
    if not (math.isfinite(value) and 0 <= value <= MAX_WAIT):
        raise argparse.ArgumentTypeError(
            f"expected a finite number of seconds from 0 to {MAX_WAIT} "
            f"(7 days), got {text!r}"
        )
    return value


def retries(text: str) -> int:
    return whole_number(text, 0, MAX_RETRIES)


def parallel(text: str) -> int:
    return whole_number(text, 1, PARALLEL_CEILING)


def whole_number(text: str, minimum: int, maximum: int) -> int:
    try:
        value: int | None = int(text)
    except ValueError:
        value = None
    if value is None or not minimum <= value <= maximum:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from {minimum} to {maximum}, "
            f"got {text!r}"
        )
    return value


def add_wait(parser: argparse.ArgumentParser, proven: str) -> None:
    """--wait; proven: what proves each request ("Wait until ...")."""
    parser.add_argument(
        "--wait",
        metavar="<timeout>",
        nargs="?",
        type=seconds,
        const=0.0,
        default=None,
        help=(
            f"Wait until {proven}. Optionally give a timeout in "
            f"seconds, at most {MAX_WAIT} (7 days); without one (or with "
            "0), wait as long as it takes"
        ),
    )


def add_retries(
    parser: argparse.ArgumentParser, again: str, because: str
) -> None:
    parser.add_argument(
        "--retries",
        metavar="<count>",
        type=retries,
        default=0,
        help=(
            f"With --wait, {again} up to <count> times when {because} "
            f"(default: 0, at most {MAX_RETRIES})"
        ),
    )


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    add_wait(
        parser,
        "each evacuation is proven: its migration record is done, the "
        "server is on another host and in the state --target-state "
        "promises",
    )
    parser.add_argument(
        "--target-state",
        choices=list(defaults.TARGET_STATES),
        default=defaults.PRESERVE,
        help=(
            "State the evacuated servers must end in: 'preserve' "
            "(default) keeps ACTIVE servers ACTIVE and SHUTOFF servers "
            "SHUTOFF, and brings ERROR servers back ACTIVE; 'stopped' "
            "leaves every server SHUTOFF, with Nova's own behaviour from "
            "--os-compute-api-version 2.95, else by stopping each server "
            "once it has landed (needs --wait)"
        ),
    )
    add_retries(
        parser,
        "evacuate a server again",
        "the scheduler found no valid host for it",
    )


def add_max_parallel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-parallel",
        metavar="<count>",
        type=parallel,
        default=defaults.MAX_PARALLEL,
        help=(
            "Evacuate requests in flight at once, at most: the tool starts "
            "with one and sends more while Nova answers as fast "
            f"(default: {defaults.MAX_PARALLEL}, at most {PARALLEL_CEILING})"
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


def add_shared_storage(parser: argparse._ActionsContainer) -> None:
    """On the parser, or in a group (server evacuate: not with
    --password)."""
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


def evacuate_options(
    parsed_args: argparse.Namespace,
    destination: str | None,
    password: str | None,
) -> EvacuateOptions:
    """What to ask Nova for every server, from the shared options."""
    from osc_evacuate.core.models import EvacuateOptions, TargetState

    options = EvacuateOptions(
        host=destination,
        force=parsed_args.force,
        shared_storage=parsed_args.shared_storage,
        password=password,
        target_state=TargetState(parsed_args.target_state),
    )
    LOG.debug(
        "evacuate to %s, force %s, shared storage %s, password %s, "
        "target state %s",
        destination or "a host the scheduler picks",
        options.force,
        options.shared_storage,
        "given" if password is not None else "not given",
        options.target_state.value,
    )
    return options


def wait_policy(
    parsed_args: argparse.Namespace, cold_fallback: bool = False
) -> WaitPolicy | None:
    """None: submit and return. --wait alone or 0: no timeout."""
    from osc_evacuate.core.models import WaitPolicy

    if parsed_args.wait is None:
        LOG.debug("no --wait: submit the evacuations and return")
        return None
    policy = WaitPolicy(
        timeout=parsed_args.wait or None,
        retries=parsed_args.retries,
        cold_fallback=cold_fallback,
    )
    LOG.debug(
        "wait %s, re-submit after NoValidHost up to %d times",
        f"up to {policy.timeout:g} s" if policy.timeout else "with no limit",
        policy.retries,
    )
    return policy


def add_plan_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=(
            "Send nothing that changes anything: print the plan, one row "
            "per server, with what would be done and why, what evacuating "
            "it puts at risk, whether it fits on the hosts that can take "
            "it, the microversion, the state it would end in and the "
            "target. Exits 1 when a run would refuse to send anything"
        ),
    )
    parser.add_argument(
        "--ignore-capacity",
        action="store_true",
        help=(
            "Evacuate even when the capacity check finds no room for some "
            "servers on the hosts that can take them (Nova then fails "
            "those with NoValidHost)"
        ),
    )


# Nova keeps a disabled reason in a 255-character column.
MAX_REASON = 255


def reason(text: str) -> str:
    """--disable-reason: one line Nova can keep."""
    if not text.strip() or len(text) > MAX_REASON or "\n" in text:
        raise argparse.ArgumentTypeError(
            f"expected one line of 1 to {MAX_REASON} characters"
        )
    return text


def add_force_down_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force-down",
        action="store_true",
        help=(
            "The host is fenced (powered off): mark its nova-compute "
            "forced down before evacuating, so that Nova evacuates at "
            "once instead of after its heartbeat times out (supported by "
            "--os-compute-api-version 2.11 or above). Asks for "
            "confirmation on a terminal; scripts pass --yes"
        ),
    )
    parser.add_argument(
        "--disable-reason",
        metavar="<reason>",
        type=reason,
        default=None,
        help=(
            "With --force-down, also disable the host's nova-compute with "
            "this reason, so that the scheduler never picks it again"
        ),
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help=(
            "Do not ask for confirmation of --force-down, and evacuate "
            "even what the mass-failure guard refuses"
        ),
    )
