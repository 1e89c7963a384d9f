"""How steady this machine is at the kind of work Nova's sandbox does.

``python tools/machine_speed.py [seconds]`` times one fixed task over and
over, in CPU seconds, and prints the median of each ten-second window.
The task chases references through a heap of 3 million small objects
(several hundred MiB), as the sandbox's one Nova process does through
its objects: its speed depends on the caches and memory the machine
shares with whatever else runs on the same host, which ``/proc/stat``
does not show.

Nothing changes between the windows but the machine, so the spread of
their medians is the least spread a bench run of the same length can
have (doc/source/bench.rst, "Reading it"). Run it on a quiet machine, on
its own.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable, Sequence

WINDOW = 10.0  # seconds of CPU per window
HEAP = 3_000_000  # objects in the heap
LOOKUPS = 100_000  # objects each task reads, in a fixed random order


def task() -> Callable[[], int]:
    """The fixed task: the same lookups in the same heap each call."""
    heap = [(i, str(i)) for i in range(HEAP)]
    order = random.Random(1).sample(range(HEAP), LOOKUPS)

    def run() -> int:
        return sum(heap[i][0] for i in order)

    return run


def windows(seconds: Sequence[float], window: float) -> list[float]:
    """The median task time of each full window of `window` CPU seconds."""
    medians: list[float] = []
    current: list[float] = []
    filled = 0.0
    for spent in seconds:
        current.append(spent)
        filled += spent
        if filled >= window:
            medians.append(statistics.median(current))
            current, filled = [], 0.0
    return medians


def spread(medians: Sequence[float]) -> float:
    """The slowest window over the fastest, less one (0.25: a quarter)."""
    return max(medians) / min(medians) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "seconds",
        nargs="?",
        type=float,
        default=120.0,
        help="how long to measure (default: 120)",
    )
    args = parser.parse_args()
    if not WINDOW * 3 <= args.seconds <= 3600:
        parser.error(f"seconds: from {WINDOW * 3:g} to 3600")
    run = task()
    spent = []
    end = time.monotonic() + args.seconds
    while time.monotonic() < end:
        start = time.process_time()
        run()
        spent.append(time.process_time() - start)
    medians = windows(spent, WINDOW)
    print(
        "median task CPU s of each "
        f"{WINDOW:g} s window: {', '.join(f'{m:.4f}' for m in medians)}"
    )
    print(f"slowest window over fastest: +{spread(medians):.0%}")


if __name__ == "__main__":
    main()
