"""What the reliability matrix's cases share (test_matrix_refusals.py,
test_matrix_runs.py): the promise a case checks, a crashed host with
servers, the records each server should have, its evacuate requests.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.functional.scenario import (
    Boot,
    crash,
    evacuate_posts,
)
from tests.sandbox.client import EVACUATE_POSTS, Sandbox

Promise = str


def promise(name: Promise) -> pytest.MarkDecorator:
    """The promise a case checks, shown in the test's id and markers."""
    return pytest.mark.promise(name)


def crashed_host_with(
    sandbox: Sandbox, boot: Boot, host: str, count: int = 1
) -> list[dict[str, Any]]:
    servers = boot(count, host=host)
    crash(sandbox, host)
    sandbox.reset_requests()
    return servers


def none_for(servers: list[dict[str, Any]]) -> dict[str, int]:
    return {s["id"]: 0 for s in servers}


def one_each(servers: list[dict[str, Any]]) -> dict[str, int]:
    return {s["id"]: 1 for s in servers}


def evacuate_posts_of(server_id: str) -> dict[str, Any]:
    """A fault matcher: evacuate requests for this server only."""
    return {**EVACUATE_POSTS, "path": f"^/v2\\.1/servers/{server_id}/action$"}


def posts_for(sandbox: Sandbox, server_id: str) -> int:
    return sum(server_id in p["path"] for p in evacuate_posts(sandbox))
