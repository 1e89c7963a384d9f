"""A real Nova (API, conductor, scheduler, N computes) and Placement in one
process, built like a Nova functional test that never ends.

Import this module only from ``python -m tests.sandbox`` (see
__main__.py): it imports nova, which monkey-patches the interpreter with
eventlet. Never import it from pytest or the CLI.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import fixtures
import oslo_messaging as messaging
from nova import rpc, test
from nova.api import wsgi as nova_wsgi
from nova.api.openstack import wsgi_app
from nova.scheduler.client import report
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import integrated_helpers

from tests.sandbox import auth
from tests.sandbox.control import UnknownHost

LOG = logging.getLogger("sandbox.cloud")

# Heartbeat every 2 s and "down" after 10 s without one, so a crashed
# compute shows down quickly (Nova's defaults are 10 s and 60 s).
REPORT_INTERVAL = 2
SERVICE_DOWN_TIME = 10

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


class SandboxCase(  # type: ignore[misc]  # nova is untyped
    test.TestCase, integrated_helpers.PlacementInstanceHelperMixin
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
        # The default points inside the source tree, not the install.
        self.flags(
            api_paste_config=str(
                Path(sys.prefix) / "etc" / "nova" / "api-paste.ini"
            ),
            group="wsgi",
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
        self.useFixture(nova_fixtures.CinderFixture(self))
        self.placement = self.useFixture(func_fixtures.PlacementFixture()).api
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


def _file_handler(log_path: Path) -> logging.Handler:
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(name)s] %(message)s")
    )
    return handler


def _configure_logging(handler: logging.Handler, debug: bool) -> None:
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


class Cloud:
    """The running cloud and its computes."""

    def __init__(
        self, driver: str, log_path: Path, debug: bool = False
    ) -> None:
        SandboxCase.compute_driver = driver
        self.case = SandboxCase()
        self.debug = debug
        self._log_handler = _file_handler(log_path)
        # Compute start-up sets the global CONF.host (the fake driver
        # names its node after it): one start or stop at a time.
        self._lock = threading.Lock()
        self._running: dict[str, Any] = {}
        # Stopped computes keep their driver so a restart still "has" the
        # guests, as a rebooted hypervisor would.
        self._stopped: dict[str, Any] = {}

    def start(self, computes: int) -> None:
        _configure_logging(self._log_handler, self.debug)
        self.case.setUp()
        _configure_logging(self._log_handler, self.debug)
        for i in range(1, computes + 1):
            self.add_compute(f"compute{i:02d}")

    def close(self) -> None:
        """Run the test case's cleanups (services, fixtures, databases)."""
        try:
            self.case.doCleanups()
        except Exception:
            LOG.exception("cleanup failed")
        _configure_logging(self._log_handler, self.debug)

    def nova_app(self) -> Callable[..., Iterable[bytes]]:
        """Nova's stock osapi_compute paste app with sandbox tokens."""
        self.case.useFixture(
            fixtures.MockPatch(
                "keystonemiddleware.auth_token.filter_factory",
                auth.filter_factory,
            )
        )
        app: Callable[..., Iterable[bytes]] = nova_wsgi.Loader().load_app(
            "osapi_compute"
        )
        # Register the API's service record as nova-api itself (and the
        # API fixture) would.
        wsgi_app._setup_service("controller", "osapi_compute")
        return app

    def images(self) -> list[dict[str, Any]]:
        return list(self.case.glance.images.values())

    def computes(self) -> list[dict[str, Any]]:
        hosts = sorted(set(self._running) | set(self._stopped))
        return [self._describe(h) for h in hosts]

    def _describe(self, host: str) -> dict[str, Any]:
        return {"host": host, "running": host in self._running}

    def add_compute(self, host: str) -> dict[str, Any]:
        with self._lock:
            if host in self._running:
                raise ValueError(f"compute {host} is already running")
            if host in self._stopped:
                self._restart(host)
            else:
                self._running[host] = self.case._start_compute(host)
        LOG.info("sandbox: compute %s started", host)
        return self._describe(host)

    def stop_compute(self, host: str) -> dict[str, Any]:
        with self._lock:
            service = self._running.pop(host, None)
            if service is None:
                if host in self._stopped:
                    raise ValueError(f"compute {host} is already stopped")
                raise UnknownHost(host)
            # Service.stop ends the RPC consumer and the heartbeat timer;
            # the service record stays, so Nova sees a dead host.
            service.stop()
            self._stopped[host] = service.manager.driver
        LOG.info("sandbox: compute %s stopped (crashed)", host)
        return self._describe(host)

    def start_compute(self, host: str) -> dict[str, Any]:
        if host not in self._running and host not in self._stopped:
            raise UnknownHost(host)
        return self.add_compute(host)

    def _restart(self, host: str) -> None:
        driver = self._stopped.pop(host)
        # A fresh manager runs init_host (which destroys guests evacuated
        # meanwhile and completes their migrations) on the old driver.
        with mock.patch(
            "nova.virt.driver.load_compute_driver", return_value=driver
        ):
            self._running[host] = self.case._start_compute(host)
