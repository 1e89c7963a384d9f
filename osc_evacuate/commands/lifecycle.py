"""openstack host evacuation show <host> / finish <host>: returning the
failed host to service once its evacuation is over (core/lifecycle.py).

finish's refusal while the host must not return yet (the core's NotYet:
an evacuation under way, or records still done) is no error of OSC's: one
line on stderr, nothing on stdout, and exit 6, as show gives for the same
verdicts. Its other refusals are OSC's CommandError (exit 1).
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING, Any

from cliff import columns
from osc_lib.cli import format_columns
from osc_lib.command import command

from osc_evacuate.commands import base
from osc_evacuate.commands.exit_codes import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_WAITING,
    LIFECYCLE_EXIT_CODES_HELP,
)
from osc_evacuate.core import errors

if TYPE_CHECKING:
    from osc_evacuate.core import lifecycle
    from osc_evacuate.core.models import ComputeService

LOG = logging.getLogger(__name__)


def show_exit(verdict: lifecycle.Standing) -> int:
    from osc_evacuate.core.lifecycle import Standing

    return {
        Standing.UNDER_WAY: EXIT_WAITING,
        Standing.READY: EXIT_OK,
        Standing.IN_SERVICE: EXIT_OK,
        Standing.WAITING: EXIT_WAITING,
        Standing.INCOMPLETE: EXIT_INCOMPLETE,
    }[verdict]


SERVICE_COLUMNS = ("Host", "State", "Forced Down", "Status", "Disabled Reason")
SHOW_COLUMNS = (
    *SERVICE_COLUMNS,
    "Evacuation Records",
    "Servers On Host",
    "Not Evacuated",
    "Unfinished",
    "When Nova-Compute Starts",
    "Verdict",
    "Next Step",
)
FINISH_COLUMNS = (*SERVICE_COLUMNS, "Verdict Before", "Changed", "Warning")


def service_values(service: ComputeService) -> tuple[Any, ...]:
    return (
        service.host,
        service.state,
        service.forced_down,
        service.status,
        service.disabled_reason,
    )


class LinesColumn(columns.FormattableColumn[list[str]]):
    """A list: one item a line in a table, a list in JSON or YAML."""

    def human_readable(self) -> str:
        return "\n".join(self._value)

    def machine_readable(self) -> list[str]:
        return list(self._value)


def show_values(state: lifecycle.HostState) -> tuple[Any, ...]:
    under_way = dict.fromkeys(m.instance_uuid for m in state.under_way)
    return (
        *service_values(state.service),
        format_columns.DictColumn(state.records),
        len(state.servers),
        format_columns.ListColumn([s.id for s in state.left]),
        format_columns.ListColumn(list(under_way)),
        LinesColumn([str(entry) for entry in state.start_up]),
        state.verdict.value,
        state.next_step,
    )


def finish_values(done: lifecycle.Finished) -> tuple[Any, ...]:
    return (
        *service_values(done.after),
        done.before.verdict.value,
        format_columns.ListColumn(
            [f"{c.method} {c.path}" for c in done.changes]
        ),
        done.warning,
    )


class _NotYet(Exception):
    """finish refused with NotYet: not the core's error any more, so that
    OwnParser.run lets it through to FinishHostEvacuation.run."""


class _HostCommand(base.OwnParser, command.ShowOne):
    exit_codes_help = LIFECYCLE_EXIT_CODES_HELP

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "host",
            metavar="<host>",
            help="The evacuated compute host (exact name of its nova-compute)",
        )
        return parser


class ShowHostEvacuation(_HostCommand):
    _description = (
        "Show where the evacuation of a failed host stands, and whether the "
        "host can return to service.\n\n"
        "The verdict is one of: evacuation under way (an evacuation of a "
        "server still on it is accepted or pre-migrating: do not start its "
        "nova-compute, whose start-up would destroy that server's only "
        "copy); evacuation incomplete (servers that could be evacuated are "
        "still on it); waiting for nova-compute to restart (its records "
        "are still done: Nova turns them completed when the host's "
        "nova-compute starts); ready to return (openstack host evacuation "
        "finish); in service. Each evacuation record says what the host's "
        "nova-compute does for it when it starts."
    )

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        from osc_evacuate.core import lifecycle

        api = self.app.client_manager.evacuate
        state = lifecycle.host_state(api, parsed_args.host)
        self.exit_code = show_exit(state.verdict)
        return SHOW_COLUMNS, show_values(state)


class FinishHostEvacuation(_HostCommand):
    _description = (
        "Return an evacuated host to service: clear its nova-compute's "
        "forced-down and enable it.\n\n"
        "Only once every evacuation from it is over and its records are "
        "completed, which happens when the host's nova-compute starts "
        "again; until then it refuses, changes nothing and says what is "
        "missing. While an evacuation from it is still under way it "
        "refuses even with --force (exit 6): the host's nova-compute, when "
        "it starts, destroys the local guests of those servers, their only "
        "copy."
    )

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "--keep-disabled",
            action="store_true",
            help="Clear forced-down, but leave the service disabled",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help=(
                "Return the host although servers that could be evacuated "
                "are still on it (a warning says what Nova does with them); "
                "an evacuation under way, or records still done, stop it "
                "even so"
            ),
        )
        return parser

    def run(self, parsed_args: argparse.Namespace) -> int:
        try:
            return super().run(parsed_args)
        except _NotYet as refused:
            self.app.stderr.write(f"{refused}\n")
            return EXIT_WAITING

    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
        from osc_evacuate.core import lifecycle

        api = self.app.client_manager.evacuate
        try:
            done = lifecycle.finish(
                api,
                parsed_args.host,
                keep_disabled=parsed_args.keep_disabled,
                force=parsed_args.force,
            )
        except errors.NotYet as exc:
            LOG.debug("not yet: %s", exc)
            # Past OwnParser.run, which makes the core's errors exit 1.
            raise _NotYet(str(exc)) from exc
        if done.warning:
            LOG.warning("--force: %s", done.warning)
        return FINISH_COLUMNS, finish_values(done)
