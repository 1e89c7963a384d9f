"""The benchmark that ``make bench`` runs (tools/bench.py), in parts:

- ``results``: the results, typed, and their JSON file
  (doc/source/bench/results.json), which the docs render;
- ``clients``: the clients' venvs, and running a client measured;
- ``runner``: the ways, each on a sandbox of its own, and their runs;
- ``metrics``: one run's figures, counted from the sandbox's request log;
- ``startup``: the plugin's cost to every openstack command's start;
- ``goals``: the goals, judged from the results;
- ``report``: the table, and writing the results.

``runner`` and ``metrics`` import the sandbox (tests/sandbox): they need
the repository on sys.path, which tools/bench.py puts there. The others
need only tools/ on it (the docs import ``results``).
"""
