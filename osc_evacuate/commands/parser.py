"""The commands' argument parser: cliff's, with two differences.

* A bad command line is one line on stderr and exit 2, e.g.
  "openstack host evacuate: error: argument --wait: expected ...".
  argparse prints the whole usage block first, which buries the one line
  that says what is wrong.
* `--wait <server>` still means "wait for <server>". OSC's --wait takes no
  value; ours takes an optional timeout, so a word after it that is not a
  number is read as the positional argument, as OSC users expect.

base.py makes cliff build every parser of ours from this class.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterable
from typing import NoReturn, TypeVar, overload

from cliff import _argparse

from osc_evacuate.commands.exit_codes import EXIT_BAD_COMMAND_LINE

LOG = logging.getLogger(__name__)

_N = TypeVar("_N")

WAIT = "--wait"


class EvacuateParser(_argparse.ArgumentParser):
    """cliff's parser (OSC's conflict rules, paged help), see above."""

    def error(self, message: str) -> NoReturn:
        """One line and exit 2 (argparse prints the usage first)."""
        self.exit(EXIT_BAD_COMMAND_LINE, f"{self.prog}: error: {message}\n")

    # typeshed's overloads, repeated so that the override type-checks.
    @overload
    def parse_known_args(
        self, args: Iterable[str] | None = None, namespace: None = None
    ) -> tuple[argparse.Namespace, list[str]]: ...

    @overload
    def parse_known_args(
        self, args: Iterable[str] | None, namespace: _N
    ) -> tuple[_N, list[str]]: ...

    @overload
    def parse_known_args(self, *, namespace: _N) -> tuple[_N, list[str]]: ...

    def parse_known_args(
        self,
        args: Iterable[str] | None = None,
        namespace: object = None,
    ) -> tuple[object, list[str]]:
        words = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(bare_wait(words), namespace)


def bare_wait(args: list[str]) -> list[str]:
    """Write `--wait <word>` as `--wait=0 <word>` unless word is a number.

    "nan" and "inf" count as numbers here, so that --wait's own check
    refuses them rather than taking them for a server or host name.
    """
    out = []
    for i, arg in enumerate(args):
        following = args[i + 1] if i + 1 < len(args) else None
        if arg == WAIT and following and not _is_number(following):
            # The word itself is not logged: it could be anything.
            LOG.debug("--wait before a word that is not a number: no timeout")
            arg = f"{WAIT}=0"
        out.append(arg)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
