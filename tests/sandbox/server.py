"""Serve the sandbox over HTTP and run until told to stop.

Imported by __main__ only after nova has monkey-patched the interpreter.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

import eventlet
import eventlet.wsgi

from tests.sandbox.attached import Attached
from tests.sandbox.cloud import Cloud
from tests.sandbox.control import Control
from tests.sandbox.faults import FaultInjector, FaultRules
from tests.sandbox.recorder import RequestRecorder
from tests.sandbox.router import ApiRouter, Router
from tests.sandbox.stubs import GlanceStub, KeystoneStub
from tests.sandbox.wsgiutil import PLACEMENT_PREFIX

LOG = logging.getLogger("sandbox.server")

# Seconds the cleanup may take before the process just ends.
CLEANUP_TIMEOUT = 20

# Concurrent HTTP requests served at once (each one a greenthread).
POOL_SIZE = 256


def clouds_yaml(url: str) -> str:
    """clouds.yaml for the stock CLI: admin_token auth with endpoint
    overrides, so no Keystone catalog is needed. Clients find Placement
    through ``placement_endpoint_override`` (openstacksdk's
    ``CloudRegion.get_endpoint("placement")``), as they find Nova through
    ``compute_endpoint_override``."""
    clouds = []
    for name, token in (
        ("sandbox", "admin:admin"),
        ("sandbox-demo", "demo:demo"),
    ):
        clouds.append(
            f"""  {name}:
    auth_type: admin_token
    auth:
      endpoint: {url}/identity/v3
      token: "{token}"
    compute_endpoint_override: {url}/v2.1
    placement_endpoint_override: {url}{PLACEMENT_PREFIX}
    image_endpoint_override: {url}/image
    network_endpoint_override: {url}/network
    block_storage_endpoint_override: {url}/volume/v3
    identity_endpoint_override: {url}/identity/v3
    identity_api_version: 3
    region_name: RegionOne
"""
        )
    return "clouds:\n" + "".join(clouds)


def _write(path: Path, text: str) -> None:
    # Written then renamed, so a reader never sees half a file.
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


class _Stop:
    """Why the main loop should end (signal, control call or orphaned)."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def set(self, reason: str) -> None:
        self.reason = self.reason or reason

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.set(signal.Signals(signum).name)


def _parent_alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(
    state_dir: Path,
    computes: int,
    port: int,
    driver: str,
    parent_pid: int | None,
    debug: bool,
) -> int:
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop.on_signal)
    signal.signal(signal.SIGINT, stop.on_signal)
    started = time.monotonic()
    cloud = Cloud(driver, state_dir / "sandbox.log", debug=debug)
    try:
        cloud.start(computes)
        # The recorder sees every request, faulted or not; the injector
        # decides which ones reach Nova or Placement.
        faults = FaultRules()
        apis = ApiRouter(cloud.nova_app(), cloud.placement_app())
        recorder = RequestRecorder(FaultInjector(apis, faults))
        attached = Attached()
        control = Control(
            cloud, recorder, faults, lambda: stop.set("shutdown"), attached
        )
        app = Router(
            recorder,
            control,
            GlanceStub(cloud.images),
            KeystoneStub(),
            attached,
        )
        sock = eventlet.listen(("127.0.0.1", port))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        eventlet.spawn_n(
            eventlet.wsgi.server,
            sock,
            app,
            custom_pool=eventlet.GreenPool(POOL_SIZE),
            log=logging.getLogger("sandbox.wsgi"),
            log_output=False,
            debug=False,
        )
        _write(state_dir / "clouds.yaml", clouds_yaml(url))
        _write(
            state_dir / "sandbox.json",
            json.dumps({"url": url, "pid": os.getpid()}) + "\n",
        )
        LOG.info(
            "sandbox ready at %s in %.1f s", url, time.monotonic() - started
        )
        print(f"SANDBOX READY {url}", flush=True)

        while stop.reason is None:
            eventlet.sleep(0.2)
            if not _parent_alive(parent_pid):
                stop.set("parent exited")
        LOG.info("sandbox stopping: %s", stop.reason)
        sock.close()
        code = 0
    except BaseException:
        LOG.exception("sandbox failed")
        traceback.print_exc()
        code = 1
    # Cleanup waits for in-flight work; a stuck greenthread must not keep
    # the process alive (SIGALRM's default action ends it).
    signal.alarm(CLEANUP_TIMEOUT)
    cloud.close()
    LOG.info("sandbox stopped")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leftover greenthreads and executor threads must not keep a stopped
    # sandbox alive.
    os._exit(code)
