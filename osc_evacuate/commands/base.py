"""The base of both evacuate commands: a typed app, the life cycle, errors.

As in python-openstackclient's and python-ironicclient's command.py, the
command's app is typed, so that `self.app.client_manager.evacuate` is the
core's ComputeAPI to the type checker rather than Any.

A run, as cliff drives it:

1. get_parser: the parser is an EvacuateParser (one-line errors, OSC's
   bare --wait), with the exit codes as its epilog.
2. run: take_action evacuates through evacuate() below and sets
   exit_code from the rows; cliff prints the rows and run returns it.
3. evacuate() turns the options and the pin into the core's Request, has
   the core plan the run, and then: with --dry-run, returns the plan;
   else asks for what needs confirming (--force-down) and has the core
   carry the plan out. The core's errors become OSC's CommandError: one
   line on stderr, exit 1, and nothing was sent.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

from cliff import command as cliff_command
from osc_lib import clientmanager, exceptions, shell
from osc_lib.command import command

from osc_evacuate.commands import confirm, host_options, options, pin
from osc_evacuate.commands.exit_codes import (
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_REFUSED,
)
from osc_evacuate.commands.parser import EvacuateParser
from osc_evacuate.commands.progress import ProgressLine
from osc_evacuate.core import defaults
from osc_evacuate.core.errors import EvacuateError, UsageError

if TYPE_CHECKING:
    # The core loads when a command runs, not when OSC lists commands.
    from osc_evacuate.core import evacuation
    from osc_evacuate.core.api import ComputeAPI
    from osc_evacuate.core.clock import Clock

LOG = logging.getLogger(__name__)

T = TypeVar("T")

if TYPE_CHECKING:
    PlanJob = Callable[[ComputeAPI, evacuation.Request], evacuation.Plan]
    AfterJob = Callable[[ComputeAPI, evacuation.Report], T]


@dataclasses.dataclass(frozen=True)
class Ran(Generic[T]):
    """What a run did: its plan; the report (None for a dry run); and
    what the command read afterwards (server evacuate: the server)."""

    plan: evacuation.Plan
    report: evacuation.Report | None = None
    after: T | None = None


class ClientManager(clientmanager.ClientManager):
    """OSC's client manager as these commands see it: a type, never built.

    OSC gives the client manager one attribute per plugin, named by its
    API_NAME ("evacuate", see plugin.py) and built on first use by the
    plugin's make_client.
    """

    evacuate: ComputeAPI


class App(shell.OpenStackShell):
    """OSC's shell as these commands see it: a type, never built."""

    client_manager: ClientManager


class EvacuateCommand(command.Command):
    """What both commands do around take_action (see the module doc)."""

    app: App
    # None: the system's. Unit tests give a fake one: --wait then sleeps
    # in fake time.
    clock: Clock | None = None
    exit_code = EXIT_OK

    def run(self, parsed_args: argparse.Namespace) -> int:
        super().run(parsed_args)
        return self.exit_code

    def evacuate(
        self,
        parsed_args: argparse.Namespace,
        destination: str | None,
        plan: PlanJob,
        after: AfterJob[T],
    ) -> Ran[T]:
        """Plan from the shared options; then print the plan (--dry-run),
        or confirm and carry it out, and run after on the report. The
        core's errors become OSC's one-line CommandError."""
        from osc_evacuate.core import evacuation

        api = self.app.client_manager.evacuate
        progress = ProgressLine(self.app.stderr)
        try:
            request = self._request(parsed_args, destination, api)
            planned = plan(api, request)
            if parsed_args.dry_run:
                self._refused_in_dry_run(planned.refusal(request))
                return Ran(planned)
            _warn_about_capacity(planned)
            if planned.service_changes:
                confirm.force_down(
                    sorted({c.host for c in planned.service_changes}),
                    request.disabled_reason,
                    self.app.stdin,
                    self.app.stderr,
                    getattr(parsed_args, "yes", False),
                )
            report = evacuation.carry_out(
                api, planned, request, self.clock, progress
            )
            return Ran(planned, report, after(api, report))
        except EvacuateError as exc:
            LOG.debug("stopped: %s: %s", type(exc).__name__, exc)
            raise exceptions.CommandError(str(exc)) from exc
        finally:
            progress.close()

    def _request(
        self,
        parsed_args: argparse.Namespace,
        destination: str | None,
        api: ComputeAPI,
    ) -> evacuation.Request:
        from osc_evacuate.core import evacuation

        force_down = getattr(parsed_args, "force_down", False)
        reason = getattr(parsed_args, "disable_reason", None)
        if reason is not None and not force_down:
            raise UsageError("--disable-reason needs --force-down")
        request = evacuation.Request(
            options=options.evacuate_options(parsed_args, destination),
            pinned=pin.pinned_version(
                self.app.client_manager.get_configuration(), api
            ),
            wait=options.wait_policy(parsed_args),
            # Only host evacuate has --max-parallel and --force-down.
            max_parallel=getattr(
                parsed_args, "max_parallel", defaults.MAX_PARALLEL
            ),
            ignore_capacity=parsed_args.ignore_capacity,
            force_down=force_down,
            disabled_reason=reason,
        )
        if hasattr(parsed_args, "servers"):
            # Only host evacuate has the filters, --lock and the guard.
            request = dataclasses.replace(
                request,
                filters=host_options.server_filter(parsed_args),
                server_names=tuple(parsed_args.servers),
                lock=parsed_args.lock,
                guard=host_options.guard(parsed_args),
                accept_mass_failure=parsed_args.yes,
            )
        LOG.debug(
            "at most %d requests in flight; dry run %s; capacity %s",
            request.max_parallel,
            parsed_args.dry_run,
            "ignored" if request.ignore_capacity else "checked",
        )
        return request

    def _refused_in_dry_run(self, why: str | None) -> None:
        """A dry run prints its plan even when a run would refuse; it says
        why on stderr, and exits 1 as the run would."""
        if why is None:
            return
        self.app.stderr.write(f"A run would refuse: {why}\n")
        self.exit_code = EXIT_REFUSED


def _warn_about_capacity(plan: evacuation.Plan) -> None:
    """What the operator should know before the requests go: servers that
    fit only by filling hosts, or a capacity that could not be judged."""
    from osc_evacuate.core import evacuation
    from osc_evacuate.core.capacity import Fit

    tight = sum(r.fit is Fit.TIGHT for r in plan.rows)
    if tight:
        LOG.warning(
            "%d servers fit only by filling hosts to their last 10%%",
            tight,
        )
    check = plan.capacity
    if check.source is None and check is not evacuation.NOT_NEEDED:
        LOG.warning("capacity not checked: %s", check.why_not)


class _OwnParser(cliff_command.Command):
    """Has cliff build these commands' parser from EvacuateParser.

    cliff creates the parser in its Command.get_parser, and Lister and
    ShowOne add their output options to what it returns. Listed after
    them (see Lister and ShowOne below), this class comes just before
    cliff's Command in the method order: the parser they extend is ours.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        plain = super().get_parser(prog_name)
        # It holds only --help and the options of cliff hooks, if any:
        # argparse's parents copies them.
        return EvacuateParser(
            prog=plain.prog,
            description=plain.description,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            conflict_handler=plain.conflict_handler,
            parents=[plain],
            add_help=False,
        )


class Lister(EvacuateCommand, command.Lister, _OwnParser):
    """A command whose result is one row per server (host evacuate)."""


class ShowOne(EvacuateCommand, command.ShowOne, _OwnParser):
    """A command whose result is one server (server evacuate)."""
