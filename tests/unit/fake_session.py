"""A real keystoneauth Session whose HTTP is answered in memory.

Everything above the socket is keystoneauth's own: the Adapter, the
microversion headers, JSON encoding, error handling and --debug logging.
Only requests' transport adapter is replaced, so a test sees exactly the
method, URL, headers and body that would go on the wire.
"""

from __future__ import annotations

import dataclasses
import http
import json
import urllib.parse
from typing import Any

import requests
from keystoneauth1 import discover
from keystoneauth1 import plugin as ks_plugin
from keystoneauth1 import session as ks_session

ENDPOINT = "http://nova.test/v2.1"
REQUEST_ID = "req-fake"

# (status, JSON body) or (status, raw text), or an exception to raise
# instead of answering (a lost connection, a timeout).
Answer = tuple[int, Any] | Exception


@dataclasses.dataclass
class Sent:
    method: str
    url: str  # as sent, with the query
    headers: dict[str, str]
    body: Any  # decoded JSON, None when no body was sent
    timeout: Any  # what requests was told to wait

    @property
    def path(self) -> str:
        """The URL relative to the compute endpoint, with the query."""
        return self.url.removeprefix(ENDPOINT)

    @property
    def query(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query)


class FakeAuth(ks_plugin.BaseAuthPlugin):
    """A token, and ENDPOINT for the compute service of any region."""

    def __init__(self) -> None:
        super().__init__()
        self.endpoint_filters: list[dict[str, Any]] = []
        # Raised instead of a token: Keystone failing a re-authentication.
        self.fail_with: Exception | None = None

    def get_headers(
        self, session: ks_session.Session, **kwargs: Any
    ) -> dict[str, str]:
        if self.fail_with is not None:
            raise self.fail_with
        return {"X-Auth-Token": "fake-token"}

    def get_endpoint(
        self, session: ks_session.Session, **kwargs: Any
    ) -> str | None:
        self.endpoint_filters.append(kwargs)
        return ENDPOINT if kwargs.get("service_type") == "compute" else None

    def get_endpoint_data(
        self,
        session: ks_session.Session,
        *,
        endpoint_override: str | None = None,
        discover_versions: bool = True,
        **kwargs: Any,
    ) -> discover.EndpointData | None:
        """As an identity plugin does: the endpoint from the catalog (or
        the override), then its version document, read by keystoneauth."""
        url = endpoint_override or self.get_endpoint(session, **kwargs)
        return super().get_endpoint_data(
            session,
            endpoint_override=url,
            discover_versions=discover_versions,
        )


class _Wire(requests.adapters.BaseAdapter):
    def __init__(self, fake: FakeSession) -> None:
        super().__init__()
        self.fake = fake

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        raw = request.body
        text = raw.decode() if isinstance(raw, bytes) else raw
        self.fake.sent.append(
            Sent(
                method=request.method or "",
                url=request.url or "",
                headers={str(k): str(v) for k, v in request.headers.items()},
                body=json.loads(text) if isinstance(text, str) else None,
                timeout=kwargs.get("timeout"),
            )
        )
        answer = self.fake.answers.pop(0) if self.fake.answers else (200, None)
        if isinstance(answer, Exception):
            raise answer
        status, body = answer
        resp = requests.Response()
        resp.status_code = status
        resp.reason = http.HTTPStatus(status).phrase
        resp.url = request.url or ""
        resp.request = request
        resp.headers["x-openstack-request-id"] = REQUEST_ID
        resp.headers["x-compute-request-id"] = REQUEST_ID
        if self.fake.date is not None:
            resp.headers["Date"] = self.fake.date
        if isinstance(body, str):
            resp.headers["Content-Type"] = "text/html"
            resp._content = body.encode()
        else:
            resp.headers["Content-Type"] = "application/json"
            resp._content = b"" if body is None else json.dumps(body).encode()
        resp.encoding = "utf-8"
        return resp

    def close(self) -> None:
        pass


class FakeSession(ks_session.Session):
    """Answers every request with the next queued answer (default 200),
    with a Date header when date is set (as Nova's web server sends)."""

    def __init__(self, *answers: Answer, timeout: float | None = None) -> None:
        self.fake_auth = FakeAuth()
        super().__init__(auth=self.fake_auth, timeout=timeout)
        self.answers = list(answers)
        self.sent: list[Sent] = []
        self.date: str | None = None
        self.session.mount("http://", _Wire(self))
