"""Start, stop and drive the sandbox from tests and tools.

No nova import here (nova monkey-patches the interpreter): only the
standard library and requests. The REST helper for test set-up lives in
rest.py; this module runs the process and talks to ``/_sandbox``.

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
from typing import IO, Any, Literal

import requests

from tests.sandbox.accounts import DEFAULT_TOKEN_LIFETIME
from tests.sandbox.login import Login
from tests.sandbox.rest import NovaAPI, PlacementAPI

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_PREFIX = "SANDBOX READY "

# Fault rule matchers (keyword arguments of Sandbox.add_fault).
ACTION_PATH = r"^/v2\.1/servers/[^/]+/action$"
EVACUATE_POSTS: dict[str, Any] = {
    "method": "POST",
    "path": ACTION_PATH,
    "body_key": "evacuate",
}

Drop = Literal["drop"]


class SandboxError(RuntimeError):
    """The sandbox failed to start, died, or refused a control call."""


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} not readable)"
    return "\n".join(text.splitlines()[-lines:])


class Sandbox:
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

    # Keystone.
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

    # The control interface.
    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call ``/_sandbox/<path>``; the parsed JSON reply."""
        resp = self._session.request(
            method, f"{self.url}/_sandbox/{path}", json=body, timeout=120
        )
        if resp.status_code >= 400:
            raise SandboxError(
                f"{method} /_sandbox/{path}: {resp.status_code} {resp.text}"
            )
        return resp.json()

    def computes(self) -> list[dict[str, Any]]:
        """``[{"host": "compute01", "running": True}, ...]``"""
        result: list[dict[str, Any]] = self.control("GET", "computes")
        return result

    def add_compute(
        self,
        host: str,
        *,
        vcpus: int | None = None,
        memory_mb: int | None = None,
        local_gb: int | None = None,
        hypervisor_type: str | None = None,
    ) -> dict[str, Any]:
        """Start a new compute (or restart a stopped one). A new one may
        have its own size (the fake driver's vcpus, memory_mb, local_gb)
        and ``hypervisor_type="ironic"`` or ``"vtpm"`` (a fake compute
        with emulated TPMs; tests/sandbox/drivers.py)."""
        body: dict[str, Any] = {"host": host}
        for key, value in (
            ("vcpus", vcpus),
            ("memory_mb", memory_mb),
            ("local_gb", local_gb),
            ("hypervisor_type", hypervisor_type),
        ):
            if value is not None:
                body[key] = value
        result: dict[str, Any] = self.control("POST", "computes", body)
        return result

    def crash_compute(
        self, host: str, force_down: bool = False
    ) -> dict[str, Any]:
        """Stop the compute as a dead host would. Nova sees it down after
        service_down_time (20 s), or at once with ``force_down``."""
        result: dict[str, Any] = self.control("POST", f"computes/{host}/stop")
        if force_down:
            self.admin.force_down(host)
        return result

    def start_compute(self, host: str) -> dict[str, Any]:
        """Restart a stopped compute; its start-up cleans up evacuated
        guests and moves their migrations to ``completed``."""
        result: dict[str, Any] = self.control("POST", f"computes/{host}/start")
        return result

    def reinstall_compute(self, host: str) -> dict[str, Any]:
        """Start a stopped compute as its host reinstalled under the same
        name: the hypervisor has no guest left (a restart of the old one,
        with the evacuated guests still there, is what Nova refuses once
        its service was deleted: "My hypervisor has existing instances,
        but I appear to be a new service")."""
        result: dict[str, Any] = self.control(
            "POST", f"computes/{host}/reinstall"
        )
        return result

    # Capacity (capacity.py).
    def resources(self, host: str) -> dict[str, Any]:
        """Placement's view of the compute's node: ``{"host",
        "resource_provider", "inventories", "usages", "free", "filled"}``;
        ``free`` is ``(total - reserved) * allocation_ratio - used``."""
        result: dict[str, Any] = self.control(
            "GET", f"computes/{host}/resources"
        )
        return result

    def resize_compute(
        self,
        host: str,
        *,
        vcpus: int | None = None,
        memory_mb: int | None = None,
        local_gb: int | None = None,
    ) -> dict[str, Any]:
        """Give a running compute's hypervisor another size, now (what
        os-hypervisors and Placement's inventory ``total`` say)."""
        body = {
            key: value
            for key, value in (
                ("vcpus", vcpus),
                ("memory_mb", memory_mb),
                ("local_gb", local_gb),
            )
            if value is not None
        }
        result: dict[str, Any] = self.control(
            "POST", f"computes/{host}/size", body
        )
        return result

    def fill_compute(
        self,
        host: str,
        *,
        vcpus: int = 0,
        memory_mb: int = 0,
        disk_gb: int = 0,
    ) -> dict[str, Any]:
        """Leave only this much free on a running compute, for Placement
        and the scheduler (nothing, by default: it is full). Lasts until
        unfill_compute or reset_faults."""
        body = {
            "free": {
                "VCPU": vcpus,
                "MEMORY_MB": memory_mb,
                "DISK_GB": disk_gb,
            }
        }
        result: dict[str, Any] = self.control(
            "POST", f"computes/{host}/fill", body
        )
        return result

    def unfill_compute(self, host: str) -> dict[str, Any]:
        result: dict[str, Any] = self.control(
            "POST", f"computes/{host}/unfill"
        )
        return result

    def set_cell_down(self, down: bool = True) -> dict[str, Any]:
        """Take cell1 (every compute and server) down, or up again: Nova's
        DownCellFixture. Lasts until ``False`` or reset_faults."""
        result: dict[str, Any] = self.control(
            "POST", "down-cell", {"down": down}
        )
        return result

    def requests(self) -> dict[str, Any]:
        """``{"counts": {"GET /v2.1/servers/detail": n}, "log": [...]}``;
        Placement's under ``/placement``, e.g. ``GET
        /placement/resource_providers/{id}/usages``."""
        result: dict[str, Any] = self.control("GET", "requests")
        return result

    def request_counts(self) -> dict[str, int]:
        counts: dict[str, int] = self.requests()["counts"]
        return counts

    def reset_requests(self) -> None:
        self.control("POST", "requests/reset")

    # Faults (faults.py; every one ends with reset_faults).
    def add_fault(
        self,
        *,
        service: str | None = None,
        method: str | None = None,
        path: str | None = None,
        query: str | None = None,
        body_key: str | None = None,
        count: int | None = 1,
        skip: int = 0,
        error: int | Drop | None = None,
        lost: int | Drop | None = None,
        delay: float | None = None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Fault the next ``count`` requests (None: all) that match
        ``method``, ``path`` and ``query`` (regexes searched in the path,
        e.g. ``/v2.1/servers/<id>/action``, and the query string) and
        whose JSON body has the key ``body_key``, after letting ``skip``
        of them through. ``error``: answer that status (or "drop") without
        reaching Nova; ``lost``: Nova acts, then 502, 504 or "drop";
        ``delay``: seconds before Nova sees it. ``service="placement"``
        faults Placement's API instead of Nova's (``path`` then includes
        ``/placement``). The rule, with its id."""
        body: dict[str, Any] = {"count": count, "skip": skip}
        for key, value in (
            ("service", service),
            ("method", method),
            ("path", path),
            ("query", query),
            ("body_key", body_key),
            ("error", error),
            ("lost", lost),
            ("delay", delay),
            ("message", message),
        ):
            if value is not None:
                body[key] = value
        rule: dict[str, Any] = self.control("POST", "faults", body)
        return rule

    def fail_requests(self, error: int | Drop, **match: Any) -> dict[str, Any]:
        """Answer ``error`` (500, 503, 409, 401...) or drop the connection
        without reaching Nova; ``match`` as for add_fault."""
        return self.add_fault(error=error, **match)

    def lose_answers(
        self, lost: int | Drop = "drop", **match: Any
    ) -> dict[str, Any]:
        """Let Nova act, then answer 502 or 504 or drop the connection."""
        return self.add_fault(lost=lost, **match)

    def delay_requests(self, seconds: float, **match: Any) -> dict[str, Any]:
        """Hold matching requests ``seconds`` before Nova sees them."""
        return self.add_fault(delay=seconds, **match)

    def remove_fault(self, rule_id: int) -> dict[str, Any]:
        rule: dict[str, Any] = self.control("DELETE", f"faults/{rule_id}")
        return rule

    def faults(self) -> dict[str, Any]:
        """``{"rules": [...], "slow_spawn": {"seconds": 0.0, "hosts": {}},
        "max_microversion": None, "filled": {}, "down_cell": False}``"""
        result: dict[str, Any] = self.control("GET", "faults")
        return result

    def slow_spawn(
        self, seconds: float, host: str | None = None
    ) -> dict[str, Any]:
        """Make spawns (an evacuation's rebuild, a boot) on ``host``, or on
        every compute, take ``seconds`` more. Crashing the host meanwhile
        ends the spawn; its evacuation stays ``pre-migrating``."""
        body: dict[str, Any] = {"seconds": seconds}
        if host is not None:
            body["host"] = host
        result: dict[str, Any] = self.control("POST", "slow-spawn", body)
        return result

    def fail_live_migrations(
        self,
        host: str,
        count: int | None = 1,
        stage: Literal["during", "pre-check"] = "during",
    ) -> dict[str, Any]:
        """Make the next ``count`` live migrations (None: all) to or from
        ``host`` fail, Nova's own code writing the outcome: ``"during"``,
        the record ends ``failed`` and the server stays on its source;
        ``"pre-check"``, the destination's checks refuse it (os-migrateLive
        answers 400 below 2.34; from 2.34 it answers 202 and the record
        ends ``error``). The live-migration faults
        (live_migration_faults)."""
        result: dict[str, Any] = self.control(
            "POST",
            "live-migration-failures",
            {"host": host, "count": count, "stage": stage},
        )
        return result

    def slow_live_migration(
        self, seconds: float, host: str | None = None
    ) -> dict[str, Any]:
        """Make live migrations to or from ``host`` (every one without
        it) stay ``running`` ``seconds`` first; an abort (record
        ``cancelled``) or a force-complete (``completed``) ends the wait.
        The live-migration faults (live_migration_faults)."""
        body: dict[str, Any] = {"seconds": seconds}
        if host is not None:
            body["host"] = host
        result: dict[str, Any] = self.control(
            "POST", "slow-live-migration", body
        )
        return result

    def live_migration_faults(self) -> dict[str, Any]:
        """``{"failures": [{"host", "stage", "count", "failed"}],
        "slow": {"seconds": 0.0, "hosts": {}}}``"""
        result: dict[str, Any] = self.control("GET", "live-migration-faults")
        return result

    def add_image(self, name: str, **properties: str) -> str:
        """A new bootable image with these properties; its id."""
        made: dict[str, Any] = self.control(
            "POST", "images", {"name": name, "properties": properties}
        )
        return str(made["id"])

    def attach(self, server_id: str, what: str) -> dict[str, Any]:
        """Attach to the server what Nova's evacuate refuses, as Nova
        records it (attached.py): ``share`` (its share_id) or
        ``accel-port`` (the port)."""
        made: dict[str, Any] = self.control(
            "POST", f"servers/{server_id}/{what}"
        )
        return made

    def encrypt_volume(self, volume_id: str) -> None:
        """Cinder's stand-in says the volume is encrypted."""
        self.control("POST", f"volumes/{volume_id}/encrypt")

    def cap_microversion(self, version: str | None) -> dict[str, Any]:
        """Play a Nova whose newest compute microversion is ``version``
        (None: Nova's own again)."""
        result: dict[str, Any] = self.control(
            "POST", "max-microversion", {"version": version}
        )
        return result

    def reset_faults(self) -> dict[str, Any]:
        """No fault rule, slow spawn, cap, fill, down cell or
        live-migration fault; delayed requests go on, slowed live
        migrations complete."""
        result: dict[str, Any] = self.control("POST", "reset-faults")
        return result

    def shutdown(self, timeout: float = 30.0) -> int | None:
        """Ask for a clean shutdown over HTTP and wait for the exit."""
        self.control("POST", "shutdown")
        if self.process is not None:
            self.process.wait(timeout)
        return self.stop()
