"""A read-only Glance v2 stand-in for the OpenStack CLI.

``openstack server create --image`` and ``server list`` look images up in
Glance, so the sandbox answers the few calls they make. Images come from
Nova's GlanceFixture (see cloud.py). As in Glance, the version document
needs no token and everything else a valid one: keystonemiddleware's
auth_token checks it with the sandbox's Keystone.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from keystonemiddleware import auth_token

from tests.sandbox.wsgiutil import base_url, json_response

ImageSource = Callable[[], list[dict[str, Any]]]
WSGIApp = Callable[..., Iterable[bytes]]

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
    """WSGI app under the ``/image`` prefix: version document, image
    list and image show; auth_token (with ``authtoken``, its options)
    in front of all but the version document."""

    def __init__(self, images: ImageSource, authtoken: dict[str, str]) -> None:
        self.images = images
        # auth_token takes the options it knows out of the dict it gets.
        self.authenticated = auth_token.AuthProtocol(
            self._images, dict(authtoken)
        )

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        if path in ("", "/versions"):
            href = f"{base_url(environ)}/image/v2/"
            doc = {
                "versions": [
                    {
                        "id": "v2.16",
                        "status": "CURRENT",
                        "links": [{"rel": "self", "href": href}],
                    }
                ]
            }
            return json_response(start_response, 300 if not path else 200, doc)
        result: Iterable[bytes] = self.authenticated(environ, start_response)
        return result

    def _images(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        method = environ["REQUEST_METHOD"]
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


class TokenRequired:
    """keystonemiddleware's auth_token (``authtoken``: its options) in
    front of a stand-in, but for its root (the version document), which
    the real services serve to anyone."""

    def __init__(self, app: WSGIApp, authtoken: dict[str, str]) -> None:
        self.app = app
        # auth_token takes the options it knows out of the dict it gets.
        self.authenticated = auth_token.AuthProtocol(app, dict(authtoken))

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").strip("/") == "":
            return self.app(environ, start_response)
        result: Iterable[bytes] = self.authenticated(environ, start_response)
        return result


def _query(environ: dict[str, Any]) -> dict[str, str]:
    return dict(parse_qsl(environ.get("QUERY_STRING", "")))
