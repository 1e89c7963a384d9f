"""The sandbox's control interface (``/_sandbox/...``, JSON, no auth).

Routes:

- ``GET  /_sandbox/computes``: ``[{"host": "compute01", "running": true}]``
- ``POST /_sandbox/computes`` ``{"host": "compute10"}``: start a new
  compute (or restart a stopped one); 201 with the compute. A new one may
  have a size, ``"vcpus"``, ``"memory_mb"``, ``"local_gb"``, and
  ``"hypervisor_type": "ironic"`` or ``"vtpm"`` (drivers.py).
- ``POST /_sandbox/computes/<host>/stop``: crash it (RPC consumer and
  heartbeat stop, as on a dead host; Nova sees it down after
  ``service_down_time``). A spawn slowed on it (see slow-spawn) never
  finishes: its record stays ``pre-migrating``, as after a real crash.
- ``POST /_sandbox/computes/<host>/start``: restart it; nova-compute's
  start-up cleans up evacuated instances.
- ``POST /_sandbox/computes/<host>/reinstall``: a stopped compute's host
  reinstalled under the same name: its hypervisor forgets every guest (the
  disks were wiped), then its nova-compute starts (the fake driver's node
  keeps its UUID, as a kept ``/var/lib/nova/compute_id`` would). A retired
  host (``openstack host evacuation retire``) registers anew this way.
- ``GET  /_sandbox/computes/<host>/resources``: Placement's inventories,
  usages and free capacity for its node (capacity.py).
- ``POST /_sandbox/computes/<host>/size`` ``{"vcpus": 4, "memory_mb":
  4096, "local_gb": 40}``: the hypervisor's size, now; its resources.
- ``POST /_sandbox/computes/<host>/fill`` ``{"free": {"VCPU": 1}}``: leave
  only that free (unnamed classes: nothing); its resources.
- ``POST /_sandbox/computes/<host>/unfill``: end the fill; its resources.
- ``POST /_sandbox/images`` ``{"name": "ha", "properties": {"evacuable":
  "true"}}``: a new image with these properties (Nova's GlanceFixture;
  the first image's formats), bootable; 201 with its id and name.
- ``POST /_sandbox/servers/<id>/share`` and ``.../accel-port``:
  a Manila share mapped to the server, or a port with an accelerator
  bound to it, as Nova records them (attached.py); 201 with its id.
- ``POST /_sandbox/volumes/<id>/encrypt``: Cinder's stand-in says so.
- ``POST /_sandbox/down-cell`` ``{"down": true}``: cell1, which holds
  every compute, is down (Nova's DownCellFixture) until ``false``.
- ``GET  /_sandbox/requests``: ``{"counts": {...}, "log": [...]}``; each
  log entry's ``fault`` says which fault applied to it, or null.
- ``POST /_sandbox/requests/reset``: clear both.
- ``GET  /_sandbox/faults``: ``{"rules": [...], "slow_spawn": {"seconds":
  0.0, "hosts": {}}, "max_microversion": null, "filled": {},
  "down_cell": false}``.
- ``POST /_sandbox/faults`` ``{"method": "POST", "path": "/action$",
  "body_key": "evacuate", "count": 1, "skip": 0, "error": 503}``: add a
  fault rule (faults.py: ``error`` a status or "drop" before Nova,
  ``lost`` 502, 504 or "drop" after Nova acted, ``delay`` seconds before
  Nova; ``message`` for an error's body; ``query`` a regex on the query
  string; ``count`` null for every match); 201 with the rule and its id.
- ``DELETE /_sandbox/faults/<id>``: remove a rule; 404 if unknown.
- ``POST /_sandbox/slow-spawn`` ``{"seconds": 5, "host": "compute02"}``:
  every spawn (the evacuation's rebuild on the destination, a boot) on
  that compute, or on every compute without ``host``, waits that long
  first; a per-host value wins, 0 included.
- ``POST /_sandbox/live-migration-failures`` ``{"host": "compute02",
  "count": 1, "stage": "during"}``: the next ``count`` live migrations
  (null: all) to or from that compute fail (migrations.py): ``"during"``
  (the default) in the driver's migration, Nova rolls back, record
  ``failed``, server on its source; ``"pre-check"`` in the destination's
  checks (MigrationPreCheckError: 400 below 2.34, else 202 and record
  ``error``; with no host given the conductor tries the next
  destination); 201 with the live-migration faults.
- ``POST /_sandbox/slow-live-migration`` ``{"seconds": 5, "host":
  "compute02"}``: live migrations to or from that compute (every one
  without ``host``) stay ``running`` that long first; abort and
  force-complete end the wait; a lower or cleared value releases them.
- ``GET  /_sandbox/live-migration-faults``: ``{"failures": [{"host",
  "stage", "count", "failed"}], "slow": {"seconds": 0.0, "hosts": {}}}``.
- ``POST /_sandbox/max-microversion`` ``{"version": "2.60"}``: the compute
  API acts as a Nova whose newest microversion is 2.60 (version documents,
  406 above it, ``latest``); ``{"version": null}`` ends the cap.
- ``POST /_sandbox/reset-faults``: remove every rule, slow spawn, cap,
  fill, down cell and live-migration fault; requests still delayed go on
  to Nova at once, slowed live migrations complete.
- ``POST /_sandbox/shutdown``: clean shutdown (as SIGTERM).
- ``GET  /_sandbox/health``: ``{"ok": true}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from tests.sandbox import capacity, migrations
from tests.sandbox.control_bodies import (
    parse_compute,
    parse_delay,
    parse_down,
    parse_image,
    parse_size,
    parse_version,
)
from tests.sandbox.fault_rules import FaultRules, UnknownFault
from tests.sandbox.faults import SpawnDelays
from tests.sandbox.migrations import LiveMigrationFaults
from tests.sandbox.recorder import RequestRecorder
from tests.sandbox.wsgiutil import json_response, parse_json, read_body

if TYPE_CHECKING:
    from tests.sandbox.attached import Attached

LOG = logging.getLogger("sandbox.control")

# Routes of Control._live_migrations.
_LIVE_MIGRATION_ROUTES = frozenset(
    ("live-migration-failures", "slow-live-migration", "live-migration-faults")
)


class UnknownHost(LookupError):
    """No compute of that name was ever started."""


class CloudControls(Protocol):
    """What the control interface needs from the cloud (see cloud.py)."""

    spawn_delays: SpawnDelays
    live_migrations: LiveMigrationFaults

    def computes(self) -> list[dict[str, Any]]: ...

    def add_compute(
        self,
        host: str,
        size: dict[str, int] | None = None,
        hypervisor_type: str | None = None,
    ) -> dict[str, Any]: ...

    def stop_compute(self, host: str) -> dict[str, Any]: ...

    def start_compute(self, host: str) -> dict[str, Any]: ...

    def max_microversion(self) -> str | None: ...

    def set_max_microversion(self, version: str | None) -> str | None: ...

    def resources(self, host: str) -> dict[str, Any]: ...

    def resize_compute(self, host: str, size: dict[str, int]) -> None: ...

    def fill_compute(self, host: str, free: dict[str, int]) -> None: ...

    def unfill_compute(self, host: str) -> bool: ...

    def add_image(self, name: str, properties: dict[str, str]) -> str: ...

    def unfill_all(self) -> None: ...

    def filled(self) -> dict[str, dict[str, int]]: ...

    def cell_down(self) -> bool: ...

    def set_cell_down(self, down: bool) -> bool: ...

    def _driver(self, host: str) -> Any:
        """The virt driver of a running or stopped compute."""
        ...


class Control:
    """WSGI handler for ``/_sandbox``."""

    def __init__(
        self,
        cloud: CloudControls,
        recorder: RequestRecorder,
        faults: FaultRules,
        shutdown: Callable[[], None],
        attached: Attached,
    ) -> None:
        self.cloud = cloud
        self.attached = attached
        self.recorder = recorder
        self.faults = faults
        self.shutdown = shutdown

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"]
        parts = [p for p in environ.get("PATH_INFO", "").split("/") if p]
        # parts[0] is "_sandbox".
        route = parts[1:]
        try:
            status, body = self._dispatch(method, route, environ)
        except UnknownHost as exc:
            status, body = 404, {"error": f"unknown compute {exc}"}
        except UnknownFault as exc:
            status, body = 404, {"error": f"unknown fault rule {exc}"}
        except ValueError as exc:
            status, body = 400, {"error": str(exc)}
        except Exception as exc:  # reported to the caller, not swallowed
            LOG.exception("control call %s %s failed", method, route)
            status, body = 500, {"error": f"{type(exc).__name__}: {exc}"}
        return json_response(start_response, status, body)

    def _dispatch(
        self, method: str, route: list[str], environ: dict[str, Any]
    ) -> tuple[int, Any]:
        match method, route:
            case "GET", ["health"]:
                return 200, {"ok": True}
            case _, ["computes", *rest]:
                return self._computes(method, rest, environ)
            case "GET", ["requests"]:
                return 200, self.recorder.snapshot()
            case "POST", ["requests", "reset"]:
                self.recorder.reset()
                return 200, {"ok": True}
            case "GET", ["faults"]:
                return 200, self._faults()
            case "POST", ["faults"]:
                rule = self.faults.add(parse_json(read_body(environ)))
                return 201, rule.to_dict()
            case "DELETE", ["faults", rule_id]:
                if not rule_id.isdigit():
                    raise UnknownFault(rule_id)
                return 200, self.faults.remove(int(rule_id)).to_dict()
            case "POST", ["slow-spawn"]:
                delay = self._delay(parse_json(read_body(environ)))
                self.cloud.spawn_delays.set(*delay)
                return 200, self._faults()
            case _, [name] if name in _LIVE_MIGRATION_ROUTES:
                return self._live_migrations(method, name, environ)
            case "POST", ["max-microversion"]:
                version = parse_version(parse_json(read_body(environ)))
                self.cloud.set_max_microversion(version)
                return 200, self._faults()
            case "POST", ["servers", server_id, "share"]:
                return 201, self.attached.add_share(server_id)
            case "POST", ["servers", server_id, "accel-port"]:
                return 201, self.attached.add_accelerator_port(server_id)
            case "POST", ["volumes", volume_id, "encrypt"]:
                return 200, self.attached.encrypt_volume(volume_id)
            case "POST", ["images"]:
                image, props = parse_image(parse_json(read_body(environ)))
                made = self.cloud.add_image(image, props)
                return 201, {"id": made, "name": image}
            case "POST", ["down-cell"]:
                down = parse_down(parse_json(read_body(environ)))
                self.cloud.set_cell_down(down)
                return 200, self._faults()
            case "POST", ["reset-faults"]:
                self.reset_faults()
                return 200, self._faults()
            case "POST", ["shutdown"]:
                self.shutdown()
                return 202, {"ok": True}
        return 404, {"error": f"no route {method} /_sandbox/{'/'.join(route)}"}

    def _computes(
        self, method: str, route: list[str], environ: dict[str, Any]
    ) -> tuple[int, Any]:
        """The routes under ``/_sandbox/computes``."""
        match method, route:
            case "GET", []:
                return 200, self.cloud.computes()
            case "POST", []:
                host, size, kind = parse_compute(
                    parse_json(read_body(environ))
                )
                return 201, self.cloud.add_compute(host, size, kind)
            case "POST", [host, "stop"]:
                return 200, self.cloud.stop_compute(host)
            case "POST", [host, "start"]:
                return 200, self.cloud.start_compute(host)
            case "POST", [host, "reinstall"]:
                return 200, self._reinstall(host)
            case "GET", [host, "resources"]:
                return 200, self.cloud.resources(host)
            case "POST", [host, "size"]:
                size = parse_size(parse_json(read_body(environ)))
                self.cloud.resize_compute(host, size)
                return 200, self.cloud.resources(host)
            case "POST", [host, "fill"]:
                free = capacity.parse_free(parse_json(read_body(environ)))
                self.cloud.fill_compute(host, free)
                return 200, self.cloud.resources(host)
            case "POST", [host, "unfill"]:
                self.cloud.unfill_compute(host)
                return 200, self.cloud.resources(host)
        where = "/".join(["computes", *route])
        return 404, {"error": f"no route {method} /_sandbox/{where}"}

    def _live_migrations(
        self, method: str, name: str, environ: dict[str, Any]
    ) -> tuple[int, Any]:
        """The live-migration faults' routes (migrations.py)."""
        faults = self.cloud.live_migrations
        match method, name:
            case "POST", "live-migration-failures":
                body = parse_json(read_body(environ))
                host, stage, count = migrations.parse_failure(body)
                self._known(host)
                faults.add_failure(host, stage, count)
                return 201, faults.snapshot()
            case "POST", "slow-live-migration":
                faults.set_delay(*self._delay(parse_json(read_body(environ))))
                return 200, faults.snapshot()
            case "GET", "live-migration-faults":
                return 200, faults.snapshot()
        return 404, {"error": f"no route {method} /_sandbox/{name}"}

    def reset_faults(self) -> None:
        """No rule, no slow spawn, no cap, no fill, no down cell, no
        live-migration fault: Nova as it is."""
        self.faults.clear()
        self.cloud.spawn_delays.clear()
        self.cloud.live_migrations.clear()
        self.cloud.set_max_microversion(None)
        # Up first: a compute's resource update needs its cell.
        self.cloud.set_cell_down(False)
        self.cloud.unfill_all()

    def _faults(self) -> dict[str, Any]:
        return {
            "rules": self.faults.snapshot(),
            "slow_spawn": self.cloud.spawn_delays.snapshot(),
            "max_microversion": self.cloud.max_microversion(),
            "filled": self.cloud.filled(),
            "down_cell": self.cloud.cell_down(),
        }

    def _delay(self, body: Any) -> tuple[float, str | None]:
        """``(seconds, host)`` from a slow-spawn or slow-live-migration
        body ``{"seconds": 5, "host": "<optional>"}``."""
        seconds, host = parse_delay(body)
        if host is not None:
            self._known(host)
        return seconds, host

    def _reinstall(self, host: str) -> dict[str, Any]:
        """Wipe a stopped compute's hypervisor, then start its
        nova-compute: a host reinstalled under its old name."""
        self._known(host)
        if any(
            c["host"] == host and c["running"] for c in self.cloud.computes()
        ):
            raise ValueError(f"compute {host} is running: stop it first")
        # The driver a stopped compute keeps for its restart (cloud.py).
        guests = self.cloud._driver(host).instances
        LOG.info("sandbox: %s reinstalled, %d guests wiped", host, len(guests))
        guests.clear()
        return self.cloud.start_compute(host)

    def _known(self, host: str) -> None:
        """UnknownHost unless a compute of that name was started."""
        if host not in {c["host"] for c in self.cloud.computes()}:
            raise UnknownHost(host)
