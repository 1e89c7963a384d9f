"""The options only host evacuate has: its filters, --lock and the
mass-failure guard, and what they mean to the core's Request.

Checked at parse time like every number and key=value here: a bad one is
one line and exit 2 before anything is sent. --property and
--exclude-property are osc-lib's KeyValueAction, as `openstack server
list --property` parses them.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import math
from typing import TYPE_CHECKING

from osc_lib.cli import parseractions

from osc_evacuate.commands import ha_options, options
from osc_evacuate.core import defaults
from osc_evacuate.core.errors import UsageError

if TYPE_CHECKING:
    from osc_evacuate.core.models import (
        FenceCommands,
        Guard,
        Request,
        ServerFilter,
    )

LOG = logging.getLogger(__name__)
# A guard past this many hosts guards nothing.
MAX_HOSTS = 1000


def host_count(text: str) -> int:
    return options.whole_number(text, 1, MAX_HOSTS)


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 < value <= 1):
        raise argparse.ArgumentTypeError(
            f"expected a fraction above 0 and at most 1, got {text!r}"
        )
    return value


def add_filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--server",
        metavar="<server>",
        action="append",
        default=[],
        dest="servers",
        help=(
            "Evacuate only this server (name or ID), which must be on the "
            "host(s); repeat for more. The others are reported as skipped"
        ),
    )
    parser.add_argument(
        "--project",
        metavar="<project>",
        action="append",
        default=[],
        dest="projects",
        help="Evacuate only the servers of this project (ID); repeat for more",
    )
    parser.add_argument(
        "--tag",
        metavar="<tag>",
        action="append",
        default=[],
        dest="tags",
        help=(
            "Evacuate only servers with this tag; repeat to require all "
            "(supported by --os-compute-api-version 2.26 or above)"
        ),
    )
    parser.add_argument(
        "--property",
        metavar="<key=value>",
        action=parseractions.KeyValueAction,
        dest="properties",
        help=(
            "Evacuate only servers whose metadata has this property, e.g. "
            "HA_Enabled=True; repeat to require all"
        ),
    )
    add_selection_options(parser)
    ha_options.add_mark_options(parser)


def add_selection_options(parser: argparse.ArgumentParser) -> None:
    """What to leave out: by tag or property, and as an HA service
    decides: by name (InstanceHA), image, or in error (Masakari)."""
    parser.add_argument(
        "--exclude-tag",
        metavar="<tag>",
        action="append",
        default=[],
        dest="exclude_tags",
        help=(
            "Leave out servers with this tag; repeat for more (supported "
            "by --os-compute-api-version 2.26 or above)"
        ),
    )
    parser.add_argument(
        "--exclude-property",
        metavar="<key=value>",
        action=parseractions.KeyValueAction,
        dest="exclude_properties",
        help="Leave out servers whose metadata has this property",
    )
    parser.add_argument(
        "--exclude-name",
        metavar="<glob>",
        action="append",
        default=[],
        dest="exclude_names",
        help=(
            "Leave out servers whose name matches this shell-style "
            "pattern (* any text, ? one character); repeat for more"
        ),
    )
    parser.add_argument(
        "--exclude-image",
        metavar="<image>",
        action="append",
        default=[],
        dest="exclude_images",
        help="Leave out servers of this image (name or ID); repeat for more",
    )
    parser.add_argument(
        "--skip-error",
        action="store_true",
        help="Leave out servers in ERROR",
    )


def add_fencing_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fence-command",
        metavar="<command>",
        type=one_line,
        help=(
            "Fence each host before anything is sent: run this command for "
            "it (its name where the command says {host}, else as its last "
            "argument, as fence-agents take -n); it must exit 0. Its output "
            "goes to stderr. Needed, or --fenced, or --force-down, for a "
            "host that Nova reads down by its heartbeat alone"
        ),
    )
    parser.add_argument(
        "--fence-check",
        metavar="<command>",
        type=one_line,
        help=(
            "After --fence-command, this command must report the host off "
            "(fence-agents' -o status convention: exit 2 is off, 0 on), or "
            "nothing is sent"
        ),
    )
    parser.add_argument(
        "--fenced",
        action="store_true",
        help=(
            "The hosts are fenced (powered off): you say so. Needed, or "
            "--fence-command, or --force-down, for a host that Nova reads "
            "down by its heartbeat alone; recorded in the report"
        ),
    )


def one_line(text: str) -> str:
    """A command: one line, not empty."""
    if not text.strip() or "\n" in text:
        raise argparse.ArgumentTypeError("expected a command on one line")
    return text


def add_lock_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lock",
        action="store_true",
        help=(
            "Lock each server while it is evacuated, so that its owner "
            "cannot change it, and unlock it once it is proven (needs "
            "--wait; the lock's reason from --os-compute-api-version "
            "2.73). A server already locked stays locked"
        ),
    )


def add_guard_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-failed-hosts",
        metavar="<count>",
        type=host_count,
        default=defaults.GUARD_MAX_HOSTS,
        help=(
            "Refuse, unless --yes, when more computes than this would be "
            "down: the hosts named plus the enabled ones already down "
            f"(default: {defaults.GUARD_MAX_HOSTS})"
        ),
    )
    parser.add_argument(
        "--max-failed-fraction",
        metavar="<fraction>",
        type=fraction,
        default=defaults.GUARD_MAX_FRACTION,
        help=(
            "Refuse, unless --yes, when more than this share of the "
            "enabled computes would be down (default: a third)"
        ),
    )


def request(parsed_args: argparse.Namespace, request: Request) -> Request:
    """The Request with host evacuate's own options."""
    if parsed_args.disable_reason is not None and not parsed_args.force_down:
        raise UsageError("--disable-reason needs --force-down")
    if parsed_args.fence_check is not None and not parsed_args.fence_command:
        raise UsageError("--fence-check needs --fence-command")
    ha_options.check(parsed_args)
    if parsed_args.fenced and parsed_args.fence_command:
        raise UsageError(
            "--fenced says the hosts are fenced already: give it or "
            "--fence-command, not both"
        )
    return dataclasses.replace(
        request,
        max_parallel=parsed_args.max_parallel,
        force_down=parsed_args.force_down,
        disabled_reason=parsed_args.disable_reason,
        filters=server_filter(parsed_args),
        server_names=tuple(parsed_args.servers),
        lock=parsed_args.lock,
        rescue=parsed_args.rescue,
        priority_property=parsed_args.priority_property,
        spares=tuple(parsed_args.spares),
        spares_reason=parsed_args.spares_reason,
        guard=guard(parsed_args),
        accept_mass_failure=parsed_args.yes,
        fence=fence_commands(parsed_args),
        fenced=parsed_args.fenced,
    )


def fence_commands(parsed_args: argparse.Namespace) -> FenceCommands:
    from osc_evacuate.core.models import FenceCommands

    return FenceCommands(parsed_args.fence_command, parsed_args.fence_check)


def server_filter(parsed_args: argparse.Namespace) -> ServerFilter:
    from osc_evacuate.core.models import ServerFilter

    filters = ServerFilter(
        projects=frozenset(parsed_args.projects),
        tags=frozenset(parsed_args.tags),
        properties=_pairs(parsed_args.properties),
        exclude_tags=frozenset(parsed_args.exclude_tags),
        exclude_properties=_pairs(parsed_args.exclude_properties),
        exclude_names=tuple(parsed_args.exclude_names),
        exclude_images=frozenset(parsed_args.exclude_images),
        skip_error=parsed_args.skip_error,
        mark=ha_options.mark(parsed_args),
    )
    LOG.debug("filters: %s; --server %s", filters, parsed_args.servers)
    return filters


def _pairs(given: dict[str, str] | None) -> tuple[tuple[str, str], ...]:
    """KeyValueAction's dict (None when not given) as the core's pairs."""
    return tuple(sorted((given or {}).items()))


def guard(parsed_args: argparse.Namespace) -> Guard:
    from osc_evacuate.core.models import Guard

    return Guard(
        max_hosts=parsed_args.max_failed_hosts,
        max_fraction=parsed_args.max_failed_fraction,
    )
