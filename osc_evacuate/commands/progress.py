"""The progress counter on stderr, shown only when stderr is a terminal.

stdout holds only the result (a table, JSON, CSV) and a script reading
stderr wants no carriage returns, so nothing is drawn unless a person is
watching.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from osc_evacuate.core.models import ServerOutcome

LOG = logging.getLogger(__name__)


class ProgressLine:
    """One line, redrawn in place after each submission and poll."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()
        self._shown = False
        LOG.debug(
            "progress line %s",
            "on" if self.enabled else "off: stderr is not a terminal",
        )

    def __call__(self, rows: Sequence[ServerOutcome]) -> None:
        if not self.enabled:
            return
        from osc_evacuate.core.models import Progress

        p = Progress.of(tuple(rows))
        self.stream.write(
            f"\rEvacuating: {p.verified} verified, {p.failed} failed, "
            f"{p.remaining} remaining "
        )
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        """End the line, so that what follows starts on its own."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
