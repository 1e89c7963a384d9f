"""Tables of the docs generated from the code, so that they cannot drift.

The microversion rules, the option ranges, the exit codes, the power-state
policy, the output columns and the wait's decisions are data in
osc_evacuate. Each directive here renders one of them when the docs are
built. Words for a value the code has (a column, a result, an exit code)
live here; a value with no words, or words for a value the code no longer
has, is a build warning, which `make docs` (-W) makes an error: whoever
adds one describes it here.

It also has cliff's autoprogram-cliff show a preformatted epilog (the exit
codes under --help) as the terminal shows it, not as reStructuredText.
"""

from __future__ import annotations

import argparse
import enum
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from cliff import commandmanager
from cliff import sphinxext as cliff_sphinxext
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from osc_evacuate.commands import (
    drain,
    exit_codes,
    host,
    lifecycle,
    osc_columns,
    plan_view,
    retire,
    server,
)
from osc_evacuate.core import models, plan, rules, verdict
from osc_evacuate.core.microversion import Microversion
from osc_evacuate.core.models import (
    EVACUABLE_VM_STATES,
    EvacuateOptions,
    Server,
    TargetState,
)

LOG = logging.getLogger(__name__)

# An example destination for request bodies; any name would do.
EXAMPLE_HOST = "compute02"
# Nova's status for each evacuable vm_state.
STATUS_OF_VM_STATE = {
    "active": "ACTIVE",
    "stopped": "SHUTOFF",
    "error": "ERROR",
}

COLUMN_MEANINGS = {
    "ID": "the server's ID",
    "Name": "its name",
    "Project": "its project's ID",
    "Status": "its status now (``ACTIVE``, ``SHUTOFF``, ``ERROR``...)",
    "Task State": "its task state now; empty when no task is under way",
    "Host": "the host it is on now",
    "Status Before": (
        "its status when the command started; empty for a server an "
        "earlier run evacuated (it is no longer on the host)"
    ),
    "Source Host": "the host it was evacuated from",
    "Action": "what this run did with it (see Action below)",
    "Migration Status": (
        "the status of its evacuation migration record (``accepted``, "
        "``pre-migrating``, ``done``, ``completed``, ``error``, "
        "``failed``); empty when there is none"
    ),
    "Destination": (
        "the host it landed on, or the host its migration record names "
        "until then; empty while unknown"
    ),
    "Status After": (
        "its status when the command finished; empty when it was not read "
        "again"
    ),
    "Result": "how it ended (see Result below)",
    "Error": (
        "why it was skipped, failed, is stuck or not proven, or what an "
        "interruption left; empty otherwise"
    ),
    "Seconds": (
        "seconds from its submission to its result, to a tenth; empty "
        "when this run did not submit it, or submitted it and did not wait"
    ),
    "Admin Password": (
        "only before microversion 2.14, when Nova generated a password "
        "and you gave none with ``--password``"
    ),
    "Selected By": (
        "with ``--evacuable-mark``: which mark let it in (``flavor ha "
        "carries evacuable=true; aggregate prod carries evacuable=true``); "
        "a server the mark leaves out is ``skipped``, the reason in Error "
        "(see :doc:`plan`)"
    ),
    "Risk": (
        "what evacuating it puts at risk: ``local disk lost`` (an image-"
        "backed root disk, rebuilt from its image), ``volume-backed: disk "
        "kept``, ``refused by Nova: <why>``; empty when nothing is (see "
        ":doc:`plan`)"
    ),
    "Capacity": (
        "``fits``, ``tight`` (fits only by filling a host to its last "
        "10 %), ``no room`` or ``unknown`` on the hosts that can take it; "
        "empty when it would not be submitted"
    ),
    "Capacity Limit": (
        "why it is ``tight`` or has ``no room``: the resource classes "
        "short where it may go (``CUSTOM_X``; ``VCPU or DISK_GB`` when "
        "each host lacks one of them), or the rule that keeps it off the "
        "hosts with room (``availability zone az2``, ``anti-affinity "
        "group web``, ``affinity group db``); ``flavor not known`` when "
        "``unknown``; empty when it fits (see :doc:`plan`)"
    ),
    "Microversion": "the compute API microversion of the evacuate request",
    "End State": (
        "the status it would end in under ``--target-state``; empty when "
        "skipped"
    ),
    "Target": (
        "the host asked for with ``--target-host`` (``--host``), or "
        "``scheduler``; empty when it would not be submitted"
    ),
    "Method": (
        "``host drain``: how the server is moved, ``live`` or ``cold``; "
        "``cold, after live migration <id> <status>: stopped and started "
        "again`` (or ``cold, after live migration refused: <Nova's "
        "words>: ...``) when ``--cold-fallback`` took over"
    ),
    "Locked": (
        "what ``--lock`` did: ``locked, then unlocked``, ``locked`` (an "
        "unlock failed, with why), ``already locked: left locked``, ``not "
        "locked: <why>``; empty without ``--lock``"
    ),
    "Rescue": (
        "what ``--rescue`` did: ``reset to error from PAUSED (vm_state "
        "paused)``, then ``ends ACTIVE``, ``ends SHUTOFF``, or ``evacuated, "
        "then put back in error``; in a plan, ``would reset to error from "
        "...``; empty for a server not rescued"
    ),
    "Phase": (
        "with ``--priority-property``: its phase, ``1`` first (the highest "
        "priority); empty for a server not sent nor waited for"
    ),
    "Fencing": (
        "how the row's source host was fenced: ``forced down`` (before this "
        "run), ``forced down by this run (--force-down)``, ``fenced, says "
        "the operator (--fenced)``, ``fenced by --fence-command`` (``, "
        "--fence-check says off``); in a plan, what a run would do, or "
        "``not fenced: down by its heartbeat only``, which a run refuses"
    ),
    "Request ID": (
        "Nova's ``x-openstack-request-id`` of the evacuate request that did "
        "the work (or that Nova refused): the id Nova's own logs give that "
        "request; empty when this run sent none"
    ),
    "Host Action": (
        "what ``--force-down`` would change on the source's nova-compute "
        "first: ``force down``, and ``disable: <reason>`` with "
        "``--disable-reason``"
    ),
}

ACTION_MEANINGS = {
    "submitted": "this run asked Nova to evacuate it",
    "skipped": (
        "not evacuable (its vm_state, or a task in progress): left alone, "
        "with the reason in Error"
    ),
    "resumed": (
        "an earlier run's evacuation was still under way: waited for, not "
        "sent again"
    ),
    "none": "evacuated by an earlier run: nothing to do",
}

RESULT_MEANINGS = {
    "submitted": "Nova accepted the request; not waited for",
    "in progress": (
        "an earlier run's evacuation, still under way; not waited for"
    ),
    "verified": (
        "proven: its migration record is ``done`` or ``completed``, it is "
        "on another host, and in the state ``--target-state`` promises"
    ),
    "failed": (
        "Nova refused or failed it (record ``error`` or ``failed``, or the "
        "server ended in another state); Error says why"
    ),
    "timed out": "not proven when the ``--wait`` timeout came",
    "skipped": "not evacuable; Error says why",
    "already evacuated": (
        "an earlier run evacuated it during this outage, and it is in the "
        "promised state now"
    ),
    "deleted": "deleted (by its owner) before it was proven",
    "interrupted": (
        "Ctrl-C came before its request was sent or answered; running the "
        "command again finds out"
    ),
    "stuck": (
        "Nova will not finish it (its destination is down, or no progress "
        "for too long); Error says what to do"
    ),
    "not proven": (
        "sent, but Nova refused the polls for good or did not answer them "
        "for too long: nothing proves how it went"
    ),
}

# What the wait does on each kind of verdict; the row's end is added from
# Kind.ends_as. A kind with no words here shows its own name.
KIND_MEANINGS = {
    "resubmit": (
        "set that migration record aside and send the evacuation again"
    ),
    "stop": "stop the server (``os-stop``) and keep waiting",
    "await fault": ("wait a few more polls for Nova's fault message"),
    "keep waiting": "keep waiting",
}


def list_table(
    header: Sequence[str], rows: Iterable[Sequence[str]]
) -> list[str]:
    """A list-table directive: cells may hold inline markup."""
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: auto", ""]
    for row in [header, *rows]:
        for i, cell in enumerate(row):
            bullet = "   * - " if i == 0 else "     - "
            lines.append(bullet + (cell or ""))
    return [*lines, ""]


def versions(rule: rules.EvacuateRule) -> str:
    if rule.last is None:
        return f"{rule.first} and later"
    return f"{rule.first} to {rule.last}"


def body_text(version: Microversion, options: EvacuateOptions) -> str:
    body = {"evacuate": rules.evacuate_body(version, options)}
    return f"``{json.dumps(body)}``"


def check_described(
    kind: str,
    described: Iterable[object],
    in_code: Iterable[object],
    location: str,
) -> None:
    """Warn about a value of the code with no words here, or the reverse."""
    described, in_code = list(described), list(in_code)
    for value in in_code:
        if value not in described:
            LOG.warning(
                "%s %s has no description in %s",
                kind,
                value,
                __file__,
                location=location,
            )
    for value in described:
        if value not in in_code:
            LOG.warning(
                "%s %s is described in %s but the code has none",
                kind,
                value,
                __file__,
                location=location,
            )


class GeneratedTable(SphinxDirective):
    """Renders the reStructuredText that lines() makes from the code."""

    optional_arguments = 1
    final_argument_whitespace = True

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        text = "\n".join(self.lines())
        LOG.debug("%s at %s:\n%s", self.name, self.get_location(), text)
        return list(self.parse_text_to_nodes(text))


class MicroversionRules(GeneratedTable):
    """EVACUATE_RULES: what each range sends and does."""

    def lines(self) -> list[str]:
        rows = []
        for rule in rules.EVACUATE_RULES:
            plain = body_text(rule.first, EvacuateOptions())
            to_host = body_text(rule.first, EvacuateOptions(host=EXAMPLE_HOST))
            if rule.accepts_force:
                forced = body_text(
                    rule.first, EvacuateOptions(host=EXAMPLE_HOST, force=True)
                )
                checked = (
                    f"checked by the scheduler, unless ``--force``: {forced}"
                )
            elif rule.host_validated:
                checked = "checked by the scheduler"
            else:
                checked = "forced: the scheduler is not asked"
            # Both: Nova rebuilds an ERROR server into ACTIVE.
            if rule.ends_stopped:
                ends = "SHUTOFF (ERROR ones: ACTIVE)"
            else:
                ends = "as they were (ERROR ones: ACTIVE)"
            answer = (
                'the new password, ``{"adminPass": ...}``'
                if rule.returns_admin_pass
                else "empty"
            )
            rows.append(
                (versions(rule), plain, to_host, checked, ends, answer)
            )
        return list_table(
            (
                "Microversions",
                "Body sent",
                f"Body sent with a host ({EXAMPLE_HOST})",
                "A requested host is",
                "Servers end",
                "Nova's answer",
            ),
            rows,
        )


class OptionMicroversions(GeneratedTable):
    """Where each option can be honoured, as the error messages say it."""

    def lines(self) -> list[str]:
        stopped = TargetState.STOPPED
        cases = (
            EvacuateOptions(shared_storage=True, target_state=stopped),
            EvacuateOptions(host=EXAMPLE_HOST, target_state=stopped),
            EvacuateOptions(
                host=EXAMPLE_HOST, force=True, target_state=stopped
            ),
            EvacuateOptions(),
        )
        seen: dict[str, str] = {}
        for options in cases:
            for need in rules.requirements(options, "--host / --target-host"):
                seen.setdefault(need.option, need.versions() + need.hint)
        rows = [(f"``{option}``", where) for option, where in seen.items()]
        rows.append(
            (
                "``--target-state stopped``",
                f"any; below {rules.stops_itself_from()} only with "
                "``--wait``: each server is stopped once it has landed",
            )
        )
        return list_table(("Option", "Microversions"), rows)


class Features(GeneratedTable):
    """rules.features.FEATURES: the other microversion facts relied on."""

    def lines(self) -> list[str]:
        rows = [
            (
                feature.service,
                feature.versions(),
                feature.what,
            )
            for feature in rules.FEATURES
        ]
        return list_table(("API", "Microversions", "What it gives"), rows)


def parse_exit_codes(text: str) -> list[tuple[int, str]]:
    """EXIT_CODES_HELP's entries: "  <code>  <words>" and indented lines
    that go on."""
    codes: list[tuple[int, str]] = []
    for line in text.splitlines()[1:]:
        entry = re.match(r"^  (\d+)  (.*)$", line)
        if entry:
            codes.append((int(entry.group(1)), entry.group(2).strip()))
        elif line.strip() and codes:
            code, words = codes[-1]
            codes[-1] = (code, f"{words} {line.strip()}")
    return codes


class ExitCodes(GeneratedTable):
    """EXIT_CODES_HELP, the epilog of the evacuate commands' --help; with
    the argument "lifecycle", the host evacuation show/finish one's."""

    def lines(self) -> list[str]:
        lifecycle = bool(self.arguments) and self.arguments[0] == "lifecycle"
        only_lifecycle = {exit_codes.EXIT_WAITING, exit_codes.EXIT_INCOMPLETE}
        named = {
            value
            for name, value in vars(exit_codes).items()
            if name.startswith("EXIT_") and isinstance(value, int)
        }
        if lifecycle:
            codes = parse_exit_codes(exit_codes.LIFECYCLE_EXIT_CODES_HELP)
            expected = only_lifecycle | {0, 1, 2}
        else:
            codes = parse_exit_codes(exit_codes.EXIT_CODES_HELP)
            # 1 is OSC's CommandError, not ours.
            expected = (named - only_lifecycle) | {1}
        check_described(
            "exit code",
            [code for code, _ in codes],
            sorted(expected),
            self.get_location(),
        )
        table = list_table(
            ("Code", "Meaning"),
            [(f"``{code}``", literal_options(words)) for code, words in codes],
        )
        if lifecycle:
            return table
        # Which code wins when rows differ: exit_code() says it, and why.
        ranking = " ".join((exit_codes.exit_code.__doc__ or "").split())
        return [*table, f"One code per run. {ranking}", ""]


def literal_options(words: str) -> str:
    """Show --options as code, as the rest of the docs do."""
    return re.sub(r"(--[a-z][a-z-]*)", r"``\1``", words)


class PowerStates(GeneratedTable):
    """plan.expected_status: the status a verified server is in."""

    def lines(self) -> list[str]:
        check_described(
            "vm_state",
            STATUS_OF_VM_STATE,
            sorted(EVACUABLE_VM_STATES),
            self.get_location(),
        )
        rows = []
        for vm_state, status in STATUS_OF_VM_STATE.items():
            before = Server(
                id="",
                name="",
                project_id="",
                status=status,
                vm_state=vm_state,
                task_state=None,
                host=None,
            )
            ends = [
                plan.expected_status(before, target) for target in TargetState
            ]
            rows.append(
                (f"{status} (vm_state ``{vm_state}``)", *ends),
            )
        return list_table(
            (
                "Before",
                *(f"``--target-state {t.value}``" for t in TargetState),
            ),
            rows,
        )


def server_fields() -> tuple[str, ...]:
    """The names server evacuate shows, all of them: from its own show()."""
    before = Server(
        id="",
        name="",
        project_id="",
        status="ACTIVE",
        vm_state="active",
        task_state=None,
        host=None,
    )
    row = models.ServerOutcome(
        models.PlannedRow(
            before, models.Action.SUBMITTED, models.Result.SUBMITTED
        ),
        models.Result.SUBMITTED,
        admin_pass="generated",
    )
    names, _ = server.show(row, server.Shown(), reveal_password=True)
    return tuple(names)


class StockColumns(GeneratedTable):
    """Stock OSC's columns that server evacuate shows after its own."""

    def lines(self) -> list[str]:
        ours = server_fields()
        shown = osc_columns.stock_fields({}, None, ours)
        optional = ", ".join(f"``{c}``" for c in osc_columns.OPTIONAL_COLUMNS)
        taken = [c for c in osc_columns.STOCK_COLUMNS if c not in dict(shown)]
        return [
            ", ".join(f"``{name}``" for name, _ in shown)
            + f"; and {optional} when Nova sends them. Stock OSC's "
            + ", ".join(f"``{c}``" for c in taken)
            + " are ours of the same name: cliff's ``-c`` takes "
            "``-c id`` for ``ID``."
        ]


LIFECYCLE_MEANINGS = {
    "Host": "the evacuated host",
    "State": "its nova-compute, ``up`` or ``down``, as Nova judges it",
    "Forced Down": "whether its nova-compute is forced down",
    "Status": "its nova-compute, ``enabled`` or ``disabled``",
    "Disabled Reason": "why it is disabled; empty when enabled",
    "Evacuation Records": (
        'its evacuation records by status, e.g. ``{"done": 2}``'
    ),
    "Servers On Host": "how many servers Nova still places on it",
    "Not Evacuated": (
        "IDs of the servers still on it that could be evacuated (active, "
        "stopped or error)"
    ),
    "Unfinished": (
        "IDs of the servers still on it with an evacuation ``accepted`` "
        "or ``pre-migrating``: under way"
    ),
    "When Nova-Compute Starts": (
        "one line a record: the server's ID, the record's status, and what "
        "the host's nova-compute does for it when it starts (destroys the "
        "local guest and marks the record ``completed``, or nothing), "
        "those that destroy a server's only copy first"
    ),
    "Verdict": (
        "``evacuation under way``, ``evacuation incomplete``, ``waiting "
        "for nova-compute to restart``, ``ready to return`` or ``in "
        "service``"
    ),
    "Next Step": "what to do next, as a command where there is one",
    "Verdict Before": "the verdict ``show`` gave before the change",
    "Changed": "the requests that changed the service",
    "Warning": "with ``--force``: what Nova will do with what is left",
}

COMMAND_GROUP = "openstack.evacuate.v1"
COMMAND_COLUMNS: Mapping[str, Callable[[], Sequence[str]]] = {
    "host evacuate": lambda: host.COLUMNS,
    "server evacuate": server_fields,
    "host evacuate --dry-run": lambda: host.COLUMNS + plan_view.PLAN_COLUMNS,
    "server evacuate --dry-run": lambda: (
        server_fields() + plan_view.PLAN_COLUMNS
    ),
    "host evacuation show": lambda: lifecycle.SHOW_COLUMNS,
    "host evacuation finish": lambda: lifecycle.FINISH_COLUMNS,
    "host drain": lambda: drain.COLUMNS,
    "host drain --dry-run": lambda: drain.COLUMNS + plan_view.PLAN_COLUMNS,
    "host evacuation retire": lambda: retire.COLUMNS,
}
# The lifecycle commands' columns mean something of their own.
LIFECYCLE_COMMANDS = ("host evacuation show", "host evacuation finish")
# So do retire's: one row per thing removed, not per server.
RETIRE_COMMANDS = ("host evacuation retire",)
RETIRE_MEANINGS = {
    "Kind": (
        "``allocation``, ``compute service``, ``resource provider`` or "
        "``evacuation record``"
    ),
    "ID": (
        "the allocation's consumer (a server's id, or a migration "
        "record's uuid), the service's id, the provider's uuid, the "
        "record's id"
    ),
    "Name": (
        "the server's name, a migration record's type and id, the host, "
        "the provider's name"
    ),
    "Why": "why it may go, or stays, by Nova's own rules",
    "Result": (
        "``removed``, ``deleted``, ``removed by Nova``, ``already gone``, "
        "``left done``; ``would ...`` with ``--dry-run``; ``failed: "
        "<why>``, ``not done``"
    ),
}


def formats(command: str) -> list[str]:
    """The -f choices of the command's parser, built as cliff builds it."""
    manager = commandmanager.CommandManager(COMMAND_GROUP)
    command_class = manager.find_command(command.split())[0]
    # With no app, as cliff's autoprogram-cliff builds it.
    instance = command_class(None, None)  # type: ignore[arg-type]
    parser = instance.get_parser(f"openstack {command}")
    for action in parser._actions:
        if "--format" in action.option_strings and action.choices:
            return sorted(str(choice) for choice in action.choices)
    return []


class Columns(GeneratedTable):
    """The columns of one command (the argument), in output order, and
    its formats."""

    required_arguments = 1
    optional_arguments = 0

    def lines(self) -> list[str]:
        command = self.arguments[0]
        check_described(
            "command",
            # "host evacuate --dry-run" is host evacuate's, too.
            {name.split(" --")[0] for name in COMMAND_COLUMNS},
            commandmanager.CommandManager(COMMAND_GROUP).commands,
            self.get_location(),
        )
        if command not in COMMAND_COLUMNS:
            LOG.warning(
                "no command %r; one of %s",
                command,
                ", ".join(COMMAND_COLUMNS),
                location=self.get_location(),
            )
            return []
        names = COMMAND_COLUMNS[command]()
        own = (*LIFECYCLE_COMMANDS, *RETIRE_COMMANDS)
        for group, meanings in (
            ([c for c in COMMAND_COLUMNS if c not in own], COLUMN_MEANINGS),
            (list(LIFECYCLE_COMMANDS), LIFECYCLE_MEANINGS),
            (list(RETIRE_COMMANDS), RETIRE_MEANINGS),
        ):
            every = {n for c in group for n in COMMAND_COLUMNS[c]()}
            check_described(
                "column", meanings, sorted(every), self.get_location()
            )
        meanings = (
            LIFECYCLE_MEANINGS
            if command in LIFECYCLE_COMMANDS
            else RETIRE_MEANINGS
            if command in RETIRE_COMMANDS
            else COLUMN_MEANINGS
        )
        choices = ", ".join(f"``{f}``" for f in formats(command))
        return [
            f"Formats (``-f``): {choices}.",
            "",
            *list_table(
                ("Column (JSON key)", "Meaning"),
                [(f"``{n}``", meanings.get(n, "")) for n in names],
            ),
        ]


def enum_table(
    directive: SphinxDirective,
    kind: str,
    members: type[enum.Enum],
    meanings: Mapping[str, str],
) -> list[str]:
    """Keyed by value: what the output shows, and what survives a rename
    of the member."""
    values = [str(m.value) for m in members]
    check_described(kind, meanings, values, directive.get_location())
    return list_table(
        ("Value", "Meaning"),
        [(f"``{v}``", meanings.get(v, "")) for v in values],
    )


class Actions(GeneratedTable):
    def lines(self) -> list[str]:
        return enum_table(self, "action", models.Action, ACTION_MEANINGS)


class Results(GeneratedTable):
    def lines(self) -> list[str]:
        return enum_table(self, "result", models.Result, RESULT_MEANINGS)


class WaitRules(GeneratedTable):
    """verdict.RULES: the first that applies decides, after each poll."""

    def lines(self) -> list[str]:
        rows = []
        for number, rule in enumerate(verdict.RULES, 1):
            then = KIND_MEANINGS.get(rule.kind.value, rule.kind.value)
            if rule.kind.ends_as is not None:
                then = f"the row ends ``{rule.kind.ends_as.value}``"
            rows.append((str(number), rule.name, then))
        return list_table(("", "What the poll shows", "Then"), rows)


def raw_epilog(
    original: Callable[[argparse.ArgumentParser], Iterable[str]],
) -> Callable[[argparse.ArgumentParser], Iterator[str]]:
    """cliff renders an epilog as reStructuredText. Ours is preformatted
    for the terminal (RawDescriptionHelpFormatter): show it as it is."""

    def format_epilog(parser: argparse.ArgumentParser) -> Iterator[str]:
        raw = isinstance(parser.formatter_class, type) and issubclass(
            parser.formatter_class, argparse.RawDescriptionHelpFormatter
        )
        if not raw:
            yield from original(parser)
            return
        yield "::"
        yield ""
        for line in (parser.epilog or "").splitlines():
            yield f"    {line}" if line else ""

    return format_epilog


def setup(app: Sphinx) -> dict[str, Any]:
    cliff_sphinxext._format_epilog = raw_epilog(  # type: ignore[assignment]
        cliff_sphinxext._format_epilog
    )
    for name, directive in (
        ("evacuate-microversions", MicroversionRules),
        ("evacuate-option-microversions", OptionMicroversions),
        ("evacuate-features", Features),
        ("evacuate-exit-codes", ExitCodes),
        ("evacuate-power-states", PowerStates),
        ("evacuate-columns", Columns),
        ("evacuate-stock-columns", StockColumns),
        ("evacuate-actions", Actions),
        ("evacuate-results", Results),
        ("evacuate-wait-rules", WaitRules),
    ):
        app.add_directive(name, directive)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
