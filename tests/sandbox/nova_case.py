"""Nova's functional test case, set up by hand and never run: the
fixtures the sandbox cloud (cloud.py) is built of, and where it logs.

Import it only from the sandbox process (see cloud.py): it imports nova.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import fixtures
import oslo_messaging as messaging
from nova import rpc, test
from nova.scheduler.client import report
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import integrated_helpers

# Heartbeat every 2 s and "down" after 20 s without one, so a crashed
# compute shows down quickly (Nova's defaults are 10 s and 60 s). Every
# compute beats in this one process: under load (50 rebuilds, two cores
# shared with the CLI) a beat comes up to 6 s late, so 10 s was too close
# to call a live compute down.
REPORT_INTERVAL = 2
SERVICE_DOWN_TIME = 20

# Loggers that would write a line per request or per RPC message.
_QUIET = (
    "nova.api.openstack.requestlog",
    "placement.requestlog",
    "nova.scheduler.client.report",
    "oslo.messaging",
    "oslo_messaging",
    "oslo_policy",
    "stevedore",
    "sandbox.wsgi",
    # Placement's in-process client outgrows its connection pool.
    "urllib3.connectionpool",
)


class LazyAllocations(Mapping[str, Any]):
    """Allocations fetched from Placement only when someone reads them."""

    def __init__(self, fetch: Callable[[], dict[str, Any]]) -> None:
        self._fetch = fetch
        self._data: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._data is None:
            self._data = self._fetch()
        return self._data

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _lazy_allocations_for_provider_tree() -> Callable[..., Any]:
    # The resource tracker fetches every allocation on the host (one
    # Placement call per server) at every claim, but reads them only when
    # a driver reshapes its inventory, which the fake drivers never do.
    # Deferring the fetch turns booting N servers on a host from O(N^2)
    # Placement calls into O(N).
    real = report.SchedulerReportClient.get_allocations_for_provider_tree

    def lazy(self: Any, context: Any, nodename: str) -> LazyAllocations:
        return LazyAllocations(lambda: real(self, context, nodename))

    return lazy


# nova is untyped: its classes are Any to mypy.
class SandboxCase(
    test.TestCase,  # type: ignore[misc]
    integrated_helpers.PlacementInstanceHelperMixin,  # type: ignore[misc]
):
    """A functional test case that is set up by hand and never run.

    test.TestCase.setUp brings the config fixture, the fake:// RPC
    transport, the API and cell databases with cell mappings and the
    default flavors; setUp adds the fixtures a functional test adds.
    """

    compute_driver = "fake.FakeDriver"

    def runTest(self) -> None:
        """Never run: the case only exists for its fixtures."""

    def setUp(self) -> None:
        self.flags(compute_driver=self.compute_driver)
        super().setUp()
        self.flags(
            report_interval=REPORT_INTERVAL,
            service_down_time=SERVICE_DOWN_TIME,
        )
        # Production's behaviour; "error" (the tests' default) costs CPU
        # and turns harmless schema drift into 500s.
        self.flags(response_validation="ignore", group="api")
        # Unlimited quotas: tests boot hundreds of servers per project.
        for quota in ("instances", "cores", "ram"):
            self.flags(**{quota: -1, "group": "quota"})
        self.flags(transport_url=self.cell_mappings["cell1"].transport_url)

        self.useFixture(nova_fixtures.RealPolicyFixture())
        self.useFixture(nova_fixtures.NeutronFixture(self))
        self.glance = self.useFixture(nova_fixtures.GlanceFixture(self))
        # Any volume id is an available, bootable 1 GB volume: boot from
        # volume and its evacuation need nothing more.
        self.useFixture(nova_fixtures.CinderFixture(self))
        self.placement_fixture = self.useFixture(
            func_fixtures.PlacementFixture()
        )
        self.placement = self.placement_fixture.api
        self.useFixture(nova_fixtures.AllServicesCurrent())
        self.useFixture(
            fixtures.MonkeyPatch(
                "nova.scheduler.client.report.SchedulerReportClient."
                "get_allocations_for_provider_tree",
                _lazy_allocations_for_provider_tree(),
            )
        )
        self._silence_notifications()

        self.start_service("conductor")
        self.start_service("scheduler")

    def _silence_notifications(self) -> None:
        # The test notifiers keep every notification in memory; hundreds
        # of servers would grow that without bound. Nobody reads them.
        assert rpc.NOTIFICATION_TRANSPORT is not None
        noop = messaging.Notifier(rpc.NOTIFICATION_TRANSPORT, driver="noop")
        self.stub_out("nova.rpc.NOTIFIER", noop)
        self.stub_out("nova.rpc.LEGACY_NOTIFIER", noop)


def file_handler(log_path: Path) -> logging.Handler:
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s")
    )
    return handler


def configure_logging(handler: logging.Handler, debug: bool) -> None:
    """Send everything to one file instead of the test's memory buffer.

    Called before the test case's setUp too: its logging fixture saves
    the root handlers and puts them back at cleanup, so the shutdown is
    logged to the file and not to stderr.
    """
    root = logging.getLogger()
    for other in list(root.handlers):
        if other is not handler:
            root.removeHandler(other)
    root.addHandler(handler)
    # The test base class sets DEBUG and formats every debug record;
    # that costs more CPU than the rest of the sandbox.
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    if not debug:
        for name in _QUIET:
            logging.getLogger(name).setLevel(logging.WARNING)
