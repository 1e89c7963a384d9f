"""openstack host drain <host>: empty a living host for maintenance.

Its nova-compute is disabled first, then each server is live-migrated
(ACTIVE, PAUSED) or cold-migrated and confirmed (SHUTOFF), with the plan,
pacing and proof of host evacuate; one row per server, and, with --wait,
a final read of the host: anything still on it fails the drain (exit 3).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from osc_lib.command import command

from osc_evacuate.commands import (
    base,
    exit_codes,
    host_options,
    options,
    pin,
    plan_view,
    run_columns,
)
from osc_evacuate.core import defaults

if TYPE_CHECKING:
    from osc_evacuate.commands.progress import ProgressLine
    from osc_evacuate.core.api import ComputeAPI
    from osc_evacuate.core.journal import Journal
    from osc_evacuate.core.models import (
        DrainRequest,
        Plan,
        Report,
        ServerOutcome,
    )

LOG = logging.getLogger(__name__)

COLUMNS = (
    *run_columns.SERVER,
    "Method",
    *run_columns.OUTCOME,
    "Request ID",
)
LIVE_ONLY, COLD_ONLY = "live", "cold"


class DrainHost(base.JobCommand["DrainRequest"], command.Lister):
    _description = (
        "Empty a living compute host for maintenance: disable its "
        "nova-compute, then live-migrate its ACTIVE and PAUSED servers and "
        "cold-migrate (and confirm) its SHUTOFF ones, in all projects.\n\n"
        "Each server keeps its state. With --wait each migration is proven "
        "by its record (completed or confirmed), the server's new host and "
        "its state, and the host is read once more at the end: a server "
        "still on it fails the drain. Running it again is safe: migrations "
        "under way are waited for, and nothing is moved twice. A dead host "
        "needs `openstack host evacuate` instead."
    )
    noun = "migration"

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "hosts",
            metavar="<host>",
            nargs="+",
            help=(
                "Compute host to drain (exact name of its nova-compute); "
                "repeat for more, in one run"
            ),
        )
        add_move_options(parser)
        options.add_wait(
            parser,
            "each migration is proven: its record is completed (live) or "
            "confirmed (cold), the server is on another host and in the "
            "state it had; then the host is read once more: anything still "
            "on it fails the drain",
        )
        options.add_retries(parser, "migrate a server again", "it failed")
        options.add_max_parallel(parser)
        options.add_plan_options(parser)
        host_options.add_filter_options(parser)
        return parser

    def make_request(
        self, parsed_args: argparse.Namespace, api: ComputeAPI
    ) -> DrainRequest:
        from osc_evacuate.core.models import (
            BlockMigration,
            DrainOptions,
            DrainRequest,
            Method,
        )

        methods = frozenset(Method)
        if parsed_args.only is not None:
            methods = frozenset({Method(parsed_args.only)})
        wait = options.wait_policy(parsed_args, parsed_args.cold_fallback)
        request = DrainRequest(
            options=DrainOptions(
                parsed_args.target_host,
                BlockMigration(parsed_args.block_migration),
            ),
            pinned=pin.pinned_version(
                self.app.client_manager.get_configuration(), api
            ),
            wait=wait,
            max_parallel=parsed_args.max_parallel,
            ignore_capacity=parsed_args.ignore_capacity,
            methods=methods,
            cold_fallback=parsed_args.cold_fallback,
            disabled_reason=parsed_args.disable_reason,
            filters=host_options.server_filter(parsed_args),
            server_names=tuple(parsed_args.servers),
        )
        LOG.debug("drain %s: %s", ", ".join(parsed_args.hosts), request)
        return request

    def lock_hosts(self, parsed_args: argparse.Namespace) -> list[str]:
        hosts: list[str] = parsed_args.hosts
        return hosts

    def plan(
        self,
        parsed_args: argparse.Namespace,
        api: ComputeAPI,
        request: DrainRequest,
        journal: Journal,
    ) -> Plan:
        from osc_evacuate.core import drain_plan

        hosts = parsed_args.hosts
        return drain_plan.plan_drain(api, hosts, request, self.clock, journal)

    def refusal(self, plan: Plan, request: DrainRequest) -> str | None:
        from osc_evacuate.core.refusals import capacity_refusal

        return capacity_refusal(plan, request.ignore_capacity)

    def carry_out(
        self,
        api: ComputeAPI,
        plan: Plan,
        request: DrainRequest,
        progress: ProgressLine,
        journal: Journal,
    ) -> Report:
        from osc_evacuate.core import drain

        return drain.carry_out(
            api, plan, request, self.clock, progress, journal
        )

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], Iterable[tuple[Any, ...]]]:
        LOG.debug("drain %s", ", ".join(parsed_args.hosts))
        ran = self.run_job(parsed_args)
        if ran.report is None:
            plan = ran.plan
            return COLUMNS + plan_view.PLAN_COLUMNS, [
                planned_row(r) + plan_view.plan_values(plan, r)
                for r in map(plan_view.as_run, plan.rows)
            ]
        report = ran.report
        self.exit_code = exit_codes.exit_code(report.rows, report.interrupted)
        if report.left and not report.interrupted:
            self._say_left(report)
            self.exit_code = exit_codes.EXIT_FAILED
        return COLUMNS, [row_of(r) for r in report.rows]

    def _say_left(self, report: Report) -> None:
        names = {r.id: r.before.name or r.id for r in report.rows}
        listed = ", ".join(names.get(sid, sid) for sid in report.left)
        self.app.stderr.write(
            f"{', '.join(report.sources)} not empty: {len(report.left)} "
            f"server(s) still on it: {listed}\n"
        )


def method(row: ServerOutcome) -> str | None:
    """How the row's server is moved, and why cold when live was meant."""
    if row.method is None:
        return None
    if row.fell_back:
        return (
            f"{row.method.value}, after {row.fell_back}: stopped and "
            "started again"
        )
    return row.method.value


def row_of(row: ServerOutcome) -> tuple[Any, ...]:
    return (
        *run_columns.server_cells(row),
        method(row),
        *run_columns.outcome_cells(row),
        row.request_id,
    )


def planned_row(row: ServerOutcome) -> tuple[Any, ...]:
    return tuple(run_columns.planned(COLUMNS, row_of(row), row))


def add_move_options(parser: argparse.ArgumentParser) -> None:
    """How the servers move: where, how their disks go, live or cold."""
    parser.add_argument(
        "--target-host",
        metavar="<host>",
        help=(
            "Move every server to this host; the scheduler validates "
            "it (a cold migration's host: --os-compute-api-version 2.56 "
            "or above). Default: the scheduler picks a host per server"
        ),
    )
    parser.add_argument(
        "--block-migration",
        choices=["auto", "true", "false"],
        default="auto",
        help=(
            "Live migrations copy local disks (true), rely on shared "
            "instance storage (false), or let Nova decide (auto, the "
            "default; --os-compute-api-version 2.25 or above)"
        ),
    )
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--live-only",
        action="store_const",
        const=LIVE_ONLY,
        dest="only",
        help="Only live migrations: SHUTOFF servers are skipped",
    )
    only.add_argument(
        "--cold-only",
        action="store_const",
        const=COLD_ONLY,
        dest="only",
        help=(
            "Only cold migrations: ACTIVE servers are stopped and "
            "started again; PAUSED ones are skipped"
        ),
    )
    parser.add_argument(
        "--cold-fallback",
        action="store_true",
        help=(
            "Migrate a server cold when Nova refuses or fails its live "
            "migration (it is then stopped and started again; its row "
            "says so)"
        ),
    )
    parser.add_argument(
        "--disable-reason",
        metavar="<reason>",
        type=options.reason,
        default=defaults.DRAIN_REASON,
        help=(
            "The reason the host's nova-compute is disabled with "
            f"(default: {defaults.DRAIN_REASON!r})"
        ),
    )
