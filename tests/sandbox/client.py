"""Start, stop and drive the sandbox from tests and tools.

No nova import here (nova monkey-patches the interpreter): only the
standard library and requests. The REST helper for test set-up lives in
rest.py; this module runs the process, and its Sandbox talks to
``/_sandbox`` (control_client.py, fault_client.py).

    with Sandbox(tmp_path / "sandbox") as sandbox:
        server = sandbox.admin.create_server(host="compute01")
        in_demo = sandbox.admin.as_user("admin", "demo").create_server()
        volume = sandbox.admin.create_server(host="compute01",
                                             volume_backed=True)
        sandbox.crash_compute("compute01")
        sandbox.fail_requests(503, **EVACUATE_POSTS, count=2)
        sandbox.slow_spawn(5, host="compute02")
        sandbox.fail_live_migrations("compute01", stage="pre-check")
        sandbox.slow_live_migration(30, host="compute01")
        sandbox.cap_microversion("2.60")
        sandbox.fill_compute("compute03")            # nothing fits there
        sandbox.add_compute("ironic01", hypervisor_type="ironic")
        sandbox.set_cell_down(True)
        sandbox.reset_faults()
        sandbox.placement.resource_providers()
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO

import requests

from tests.sandbox.accounts import DEFAULT_TOKEN_LIFETIME
from tests.sandbox.control_client import SandboxError
from tests.sandbox.fault_client import EVACUATE_POSTS, Drop, SandboxFaults
from tests.sandbox.login import Login
from tests.sandbox.rest import NovaAPI, PlacementAPI

# What the tests import from here.
__all__ = ["EVACUATE_POSTS", "Drop", "Sandbox", "SandboxError"]

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "SANDBOX READY "


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:])


class SandboxIdentity:
    """The sandbox's Keystone: where it is, the ids it gave, logins."""

    identity_url: str
    _ids: dict[str, dict[str, str]]

    @property
    def auth_url(self) -> str:
        return f"{self.identity_url}/v3"

    def login(self, user: str, project: str) -> Login:
        """``user``'s password login to ``project`` (tokens cached)."""
        return Login.of(self.auth_url, user, project)

    def project_id(self, name: str) -> str:
        """The id Keystone gave project ``name`` (admin, demo...)."""
        return self._ids["projects"][name]

    def user_id(self, name: str) -> str:
        return self._ids["users"][name]


class Sandbox(SandboxFaults, SandboxIdentity):
    """One sandbox process (``python -m tests.sandbox``)."""

    def __init__(
        self,
        state_dir: Path,
        computes: int = 3,
        port: int = 0,
        driver: str = "fake.FakeDriver",
        python: str = sys.executable,
        startup_timeout: float = 120.0,
        debug: bool = False,
        token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.computes_at_start = computes
        self.port = port
        self.driver = driver
        self.python = python
        self.startup_timeout = startup_timeout
        self.debug = debug
        self.token_lifetime = token_lifetime
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        # Keystone's URL, and the ids it gave (sandbox.json).
        self.identity_url = ""
        self._ids: dict[str, dict[str, str]] = {}
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._session = requests.Session()

    # Files the sandbox writes.
    @property
    def clouds_yaml(self) -> Path:
        return self.state_dir / "clouds.yaml"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "sandbox.log"

    @property
    def stderr_path(self) -> Path:
        return self.state_dir / "stderr.log"

    def cli_env(
        self, cloud: str = "sandbox", env: dict[str, str] | None = None
    ) -> dict[str, str]:
        """Environment for the ``openstack`` CLI: the caller's without
        OS_* settings (a developer's own cloud must not leak in), plus
        the sandbox's clouds.yaml and ``cloud``, then ``env``."""
        out = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        out["OS_CLIENT_CONFIG_FILE"] = str(self.clouds_yaml)
        out["OS_CLOUD"] = cloud
        out.update(env or {})
        return out

    # Process life cycle.
    def start(self) -> Sandbox:
        if self.process is not None:
            raise SandboxError("sandbox already started")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            self.python,
            "-m",
            "tests.sandbox",
            "--state-dir",
            str(self.state_dir),
            "--computes",
            str(self.computes_at_start),
            "--port",
            str(self.port),
            "--driver",
            self.driver,
            "--token-lifetime",
            str(self.token_lifetime),
            # The sandbox exits by itself if we die without stopping it.
            "--parent-pid",
            str(os.getpid()),
        ]
        if self.debug:
            cmd.append("--debug")
        with open(self.stderr_path, "w") as stderr:
            self.process = subprocess.Popen(
                cmd,
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                # Own process group: a Ctrl-C meant for the test run does
                # not hit the sandbox before the fixture can stop it.
                start_new_session=True,
            )
        atexit.register(self.stop)
        assert self.process.stdout is not None
        threading.Thread(
            target=self._drain, args=(self.process.stdout,), daemon=True
        ).start()
        try:
            self.url = self._wait_ready()
        except BaseException:
            self.stop()
            raise
        state = json.loads((self.state_dir / "sandbox.json").read_text())
        self.identity_url = state["identity_url"]
        self._ids = {"projects": state["projects"], "users": state["users"]}
        self.admin = NovaAPI(self.url, self.login("admin", "admin"))
        self.demo = NovaAPI(self.url, self.login("demo", "demo"))
        self.reader = NovaAPI(self.url, self.login("reader", "demo"))
        self.placement = PlacementAPI(self.url, self.login("admin", "admin"))
        return self

    def _drain(self, stdout: IO[str]) -> None:
        # Keep reading so the pipe never fills and blocks the sandbox.
        for line in stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise SandboxError(
                    f"sandbox not ready after {self.startup_timeout:.0f} s"
                    + self.diagnostics()
                )
            try:
                line = self._lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                continue
            if line is None:
                assert self.process is not None
                code = self.process.wait()
                raise SandboxError(
                    f"sandbox exited with {code} before it was ready"
                    + self.diagnostics()
                )
            if line.startswith(READY_PREFIX):
                return line[len(READY_PREFIX) :].strip()

    def diagnostics(self, lines: int = 30) -> str:
        """The tails of the sandbox's and Keystone's logs and stderr, for
        error messages."""
        keystone = self.state_dir / "keystone"
        return "".join(
            f"\n--- {path} (tail) ---\n{_tail(path, lines)}"
            for path in (
                self.log_path,
                self.stderr_path,
                keystone / "keystone.log",
                keystone / "stderr.log",
            )
        )

    def stop(self, timeout: float = 30.0) -> int | None:
        """Stop the sandbox (SIGTERM, then SIGKILL); its exit code."""
        atexit.unregister(self.stop)
        process, self.process = self.process, None
        if process is None:
            return None
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self._session.close()
        return process.returncode

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def shutdown(self, timeout: float = 30.0) -> int | None:
        """Ask for a clean shutdown over HTTP and wait for the exit."""
        self.control("POST", "shutdown")
        if self.process is not None:
            self.process.wait(timeout)
        return self.stop()
