"""The test helpers' REST client (rest.py): its microversions, errors,
waits, and the one HTTP client the Nova and Placement helpers share.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Self, TypeVar

import requests

from tests.sandbox.login import Login

# GlanceFixture's first image and flavor m1.tiny.
IMAGE_ID = "155d900f-4e14-4e4c-a73d-069cbf4541e6"
FLAVOR_ID = "1"

# Microversions used by the helper: 2.74 adds "host" to server create,
# 2.53 addresses services by UUID (and searches hypervisors by name with
# their type and service in detail), 2.80 adds user/project to
# migrations, 2.89 shows a volume attachment's attachment_id. Moves at
# 2.80: os-migrateLive takes block_migration "auto" (2.25) and no force
# (2.68) and checks after its 202 (2.34); migrate takes a host (2.56); a
# live migration can be force-completed (2.22) and aborted (2.24, queued
# ones too from 2.65).
MV_CREATE = "2.74"
MV_SERVICES = "2.53"
MV_HYPERVISORS = "2.53"
MV_MIGRATIONS = "2.80"
MV_VOLUME_ATTACHMENTS = "2.89"
MV_MIGRATE = "2.80"

# Placement's microversion for the helper (osc-placement's newest).
PLACEMENT_MICROVERSION = "1.39"

T = TypeVar("T")
# The next set of servers' default names: sb-1-..., sb-2-...
NAMES = itertools.count(1)


class NovaAPIError(RuntimeError):
    """Nova answered with an unexpected status."""

    def __init__(self, method: str, url: str, status: int, body: str):
        super().__init__(f"{method} {url}: {status} {body[:500]}")
        self.status = status
        self.body = body


class Timeout(AssertionError):
    """A wait ran out of time (an AssertionError: tests fail, not error)."""


def wait_for(
    what: str,
    probe: Callable[[], T | None],
    timeout: float,
    interval: float = 0.2,
    last: Callable[[], Any] | None = None,
) -> T:
    """Call ``probe`` until it returns something other than None."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            seen = f"; last seen: {last()}" if last else ""
            raise Timeout(
                f"timed out after {timeout} s waiting for {what}{seen}"
            )
        time.sleep(interval)


class RestAPI:
    """One sandbox API as one user logged in to one project; thread-safe
    (one HTTP session per thread). Subclasses name the API's root and
    service type."""

    # The API's root under the sandbox's URL, and its service type for
    # the microversion header.
    prefix = ""
    service_type = ""

    def __init__(self, url: str, login: Login) -> None:
        self.url = url.rstrip("/")
        self.login = login
        self._local = threading.local()

    def as_user(self, user: str, project: str) -> Self:
        """The same API as ``user`` logged in to ``project``."""
        login = Login.of(self.login.auth_url, user, project)
        return type(self)(self.url, login)

    @property
    def token(self) -> str:
        """A valid Keystone token of this user in this project."""
        return self.login.token()

    @property
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(
            self._local, "session", None
        )
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        microversion: str | None = None,
        params: dict[str, Any] | None = None,
        ok: Collection[int] | None = (200, 201, 202, 204),
    ) -> requests.Response:
        """One call to ``<prefix><path>``; raises NovaAPIError unless the
        status is in ``ok`` (``ok=None`` accepts any status)."""
        headers = {"X-Auth-Token": self.token}
        if microversion:
            headers["OpenStack-API-Version"] = (
                f"{self.service_type} {microversion}"
            )
        url = f"{self.url}{self.prefix}{path}"
        resp = self._session.request(
            method,
            url,
            json=body,
            params=params,
            headers=headers,
            timeout=120,
        )
        if ok is not None and resp.status_code not in ok:
            raise NovaAPIError(method, url, resp.status_code, resp.text)
        return resp

    def get(
        self, path: str, microversion: str | None = "latest", **params: Any
    ) -> Any:
        """GET and parse; the newest microversion unless told."""
        return self.request(
            "GET", path, microversion=microversion, params=params or None
        ).json()


def parallel(
    fn: Callable[[int], T], items: Iterable[int], concurrency: int
) -> list[T]:
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        return list(pool.map(fn, items))
