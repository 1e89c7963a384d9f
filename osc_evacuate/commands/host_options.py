"""The options only host evacuate has: its filters, --lock and the
mass-failure guard, and what they mean to the core.

Checked at parse time like every number and key=value here: a bad one is
one line and exit 2 before anything is sent.
"""

from __future__ import annotations

import argparse
import logging
import math
from typing import TYPE_CHECKING

from osc_evacuate.commands import options
from osc_evacuate.core import defaults

if TYPE_CHECKING:
    from osc_evacuate.core.filters import ServerFilter
    from osc_evacuate.core.preflight import Guard

LOG = logging.getLogger(__name__)
# A guard past this many hosts guards nothing.
MAX_HOSTS = 1000


def property_pair(text: str) -> tuple[str, str]:
    """--property key=value: split at the first '='."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(
            f"expected <key>=<value>, got {text!r}"
        )
    return key, value


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
        action="append",
        default=[],
        type=property_pair,
        dest="properties",
        help=(
            "Evacuate only servers whose metadata has this property, e.g. "
            "HA_Enabled=True; repeat to require all"
        ),
    )
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
        action="append",
        default=[],
        type=property_pair,
        dest="exclude_properties",
        help="Leave out servers whose metadata has this property",
    )


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


def server_filter(parsed_args: argparse.Namespace) -> ServerFilter:
    from osc_evacuate.core.filters import ServerFilter

    filters = ServerFilter(
        projects=frozenset(parsed_args.projects),
        tags=frozenset(parsed_args.tags),
        properties=tuple(parsed_args.properties),
        exclude_tags=frozenset(parsed_args.exclude_tags),
        exclude_properties=tuple(parsed_args.exclude_properties),
    )
    LOG.debug("filters: %s; --server %s", filters, parsed_args.servers)
    return filters


def guard(parsed_args: argparse.Namespace) -> Guard:
    from osc_evacuate.core.preflight import Guard

    return Guard(
        max_hosts=parsed_args.max_failed_hosts,
        max_fraction=parsed_args.max_failed_fraction,
    )
