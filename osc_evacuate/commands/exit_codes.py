"""Exit codes: how a script learns the outcome without parsing rows.

cliff exits 0 once it has printed; these commands print every row, then
say through the exit code whether some server failed or is unproven.
2 is argparse's own code for a command line it could not parse; 1 is
OSC's for any error (a CommandError) before anything was sent.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from osc_evacuate.core.outcome import Result, ServerOutcome

LOG = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BAD_COMMAND_LINE = 2
EXIT_FAILED = 3
EXIT_TIMED_OUT = 4
# The shell's code for a command ended by SIGINT (cliff's too).
EXIT_INTERRUPTED = 130

EXIT_CODES_HELP = """\
exit codes:
  0  every server was evacuated (verified, with --wait), or nothing needed
     doing; servers Nova cannot evacuate are reported as skipped
  1  an error before any evacuation request (bad option, unknown name,
     host still up): nothing was evacuated
  2  the command line could not be parsed: nothing was evacuated
  3  one or more servers were refused or failed to evacuate
  4  --wait timed out before every evacuation was proven (none failed)
  130  interrupted (Ctrl-C): nothing more was sent; the rows show what
     is known, and running the command again finishes the job
"""


def exit_code(rows: Sequence[ServerOutcome], interrupted: bool = False) -> int:
    """A failure outranks a timeout: it needs a person sooner. Ctrl-C
    outranks both: the rows are not the whole story."""
    if interrupted:
        LOG.debug("exit code %d: interrupted", EXIT_INTERRUPTED)
        return EXIT_INTERRUPTED
    failed = sum(row.result is Result.FAILED for row in rows)
    timed_out = sum(row.result is Result.TIMED_OUT for row in rows)
    code = EXIT_OK
    if failed:
        code = EXIT_FAILED
    elif timed_out:
        code = EXIT_TIMED_OUT
    LOG.debug(
        "exit code %d: %d of %d servers failed, %d timed out",
        code,
        failed,
        len(rows),
        timed_out,
    )
    return code
