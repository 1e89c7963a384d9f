"""Nova on the wire, for the tests that drive NovaComputeAPI on a
FakeSession: the version document its endpoint answers, and the
microversion it reads from a request's headers."""

from __future__ import annotations

import microversion_parse

from tests.unit.fake_session import ENDPOINT, Sent


def version_doc(newest: str) -> tuple[int, dict[str, object]]:
    """Nova's version document, as GET of its endpoint answers it."""
    return (
        200,
        {
            "version": {
                "id": "v2.1",
                "status": "CURRENT",
                "version": newest,
                "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": f"{ENDPOINT}/"}],
            }
        },
    )


def nova_reads(sent: Sent) -> str | None:
    """The microversion Nova takes from these headers: the same call as
    nova.api.openstack.wsgi.Request.set_api_version_request."""
    return microversion_parse.get_version(
        sent.headers,
        service_type="compute",
        legacy_headers=["X-OpenStack-Nova-API-Version"],
    )
