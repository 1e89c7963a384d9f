"""openstack host evacuate <host>"""

from __future__ import annotations

import argparse
import enum
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from osc_evacuate.commands import (
    base,
    confirm,
    exit_codes,
    ha_options,
    host_options,
    options,
    plan_view,
    run_columns,
)

if TYPE_CHECKING:
    from osc_evacuate.core.api import ComputeAPI
    from osc_evacuate.core.evacuation import FenceAll
    from osc_evacuate.core.journal import Journal
    from osc_evacuate.core.models import (
        Fencing,
        Plan,
        Report,
        Request,
        ServerOutcome,
    )

LOG = logging.getLogger(__name__)

COLUMNS = (
    *run_columns.SERVER,
    *run_columns.OUTCOME,
    "Locked",
    "Request ID",
    "Fencing",
    "Rescue",
    "Phase",
)


class EvacuateHost(base.Lister):
    _description = (
        "Evacuate every server of a failed compute host, in all projects.\n\n"
        "The host's nova-compute service must be down: fence the host, then "
        "`openstack compute service set --down <host> nova-compute`. Servers "
        "in vm_state active, stopped or error are evacuated; any other is "
        "reported as skipped (--rescue takes it). Running it again is "
        "safe: servers already evacuated are reported as such, evacuations "
        "still under way are waited for, and only the rest is submitted."
    )

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "hosts",
            metavar="<host>",
            nargs="+",
            help=(
                "Failed compute host (exact name of its nova-compute); "
                "repeat for more, in one run"
            ),
        )
        parser.add_argument(
            "--target-host",
            metavar="<host>",
            help=(
                "Rebuild every server on this host; the scheduler validates "
                "it (supported by --os-compute-api-version 2.29 or above). "
                "Default: the scheduler picks a host per server"
            ),
        )
        options.add_force(parser, "--target-host")
        options.add_shared_storage(parser)
        options.add_wait_options(parser)
        options.add_max_parallel(parser)
        options.add_plan_options(parser)
        options.add_force_down_options(parser)
        host_options.add_filter_options(parser)
        host_options.add_fencing_options(parser)
        host_options.add_lock_option(parser)
        ha_options.add_rescue_option(parser)
        ha_options.add_priority_option(parser)
        ha_options.add_spare_options(parser)
        host_options.add_guard_options(parser)
        return parser

    destination_option = "--target-host"

    def lock_hosts(self, parsed_args: argparse.Namespace) -> list[str]:
        hosts: list[str] = parsed_args.hosts
        return hosts

    def destination(self, parsed_args: argparse.Namespace) -> str | None:
        target: str | None = parsed_args.target_host
        return target

    def request(
        self, parsed_args: argparse.Namespace, request: Request
    ) -> Request:
        """host evacuate's own options: pacing, --force-down, the filters,
        --lock and the guard."""
        return host_options.request(parsed_args, request)

    def plan(
        self,
        parsed_args: argparse.Namespace,
        api: ComputeAPI,
        request: Request,
        journal: Journal,
    ) -> Plan:
        from osc_evacuate.core import preflight

        hosts = parsed_args.hosts
        return preflight.plan_hosts(api, hosts, request, self.clock, journal)

    def confirm(self, parsed_args: argparse.Namespace, plan: Plan) -> None:
        # Spares are enabled as --spare asks: only forcing down is asked.
        forced = {c.host for c in plan.service_changes} & set(plan.sources)
        if forced:
            confirm.force_down(
                sorted(forced),
                parsed_args.disable_reason,
                self.app.stdin,
                self.app.stderr,
                parsed_args.yes,
            )

    def fence(self, request: Request) -> FenceAll:
        from osc_evacuate.core.fencing import Fencer

        return Fencer(request.fence, self.app.stderr).fence_all

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], Iterable[tuple[Any, ...]]]:
        LOG.debug("evacuate every server of %s", ", ".join(parsed_args.hosts))
        ran = self.evacuate(parsed_args)
        self._say_spares(ran.plan, ran.report)
        if ran.report is None:
            plan = ran.plan
            return COLUMNS + plan_view.PLAN_COLUMNS, [
                planned_row(r, plan_view.fencing(plan, r.before.host))
                + plan_view.plan_values(plan, r)
                for r in map(plan_view.as_run, plan.rows)
            ]
        report = ran.report
        self.exit_code = exit_codes.exit_code(report.rows, report.interrupted)
        return COLUMNS, [
            row_of(r, report.fencing_of(r.before.host)) for r in report.rows
        ]

    def _say_spares(self, plan: Plan, report: Report | None) -> None:
        """--spare: which spares the run enables, and what became of
        each (stderr: the rows say which servers they took)."""
        if not plan.spares:
            return
        hosts = ", ".join(s.host for s in plan.spares)
        would = "Would enable" if report is None else "Enabled"
        self.app.stderr.write(
            f"{would} spare {hosts}: without it, servers would have no room.\n"
        )
        for outcome in report.spares if report else ():
            self.app.stderr.write(f"{str(outcome).capitalize()}.\n")


def row_of(
    row: ServerOutcome, fencing: Fencing | str | None
) -> tuple[Any, ...]:
    rescued = "rescued" if row.planned.rescue else None
    return (
        *run_columns.server_cells(row),
        *run_columns.outcome_cells(row, rescued),
        locked(row),
        row.request_id,
        fencing.value if isinstance(fencing, enum.Enum) else fencing,
        row.rescued,
        row.phase,
    )


def locked(row: ServerOutcome) -> str | None:
    """What --lock did, and why not when it could not."""
    if row.lock is None:
        return None
    if row.lock_error:
        return f"{row.lock.value}: {row.lock_error}"
    return row.lock.value


def planned_row(row: ServerOutcome, fencing: str | None) -> tuple[Any, ...]:
    """A row of the plan in a run's columns: what a run would do."""
    values = run_columns.planned(COLUMNS, row_of(row, fencing), row)
    if row.planned.rescue is not None:
        values[COLUMNS.index("Action")] = "would rescue"
        values[COLUMNS.index("Rescue")] = (
            f"would reset to error from {row.planned.rescue}"
        )
    return tuple(values)
