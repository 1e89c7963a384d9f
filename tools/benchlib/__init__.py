"""The benchmark that ``make bench`` runs (tools/bench.py), in parts:

- ``results``: the results, typed, and their JSON file
  (doc/source/bench/results.json), which the docs render;
- ``typedjson``: reading and writing those dataclasses as JSON;
- ``clients``: the clients' venvs (stock, plugin, floor: tools/bench_floor),
  and running a client measured;
- ``runner``: the ways, each on a sandbox of its own, and their runs;
- ``metrics``: one run's figures, counted from the sandbox's request log;
- ``startup``: the plugin's cost to every openstack command's start;
- ``goals``: the goals, judged from the results;
- ``turns``: a way against a reference turn by turn, for the wall-time
  goals, and the osc floor's verdict on reach;
- ``report``: the table, and writing the results.

``runner`` and ``metrics`` import the sandbox (tests/sandbox): they need
the repository on sys.path, which tools/bench.py puts there. The others
need only tools/ on it (the docs import ``results`` and ``goals``).
"""
