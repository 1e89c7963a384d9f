"""The requests to Nova that fail: one-line errors with the status and
request ID, no answer at all, keystoneauth's own errors, and which of them
are worth another try."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from keystoneauth1 import discover
from keystoneauth1 import exceptions as ks_exc

from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.nova import NovaComputeAPI
from tests.unit.fake_session import ENDPOINT, REQUEST_ID, FakeSession
from tests.unit.nova_wire import version_doc


def test_nova_errors_become_one_line_with_status_and_request_id() -> None:
    session = FakeSession(
        (
            400,
            {
                "badRequest": {
                    "message": "Compute service of c1 is\nstill in use.",
                    "code": 400,
                }
            },
        )
    )
    api = NovaComputeAPI(session)
    with pytest.raises(ComputeAPIError) as err:
        api.evacuate("abc", mv("2.94"), {})
    assert err.value.status == 400
    assert err.value.request_id == REQUEST_ID
    assert str(err.value) == (
        "Compute service of c1 is still in use. (HTTP 400) "
        f"(Request-ID: {REQUEST_ID})"
    )
    assert not err.value.transient


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        # WebOb's and keystonemiddleware's shapes.
        ((409, {"message": "Locked"}), "Locked (HTTP 409)"),
        (
            (401, {"error": {"code": 401, "message": "Needs\nauth."}}),
            "Needs auth. (HTTP 401)",
        ),
        # A proxy's HTML page: the status line is all there is to say.
        (
            (502, "<html>\n<h1>Bad Gateway</h1></html>"),
            "POST /servers/abc/action: Bad Gateway (HTTP 502)",
        ),
        ((503, None), "POST /servers/abc/action: Service Unavailable "),
    ],
)
def test_other_error_bodies(answer: tuple[int, Any], message: str) -> None:
    session = FakeSession(answer)
    with pytest.raises(ComputeAPIError) as err:
        NovaComputeAPI(session).evacuate("abc", mv("2.94"), {})
    assert str(err.value).startswith(message)
    assert err.value.status == answer[0]


@pytest.mark.parametrize(
    "failure",
    [
        requests.exceptions.ConnectionError("connection refused"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ReadTimeout("read timed out"),
    ],
)
def test_no_answer_is_an_error_without_status(failure: Exception) -> None:
    session = FakeSession(failure)
    with pytest.raises(ComputeAPIError) as err:
        NovaComputeAPI(session).evacuate("abc", mv("2.94"), {})
    assert err.value.status is None
    assert err.value.no_answer and err.value.transient
    text = str(err.value)
    assert text.startswith("POST /servers/abc/action: ")
    assert text.endswith("(no answer)")
    assert "\n" not in text


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (
            requests.exceptions.ConnectionError("Connection refused"),
            f"GET /: Unable to establish connection to {ENDPOINT}/",
        ),
        ((404, None), "GET /: Not Found (HTTP 404)"),
    ],
)
def test_a_version_document_that_never_came_is_explained(
    answer: Any, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Keystone login's discovery (keystoneauth's identity plugins)
    falls back to the bare endpoint, with no microversions, when the
    version document does not come: one plain read of the endpoint then
    says why, naming it."""
    session = FakeSession(answer)
    monkeypatch.setattr(
        session.fake_auth,
        "get_endpoint_data",
        lambda *args, **kwargs: discover.EndpointData(catalog_url=ENDPOINT),
    )
    with pytest.raises(ComputeAPIError) as err:
        NovaComputeAPI(session).version_range()
    assert str(err.value).startswith(said)
    assert [(s.method, s.url) for s in session.sent] == [
        ("GET", f"{ENDPOINT}/")
    ]


def test_a_request_that_times_out_is_no_answer() -> None:
    session = FakeSession(
        version_doc("2.96"), requests.exceptions.ReadTimeout("timed out")
    )
    api = NovaComputeAPI(session)
    with pytest.raises(ComputeAPIError) as err:
        api.servers_changed_since("2026-01-01T00:00:00Z")
    assert err.value.status is None
    assert err.value.no_answer and err.value.transient


@pytest.mark.parametrize(
    ("failure", "transient", "says"),
    [
        # Keystone busy while renewing the token: worth another try.
        (
            ks_exc.http.ServiceUnavailable(),
            True,
            "Keystone answered Service Unavailable (HTTP 503)",
        ),
        # Keystone refuses the credentials: no try will do better.
        (
            ks_exc.http.Unauthorized("The request you have made requires "),
            False,
            "Keystone answered The request you have made requires (HTTP 401)",
        ),
        (
            ks_exc.EndpointNotFound("no compute endpoint in region R9"),
            False,
            "EndpointNotFound: no compute endpoint in region R9",
        ),
    ],
)
def test_keystoneauth_s_own_errors_become_compute_api_errors(
    failure: Exception, transient: bool, says: str
) -> None:
    # Before: these escaped the core, and the command exited 1 ("nothing
    # was evacuated") even when evacuations had been sent.
    session = FakeSession(version_doc("2.96"))
    api = NovaComputeAPI(session)
    api.version_range()
    session.fake_auth.fail_with = failure
    with pytest.raises(ComputeAPIError) as err:
        api.evacuate("abc", mv("2.94"), {"adminPass": "pw-in-body"})
    assert len(session.sent) == 1  # the evacuate never left
    assert not err.value.sent and not err.value.no_answer
    assert err.value.transient is transient
    assert str(err.value) == (f"POST /servers/abc/action: {says} (not sent)")


@pytest.mark.parametrize(
    ("status", "transient"),
    [
        (401, False),
        (403, False),
        (400, False),
        (404, False),
        (409, False),
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
    ],
)
def test_only_transient_statuses_are_worth_another_try(
    status: int, transient: bool
) -> None:
    session = FakeSession(version_doc("2.96"), (status, None))
    api = NovaComputeAPI(session)
    with pytest.raises(ComputeAPIError) as err:
        api.servers_changed_since("2026-01-01T00:00:00Z")
    assert err.value.status == status
    assert err.value.transient is transient
