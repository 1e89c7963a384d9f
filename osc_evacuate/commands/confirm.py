"""Asking the operator before a change that only they can vouch for.

Forcing a compute service down tells Nova the host is dead: if it is not
fenced, its servers would run twice once evacuated. So a person at a
terminal is asked, on stderr (stdout holds only the result), naming the
host; a script says --yes; with neither, nothing is changed.
"""

from __future__ import annotations

import logging
from typing import TextIO

from osc_lib import exceptions

LOG = logging.getLogger(__name__)

YES = frozenset({"y", "yes"})


def confirm(
    question: str,
    refusal: str,
    stdin: TextIO,
    stderr: TextIO,
    yes: bool,
) -> None:
    """Return when confirmed; else CommandError(refusal or why not)."""
    if yes:
        LOG.debug("confirmed by --yes: %s", question)
        return
    if not stdin.isatty():
        raise exceptions.CommandError(
            f"{refusal}: pass --yes to confirm when not at a terminal; "
            "nothing was changed"
        )
    stderr.write(f"{question} [y/N] ")
    stderr.flush()
    answer = stdin.readline().strip().lower()
    LOG.debug("answered %r", answer)
    if answer not in YES:
        raise exceptions.CommandError(
            f"{refusal}: not confirmed; nothing was changed"
        )


def force_down(
    hosts: list[str],
    reason: str | None,
    stdin: TextIO,
    stderr: TextIO,
    yes: bool,
) -> None:
    named = ", ".join(hosts)
    them = "them" if len(hosts) > 1 else "it"
    disable = f", and disable {them} ({reason!r})" if reason else ""
    confirm(
        f"Mark nova-compute on {named} forced down{disable}? Do so only if "
        f"{named} {'are' if len(hosts) > 1 else 'is'} fenced (powered "
        f"off): Nova then evacuates from {them} at once.",
        f"--force-down would mark nova-compute on {named} forced down",
        stdin,
        stderr,
        yes,
    )
