"""openstack host evacuate <host>"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from typing import Any

from osc_lib.command import command

from osc_evacuate.commands import common
from osc_evacuate.core import evacuation
from osc_evacuate.core.outcome import ServerOutcome

COLUMNS = (
    "ID",
    "Name",
    "Project",
    "Status Before",
    "Action",
    "Migration Status",
    "Destination",
    "Status After",
    "Result",
    "Error",
    "Seconds",
)


class EvacuateHost(common.EvacuateCommand, command.Lister):
    _description = (
        "Evacuate every server of a failed compute host, in all projects.\n\n"
        "The host's nova-compute service must be down: fence the host, then "
        "`openstack compute service set --down <host> nova-compute`. Servers "
        "in vm_state active, stopped or error are evacuated; any other is "
        "reported as skipped. Running it again is safe: servers already "
        "evacuated are reported as such, evacuations still under way are "
        "waited for, and only the rest is submitted."
    )

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "host",
            metavar="<host>",
            help="Failed compute host (exact name of its nova-compute)",
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
        common.add_force(parser, "--target-host")
        common.add_shared_storage(parser)
        common.add_wait_options(parser)
        common.add_max_parallel(parser)
        common.accept_bare_wait(parser)
        return parser

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], Iterable[tuple[Any, ...]]]:
        report = self.evacuate(
            parsed_args,
            parsed_args.target_host,
            lambda api, request, progress: evacuation.evacuate_host(
                api, parsed_args.host, request, on_progress=progress
            ),
        )
        self.exit_code = common.exit_code(report.rows)
        return COLUMNS, [row_of(r) for r in report.rows]


def row_of(row: ServerOutcome) -> tuple[Any, ...]:
    return (
        row.before.id,
        row.before.name,
        row.before.project_id,
        row.before.status or None,
        row.action.value,
        row.migration.status if row.migration else None,
        row.destination,
        row.status_after,
        row.result.value,
        row.error,
        row.seconds,
    )
