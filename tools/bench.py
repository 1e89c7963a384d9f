"""``make bench``: osc-evacuate side by side with what operators script
today, and with the least a client can send, on the sandbox.

For each size (10, 50 and 200 servers on a crashed, forced-down host) and
each way, a new sandbox boots the servers, the way evacuates them, and
the benchmark then verifies every server the same way (its one
evacuation record done, on another host, ACTIVE with no task):

- ``osc-evacuate``: ``openstack host evacuate <host> --wait``;
- ``osc floor``: ``openstack bench floor <host>`` (tools/bench_floor, a
  bench-only OSC plugin): the least an OSC command can do, through OSC's
  own session: one list of the host's servers, the evacuate POSTs one
  after another, one read of the host's evacuation records each 0.5 s;
- ``nova host-evacuate``: python-novaclient's, then one GET per server
  still on its way, each second (tools/bench_client.py poll);
- ``osc loop``: a shell loop of stock ``openstack server evacuate <id>``,
  then the same polling;
- ``raw parallel`` and ``raw sequential``: the REST floor, 8 POSTs at a
  time or one after another, then one read of the host's evacuation
  records each 0.5 s (tools/bench_client.py raw).

Stock python-openstackclient and python-novaclient run from a venv of
their own (.bench/stock); osc-evacuate from the same packages plus the
plugin (.bench/plugin), the osc floor from the same packages plus
tools/bench_floor (.bench/floor), so that start-up costs compare. Every
way pins compute API 2.94, so that every server ends ACTIVE.

Everything is measured, nothing derived: wall time until the last server
is seen done (osc-evacuate and the osc floor: until they exit); each
run's phases (to its first evacuate request, sending them, after the
last one); the requests, by method and path, and the bytes of the
answers, from the sandbox's request log; requests and bytes of each poll
cycle, bucketed from the log by when each cycle began; from the moment
the last evacuation record turned done (Nova's updated_at) to the run's
end; before each osc-evacuate run, stock ``openstack server list`` on
the same sandbox; the clients' CPU seconds and peak RSS (wait4); the CPU
seconds of the sandbox's one Nova process meanwhile (the cost to Nova,
and on this machine its limit: wall time follows it). Each size runs
each way --repeat times (the shell loop once: it is slow, and far
behind), in turns; the median run is reported, every run is kept, and
the wall-time goals are judged turn by turn (the median of the turns'
ratios); one not met is out of any OSC command's reach only when the osc
floor's own ratio misses it too. The results go to
doc/source/bench/results.json, which the docs render; the table is
printed too. Numbers are this machine's: compare ways, not clouds.

This is the entry point; the parts are in tools/benchlib/ (its
docstring lists them), the results typed in tools/benchlib/results.py.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import logging
import os
import platform
import sys
from pathlib import Path

# Run as `python tools/bench.py`: tools/ is on sys.path (benchlib); the
# repo's packages too (the sandbox, tests/sandbox).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib.clients import Clients, clients
from benchlib.goals import goals
from benchlib.report import RESULTS, write
from benchlib.results import Machine, Results, load
from benchlib.runner import MICROVERSION, REPEAT, SIZES, WAYS, run_sizes
from benchlib.startup import plugin_import, startup

LOG = logging.getLogger(__name__)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, nargs="+", default=SIZES)
    parser.add_argument("--ways", nargs="+", choices=WAYS, default=WAYS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--repeat",
        type=int,
        default=None,
        help="turns at each size (default: "
        + ", ".join(f"{n} at {size} servers" for size, n in REPEAT.items())
        + ")",
    )
    parser.add_argument(
        "--startup-only",
        action="store_true",
        help="measure the start-up cost again and rewrite only that part "
        "(and the goals) of the results",
    )
    parser.add_argument(
        "--goals-only",
        action="store_true",
        help="judge the goals anew from the results, measuring nothing",
    )
    return parser


def main() -> int:
    args = parser().parse_args()
    out: Path = args.out
    if args.goals_only:
        LOG.debug("judging the goals of %s anew", out)
        write(rejudged(load(out)), out)
        return 0
    bins = clients()
    if args.startup_only:
        LOG.debug("measuring the start-up cost again for %s", out)
        write(with_startup(load(out), bins), out)
        return 0
    date = datetime.date.today().isoformat()
    runs = tuple(run_sizes(args.servers, args.ways, bins, args.repeat))
    fresh = Results(
        date=date,
        machine=Machine(
            cpus=os.cpu_count(),
            python=platform.python_version(),
            system=platform.platform(),
        ),
        microversion=MICROVERSION,
        runs=runs,
        startup=startup(bins),
        plugin_import=plugin_import(bins),
    )
    write(rejudged(fresh), out)
    return 0


def with_startup(results: Results, bins: Clients) -> Results:
    """The results with the start-up cost measured anew, and the goals
    judged anew."""
    return rejudged(
        dataclasses.replace(
            results, startup=startup(bins), plugin_import=plugin_import(bins)
        )
    )


def rejudged(results: Results) -> Results:
    return dataclasses.replace(results, goals=goals(results))


if __name__ == "__main__":
    sys.exit(main())
