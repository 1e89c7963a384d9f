"""How many evacuate requests to keep in flight: as many as Nova answers
without slowing down, never more than --max-parallel.

Whether parallel requests help depends on the cloud. Several API workers,
and a conductor and scheduler on machines of their own, answer four
requests at once about as fast as one: four at a time then go four times
as fast. A Nova whose API, conductor and scheduler share a machine (a
small cloud, the sandbox) only answers each more slowly, and its
scheduler's claims in Placement collide: measured on the sandbox, one at a
time evacuates 50 servers faster than two, and two than four or eight
(doc/source/bench.rst). So the pace follows Nova's answers, as TCP Vegas
follows round-trip times: the window of requests in flight starts at one;
after each round of answers it grows by one while they come about as fast
as the fastest seen (within GROW of it), and shrinks by one when they take
much longer (SHRINK times or more), or when they take as long as one at a
time would (the window buys nothing). A window that shrank is not tried
again: on a Nova that shares one machine it would only shrink again.

Nova answers an evacuate request before doing its work (the rebuild is
cast to the conductor), so an answer shows the load of the requests before
it only some answers later: a round is ROUND answers for each request in
flight, and the first round twice that (FIRST_ROUND), so that the first
answers, of a Nova not yet busy with them, never decide alone.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable

LOG = logging.getLogger(__name__)

GROW = 1.5  # answers within this factor of the fastest: one more
SHRINK = 2.5  # answers this much slower than the fastest: one fewer
RECENT = 0.5  # weight of the newest answer time in the recent average
ROUND = 4  # answers for each request in flight before the window changes
# Answers before the first change: twice a round, as the first answers, of
# an idle Nova, come before the work of the requests has started.
FIRST_ROUND = 2 * ROUND


def next_window(
    window: int, fastest: float, recent: float, ceiling: int
) -> tuple[int, int]:
    """The window for the next round, and the ceiling from then on, from
    the answer times. Pure."""
    if recent <= GROW * fastest:
        return min(ceiling, window + 1), ceiling
    if window > 1 and recent >= min(SHRINK, window) * fastest:
        return window - 1, window - 1
    return window, ceiling


class Pacer:
    """The window, shared by the submitting threads."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = max(1, ceiling)
        self.window = 1
        self.in_flight = 0
        self.fastest = math.inf
        self.recent: float | None = None
        self._answers = 0  # in this round
        self._round = FIRST_ROUND  # answers that end it
        self._cond = threading.Condition()

    def acquire(self, cancelled: Callable[[], bool]) -> bool:
        """Wait for room in the window; False once cancelled."""
        with self._cond:
            while self.in_flight >= self.window and not cancelled():
                # A timeout: Ctrl-C sets cancel without notifying.
                self._cond.wait(0.2)
            if cancelled():
                return False
            self.in_flight += 1
            return True

    def unused(self) -> None:
        """Room taken, and no request sent after all."""
        with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def release(self, seconds: float) -> None:
        """One request answered, in seconds."""
        with self._cond:
            self.in_flight -= 1
            self.fastest = min(self.fastest, seconds)
            self.recent = (
                seconds
                if self.recent is None
                else RECENT * seconds + (1 - RECENT) * self.recent
            )
            self._answers += 1
            if self._answers >= self._round:
                self._answers = 0
                window, self.ceiling = next_window(
                    self.window, self.fastest, self.recent, self.ceiling
                )
                if window != self.window:
                    LOG.debug(
                        "requests in flight: %d, at most %d from now on "
                        "(answers in %.2f s, the fastest in %.2f s)",
                        window,
                        self.ceiling,
                        self.recent,
                        self.fastest,
                    )
                self.window = window
                self._round = ROUND * window
            self._cond.notify_all()
