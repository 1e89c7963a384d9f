"""The sandbox's request log: a duration never ends after the client has
the whole answer (the benchmark reads these durations)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from tests.sandbox.recorder import RequestRecorder


def _app(chunks: list[bytes]) -> Callable[..., Iterable[bytes]]:
    def app(
        environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/json")])
        return iter(chunks)

    return app


def _serve(chunks: list[bytes]) -> tuple[dict[str, Any], float]:
    """Serve like a WSGI server that writes each chunk as it gets it: the
    client holds the whole answer once the last chunk is written, and the
    server asks the body for more only later (here, 50 ms later)."""
    recorder = RequestRecorder(_app(chunks))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/v2.1/servers"}
    body = iter(recorder(environ, lambda status, headers, *exc: None))
    received = time.monotonic()
    for _ in chunks:
        next(body)
        received = time.monotonic()
    time.sleep(0.05)
    for _ in body:
        pass
    [entry] = recorder.snapshot()["log"]
    return entry, received


def test_a_duration_ends_when_the_last_chunk_was_ready() -> None:
    entry, received = _serve([b'{"servers": ', b"[]}"])
    assert entry["bytes"] == len(b'{"servers": []}')
    # 0.05 ms: the log rounds durations to 0.1 ms.
    assert entry["at"] + entry["seconds"] <= received + 0.00005
    assert entry["seconds"] >= 0


def test_an_empty_answer_is_timed_until_its_body_is_done() -> None:
    # With no chunk, the server writes the headers only once the body is
    # exhausted (50 ms after the call here), so that is where it ends.
    entry, _ = _serve([])
    assert entry["bytes"] == 0
    assert entry["seconds"] >= 0.05


def test_a_get_answer_lists_what_it_held_with_a_digest_of_each() -> None:
    a = b'{"id": "a", "status": "ACTIVE"}'
    b_active = b'{"id": "b", "status": "ACTIVE"}'
    b_rebuild = b'{"id": "b", "status": "REBUILD"}'
    first, _ = _serve([b'{"servers": [' + a + b", ", b_active + b"]}"])
    again, _ = _serve([b'{"servers": [' + a + b", " + b_rebuild + b"]}"])
    one, _ = _serve([b'{"server": ' + a + b"}"])

    assert [item[:2] for item in first["items"]] == [
        ["server", "a"],
        ["server", "b"],
    ]
    # A server's digest changes when any field does, and only then.
    assert again["items"][0] == first["items"][0] == one["items"][0]
    assert again["items"][1][2] != first["items"][1][2]


def test_an_answer_that_is_not_json_lists_nothing() -> None:
    entry, _ = _serve([b"<html>Not Found</html>"])
    assert entry["items"] is None
