"""Serve the sandbox over HTTP and run until told to stop.

Imported by __main__ only after nova has monkey-patched the interpreter.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

import eventlet
import eventlet.greenio
import eventlet.wsgi

from tests.sandbox.attached import Attached, NetworkStub, VolumeStub
from tests.sandbox.cloud import NOVA_PASTE_CONFIG, Cloud
from tests.sandbox.control import Control
from tests.sandbox.fault_rules import FaultRules
from tests.sandbox.faults import FaultInjector
from tests.sandbox.identity import Keystone, url_of
from tests.sandbox.recorder import RequestRecorder
from tests.sandbox.router import ApiRouter, Router, WSGIApp
from tests.sandbox.stubs import GlanceStub, TokenRequired

LOG = logging.getLogger("sandbox.server")

# Seconds the cleanup may take before the process just ends.
CLEANUP_TIMEOUT = 20

# Concurrent HTTP requests served at once (each one a greenthread).
POOL_SIZE = 256

# Seconds Keystone may take to be ready once Nova is (it starts first and
# is usually ready about when Nova is).
KEYSTONE_TIMEOUT = 60


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


def _app(
    cloud: Cloud, keystone: Keystone, state_dir: Path, stop: _Stop
) -> Router:
    """The sandbox's WSGI app: Nova and Placement behind the request
    recorder and the fault injector, the control interface, and the
    stand-ins; each API validates tokens with ``keystone``."""
    paste = keystone.nova_paste_config(
        NOVA_PASTE_CONFIG, state_dir / "api-paste.ini"
    )
    # The recorder sees every request, faulted or not; the injector
    # decides which ones reach Nova or Placement.
    faults = FaultRules()
    apis = ApiRouter(
        cloud.nova_app(paste),
        cloud.placement_app(keystone.authtoken_options("placement")),
    )
    recorder = RequestRecorder(FaultInjector(apis, faults, keystone.url))
    attached = Attached()
    control = Control(
        cloud, recorder, faults, lambda: stop.set("shutdown"), attached
    )
    stubs: dict[str, WSGIApp] = {
        "/image": GlanceStub(
            cloud.images, keystone.authtoken_options("glance")
        ),
        "/network": TokenRequired(
            NetworkStub(attached), keystone.authtoken_options("neutron")
        ),
        "/volume": TokenRequired(
            VolumeStub(attached), keystone.authtoken_options("cinder")
        ),
    }
    recorded = {prefix: recorder.recording(s) for prefix, s in stubs.items()}
    return Router(recorder, control, recorded)


def _announce(
    state_dir: Path, url: str, keystone: Keystone, started: float
) -> None:
    """Write what clients read to reach the sandbox (clouds.yaml,
    sandbox.json), and log that it is ready."""
    _write(state_dir / "clouds.yaml", keystone.clouds_yaml())
    state = {
        "url": url,
        "pid": os.getpid(),
        "identity_url": keystone.url,
        "token_lifetime": keystone.token_lifetime,
        **keystone.ids,
    }
    _write(state_dir / "sandbox.json", json.dumps(state) + "\n")
    LOG.info(
        "sandbox ready at %s (Keystone at %s) in %.1f s",
        url,
        keystone.url,
        time.monotonic() - started,
    )


def run(
    state_dir: Path,
    computes: int,
    listener: socket.socket,
    keystone: Keystone,
    driver: str,
    parent_pid: int | None,
    debug: bool,
) -> int:
    """Start Nova and serve it on ``listener`` (bound before nova's
    monkey-patching, like Keystone started: see __main__)."""
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop.on_signal)
    signal.signal(signal.SIGINT, stop.on_signal)
    started = time.monotonic()
    cloud = Cloud(driver, state_dir / "sandbox.log", debug=debug)
    try:
        sock = eventlet.greenio.GreenSocket(listener)
        url = url_of(listener)
        cloud.start(computes)
        app = _app(cloud, keystone, state_dir, stop)
        keystone.wait_ready(KEYSTONE_TIMEOUT, sleep=eventlet.sleep)
        eventlet.spawn_n(
            eventlet.wsgi.server,
            sock,
            app,
            custom_pool=eventlet.GreenPool(POOL_SIZE),
            log=logging.getLogger("sandbox.wsgi"),
            log_output=False,
            debug=False,
        )
        _announce(state_dir, url, keystone, started)
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
    keystone.stop()
    cloud.close()
    LOG.info("sandbox stopped")
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leftover greenthreads and executor threads must not keep a stopped
    # sandbox alive.
    os._exit(code)
