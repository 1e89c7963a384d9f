"""Functional test harness: one sandbox cloud per pytest session.

Fixtures:

- ``sandbox`` (session): the running tests.sandbox.client.Sandbox;
  ``sandbox.admin`` / ``sandbox.demo`` are NovaAPI REST helpers,
  ``sandbox.placement`` a PlacementAPI one (admin).
- ``nova`` (session): ``sandbox.admin``.
- ``new_compute``: factory ``(host=None, **options) -> str`` starting a
  compute for this test (a fresh name unless given); ``options`` are
  Sandbox.add_compute's (``vcpus``, ``memory_mb``, ``local_gb``,
  ``hypervisor_type="ironic"``); stops them all afterwards.
- ``fresh_host``: one such compute, e.g. ``"compute-t007"``.
- ``boot_servers``: factory ``(count=1, host=None, project="admin",
  status="ACTIVE", **kw) -> list[server dict]``; ``volume_backed=True``
  boots from a volume (NovaAPI.create_server).
- ``run_openstack``: ``(*args, cloud="sandbox", env=None, timeout=300)
  -> CompletedProcess[str]``, the real ``openstack`` CLI of this venv.
- ``openstack_json``: the same with ``-f json``; asserts rc 0 and
  returns the parsed output.

Faults (``sandbox.fail_requests``, ``lose_answers``, ``delay_requests``,
``slow_spawn``, ``cap_microversion``, ``fill_compute``,
``set_cell_down``) last until the end of the test that set them: an
autouse fixture resets them after every test that used the sandbox, and
``new_compute`` resets them before its own clean-up calls.
"""

from __future__ import annotations

import itertools
import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.sandbox.client import Sandbox
from tests.sandbox.rest import NovaAPI

# The CLI installed next to the interpreter running the tests.
OPENSTACK = Path(sys.executable).parent / "openstack"

_host_numbers = itertools.count(1)
BASE_COMPUTES = 5


def pytest_configure(config: pytest.Config) -> None:
    """The CLI meets Ctrl-C as it does at a terminal.

    A script's background job (``make test &``, some CI runners) starts
    with SIGINT ignored, every child inherits that, and Python then never
    raises KeyboardInterrupt: the Ctrl-C tests would send a signal no one
    hears. A handler (unlike an ignore) does not survive exec, so the
    CLIs the tests start get the default again.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


class RunOpenstack(Protocol):
    def __call__(
        self,
        *args: str,
        cloud: str = "sandbox",
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]: ...


class OpenstackJson(Protocol):
    def __call__(
        self,
        *args: str,
        cloud: str = "sandbox",
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> Any: ...


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    # Five computes that stay up: a test's host or two down is then no
    # mass failure to host evacuate's guard (more than a third down).
    sb = Sandbox(tmp_path_factory.mktemp("sandbox"), computes=BASE_COMPUTES)
    sb.start()
    try:
        yield sb
    finally:
        # Also stopped at interpreter exit and when this process dies
        # (--parent-pid): the sandbox never outlives the test run.
        sb.stop()


@pytest.fixture(autouse=True)
def _sandbox_faults_reset(request: pytest.FixtureRequest) -> Iterator[None]:
    """No fault, delay, slow spawn or microversion cap outlives its test.

    Only for tests that use the sandbox: the others must not start it.
    """
    sandbox: Sandbox | None = None
    if "sandbox" in request.fixturenames:
        sandbox = request.getfixturevalue("sandbox")
    yield
    if sandbox is not None and sandbox.running:
        sandbox.reset_faults()


@pytest.fixture(scope="session")
def nova(sandbox: Sandbox) -> NovaAPI:
    return sandbox.admin


@pytest.fixture
def new_compute(sandbox: Sandbox) -> Iterator[Callable[..., str]]:
    started: list[str] = []

    def start(host: str | None = None, **options: Any) -> str:
        name = host or f"compute-t{next(_host_numbers):03d}"
        sandbox.add_compute(name, **options)
        started.append(name)
        return name

    yield start
    # The clean-up below talks to Nova: no fault of the test may hit it.
    sandbox.reset_faults()
    # A stopped compute costs nothing (no heartbeat). It is also forced
    # down: Nova thinks a stopped compute up for service_down_time more,
    # and the next test's servers scheduled to it would never build. And
    # disabled, as an operator leaves a dead host: the mass-failure guard
    # counts only enabled computes.
    running = {c["host"] for c in sandbox.computes() if c["running"]}
    for name in started:
        if name in running:
            sandbox.crash_compute(name)
        service = sandbox.admin.service(name)
        if not service["forced_down"]:
            sandbox.admin.force_down(name)
        if service["status"] == "enabled":
            sandbox.admin.disable_service(name, "test over")


@pytest.fixture
def fresh_host(new_compute: Callable[..., str]) -> str:
    return new_compute()


@pytest.fixture
def boot_servers(sandbox: Sandbox) -> Callable[..., list[dict[str, Any]]]:
    def boot(
        count: int = 1,
        host: str | None = None,
        project: str = "admin",
        status: str | None = "ACTIVE",
        **kwargs: Any,
    ) -> list[dict[str, Any]]:
        # Choosing the host is admin-only, so an admin boots on a host in
        # another project; otherwise the project's own user boots.
        user = "admin" if host or project == "admin" else project
        api = sandbox.admin.as_user(user, project)
        return api.create_servers(count, host=host, wait=status, **kwargs)

    return boot


@pytest.fixture(scope="session")
def run_openstack(sandbox: Sandbox) -> RunOpenstack:
    def run(
        *args: str,
        cloud: str = "sandbox",
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(OPENSTACK), *args],
            env=sandbox.cli_env(cloud, env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


@pytest.fixture(scope="session")
def openstack_json(run_openstack: RunOpenstack) -> OpenstackJson:
    def run_json(
        *args: str,
        cloud: str = "sandbox",
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> Any:
        proc = run_openstack(
            *args, "-f", "json", cloud=cloud, env=env, timeout=timeout
        )
        assert proc.returncode == 0, unexpected_exit(args, proc)
        return json.loads(proc.stdout)

    return run_json


def unexpected_exit(
    args: tuple[str, ...], proc: subprocess.CompletedProcess[str]
) -> str:
    """What a failed run said, the telling part first: CI shows only the
    start of a failure, and 50 verified rows would hide the one that
    was not."""
    head = f"openstack {' '.join(args)} exited {proc.returncode}"
    try:
        rows = json.loads(proc.stdout)
    except ValueError:
        rows = None
    if isinstance(rows, list):
        odd = [r for r in rows if r.get("Result") != "verified"]
        shown = f"{len(odd)} of {len(rows)} rows not verified: {odd}"
    else:
        shown = f"stdout: {proc.stdout}"
    return f"{head}\nstderr: {proc.stderr[-4000:]}\n{shown}"


@pytest.fixture
def only_host_up(
    sandbox: Sandbox, nova: NovaAPI
) -> Iterator[Callable[[str], None]]:
    """Disable every other compute, so that the scheduler finds nothing."""
    disabled: list[str] = []

    def disable_all_but(keep: str) -> None:
        for compute in sandbox.computes():
            if compute["running"] and compute["host"] != keep:
                nova.disable_service(compute["host"], "test: no valid host")
                disabled.append(compute["host"])

    yield disable_all_but
    for host in disabled:
        nova.enable_service(host)
