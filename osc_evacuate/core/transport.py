"""HTTP to OpenStack's APIs on OpenStackClient's keystoneauth session: Nova's
compute API, and the reads of Glance and Placement that the plan makes.

What each library does for us, and why:

- keystoneauth1, through an Adapter for the service type ("compute",
  "image", "placement") on OSC's session: the token and its renewal, the
  endpoint (from the catalog by region and interface, or the user's
  endpoint override), TLS, JSON encoding, and the microversion headers. It
  sends whatever microversion it is given, as ``OpenStack-API-Version:
  compute 2.N`` (for Nova also the legacy ``X-OpenStack-Nova-API-Version:
  2.N``), with no ceiling of its own, so a newer Nova needs nothing newer
  from us. At ``--debug`` it logs every request and answer in full, bodies
  included.
- keystoneauth1.exceptions.from_response: an error answer's status class,
  its ``x-openstack-request-id``, its Retry-After, and the message of the
  bodies keystonemiddleware (``{"error": {...}}``) and Placement (the API
  SIG's ``{"errors": [...]}``) answer. Nova's own fault body
  (``{"badRequest": {"message": ...}}``, named after the fault) is not one
  of those: ``_nova_fault`` reads it, as python-novaclient's from_response
  did.
- keystoneauth's version discovery (``Adapter.get_endpoint_data``): the
  service's version document, read once and cached by the auth plugin,
  gives the microversions it accepts (min_microversion, max_microversion).
- python-novaclient: not used. It refuses microversions past its own newest
  (2.96) and takes no new ones; all it still did for us was set the same
  headers and read Nova's error body.

Every request has a timeout, the version discovery's too: the one given,
else the session's, else DEFAULT_TIMEOUT (osc-lib sets no api_timeout: its
session alone would wait for ever). A request that times out is "no
answer", like a lost connection.

Errors: Nova's answers never raise in keystoneauth (raise_exc=False); what
keystoneauth itself raises (a lost connection, a failed re-authentication,
an endpoint missing from the catalog) becomes a ComputeAPIError too, so
that no error of the transport escapes the core's handling.

Nova's clock: the Date header of every answer of Nova's sets a NovaClock,
the only source of "now" for what Nova records (see clock.py). Other
services' answers do not: their hosts' clocks are not Nova's.

Passwords: keystoneauth would print an evacuate body's ``adminPass``, and
Nova's answer to one (a generated password, before 2.14). Such requests are
sent ``quiet``: keystoneauth logs neither body nor answer, and this module
logs one line of its own with every ``adminPass`` masked. Which fields hold
a password is Nova's API (``SECRET_FIELDS``), not the evacuate rules.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity.base import BaseIdentityPlugin

from osc_evacuate.core.clock import NovaClock
from osc_evacuate.core.errors import ComputeAPIError, one_line
from osc_evacuate.core.microversion import Microversion, VersionRange

if TYPE_CHECKING:
    import requests

LOG = logging.getLogger(__name__)

# Nova's default max_limit: it cuts a bigger page to its own limit.
PAGE_SIZE = 1000
# Seconds to wait for each answer when neither caller nor session says.
DEFAULT_TIMEOUT = 60.0
# Request and answer fields of Nova's compute API that carry a password.
SECRET_FIELDS = frozenset({"adminPass"})
MASK = "***"


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    body: Any  # decoded JSON; None when the answer has no JSON body
    request_id: str | None


class Transport:
    """Requests to one service, each at the microversion its caller names
    (None: the service has none, as Glance)."""

    def __init__(
        self,
        session: ks_session.Session,
        service_type: str = "compute",
        region_name: str | None = None,
        interface: str | None = None,
        endpoint_override: str | None = None,
        timeout: float | None = None,
        nova_clock: NovaClock | None = None,
    ) -> None:
        """nova_clock: set by the Date of every answer (Nova's only)."""
        self.service_type = service_type
        self._adapter = ks_adapter.Adapter(
            session,
            service_type=service_type,
            region_name=region_name,
            interface=interface or "public",
            endpoint_override=endpoint_override,
            client_name="osc-evacuate",
        )
        if timeout is None:
            timeout = session.timeout
        self.timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        self.nova_clock = nova_clock

    def request(
        self,
        method: str,
        path: str,
        version: Microversion | None,
        body: object = None,
        query: Mapping[str, object] | None = None,
        quiet: bool = False,
    ) -> Answer:
        """Send one request; ComputeAPIError on an error or no answer.

        quiet: keystoneauth logs neither the body nor the answer; use it
        whenever either may hold a password.
        """
        params = {k: v for k, v in (query or {}).items() if v is not None}
        if params:
            path = f"{path}?{urllib.parse.urlencode(params, doseq=True)}"
        kwargs: dict[str, Any] = {
            "headers": {"Accept": "application/json"},
            "timeout": self.timeout,
        }
        if body is not None:
            kwargs["json"] = body
        sent = _summary(method, path, version, body)
        try:
            resp = self._adapter.request(
                path,
                method,
                microversion=None if version is None else str(version),
                raise_exc=False,
                log=not quiet,
                **kwargs,
            )
        except ks_exc.ConnectionError as exc:
            LOG.debug("%s: no answer (%s)", sent, type(exc).__name__)
            message = one_line(f"{method} {path}: {exc}")
            raise ComputeAPIError(_scrub(message, body)) from exc
        except ks_exc.ClientException as exc:
            raise _not_sent(method, path, exc, sent, body) from exc
        if self.nova_clock is not None:
            self.nova_clock.observe(resp.headers.get("Date"))
        answer = Answer(
            status=resp.status_code,
            body=_decode(resp),
            request_id=_request_id(resp.headers),
        )
        LOG.debug("%s: %s %s", sent, answer.status, answer.request_id)
        if answer.status >= 400:
            raise _refused(method, path, resp, answer, body)
        return answer

    def version_range(self) -> VersionRange | None:
        """The microversions the service accepts, from its version
        document (keystoneauth's discovery, cached by the auth plugin);
        None when it has none (Glance)."""
        try:
            with _timeout(self._adapter.session, self.timeout):
                data = self._adapter.get_endpoint_data()
        except ks_exc.ConnectionError as exc:
            message = one_line(f"{self.service_type} versions: {exc}")
            raise ComputeAPIError(message) from exc
        except ks_exc.ClientException as exc:
            raise _not_sent(
                "GET", "/", exc, "version discovery", None
            ) from exc
        if data is None or data.max_microversion is None:
            return None
        low = data.min_microversion or data.max_microversion
        return VersionRange(
            Microversion.of(low), Microversion.of(data.max_microversion)
        )

    def has_endpoint(self) -> bool:
        """Whether an override or the token's catalog has this service
        (no catalog, as with admin_token auth: only an override)."""
        if self._adapter.endpoint_override:
            return True
        if not isinstance(self._adapter.session.auth, BaseIdentityPlugin):
            return False
        try:
            return bool(self._adapter.get_endpoint())
        except ks_exc.ClientException as exc:
            LOG.debug("%s endpoint: %s", self.service_type, exc)
            return False

    def get(
        self, path: str, version: Microversion | None, **query: object
    ) -> dict[str, Any]:
        body = self.request("GET", path, version, query=query).body
        return body if isinstance(body, dict) else {}

    def pages(
        self,
        path: str,
        version: Microversion,
        key: str,
        marker_field: str,
        query: Mapping[str, object],
        paged: bool = True,
    ) -> Iterator[dict[str, Any]]:
        """Every item of a list Nova pages, one page at a time.

        The next page starts after the last item's marker_field; the list
        ends at an empty page or one whose "<key>_links" has no "next".
        paged=False: one request, for lists Nova does not page.
        """
        marker: object = None
        while True:
            params = dict(query)
            if paged:
                params.update(limit=PAGE_SIZE, marker=marker)
            body = self.get(path, version, **params)
            items: list[dict[str, Any]] = body.get(key) or []
            yield from items
            links = body.get(f"{key}_links") or []
            if not paged or not items or not _has_next(links):
                return
            marker = items[-1][marker_field]


def _not_sent(
    method: str,
    path: str,
    exc: ks_exc.ClientException,
    sent: str,
    body: object,
) -> ComputeAPIError:
    """keystoneauth gave up before Nova saw the request: re-authenticating
    failed (Keystone's own error status), or the catalog has no endpoint.

    Keystone's 5xx and 429 pass like Nova's; the rest (a password Keystone
    refuses, no compute endpoint) is not worth sending again.
    """
    status = getattr(exc, "http_status", None)
    LOG.debug(
        "%s: not sent: %s%s",
        sent,
        type(exc).__name__,
        f" (Keystone answered {status})" if status else "",
    )
    transient = isinstance(status, int) and (status >= 500 or status == 429)
    if status:
        # An HttpError's message ends with its "(HTTP <status>)".
        reason = f"Keystone answered {exc.message}"
    else:
        reason = f"{type(exc).__name__}: {exc.message or exc}"
    message = one_line(f"{method} {path}: {reason}")
    return ComputeAPIError(
        _scrub(message, body),
        sent=False,
        transient=transient,
    )


def _has_next(links: list[dict[str, Any]]) -> bool:
    return any(link.get("rel") == "next" for link in links)


def _decode(resp: requests.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:  # an HTML error page from a proxy, say
        return None


def _request_id(headers: Mapping[str, str]) -> str | None:
    return headers.get("x-openstack-request-id") or headers.get(
        "x-compute-request-id"
    )


# What keystoneauth's from_response says of a JSON body it cannot read.
_UNRECOGNIZED = "Unrecognized schema in response body."


def _refused(
    method: str,
    path: str,
    resp: requests.Response,
    answer: Answer,
    body: object,
) -> ComputeAPIError:
    """An error answer as one ComputeAPIError line: keystoneauth's reading
    of it (from_response), or Nova's fault body, or the status line."""
    error = ks_exc.from_response(resp, method, path)
    request_id = getattr(error, "request_id", None) or answer.request_id
    said = _said(error, answer.status)
    # Its class's own words ("Bad Gateway") when the body said nothing.
    unread = (_UNRECOGNIZED, getattr(type(error), "message", None))
    message = (
        (said if said not in unread else None)
        or _nova_fault(answer.body)
        or f"{method} {path}: {resp.reason or 'error'}"
    )
    return ComputeAPIError(
        _scrub(one_line(message), body), answer.status, request_id
    )


def _said(error: Exception, status: int) -> str | None:
    """The message keystoneauth read, without the status and request id
    its HttpError appends (ComputeAPIError says those itself)."""
    text = getattr(error, "message", None)
    if not isinstance(text, str):
        return None
    request_id = getattr(error, "request_id", None)
    if request_id:
        text = text.removesuffix(f" (Request-ID: {request_id})")
    return text.removesuffix(f" (HTTP {status})")


@contextlib.contextmanager
def _timeout(session: ks_session.Session, seconds: float) -> Iterator[None]:
    """The session's timeout, for keystoneauth's version discovery only:
    its GET takes no timeout of its own, and osc-lib's session has none,
    so a silent endpoint would hang the command for ever."""
    before = session.timeout
    session.timeout = seconds
    try:
        yield
    finally:
        session.timeout = before


def _nova_fault(body: object) -> str | None:
    """Nova's fault text: {"badRequest": {"code": 400, "message": "..."}},
    named after the fault; WebOb may answer a flat {"message": ...}."""
    if not isinstance(body, dict):
        return None
    for fault in (body, *body.values()):
        if isinstance(fault, dict) and isinstance(fault.get("message"), str):
            text = one_line(fault["message"])
            if text:
                return text
    return None


def _summary(
    method: str, path: str, version: Microversion | None, body: object
) -> str:
    """What was sent, fit for the debug log: passwords masked."""
    text = f"{method} {path}" + (f" at {version}" if version else "")
    if body is not None:
        text += " " + json.dumps(_masked(body), sort_keys=True)
    return text


def _masked(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: MASK if k in SECRET_FIELDS else _masked(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return value


def _secrets(value: object) -> list[str]:
    """The passwords in a request body."""
    if isinstance(value, dict):
        found = []
        for k, v in value.items():
            if k in SECRET_FIELDS and isinstance(v, str) and v:
                found.append(v)
            else:
                found += _secrets(v)
        return found
    if isinstance(value, list):
        return [s for v in value for s in _secrets(v)]
    return []


def _scrub(message: str, body: object) -> str:
    # Nova's schema errors quote the offending body ("Invalid input for
    # field/attribute evacuate. Value: {...}"), password and all.
    for secret in _secrets(body):
        message = message.replace(secret, MASK)
    return message
