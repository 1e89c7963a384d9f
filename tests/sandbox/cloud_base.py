"""The sandbox cloud's state, shared by the parts of its Cloud class
(cloud.py): the test case, the running and stopped computes, and the
faults and fills in force.

Import it only from the sandbox process (see cloud.py): it imports nova.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from nova.tests import fixtures as nova_fixtures

from tests.sandbox import capacity, migrations
from tests.sandbox.faults import SpawnDelays
from tests.sandbox.nova_case import SandboxCase, file_handler


class CloudBase:
    """The cloud's state: each part of Cloud reads and changes it."""

    def __init__(
        self, driver: str, log_path: Path, debug: bool = False
    ) -> None:
        SandboxCase.compute_driver = driver
        self.case = SandboxCase()
        self.debug = debug
        self._log_handler = file_handler(log_path)
        # Compute start-up sets the global CONF.host (the fake driver
        # names its node after it): one start or stop at a time.
        self._lock = threading.Lock()
        self._running: dict[str, Any] = {}
        # Stopped computes keep their driver so a restart still "has" the
        # guests, as a rebooted hypervisor would.
        self._stopped: dict[str, Any] = {}
        # Faults on the Nova side (see faults.py and control.py).
        self.spawn_delays = SpawnDelays()
        self.live_migrations = migrations.LiveMigrationFaults()
        # Bumped when a compute crashes: slowed spawns started before
        # then never finish.
        self._crashes: dict[str, int] = {}
        # Inventory fields that a fill puts over what the driver reports,
        # per host (capacity.py); and the allocation ratios from before
        # the first fill, which stay over the driver's afterwards (it
        # would otherwise keep the fill's 1.0 from Placement).
        self._fills: dict[str, capacity.Inventory] = {}
        self._free: dict[str, dict[str, int]] = {}
        self._base_ratios: dict[str, capacity.Inventory] = {}
        # DownCellFixture while cell1 is down.
        self._down_cell: nova_fixtures.DownCellFixture | None = None
