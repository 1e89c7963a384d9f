"""The evacuate commands as the tests drive them: made on a FakeApp over an
in-memory cloud, their arguments parsed, and run as cliff runs them with
-f json."""

from __future__ import annotations

import argparse
import json
from typing import Any

from osc_evacuate.commands.base import EvacuateCommand
from tests.unit.fake_app import FakeApp, make_command
from tests.unit.fake_compute import FakeCompute


def command(
    cls: type[EvacuateCommand],
    api: FakeCompute,
    argv: list[str],
    pin: str | None = None,
    app: FakeApp | None = None,
) -> tuple[EvacuateCommand, argparse.Namespace]:
    cmd = make_command(cls, app or FakeApp(api, compute_api_version=pin))
    return cmd, cmd.get_parser("openstack evacuate").parse_args(argv)


def run(
    cls: type[EvacuateCommand],
    api: FakeCompute,
    argv: list[str],
    pin: str | None = None,
) -> tuple[int, Any, FakeApp]:
    """Run as cliff does with -f json: the exit code, the output, the
    app."""
    app = FakeApp(api, compute_api_version=pin)
    cmd, args = command(cls, api, [*argv, "-f", "json"], app=app)
    code = cmd.run(args)
    return code, json.loads(app.stdout.getvalue()), app
