"""A keystoneauth session stand-in that records what novaclient sends."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from keystoneauth1 import session as ks_session


@dataclasses.dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    logged: bool


class FakeResponse:
    def __init__(self, status: int, body: Any) -> None:
        self.status_code = status
        self._body = body
        self.headers = {"x-openstack-request-id": "req-fake"}
        self.text = json.dumps(body) if body is not None else ""

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no body")
        return self._body


class FakeSession(ks_session.Session):
    """Answers every request with the next queued (status, body)."""

    def __init__(self, *answers: tuple[int, Any]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[Sent] = []

    def request(  # type: ignore[override]
        self, url: str, method: str, **kwargs: Any
    ) -> FakeResponse:
        self.sent.append(
            Sent(
                method=method,
                url=url,
                headers=dict(kwargs.get("headers") or {}),
                body=kwargs.get("json"),
                logged=kwargs.get("log", True),
            )
        )
        status, body = self.answers.pop(0) if self.answers else (200, None)
        return FakeResponse(status, body)
