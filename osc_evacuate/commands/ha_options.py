"""The options by which host evacuate decides what an HA service would:
InstanceHA's evacuable mark, Masakari's and InstanceHA's rescue, priority
phases and spare hosts; checked at parse time like every other."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from osc_evacuate.core.errors import UsageError

if TYPE_CHECKING:
    from osc_evacuate.core.models import EvacuableMark, MarkPlace


def add_mark_options(parser: argparse.ArgumentParser) -> None:
    """InstanceHA's evacuable mark."""
    parser.add_argument(
        "--evacuable-mark",
        metavar="<key[=value]>",
        type=evacuable_mark,
        help=(
            "Only servers marked evacuable, as InstanceHA reads its tag: "
            "while no flavor or image of the cloud carries the mark every "
            "server passes, else only those whose flavor (extra specs) or "
            "image (properties) carries it; and only those whose host is "
            "in an aggregate (metadata) that carries it. <value> defaults "
            "to true; any case matches"
        ),
    )
    parser.add_argument(
        "--evacuable-mark-on",
        metavar="<place>",
        choices=[p.value for p in _places()],
        action="append",
        default=[],
        dest="mark_places",
        help=(
            "Look for --evacuable-mark only here: flavor, image or "
            "aggregate; repeat for more (default: all three)"
        ),
    )


def _places() -> list[MarkPlace]:
    from osc_evacuate.core.models import MarkPlace

    return list(MarkPlace)


def evacuable_mark(text: str) -> tuple[str, str]:
    """key or key=value: the key not empty, one line."""
    key, _, value = text.partition("=")
    if not key.strip() or "\n" in text or ("=" in text and not value):
        raise argparse.ArgumentTypeError(
            f"expected <key> or <key>=<value>, got {text!r}"
        )
    return key.strip(), value.strip() or "true"


def add_rescue_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rescue",
        action="store_true",
        help=(
            "Evacuate servers that Nova refuses for their state (a task "
            "stuck in progress, or paused, suspended...): reset each to "
            "error just before its evacuation, and once it is proven put "
            "back what it had where that means something (stopped stays "
            "stopped, error goes back to error; others end ACTIVE)"
        ),
    )


def add_priority_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--priority-property",
        metavar="<key>",
        help=(
            "Evacuate in phases by this server metadata key (a number, or "
            "true/false: e.g. HA_Enabled, or a restart priority), highest "
            "first, servers without it last; a phase is sent once every "
            "server of the one before is proven or failed (needs --wait)"
        ),
    )


def add_spare_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--spare",
        metavar="<host>",
        action="append",
        default=[],
        dest="spares",
        help=(
            "A spare compute host (disabled, up, in a failed host's "
            "availability zone) to enable when the servers would have no "
            "room, just enough of them; repeat for more. A spare that "
            "received nothing is disabled again (needs --wait)"
        ),
    )
    parser.add_argument(
        "--spares-from-reason",
        metavar="<text>",
        dest="spares_reason",
        help=(
            "Spares are also the disabled computes whose disabled reason "
            "contains this text (any case), e.g. reserved"
        ),
    )


def mark(parsed_args: argparse.Namespace) -> EvacuableMark | None:
    from osc_evacuate.core.models import EvacuableMark, MarkPlace

    if parsed_args.evacuable_mark is None:
        if parsed_args.mark_places:
            raise UsageError("--evacuable-mark-on needs --evacuable-mark")
        return None
    key, value = parsed_args.evacuable_mark
    places = frozenset(MarkPlace(p) for p in parsed_args.mark_places)
    return EvacuableMark(key, value, places or frozenset(MarkPlace))


def check(parsed_args: argparse.Namespace) -> None:
    """What these options need of the others (a UsageError, one line)."""
    if parsed_args.priority_property is not None and parsed_args.wait is None:
        raise UsageError(
            "--priority-property needs --wait: a phase waits for the proof "
            "of the one before"
        )
    spares = parsed_args.spares or parsed_args.spares_reason
    if spares and parsed_args.wait is None:
        raise UsageError(
            "--spare and --spares-from-reason need --wait: a spare that "
            "received nothing is disabled again once the wait is over"
        )
