"""The base of both evacuate commands: a typed app, the life cycle, errors.

As in python-openstackclient's and python-ironicclient's command.py, the
command's app is typed, so that `self.app.client_manager.evacuate` is the
core's ComputeAPI to the type checker rather than Any.

A run, as cliff drives it:

1. get_parser: the parser is an EvacuateParser (one-line errors, OSC's
   bare --wait), with the exit codes as its epilog.
2. run: take_action evacuates through evacuate() below and sets
   exit_code from the rows; cliff prints the rows and run returns it.
3. evacuate() turns the options and the pin into the core's Request, and
   the core's errors into OSC's CommandError: one line on stderr, exit 1,
   and nothing was sent.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from typing import TypeVar

from cliff import command as cliff_command
from osc_lib import clientmanager, exceptions, shell
from osc_lib.command import command

from osc_evacuate.commands import options, pin
from osc_evacuate.commands.exit_codes import EXIT_CODES_HELP, EXIT_OK
from osc_evacuate.commands.parser import EvacuateParser
from osc_evacuate.commands.progress import ProgressLine
from osc_evacuate.core import evacuation
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.clock import Clock
from osc_evacuate.core.errors import EvacuateError
from osc_evacuate.core.submit import DEFAULT_MAX_PARALLEL

LOG = logging.getLogger(__name__)

T = TypeVar("T")

Job = Callable[[ComputeAPI, evacuation.Request, ProgressLine], T]


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
        job: Job[T],
    ) -> T:
        """Build the request from the shared options and run job on it,
        turning the core's errors into OSC's one-line CommandError."""
        api = self.app.client_manager.evacuate
        progress = ProgressLine(self.app.stderr)
        try:
            request = evacuation.Request(
                options=options.evacuate_options(parsed_args, destination),
                pinned=pin.pinned_version(
                    self.app.client_manager.get_configuration(), api
                ),
                wait=options.wait_policy(parsed_args),
                # Only host evacuate has --max-parallel.
                max_parallel=getattr(
                    parsed_args, "max_parallel", DEFAULT_MAX_PARALLEL
                ),
            )
            LOG.debug("at most %d requests in flight", request.max_parallel)
            return job(api, request, progress)
        except EvacuateError as exc:
            LOG.debug("stopped: %s: %s", type(exc).__name__, exc)
            raise exceptions.CommandError(str(exc)) from exc
        finally:
            progress.close()


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
