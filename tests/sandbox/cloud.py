"""A real Nova (API, conductor, scheduler, N computes) and Placement in one
process, built like a Nova functional test that never ends.

Beyond the stock fixtures (nova_case.py), the sandbox can size and fill a
compute (fills.py), start a compute that looks like Ironic (drivers.py),
slow its spawns (spawns.py), make live migrations fail or take their time
(migrations.py), serve the computes' own Placement app over HTTP, and take
cell1 down or cap the microversion (nova_modes.py) while a test asks for
it. This module starts and stops the cloud and its computes.

Import this module only from ``python -m tests.sandbox`` (see
__main__.py): it imports nova, which monkey-patches the interpreter with
eventlet. Never import it from pytest or the CLI.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from unittest import mock

from nova.api import wsgi as nova_wsgi
from nova.api.openstack import wsgi_app
from nova.virt import driver as virt_driver
from placement import auth as placement_auth
from placement import deploy as placement_deploy

from tests.sandbox import drivers, migrations
from tests.sandbox.control import UnknownHost
from tests.sandbox.fills import Fills, resize_driver
from tests.sandbox.nova_case import configure_logging
from tests.sandbox.nova_modes import NovaModes
from tests.sandbox.spawns import SlowSpawns

LOG = logging.getLogger("sandbox.cloud")

# Nova's installed api-paste.ini (the option's default points inside the
# source tree, not the install).
NOVA_PASTE_CONFIG = Path(sys.prefix) / "etc" / "nova" / "api-paste.ini"

# Driver class for a compute started with ``hypervisor_type``
# (control.py). Nova loads drivers from nova.virt only: these are built
# by hand.
HYPERVISOR_DRIVERS: dict[str, Callable[..., Any]] = {
    "ironic": drivers.FakeIronicDriver,
    # A fake compute with emulated TPMs (its hypervisor type stays fake).
    "vtpm": drivers.FakeVTPMDriver,
}


class Cloud(Fills, SlowSpawns, NovaModes):
    """The running cloud and its computes."""

    def start(self, computes: int) -> None:
        configure_logging(self._log_handler, self.debug)
        self.case.setUp()
        configure_logging(self._log_handler, self.debug)
        for i in range(1, computes + 1):
            self.add_compute(f"compute{i:02d}")

    def close(self) -> None:
        """Run the test case's cleanups (services, fixtures, databases)."""
        try:
            self.set_cell_down(False)
            self.case.doCleanups()
        except Exception:
            LOG.exception("cleanup failed")
        configure_logging(self._log_handler, self.debug)

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
            resize_driver(loaded, size)
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
