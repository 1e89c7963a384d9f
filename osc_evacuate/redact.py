"""Keep `server evacuate --password` values out of OSC's log of our run.

osc-lib logs the command line (``START with options: ...``, at -v and in
a --log-file) through oslo's mask_password, which shows ``***=b@c`` for
``--password a=b@c`` and leaves ``--pass a=b@c`` (an argparse prefix of
--password) as typed. Nothing else in our run logs the value: the parsed
arguments show it as ``'***'`` (options.Secret) and the evacuate request
goes out with keystoneauth's logging off (core.transport).

The plugin module is imported before osc-lib logs anything, and only then
can a value be taken out of that line. So when the command line is our
``server evacuate`` with --password values, install() adds a filter to
the two loggers an OSC run logs the command line and its errors with:
osc-lib's shell logger and cliff's application logger. The filter

- writes the START line as osc-lib would have for the same command line
  with each --password value replaced by ``***``;
- as a safety net, replaces each value in full, in every spelling a log
  line can hold it (as typed, repr'd, JSON-escaped, URL-encoded), in any
  other record of those loggers, tracebacks included.

Nothing else is touched: no other logger, no other command, no log record
factory. Other commands, a password given to one of them included, log
exactly what they log without the plugin (see
tests/functional/test_logging.py).
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from collections.abc import Sequence

LOG = logging.getLogger(__name__)

MASK = "***"
OPTION = "--password"
# argparse takes any unambiguous prefix of an option; "--p" is ambiguous
# (cliff's --prefix) and refused, but it was meant as --password and is
# still logged before argparse refuses it.
SHORTEST_PREFIX = len("--p")
# The only one of our commands with --password.
COMMAND = ("server", "evacuate")

# osc_lib.shell.OpenStackShell.initialize_app:
#   log.info("START with options: %s", mask_password(" ".join(argv)))
SHELL_LOGGER = "osc_lib.shell"
START = "START with options: %s"


def _password_option(arg: str) -> tuple[bool, str | None]:
    """Whether arg names --password (or a prefix of it), and the value it
    carries itself (``--password=v``), if any."""
    name, eq, value = arg.partition("=")
    if len(name) < SHORTEST_PREFIX or not OPTION.startswith(name):
        return False, None
    return True, value if eq else None


def passwords_in(argv: Sequence[str]) -> list[str]:
    """The values of --password in argv (``--password v``, ``--password=v``,
    and argparse's prefixes such as ``--pass v``)."""
    found = []
    for i, arg in enumerate(argv):
        named, value = _password_option(arg)
        if not named:
            continue
        if value is not None:
            found.append(value)
        elif i + 1 < len(argv):
            found.append(argv[i + 1])
    return [v for v in found if v]


def masked(argv: Sequence[str]) -> list[str]:
    """argv with each --password value replaced by MASK."""
    out = list(argv)
    for i, arg in enumerate(argv):
        named, value = _password_option(arg)
        if not named:
            continue
        if value is not None:
            out[i] = f"{arg.partition('=')[0]}={MASK}"
        elif i + 1 < len(argv):
            out[i + 1] = MASK
    return out


def is_ours(argv: Sequence[str]) -> bool:
    """Whether argv runs our ``server evacuate`` (its words adjacent)."""
    return any(
        tuple(argv[i : i + len(COMMAND)]) == COMMAND for i in range(len(argv))
    )


def spellings(secret: str) -> list[str]:
    """The ways a log line can spell the whole secret, longest first."""
    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret, safe=""),
    }
    return sorted(forms, key=len, reverse=True)


def cliff_logger_name(argv0: str) -> str:
    """The logger cliff's App logs errors with: named after the program,
    as cliff.app.App.NAME computes it."""
    name = os.path.splitext(os.path.basename(argv0))[0]
    if name == "__main__":
        name = os.path.split(os.path.dirname(argv0))[-1]
    return name


class CommandLineFilter(logging.Filter):
    """Takes the --password values of one command line out of the records
    of the logger it is added to."""

    def __init__(self, argv: Sequence[str]) -> None:
        super().__init__()
        self.argv = list(argv)
        self.forms = [f for s in passwords_in(argv) for f in spellings(s)]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == START and record.name == SHELL_LOGGER:
            self._rewrite_start(record)
        self._scrub(record)
        return True

    def _rewrite_start(self, record: logging.LogRecord) -> None:
        # osc-lib has imported oslo.utils by the time it logs this line;
        # the plugin module itself must stay cheap to import.
        from oslo_utils import strutils

        logged = record.args[0] if isinstance(record.args, tuple) else None
        if logged == strutils.mask_password(" ".join(self.argv)):
            shown = strutils.mask_password(" ".join(masked(self.argv)))
            LOG.debug(
                "osc-lib's log of the command line: --password "
                "values shown as %s",
                MASK,
            )
        else:
            # Not the command line the plugin was imported for (OSC run
            # from Python with another argv): it cannot be told which
            # words are passwords, so none of it is shown.
            shown = MASK
            LOG.debug(
                "osc-lib's log of the command line: hidden, not "
                "the command line of this run"
            )
        record.args = (shown,)

    def _scrub(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format: logging reports it later
            return
        clean = self.scrub(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            text = logging.Formatter().formatException(record.exc_info)
            clean = self.scrub(text)
            if clean != text:
                record.exc_info, record.exc_text = None, clean

    def scrub(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, MASK)
        return text


def install(argv: Sequence[str], argv0: str = "openstack") -> None:
    """Filter the --password values of argv out of the loggers OSC logs
    the command line and its errors with, if argv is our command with
    any; otherwise do nothing."""
    if not (is_ours(argv) and any(_password_option(a)[0] for a in argv)):
        return
    shell_filter = CommandLineFilter(argv)
    for name in (SHELL_LOGGER, cliff_logger_name(argv0)):
        logging.getLogger(name).addFilter(shell_filter)
