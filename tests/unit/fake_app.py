"""A stand-in for OSC's shell: what the evacuate commands use of it.

The commands read the compute API and OSC's configuration from the
client manager, write progress to stderr, and cliff prints the result on
stdout. Anything else they touched would fail here with AttributeError.
"""

from __future__ import annotations

import copy
import io
from typing import Any, TypeVar, cast

from osc_evacuate.commands import base
from osc_evacuate.core.api import ComputeAPI
from osc_evacuate.core.journal import Journal
from tests.unit.fake_compute import FakeClock

C = TypeVar("C", bound=base.EvacuateCommand)


class FakeClientManager:
    def __init__(self, compute: ComputeAPI, config: dict[str, Any]) -> None:
        self.evacuate = compute
        self._config = config

    def get_configuration(self) -> dict[str, Any]:
        return copy.deepcopy(self._config)

    def set_option(self, name: str, value: Any) -> None:
        """A setting of OSC's configuration (clouds.yaml, --os-*)."""
        self._config[name] = value


class FakeApp:
    def __init__(
        self,
        compute: ComputeAPI,
        compute_api_version: str | None = None,
        terminal: bool = False,
    ) -> None:
        config = {"compute_api_version": compute_api_version}
        self.client_manager = FakeClientManager(compute, config)
        self.stdout = io.StringIO()
        self.stderr = io.StringIO()
        self.stdin = Terminal() if terminal else io.StringIO()


class Terminal(io.StringIO):
    """Standard input at a terminal, with the answers typed in advance."""

    def isatty(self) -> bool:
        return True


def make_command(
    cls: type[C], app: FakeApp, clock: FakeClock | None = None
) -> C:
    """The command as cliff makes it, on the fake app and a fake clock."""
    # FakeApp has what the commands use of OSC's shell, not all of it.
    command = cls(cast(base.App, app), None)
    command.clock = clock or FakeClock()
    command.journal = Journal(None)  # nothing written to the home
    return command
