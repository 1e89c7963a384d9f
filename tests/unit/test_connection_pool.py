"""OSC's session keeps a connection for each request a run has in flight:
with more than requests' ten at once, urllib3 would open connections it
then discards, each with a warning on stderr."""

from __future__ import annotations

import http.server
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests.adapters
from keystoneauth1 import session as ks_session

from osc_evacuate import plugin
from osc_evacuate.core import defaults

FULL = "Connection pool is full"


class Slow(http.server.BaseHTTPRequestHandler):
    """Answers each request after a while, so that they overlap."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        time.sleep(0.2)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def warnings_of(
    session: ks_session.Session, url: str, caplog: pytest.LogCaptureFixture
) -> list[str]:
    """What urllib3 warns while the run's most requests are in flight."""
    caplog.clear()
    at_once = defaults.PARALLEL_CEILING + 2
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        with ThreadPoolExecutor(at_once) as pool:
            for _ in range(2):
                list(
                    pool.map(
                        lambda _: session.get(url, authenticated=False),
                        range(at_once),
                    )
                )
    return [r.getMessage() for r in caplog.records if FULL in r.getMessage()]


def test_the_session_keeps_a_connection_for_each_request_in_flight(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    stock = ks_session.Session()
    assert warnings_of(stock, url, caplog), "requests' ten no longer warn"
    pooled = ks_session.Session()
    plugin.pool_connections(pooled, defaults.CONNECTIONS)
    assert warnings_of(pooled, url, caplog) == []


def test_an_adapter_of_anyone_else_s_is_left_as_it_is() -> None:
    session = ks_session.Session()
    mine = requests.adapters.HTTPAdapter()
    session.session.mount("https://", mine)
    plugin.pool_connections(session, defaults.CONNECTIONS)
    assert session.session.adapters["https://"] is mine
    assert session.session.adapters["http://"] is not mine


def test_the_session_s_tls_settings_are_kept() -> None:
    session = ks_session.Session(
        tls_ciphers="HIGH:!aNULL", tls_min_version="1.2"
    )
    plugin.pool_connections(session, defaults.CONNECTIONS)
    for scheme in ("https://", "http://"):
        adapter = session.session.adapters[scheme]
        assert isinstance(adapter, ks_session.TCPKeepAliveAdapter)
        assert (adapter.tls_ciphers, adapter.tls_min_version) == (
            "HIGH:!aNULL",
            "1.2",
        )
