"""A real Nova (API, conductor, scheduler, N computes) and Placement in one
process, built like a Nova functional test that never ends.

Beyond the stock fixtures, the sandbox can size and fill a compute
(capacity.py), start a compute that looks like Ironic (drivers.py), make
live migrations fail or take their time (migrations.py), serve the
computes' own Placement app over HTTP, and take cell1 down (Nova's
DownCellFixture) while a test asks for it.

Import this module only from ``python -m tests.sandbox`` (see
__main__.py): it imports nova, which monkey-patches the interpreter with
eventlet. Never import it from pytest or the CLI.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import fixtures
import greenlet
import oslo_messaging as messaging
from nova import context as nova_context
from nova import exception as nova_exception
from nova import rpc, test
from nova.api import wsgi as nova_wsgi
from nova.api.openstack import api_version_request, wsgi_app
from nova.api.openstack.compute import versions as nova_versions
from nova.scheduler.client import report
from nova.tests import fixtures as nova_fixtures
from nova.tests.functional import fixtures as func_fixtures
from nova.tests.functional import integrated_helpers
from nova.virt import driver as virt_driver
from placement import auth as placement_auth
from placement import deploy as placement_deploy

from tests.sandbox import capacity, drivers, migrations
from tests.sandbox.control import UnknownHost
from tests.sandbox.faults import SpawnDelays, sleep_until

LOG = logging.getLogger("sandbox.cloud")

# Heartbeat every 2 s and "down" after 20 s without one, so a crashed
# compute shows down quickly (Nova's defaults are 10 s and 60 s). Every
# compute beats in this one process: under load (50 rebuilds, two cores
# shared with the CLI) a beat comes up to 6 s late, so 10 s was too close
# to call a live compute down.
REPORT_INTERVAL = 2
SERVICE_DOWN_TIME = 20

# Nova's own newest compute microversion, before any cap.
NOVA_MAX_MICROVERSION: str = api_version_request._MAX_API_VERSION

# Placement microversion of the sandbox's own reads (any has what it
# reads: inventories, usages, providers by name).
PLACEMENT_VERSION = "1.14"

# Nova's installed api-paste.ini (the option's default points inside the
# source tree, not the install).
NOVA_PASTE_CONFIG = Path(sys.prefix) / "etc" / "nova" / "api-paste.ini"

# The cell that holds every compute (test.TestCase's CELL1_NAME).
COMPUTE_CELL = "cell1"

# Driver class for a compute started with ``hypervisor_type``
# (control.py). Nova loads drivers from nova.virt only: these are built
# by hand.
HYPERVISOR_DRIVERS: dict[str, Callable[..., Any]] = {
    "ironic": drivers.FakeIronicDriver,
    # A fake compute with emulated TPMs (its hypervisor type stays fake).
    "vtpm": drivers.FakeVTPMDriver,
}

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


class HostCrashed(greenlet.GreenletExit):  # type: ignore[misc]
    """Ends a spawn whose compute crashed while the spawn was slowed.

    A BaseException, so none of Nova's ``except Exception`` handlers sees
    it: no migration ``failed``, no server ERROR, as when the process dies
    (``finally`` blocks and context managers still run). A GreenletExit,
    so eventlet ends the greenthread without a traceback.
    """


def _forget_tasks(manager: Any, instance_uuid: str) -> None:
    """End the manager's record of RPC tasks for this server.

    Stopping a compute is Nova's graceful shutdown, which waits (up to
    minutes) for in-progress tasks. An RPC task ended by HostCrashed is
    never recorded as ended (Nova's tracking wrapper catches Exception
    only), so we end it: a dead process waits for nothing.
    build_and_run_instance ends by itself through its future.
    """
    with manager._in_progress_task_cond:
        keys = [
            key
            for key, task in manager._in_progress_tasks.items()
            if task.get("instance_uuid") == instance_uuid
            and task.get("name") != "build_and_run_instance"
        ]
    for key in keys:
        manager._record_task_end(key, failed=True)


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

    def start(self, computes: int) -> None:
        _configure_logging(self._log_handler, self.debug)
        self.case.setUp()
        _configure_logging(self._log_handler, self.debug)
        for i in range(1, computes + 1):
            self.add_compute(f"compute{i:02d}")

    def close(self) -> None:
        """Run the test case's cleanups (services, fixtures, databases)."""
        try:
            self.set_cell_down(False)
            self.case.doCleanups()
        except Exception:
            LOG.exception("cleanup failed")
        _configure_logging(self._log_handler, self.debug)

    def nova_app(self, paste_config: Path) -> Callable[..., Iterable[bytes]]:
        """Nova's stock osapi_compute app, from ``paste_config``: Nova's
        api-paste.ini whose auth_token filter validates tokens with the
        sandbox's Keystone (identity.py)."""
        self.case.flags(api_paste_config=str(paste_config), group="wsgi")
        app: Callable[..., Iterable[bytes]] = nova_wsgi.Loader().load_app(
            "osapi_compute"
        )
        # Register the API's service record as nova-api itself (and the
        # API fixture) would.
        wsgi_app._setup_service("controller", "osapi_compute")
        return app

    def placement_app(
        self, authtoken: dict[str, str]
    ) -> Callable[..., Iterable[bytes]]:
        """Placement's production pipeline (``auth_strategy = keystone``:
        keystonemiddleware's auth_token, with ``authtoken`` as its
        options) around the Placement the computes and the scheduler use.

        PlacementFixture serves Placement to Nova through wsgi-intercept
        only, with its no-auth pipeline; this is a second pipeline over
        the same database (Placement's is global to the process), so what
        the CLI reads over HTTP is what Nova wrote.
        """
        conf = self.case.placement_fixture.conf_fixture.conf
        real_factory = placement_auth.filter_factory

        def with_options(
            global_conf: dict[str, Any], **local_conf: Any
        ) -> Any:
            return real_factory(global_conf, **local_conf, **authtoken)

        # deploy() reads auth_strategy only while it builds the pipeline.
        conf.set_override("auth_strategy", "keystone", group="api")
        try:
            with mock.patch.object(
                placement_auth, "filter_factory", with_options
            ):
                app: Callable[..., Iterable[bytes]] = placement_deploy.deploy(
                    conf
                )
        finally:
            conf.set_override("auth_strategy", "noauth2", group="api")
        return app

    def images(self) -> list[dict[str, Any]]:
        return list(self.case.glance.images.values())

    def add_image(self, name: str, properties: dict[str, str]) -> str:
        """A new image, a copy of the first one with this name and these
        properties, made by Nova's GlanceFixture; its id."""
        base = self.case.glance.image1
        image = {
            key: base[key]
            for key in ("status", "container_format", "disk_format")
        }
        image.update(name=name, properties=dict(properties))
        made: dict[str, Any] = self.case.glance.create(None, image)
        return str(made["id"])

    def computes(self) -> list[dict[str, Any]]:
        hosts = sorted(set(self._running) | set(self._stopped))
        return [self._describe(h) for h in hosts]

    def _describe(self, host: str) -> dict[str, Any]:
        return {"host": host, "running": host in self._running}

    def add_compute(
        self,
        host: str,
        size: dict[str, int] | None = None,
        hypervisor_type: str | None = None,
    ) -> dict[str, Any]:
        """Start a new compute, or restart a stopped one. A new one may
        have its own ``size`` (capacity.SIZE_FIELDS) and
        ``hypervisor_type`` (HYPERVISOR_DRIVERS) from the start."""
        with self._lock:
            if host in self._running:
                raise ValueError(f"compute {host} is already running")
            if host in self._stopped:
                if size or hypervisor_type:
                    raise ValueError(
                        f"compute {host} exists: a restart keeps its "
                        "driver (resize it with computes/<host>/size)"
                    )
                self._restart(host)
            else:
                self._start_new(host, size or {}, hypervisor_type)
            manager = self._running[host].manager
            self._slow_spawn(host, manager)
            self._apply_fills(host, manager.driver)
            migrations.hook_driver(
                manager.driver, host, self.live_migrations, self.crash_watch
            )
        LOG.info("sandbox: compute %s started", host)
        return self._describe(host)

    def _start_new(
        self, host: str, size: dict[str, int], hypervisor_type: str | None
    ) -> None:
        driver_class = None
        if hypervisor_type is not None:
            driver_class = HYPERVISOR_DRIVERS.get(hypervisor_type)
            if driver_class is None:
                raise ValueError(
                    f"hypervisor_type: expected one of "
                    f"{', '.join(HYPERVISOR_DRIVERS)}"
                )
        if driver_class is None and not size:
            self._running[host] = self.case._start_compute(host)
            return
        real_load = virt_driver.load_compute_driver

        def load(virtapi: Any, compute_driver: str | None = None) -> Any:
            if driver_class is not None:
                loaded = driver_class(virtapi)
            else:
                loaded = real_load(virtapi, compute_driver)
            _resize_driver(loaded, size)
            return loaded

        # Before the manager's start-up, so that its first inventory and
        # compute node record already have the size.
        with mock.patch(
            "nova.virt.driver.load_compute_driver", side_effect=load
        ):
            self._running[host] = self.case._start_compute(host)

    def stop_compute(self, host: str) -> dict[str, Any]:
        with self._lock:
            service = self._running.pop(host, None)
            if service is None:
                if host in self._stopped:
                    raise ValueError(f"compute {host} is already stopped")
                raise UnknownHost(host)
            # First, so that spawns slowed on this host end now instead of
            # holding up Nova's graceful stop below.
            self._crashes[host] = self._crashes.get(host, 0) + 1
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

    def crash_watch(self, host: str) -> Callable[[], bool]:
        """True once ``host`` is down or has crashed since this call
        (ends slowed live migrations, migrations.py)."""
        crashes = self._crashes.get(host, 0)
        return lambda: (
            host not in self._running or self._crashes.get(host, 0) != crashes
        )

    def _slow_spawn(self, host: str, manager: Any) -> None:
        """Make the host's driver wait spawn_delays before each spawn.

        The evacuation's rebuild on the destination calls the driver's
        spawn (the fake drivers have no rebuild of their own), as does a
        boot. The wait is a green sleep: other requests and computes go
        on. A crash of the host before or during the wait ends the spawn
        (see HostCrashed); a shorter or cleared delay releases it. Without
        a delay for the host, spawns are Nova's own, crash or not.
        """
        driver = manager.driver
        # A restarted compute keeps its driver, already wrapped; the
        # manager is new.
        real = getattr(driver, "_sandbox_real_spawn", None) or driver.spawn
        driver._sandbox_real_spawn = real

        def spawn(context: Any, instance: Any, *args: Any, **kw: Any) -> Any:
            if self.spawn_delays.seconds_for(host) <= 0:
                return real(context, instance, *args, **kw)
            crashes = self._crashes.get(host, 0)
            started = time.monotonic()

            def crashed() -> bool:
                # Down now (the crash came before the spawn), or crashed
                # and restarted since the spawn began.
                return (
                    host not in self._running
                    or self._crashes.get(host, 0) != crashes
                )

            if not sleep_until(
                lambda: started + self.spawn_delays.seconds_for(host),
                crashed,
            ):
                LOG.info(
                    "sandbox: %s crashed while spawning %s; the spawn "
                    "never happens",
                    host,
                    instance.uuid,
                )
                _forget_tasks(manager, instance.uuid)
                raise HostCrashed(host)
            return real(context, instance, *args, **kw)

        driver.spawn = spawn

    # Sizes and fills (capacity.py).
    def resources(self, host: str) -> dict[str, Any]:
        """What Placement has for the host's node: ``{"host",
        "resource_provider", "inventories", "usages", "free", "filled"}``
        (``free`` by Placement's arithmetic; ``filled`` what a fill asked
        for, or None)."""
        rp = self._provider(host)
        inventories = self._placement_get(
            f"/resource_providers/{rp}/inventories"
        )["inventories"]
        usages = self._placement_get(f"/resource_providers/{rp}/usages")[
            "usages"
        ]
        return {
            "host": host,
            "resource_provider": rp,
            "inventories": inventories,
            "usages": usages,
            "free": capacity.free_capacity(inventories, usages),
            "filled": self._free.get(host),
        }

    def resize_compute(self, host: str, size: dict[str, int]) -> None:
        """Give the running compute's hypervisor another size, now (a
        fill in force is done again on the new size)."""
        with self._lock:
            manager = self._running_manager(host)
            _resize_driver(manager.driver, size)
            if host in self._free:
                self._fill(host, manager, self._free[host])
            else:
                self._update_resources(host, manager)
        LOG.info("sandbox: compute %s resized to %s", host, size)

    def fill_compute(self, host: str, free: dict[str, int]) -> None:
        """Leave only ``free`` of each class on the running compute, as
        Placement and the scheduler count it. Servers that come or go
        later change what is free; a new fill starts over."""
        with self._lock:
            self._fill(host, self._running_manager(host), free)
        LOG.info("sandbox: compute %s filled, %s left free", host, free)

    def _fill(self, host: str, manager: Any, free: dict[str, int]) -> None:
        if self._fills.pop(host, None) is not None:
            # From the driver's own inventory, not the last fill's.
            self._update_resources(host, manager)
        now = self.resources(host)
        self._base_ratios.setdefault(
            host,
            {
                rc: {"allocation_ratio": inv["allocation_ratio"]}
                for rc, inv in now["inventories"].items()
            },
        )
        self._fills[host] = capacity.fill_overrides(
            now["inventories"], now["usages"], free
        )
        self._free[host] = dict(free)
        self._update_resources(host, manager)
        # The resource tracker logs and swallows what it could not write.
        written = self.resources(host)["inventories"]
        for rc, fields in self._fills[host].items():
            for key, value in fields.items():
                if written[rc][key] != value:
                    raise RuntimeError(
                        f"Placement did not take the fill of {host}: "
                        f"{rc} {key} is {written[rc][key]}, not {value} "
                        "(see sandbox.log)"
                    )

    def unfill_compute(self, host: str) -> bool:
        """End the host's fill: the driver's inventory again (pushed now
        if the compute runs, else at its restart). False if not filled."""
        with self._lock:
            if self._fills.pop(host, None) is None:
                return False
            self._free.pop(host, None)
            service = self._running.get(host)
            if service is not None:
                self._update_resources(host, service.manager)
        LOG.info("sandbox: compute %s no longer filled", host)
        return True

    def filled(self) -> dict[str, dict[str, int]]:
        """``{host: free}`` for every fill in force."""
        return {host: dict(free) for host, free in self._free.items()}

    def unfill_all(self) -> None:
        for host in list(self._fills):
            self.unfill_compute(host)

    def _running_manager(self, host: str) -> Any:
        service = self._running.get(host)
        if service is None:
            if host in self._stopped:
                raise ValueError(f"compute {host} is stopped")
            raise UnknownHost(host)
        return service.manager

    def _provider(self, host: str) -> str:
        """The resource provider of the host's (only) node."""
        if host not in self._running and host not in self._stopped:
            raise UnknownHost(host)
        nodes = self._driver(host).get_available_nodes()
        found = self._placement_get(f"/resource_providers?name={nodes[0]}")
        providers = found["resource_providers"]
        if len(providers) != 1:
            raise ValueError(f"no resource provider for {host} yet")
        return str(providers[0]["uuid"])

    def _driver(self, host: str) -> Any:
        service = self._running.get(host)
        return service.manager.driver if service else self._stopped[host]

    def _placement_get(self, url: str) -> Any:
        resp = self.case.placement.get(url, version=PLACEMENT_VERSION)
        if resp.status != 200:
            raise RuntimeError(f"placement GET {url}: {resp.status}")
        return resp.body

    def _update_resources(self, host: str, manager: Any) -> None:
        """Run the compute's resource update now (the periodic task is off
        in the sandbox, as in Nova's functional tests): the compute node
        record and Placement's inventory follow the driver."""
        ctxt = nova_context.get_admin_context()
        cell = self.case.host_mappings[host].cell_mapping
        with nova_context.target_cell(ctxt, cell) as cctxt:
            manager.update_available_resource(cctxt)

    def _apply_fills(self, host: str, driver: Any) -> None:
        """Make the driver's inventory carry the host's fill, if any.

        Wraps update_provider_tree once per driver (a restarted compute
        keeps its driver); the fill is looked up at every update.
        """
        if getattr(driver, "_sandbox_real_update_provider_tree", None):
            return
        real = driver.update_provider_tree
        driver._sandbox_real_update_provider_tree = real

        def update_provider_tree(
            provider_tree: Any, nodename: str, allocations: Any = None
        ) -> None:
            real(provider_tree, nodename, allocations=allocations)
            overrides = {
                **self._base_ratios.get(host, {}),
                **self._fills.get(host, {}),
            }
            if overrides:
                inventory = provider_tree.data(nodename).inventory
                provider_tree.update_inventory(
                    nodename, capacity.apply_overrides(inventory, overrides)
                )

        driver.update_provider_tree = update_provider_tree

    # A down cell (Nova's DownCellFixture).
    def cell_down(self) -> bool:
        return self._down_cell is not None

    def set_cell_down(self, down: bool) -> bool:
        """Take cell1, which holds every compute, down or up again.

        While down, every cell1 database access through Nova's cell
        targeting fails (as when its database is unreachable): os-services
        lists cell1's computes without ``id`` from 2.69 and leaves them out
        before; server lists and the scheduler lose cell1 too. Heartbeats
        go on (they do not target a cell).
        """
        with self._lock:
            if down and self._down_cell is None:
                fixture = nova_fixtures.DownCellFixture(
                    [self.case.cell_mappings[COMPUTE_CELL]]
                )
                fixture.setUp()
                self._down_cell = fixture
                LOG.info("sandbox: %s is down", COMPUTE_CELL)
            elif not down and self._down_cell is not None:
                self._down_cell.cleanUp()
                self._down_cell = None
                LOG.info("sandbox: %s is up again", COMPUTE_CELL)
        return self.cell_down()

    # The compute API's maximum microversion.
    def max_microversion(self) -> str | None:
        """The cap in force, None when the API is Nova's own."""
        current: str = api_version_request._MAX_API_VERSION
        return None if current == NOVA_MAX_MICROVERSION else current

    def set_max_microversion(self, version: str | None) -> str | None:
        """Play an older Nova: ``version`` becomes the maximum that Nova's
        own code reports (GET / and /v2.1/), accepts, and gives for
        ``latest``; None puts Nova's own back. ValueError if ``version``
        is not a microversion Nova 34 has."""
        value = NOVA_MAX_MICROVERSION
        if version is not None:
            try:
                wanted = api_version_request.APIVersionRequest(version)
            except nova_exception.InvalidAPIVersionString:
                raise ValueError(
                    f"{version!r} is not a microversion like 2.60"
                ) from None
            if not wanted.matches(
                api_version_request.min_api_version(),
                api_version_request.APIVersionRequest(NOVA_MAX_MICROVERSION),
            ):
                raise ValueError(
                    f"{version} is outside 2.1..{NOVA_MAX_MICROVERSION}"
                )
            value = wanted.get_string()
        if value != api_version_request._MAX_API_VERSION:
            # max_api_version() reads this global at every request; the
            # version documents are built from VERSIONS at every request.
            api_version_request._MAX_API_VERSION = value
            nova_versions.VERSIONS["v2.1"]["version"] = value
            LOG.info("sandbox: compute API maximum microversion: %s", value)
        return self.max_microversion()


def _resize_driver(driver: Any, size: dict[str, int]) -> None:
    """Set the fake driver's hypervisor size: its inventory (``total``,
    ``max_unit``) and the compute node's figures follow at the next
    resource update."""
    for field, value in size.items():
        setattr(driver, field, value)
        setattr(driver.resources, field, value)
