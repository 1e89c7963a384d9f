"""The base of the evacuate commands: a typed app, the life cycle, errors.

As in python-openstackclient's and python-ironicclient's command.py, the
command's app is typed, so that `self.app.client_manager.evacuate` is the
core's ComputeAPI to the type checker rather than Any.

A run, as cliff drives it:

1. get_parser: cliff's parser (with Lister's or ShowOne's output options)
   is rebuilt as an EvacuateParser (one-line errors, OSC's bare --wait),
   with the exit codes as its epilog; each command adds its own options.
2. run: take_action evacuates through evacuate() below and sets
   exit_code from the rows; cliff prints the rows and run returns it.
3. evacuate() turns the options and the pin into the core's Request (the
   command's own options through its request() hook), has the command
   plan the run (its plan() hook), and then: with --dry-run, returns the
   plan; else has the command confirm what needs confirming (confirm()),
   and the core carry the plan out. The core's errors become OSC's
   CommandError: one line on stderr, exit 1, and nothing was sent.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from typing import TYPE_CHECKING, Generic, TypeVar

from osc_lib import clientmanager, exceptions, shell
from osc_lib.command import command

from osc_evacuate.commands import options, pin
from osc_evacuate.commands.exit_codes import (
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_REFUSED,
)
from osc_evacuate.commands.parser import EvacuateParser
from osc_evacuate.commands.progress import ProgressLine
from osc_evacuate.core.errors import EvacuateError

if TYPE_CHECKING:
    from collections.abc import Sequence

    # The core loads when a command runs, not when OSC lists commands.
    from osc_evacuate.core.api import ComputeAPI
    from osc_evacuate.core.clock import Clock
    from osc_evacuate.core.evacuation import FenceAll
    from osc_evacuate.core.host_lock import Claim, HostLocks
    from osc_evacuate.core.journal import Journal
    from osc_evacuate.core.models import Plan, Report, Request

LOG = logging.getLogger(__name__)

# A job's request type (models.Request, models.DrainRequest).
R = TypeVar("R")


@dataclasses.dataclass(frozen=True)
class Ran:
    """What a run did: its plan, and its report (None for a dry run)."""

    plan: Plan
    report: Report | None = None


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


class OwnParser(command.Command):
    """Any command of ours: our parser and exit codes, the core's errors
    as one line."""

    app: App
    exit_code = EXIT_OK
    exit_codes_help = EXIT_CODES_HELP

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        """cliff's parser, with whatever output options its command kind
        adds, rebuilt as an EvacuateParser (argparse's parents copies
        every option and group)."""
        plain = super().get_parser(prog_name)
        return EvacuateParser(
            prog=plain.prog,
            description=plain.description,
            epilog=self.exit_codes_help,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            conflict_handler=plain.conflict_handler,
            parents=[plain],
            add_help=False,
        )

    def run(self, parsed_args: argparse.Namespace) -> int:
        try:
            super().run(parsed_args)
        except EvacuateError as exc:
            LOG.debug("stopped: %s: %s", type(exc).__name__, exc)
            raise exceptions.CommandError(str(exc)) from exc
        return self.exit_code


class JobCommand(OwnParser, Generic[R]):
    """What every command that moves servers does around its
    take_action: read and plan, then print the plan (--dry-run), or
    confirm and carry it out. Each kind of job says what is its own
    through the hooks below; R is its request's type."""

    # None: the system's. Unit tests give a fake one: --wait then sleeps
    # in fake time.
    clock: Clock | None = None
    # None: the user's (journal.default_directory). Unit tests give one
    # that keeps nothing.
    journal: Journal | None = None
    # What one request asks for, in the words of the Ctrl-C message.
    noun = "evacuation"

    def make_request(
        self, parsed_args: argparse.Namespace, api: ComputeAPI
    ) -> R:
        """Hook: the job's request, from the options and the pin."""
        raise NotImplementedError

    def plan(
        self,
        parsed_args: argparse.Namespace,
        api: ComputeAPI,
        request: R,
        journal: Journal,
    ) -> Plan:
        """Hook: read and plan, sending nothing."""
        raise NotImplementedError

    def refusal(self, plan: Plan, request: R) -> str | None:
        """Hook: why a run of this plan would refuse to send anything."""
        raise NotImplementedError

    def confirm(self, parsed_args: argparse.Namespace, plan: Plan) -> None:
        """Hook: ask for what the plan needs confirmed before it is
        carried out; raise CommandError when not confirmed."""

    def carry_out(
        self,
        api: ComputeAPI,
        plan: Plan,
        request: R,
        progress: ProgressLine,
        journal: Journal,
    ) -> Report:
        """Hook: carry the plan out (the core's job)."""
        raise NotImplementedError

    def run_job(self, parsed_args: argparse.Namespace) -> Ran:
        """Plan from the options; then print the plan (--dry-run), or
        confirm and carry it out."""
        from osc_evacuate.core.host_lock import Claim
        from osc_evacuate.core.journal import Journal, default_directory

        api = self.app.client_manager.evacuate
        progress = ProgressLine(self.app.stderr)
        journal = self.journal or Journal(default_directory())
        dry_run = parsed_args.dry_run
        try:
            request = self.make_request(parsed_args, api)
            with self._host_locks(journal) as locks:
                # Held from before the plan: another run's sends since
                # would make it stale.
                if not dry_run:
                    locks.take(Claim(tuple(self.lock_hosts(parsed_args))))
                planned = self.plan(parsed_args, api, request, journal)
                if not planned.rows:
                    # An empty table alone would not say why it is empty.
                    self.app.stderr.write(
                        f"No servers on {', '.join(planned.sources)}: "
                        "nothing to do.\n"
                    )
                if dry_run:
                    self._refused_in_dry_run(
                        self.refusal(planned, request)
                        or locks.busy(self.claim(planned))
                    )
                    return Ran(planned)
                locks.take(self.claim(planned))
                _warn_about_capacity(planned)
                self.confirm(parsed_args, planned)
                report = self.carry_out(
                    api, planned, request, progress, journal
                )
        finally:
            progress.close()
        if report.on_the_wire:
            self._say_on_the_wire(report)
        return Ran(planned, report)

    def lock_hosts(self, parsed_args: argparse.Namespace) -> Sequence[str]:
        """Hook: the hosts the command line names, held before the plan
        is read (the plan's claim is held once it is read)."""
        return ()

    def claim(self, plan: Plan) -> Claim:
        """Hook: what a run of the plan holds on this machine: its hosts,
        each for this run alone (host_lock.py)."""
        from osc_evacuate.core.host_lock import Claim

        return Claim(plan.sources)

    def _host_locks(self, journal: Journal) -> HostLocks:
        """Locks beside the journal (none when it keeps none), for this
        cloud: its auth URL, region and compute endpoint."""
        from osc_evacuate.core.host_lock import HostLocks

        config = self.app.client_manager.get_configuration()
        auth = config.get("auth") or {}
        cloud = (
            str(auth.get("auth_url")).rstrip("/"),
            config.get("region_name"),
            config.get("compute_endpoint_override"),
        )
        directory = journal.directory
        return HostLocks(
            directory.parent / "hosts" if directory else None,
            "|".join(str(part) for part in cloud),
            self.cmd_name or "osc-evacuate",
        )

    def _say_on_the_wire(self, report: Report) -> None:
        """Ctrl-C cut requests short: say which, and what a rerun does."""
        names = {r.id: r.before.name for r in report.rows}
        listed = ", ".join(
            f"{names.get(sid) or sid} ({sid})" for sid in report.on_the_wire
        )
        self.app.stderr.write(
            f"Interrupted while {len(report.on_the_wire)} {self.noun} "
            f"request(s) were on their way: {listed}. Nova may still carry "
            "them out. Running this command again waits for them (with "
            f"--wait) and never sends those servers a second {self.noun} "
            "while one may still land.\n"
        )

    def _refused_in_dry_run(self, why: str | None) -> None:
        """A dry run prints its plan even when a run would refuse; it says
        why on stderr, and exits 1 as the run would."""
        if why is None:
            return
        self.app.stderr.write(f"A run would refuse: {why}\n")
        self.exit_code = EXIT_REFUSED


class EvacuateCommand(JobCommand["Request"]):
    """The evacuating commands: their shared options, fencing, and the
    evacuation job; each says what is its own through the hooks below."""

    # The option that names a destination host, for the core's errors.
    destination_option = "--host"

    def destination(self, parsed_args: argparse.Namespace) -> str | None:
        """Hook: the destination host the command line names."""
        raise NotImplementedError

    def password(self, parsed_args: argparse.Namespace) -> str | None:
        """Hook: the password to set on the evacuated server, if any."""
        return None

    def request(
        self, parsed_args: argparse.Namespace, request: Request
    ) -> Request:
        """Hook: the Request, with this command's own options."""
        return request

    def fence(self, request: Request) -> FenceAll:
        """Hook: what fences the plan's hosts by command (nothing)."""
        return lambda fencing: None

    def evacuate(self, parsed_args: argparse.Namespace) -> Ran:
        return self.run_job(parsed_args)

    def refusal(self, plan: Plan, request: Request) -> str | None:
        from osc_evacuate.core import refusals

        return refusals.plan_refusal(plan, request)

    def carry_out(
        self,
        api: ComputeAPI,
        plan: Plan,
        request: Request,
        progress: ProgressLine,
        journal: Journal,
    ) -> Report:
        from osc_evacuate.core import evacuation

        return evacuation.carry_out(
            api,
            plan,
            request,
            self.clock,
            progress,
            self.fence(request),
            journal,
        )

    def make_request(
        self, parsed_args: argparse.Namespace, api: ComputeAPI
    ) -> Request:
        from osc_evacuate.core.models import Request

        request = self.request(
            parsed_args,
            Request(
                options=options.evacuate_options(
                    parsed_args,
                    self.destination(parsed_args),
                    self.password(parsed_args),
                ),
                pinned=pin.pinned_version(
                    self.app.client_manager.get_configuration(), api
                ),
                wait=options.wait_policy(parsed_args),
                ignore_capacity=parsed_args.ignore_capacity,
            ),
        )
        LOG.debug(
            "at most %d requests in flight; dry run %s; capacity %s",
            request.max_parallel,
            parsed_args.dry_run,
            "ignored" if request.ignore_capacity else "checked",
        )
        return request


def _warn_about_capacity(plan: Plan) -> None:
    """What the operator should know before the requests go: servers that
    fit only by filling hosts, or a capacity that could not be judged."""
    from osc_evacuate.core.models import NOT_NEEDED, Fit

    tight = sum(r.fit is Fit.TIGHT for r in plan.rows)
    if tight:
        LOG.warning(
            "%d servers fit only by filling hosts to their last 10%%",
            tight,
        )
    check = plan.capacity
    if check.source is None and check != NOT_NEEDED:
        LOG.warning("capacity not checked: %s", check.why_not)


class Lister(EvacuateCommand, command.Lister):
    """A command whose result is one row per server (host evacuate)."""


class ShowOne(EvacuateCommand, command.ShowOne):
    """A command whose result is one server (server evacuate)."""
