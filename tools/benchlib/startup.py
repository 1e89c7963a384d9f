"""Start-up: the plugin's cost to every openstack command.

OSC imports every plugin on every command. What the plugin adds is
measured by importing it, in a new process each time, after what OSC
imports for any command (plugin_import: the steady figure); whole
commands are timed too, in turns with and without the plugin (startup:
on a shared machine a command's time varies by more than the plugin
costs).
"""

from __future__ import annotations

import logging
import os
import statistics

from .clients import Clients, check, measured
from .results import CommandStartup, PluginImport

LOG = logging.getLogger(__name__)

STARTUP_RUNS = 21
COMMANDS = (["server", "list", "--help"], ["server", "evacuate", "--help"])

# What OSC imports for any command, with or without the plugin, short of
# its client manager and its command modules (importing either loads
# every plugin); then, timed, what the plugin adds, counting against it
# what OSC's own modules would have imported anyway: its entry-point
# module and its command modules (all of a group's command modules load
# for a command's --help). Run with -P: the venv's installed plugin, never
# the source tree in the working directory.
IMPORT_PROBE = """
import importlib, sys, time
from importlib.metadata import entry_points
import cliff.app, keystoneauth1.session, osc_lib.clientmanager
import osc_lib.command, osc_lib.shell, osc_lib.utils
assert "osc_evacuate.plugin" not in sys.modules
names = ["osc_evacuate.plugin"] + sorted(
    {ep.module for ep in entry_points(group="openstack.evacuate.v1")}
)
start = time.perf_counter()
for name in names:
    importlib.import_module(name)
print((time.perf_counter() - start) * 1000, " ".join(names))
"""


def plugin_import(bins: Clients) -> PluginImport:
    """The median milliseconds that importing the plugin takes, each in a
    new process of the plugin's venv."""
    env = dict(os.environ)
    samples, names = [], ""
    for _ in range(STARTUP_RUNS):
        ran = check(
            measured(
                [str(bins.plugin / "python"), "-P", "-c", IMPORT_PROBE], env
            ),
            "the import probe",
        )
        ms, names = ran.stdout.split(" ", 1)
        samples.append(float(ms))
    return PluginImport(
        runs=STARTUP_RUNS,
        median_ms=round(statistics.median(samples), 1),
        max_ms=round(max(samples), 1),
        modules=tuple(names.split()),
    )


def startup(bins: Clients) -> dict[str, CommandStartup]:
    """Each command in turns with and without the plugin: the medians of
    its wall time and of its CPU time, and their differences.

    On a shared machine a whole command's CPU time varies by a hundred
    milliseconds from run to run, more than the plugin can cost:
    plugin_import() is the steady figure of what the plugin adds.
    """
    return {" ".join(words): command(bins, words) for words in COMMANDS}


def command(bins: Clients, words: list[str]) -> CommandStartup:
    """One command, STARTUP_RUNS times with the plugin and without."""
    env = dict(os.environ)
    wall: dict[str, list[float]] = {"with": [], "without": []}
    cpu: dict[str, list[float]] = {"with": [], "without": []}
    for turn in range(STARTUP_RUNS):
        order = [("with", bins.plugin), ("without", bins.stock)]
        # Each goes first in every other turn: neither gains from caches
        # the other warmed.
        for key, where in order if turn % 2 else order[::-1]:
            ran = check(
                measured([str(where / "openstack"), *words], env),
                " ".join(words),
            )
            wall[key].append((ran.ended - ran.started) * 1000)
            cpu[key].append(ran.cpu_seconds * 1000)
    wall_with, wall_without = medians(wall)
    cpu_with, cpu_without = medians(cpu)
    LOG.debug(
        "openstack %s: %.1f ms CPU with the plugin, %.1f ms without",
        " ".join(words),
        cpu_with,
        cpu_without,
    )
    return CommandStartup(
        runs=STARTUP_RUNS,
        wall_with_plugin_ms=round(wall_with, 1),
        wall_without_plugin_ms=round(wall_without, 1),
        wall_difference_ms=round(wall_with - wall_without, 1),
        cpu_with_plugin_ms=round(cpu_with, 1),
        cpu_without_plugin_ms=round(cpu_without, 1),
        cpu_difference_ms=round(cpu_with - cpu_without, 1),
    )


def medians(samples: dict[str, list[float]]) -> tuple[float, float]:
    """The medians with the plugin and without."""
    return (
        statistics.median(samples["with"]),
        statistics.median(samples["without"]),
    )
