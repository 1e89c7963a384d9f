"""Exit codes: how a script learns the outcome without parsing rows.

cliff exits 0 once it has printed; these commands print every row, then
say through the exit code whether some server failed or is unproven.
2 is argparse's own code for a command line it could not parse; 1 is
OSC's for any error (a CommandError) before anything was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from osc_evacuate.core.models import ServerOutcome

LOG = logging.getLogger(__name__)

EXIT_OK = 0
# OSC's own code for a CommandError; a dry run gives it when a run would
# refuse before sending anything.
EXIT_REFUSED = 1
EXIT_BAD_COMMAND_LINE = 2
EXIT_FAILED = 3
EXIT_TIMED_OUT = 4
EXIT_NOT_PROVEN = 5
# host evacuation show and finish: the host must not return yet, --force
# or not: an evacuation from it is under way, or its records wait for its
# nova-compute to restart.
EXIT_WAITING = 6
EXIT_INCOMPLETE = 7  # show: servers that could be evacuated are left
# The shell's code for a command ended by SIGINT (cliff's too).
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0  every server was evacuated (verified, with --wait), or nothing needed
     doing; servers Nova cannot evacuate are reported as skipped; with
     --dry-run, a run would go ahead
  1  an error before any evacuation request (bad option, unknown name,
     host still up, no room for some servers, another run of this tool
     on this machine working on the host): nothing was evacuated;
     with --dry-run, the plan is printed and a run would refuse
  2  the command line could not be parsed: nothing was evacuated
  3  one or more servers were refused, failed to evacuate or are stuck
  4  --wait timed out before every evacuation was proven (none failed)
  5  evacuations were sent, but Nova's answers could not prove them
     (it refused the polls for good, or stopped answering): run again
  130  interrupted (Ctrl-C): nothing more was sent; the rows show what
     is known, and running the command again finishes the job
"""

LIFECYCLE_EXIT_CODES_HELP = """\
exit codes:
  0  show: the host is ready to return, or in service; finish: it is back
     in service (or left disabled, with --keep-disabled)
  1  an error; finish: servers that could be evacuated are still on the
     host (--force returns it with them): nothing was changed
  2  the command line could not be parsed
  6  the host must not return yet, and --force does not change that: an
     evacuation from it is still under way (accepted or pre-migrating: do
     not start its nova-compute, whose start-up would destroy the only
     copy of those servers), or its evacuation records are still done
     (start its nova-compute); finish changed nothing. The verdict of
     show says which
  7  show: evacuation incomplete (servers that could be evacuated are
     still on the host)
"""

RETIRE_EXIT_CODES_HELP = """\
exit codes:
  0  the host is retired: its service and resource providers are gone, and
     nothing is allocated against them; with --dry-run, a run would go
     ahead
  1  an error before anything was removed: the host is up, or down by its
     heartbeat only (not forced down), Placement cannot be read, or an
     allocation on its providers is not one Nova's audit removes
  2  the command line could not be parsed
  3  a removal failed, or a read after it shows it undone: the rows say
     which (those after it: not done); running the command again goes on
  6  not yet: an evacuation from the host, or a migration that involves
     it, is still under way; nothing was removed
  7  servers are still on the host: evacuate or delete them first;
     nothing was removed
"""


def exit_code(rows: Sequence[ServerOutcome], interrupted: bool = False) -> int:
    """A failure outranks an unproven row, which outranks a timeout: the
    first needs a person sooner. Ctrl-C outranks all: the rows are not the
    whole story."""
    from osc_evacuate.core.models import Result

    # Results that need a person: Nova will not finish them by itself.
    failures = (Result.FAILED, Result.STUCK)
    if interrupted:
        LOG.debug("exit code %d: interrupted", EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    failed = sum(row.result in failures for row in rows)
    unproven = sum(row.result is Result.NOT_PROVEN for row in rows)
    timed_out = sum(row.result is Result.TIMED_OUT for row in rows)
    code = EXIT_OK
    if failed:
        code = EXIT_FAILED
    elif unproven:
        code = EXIT_NOT_PROVEN
    elif timed_out:
        code = EXIT_TIMED_OUT
    LOG.debug(
        "exit code %d: of %d servers, %d failed or stuck, %d not proven, "
        "%d timed out",
        code,
        len(rows),
        failed,
        unproven,
        timed_out,
    )
    return code
