"""Read-only Glance v2 and Keystone v3 stand-ins for the OpenStack CLI.

``openstack server create --image`` looks the image up in Glance, and
``server list`` builds an identity client, so the sandbox answers the few
calls they make. Images come from Nova's GlanceFixture (see cloud.py).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from tests.sandbox.wsgiutil import json_response, parse_json, read_body

ImageSource = Callable[[], list[dict[str, Any]]]

# Keys of the GlanceFixture's records that are Glance v2 top-level fields.
_IMAGE_FIELDS = (
    "id",
    "name",
    "status",
    "visibility",
    "container_format",
    "disk_format",
    "size",
    "min_ram",
    "min_disk",
    "protected",
    "tags",
    "owner",
    "checksum",
)


def _iso(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def to_glance_v2(image: dict[str, Any]) -> dict[str, Any]:
    """Render a GlanceFixture record the way Glance v2 shows an image."""
    out: dict[str, Any] = {k: image.get(k) for k in _IMAGE_FIELDS}
    out["tags"] = list(out["tags"] or [])
    out["visibility"] = out["visibility"] or "public"
    out["status"] = out["status"] or "active"
    out["os_hidden"] = False
    out["created_at"] = _iso(image.get("created_at"))
    out["updated_at"] = _iso(image.get("updated_at"))
    # Glance v2 flattens custom properties into the image itself.
    for key, value in (image.get("properties") or {}).items():
        out.setdefault(key, value)
    out["self"] = f"/v2/images/{image['id']}"
    out["file"] = f"/v2/images/{image['id']}/file"
    out["schema"] = "/v2/schemas/image"
    return out


class GlanceStub:
    """``/image`` prefix: version document, image list and image show."""

    def __init__(self, images: ImageSource) -> None:
        self.images = images

    def __call__(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        base_url: str,
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        method = environ["REQUEST_METHOD"]
        if path in ("", "/versions"):
            doc = {
                "versions": [
                    {
                        "id": "v2.16",
                        "status": "CURRENT",
                        "links": [
                            {"rel": "self", "href": f"{base_url}/image/v2/"}
                        ],
                    }
                ]
            }
            return json_response(start_response, 300 if not path else 200, doc)
        if method != "GET":
            return json_response(
                start_response, 405, {"message": "The image stub is read-only"}
            )
        images = [to_glance_v2(i) for i in self.images()]
        if path == "/v2/images":
            query = _query(environ)
            for key in ("id", "name"):
                if key in query:
                    wanted = _in_filter(query[key])
                    images = [i for i in images if i[key] in wanted]
            return json_response(
                start_response,
                200,
                {
                    "images": images,
                    "first": "/v2/images",
                    "schema": "/v2/schemas/images",
                },
            )
        if path.startswith("/v2/images/"):
            image_id = path[len("/v2/images/") :]
            for image in images:
                if image["id"] == image_id:
                    return json_response(start_response, 200, image)
            return json_response(
                start_response,
                404,
                {"message": f"No image found with ID {image_id}"},
            )
        return json_response(start_response, 404, {"message": "Not found"})


def _in_filter(value: str) -> set[str]:
    """Glance's ``id=in:a,b`` (used by server list) or a plain value."""
    if value.startswith("in:"):
        return set(value[3:].split(","))
    return {value}


CATALOG = (
    ("compute", "nova", "/v2.1"),
    ("placement", "placement", "/placement"),
    ("image", "glance", "/image"),
    ("identity", "keystone", "/identity/v3"),
)


def _token_body(token: str, base_url: str) -> dict[str, Any]:
    user, project = token.split(":")
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(
        hours=12
    )
    domain = {"id": "default", "name": "Default"}
    return {
        "token": {
            "methods": ["token"],
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "user": {"id": user, "name": user, "domain": domain},
            "project": {"id": project, "name": project, "domain": domain},
            "roles": [{"id": "admin", "name": "admin"}]
            if user == "admin"
            else [{"id": "member", "name": "member"}],
            "catalog": [
                {
                    "type": kind,
                    "name": name,
                    "id": kind,
                    "endpoints": [
                        {
                            "id": f"{kind}-{interface}",
                            "interface": interface,
                            "region": "RegionOne",
                            "region_id": "RegionOne",
                            "url": f"{base_url}{path}",
                        }
                        for interface in ("public", "internal", "admin")
                    ],
                }
                for kind, name, path in CATALOG
            ],
        }
    }


def _query(environ: dict[str, Any]) -> dict[str, str]:
    return dict(parse_qsl(environ.get("QUERY_STRING", "")))


class KeystoneStub:
    """``/identity`` prefix: just enough of Keystone v3 for version
    discovery (the CLI builds an identity client even for server list),
    and for clients that authenticate with a token (``nova --os-token``,
    as the benchmark runs python-novaclient): ``POST /v3/auth/tokens``
    takes a sandbox token ``user:project`` and answers it back, scoped to
    the project, with a catalog of the sandbox's own endpoints."""

    def __call__(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        base_url: str,
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        version = {
            "id": "v3.14",
            "status": "stable",
            "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{base_url}/identity/v3/"}],
            "media-types": [
                {
                    "base": "application/json",
                    "type": "application/vnd.openstack.identity-v3+json",
                }
            ],
        }
        if path == "":
            return json_response(
                start_response, 300, {"versions": {"values": [version]}}
            )
        if path == "/v3":
            return json_response(start_response, 200, {"version": version})
        if path == "/v3/auth/tokens" and environ["REQUEST_METHOD"] == "POST":
            return self._token(environ, start_response, base_url)
        return json_response(
            start_response,
            404,
            {
                "error": {
                    "code": 404,
                    "title": "Not Found",
                    "message": "The sandbox has no identity service beyond "
                    "version discovery and token authentication.",
                }
            },
        )

    def _token(
        self,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        base_url: str,
    ) -> Iterable[bytes]:
        body = parse_json(read_body(environ)) or {}
        identity = (body.get("auth") or {}).get("identity") or {}
        token = (identity.get("token") or {}).get("id")
        if not isinstance(token, str) or token.count(":") != 1:
            return json_response(
                start_response,
                401,
                {
                    "error": {
                        "code": 401,
                        "title": "Unauthorized",
                        "message": "Sandbox tokens look like user:project.",
                    }
                },
            )
        scope = ((body.get("auth") or {}).get("scope") or {}).get("project")
        user, project = token.split(":")
        if isinstance(scope, dict) and scope.get("id"):
            project = str(scope["id"])
        issued = f"{user}:{project}"
        return json_response(
            start_response,
            201,
            _token_body(issued, base_url),
            headers=[("X-Subject-Token", issued)],
        )
