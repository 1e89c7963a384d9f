"""Token middleware standing in for keystonemiddleware's auth_token.

Nova dropped its noauth2 pipeline, so the stock paste pipeline always has
an ``authtoken`` filter. The sandbox swaps that filter's factory for this
one: a token ``user:project`` becomes the identity headers auth_token
would have set, and Nova's own context middleware and real policy do the
rest. Placement's API, served over HTTP, sits behind the same middleware
(its test pipeline's noauth middleware then takes the roles from these
headers), so one token works for both. No nova import here: this module
is plain WSGI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

WSGIApp = Callable[..., Iterable[bytes]]

# Users the sandbox knows, with the roles Keystone would give them.
ADMIN_ROLES = "admin,member,reader"
MEMBER_ROLES = "member,reader"

# Identity headers a client must never be able to set itself.
_IDENTITY_HEADERS = (
    "HTTP_X_USER_ID",
    "HTTP_X_USER_NAME",
    "HTTP_X_USER_DOMAIN_ID",
    "HTTP_X_PROJECT_ID",
    "HTTP_X_PROJECT_NAME",
    "HTTP_X_PROJECT_DOMAIN_ID",
    "HTTP_X_ROLES",
    "HTTP_X_IDENTITY_STATUS",
    "HTTP_X_SERVICE_CATALOG",
    "HTTP_X_TENANT_ID",
    "HTTP_X_TENANT_NAME",
)


def roles_for(user: str) -> str:
    """Roles of a sandbox user: only ``admin`` is an administrator."""
    return ADMIN_ROLES if user == "admin" else MEMBER_ROLES


def parse_token(token: str | None) -> tuple[str, str] | None:
    """Split a ``user:project`` token; None if it is not one."""
    if not token or token.count(":") != 1:
        return None
    user, project = token.split(":")
    if not user or not project:
        return None
    return user, project


class TokenAuth:
    """WSGI middleware: X-Auth-Token ``user:project`` to identity headers.

    With ``open_root``, the root (the version document) needs no token,
    as Placement's auth_token filter lets it through.
    """

    def __init__(self, app: WSGIApp, open_root: bool = False) -> None:
        self.app = app
        self.open_root = open_root

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        for key in _IDENTITY_HEADERS:
            environ.pop(key, None)
        if self.open_root and environ.get("PATH_INFO", "") in ("", "/"):
            return self.app(environ, start_response)
        parsed = parse_token(environ.get("HTTP_X_AUTH_TOKEN"))
        if parsed is None:
            body = json.dumps(
                {
                    "error": {
                        "code": 401,
                        "title": "Unauthorized",
                        "message": "Sandbox tokens look like user:project.",
                    }
                }
            ).encode()
            start_response(
                "401 Unauthorized",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(body))),
                    ("WWW-Authenticate", "Keystone uri='sandbox'"),
                ],
            )
            return [body]
        user, project = parsed
        environ.update(
            {
                "HTTP_X_IDENTITY_STATUS": "Confirmed",
                "HTTP_X_USER_ID": user,
                "HTTP_X_USER_NAME": user,
                "HTTP_X_USER_DOMAIN_ID": "default",
                "HTTP_X_PROJECT_ID": project,
                "HTTP_X_PROJECT_NAME": project,
                "HTTP_X_PROJECT_DOMAIN_ID": "default",
                "HTTP_X_ROLES": roles_for(user),
            }
        )
        return self.app(environ, start_response)


def filter_factory(
    global_conf: dict[str, Any], **local_conf: Any
) -> Callable[[WSGIApp], TokenAuth]:
    """Paste filter factory with auth_token's signature."""
    return TokenAuth
