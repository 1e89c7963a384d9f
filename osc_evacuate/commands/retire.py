"""openstack host evacuation retire <host>: take a dead, evacuated host out
of the cloud for good (core/retire.py decides what, retire_run.py does
it).

One row per thing removed: the orphaned allocations on the host's
resource providers, its compute service, the providers, and the done
evacuation records, which stay (a note on stderr says what they mean to
a host reinstalled under the name). Refusals are one line on stderr and
nothing on stdout: exit 6 while something is under way and 7 while
servers are on the host, as show gives for the same verdicts; the
others are OSC's CommandError (exit 1).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from osc_lib.command import command

from osc_evacuate.commands import base
from osc_evacuate.commands.exit_codes import (
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_WAITING,
    RETIRE_EXIT_CODES_HELP,
)
from osc_evacuate.core import errors

if TYPE_CHECKING:
    from osc_evacuate.core.api import RetireAPI
    from osc_evacuate.core.retire_models import Removed

LOG = logging.getLogger(__name__)

COLUMNS = ("Kind", "ID", "Name", "Why", "Result")


def row_values(row: Removed) -> tuple[str, str, str, str, str]:
    removal = row.removal
    return (
        removal.kind.value,
        removal.id,
        removal.name,
        removal.why,
        row.result,
    )


class _Stopped(Exception):
    """A refusal with an exit code of its own: not the core's error any
    more, so that OwnParser.run lets it through to RetireHostEvacuation's
    run."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


class RetireHostEvacuation(base.OwnParser, command.Lister):
    _description = (
        "Retire a dead compute host that will not come back: remove the "
        "allocations left on its resource providers that Nova's own audit "
        "(nova-manage placement audit) calls orphaned, delete its "
        "nova-compute service (Nova deletes its compute nodes' resource "
        "providers with it), and check in Placement that they are gone.\n\n"
        "Only a host whose nova-compute is forced down, with no server on "
        "it and no evacuation or migration under way: else it refuses and "
        "removes nothing. Each row says what is removed and why. The "
        "host's done evacuation records stay in Nova's database (no API "
        "completes them): a note says what that means to a host "
        "reinstalled under the same name. --dry-run lists it all and "
        "removes nothing."
    )
    exit_codes_help = RETIRE_EXIT_CODES_HELP

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "host",
            metavar="<host>",
            help="Compute host (name)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List what a run would remove, and remove nothing",
        )
        return parser

    def run(self, parsed_args: argparse.Namespace) -> int:
        try:
            return super().run(parsed_args)
        except _Stopped as stopped:
            self.app.stderr.write(f"{stopped}\n")
            return stopped.code

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], Iterable[tuple[Any, ...]]]:
        from osc_evacuate.core import retire_run
        from osc_evacuate.core.retire_models import ServersOnHost

        # make_client builds a NovaComputeAPI, which is a RetireAPI.
        api = cast("RetireAPI", self.app.client_manager.evacuate)
        try:
            done = retire_run.carry_out(
                api, parsed_args.host, parsed_args.dry_run, self._say
            )
        except errors.NotYet as exc:
            raise _Stopped(str(exc), EXIT_WAITING) from exc
        except ServersOnHost as exc:
            raise _Stopped(str(exc), EXIT_INCOMPLETE) from exc
        if done.plan.note:
            self.app.stderr.write(f"Note: {done.plan.note}\n")
        self.exit_code = EXIT_FAILED if done.failed else EXIT_OK
        LOG.debug("exit code %d", self.exit_code)
        return COLUMNS, [row_values(row) for row in done.rows]

    def _say(self, line: str) -> None:
        """Progress, on stderr when a person watches it."""
        LOG.debug("%s", line)
        if self.app.stderr.isatty():
            self.app.stderr.write(f"{line}...\n")
