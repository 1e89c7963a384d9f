"""What of the requests to Nova reaches the logs: one debug line of ours
a request, and never a password."""

from __future__ import annotations

import logging

import pytest

from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.nova import NovaComputeAPI
from tests.unit.fake_session import ENDPOINT, REQUEST_ID, FakeSession
from tests.unit.nova_wire import version_doc


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every record of every logger, at DEBUG (as `openstack --debug`)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def messages(caplog: pytest.LogCaptureFixture, prefix: str = "") -> str:
    return "\n".join(
        r.getMessage() for r in caplog.records if r.name.startswith(prefix)
    )


def test_a_password_never_reaches_any_log(
    all_logs: pytest.LogCaptureFixture,
) -> None:
    echoed = (
        "Invalid input for field/attribute evacuate. Value: "
        "{'adminPass': 'given-pw', 'foo': 1}. Additional properties are "
        "not allowed"
    )
    session = FakeSession(
        (200, None),
        (200, {"adminPass": "generated-pw"}),
        (400, {"badRequest": {"code": 400, "message": echoed}}),
        (200, {"servers": []}),
    )
    api = NovaComputeAPI(session, endpoint_override=ENDPOINT)
    api.evacuate("s1", mv("2.94"), {"adminPass": "given-pw"})
    api.evacuate("s2", mv("2.13"), {"onSharedStorage": False})
    with pytest.raises(ComputeAPIError) as err:
        api.evacuate("s3", mv("2.94"), {"adminPass": "given-pw", "foo": 1})
    # The evacuations went out, with their passwords, and were answered.
    assert session.sent[0].body == {"evacuate": {"adminPass": "given-pw"}}
    assert err.value.status == 400
    # Nova's message quotes the body it refused: the user sees it masked.
    assert "given-pw" not in str(err.value)
    assert "'adminPass': '***'" in str(err.value)

    # A request with no password is still logged by keystoneauth: the
    # capture works, and keystoneauth's silence below is a choice.
    api._http.get("/servers/detail", mv("2.80"))
    assert "/servers/detail" in messages(all_logs, "keystoneauth")

    logged = messages(all_logs) + all_logs.text
    assert "given-pw" not in logged
    assert "generated-pw" not in logged
    # keystoneauth logged nothing at all of the evacuations...
    assert "/action" not in messages(all_logs, "keystoneauth")
    # ...and our own line says what was sent, masked, and how it ended.
    ours = messages(all_logs, "osc_evacuate")
    assert (
        'POST /servers/s1/action at 2.94 {"evacuate": {"adminPass": "***"}}'
        f": 200 {REQUEST_ID}"
    ) in ours
    assert "POST /servers/s2/action at 2.13" in ours
    assert "POST /servers/s3/action at 2.94 {" in ours
    assert f": 400 {REQUEST_ID}" in ours


def test_each_request_is_one_debug_line_of_ours(
    all_logs: pytest.LogCaptureFixture,
) -> None:
    session = FakeSession(version_doc("2.96"), (200, {"servers": []}))
    NovaComputeAPI(session).servers_on_host("c1")
    ours = [
        r.getMessage()
        for r in all_logs.records
        if r.name == "osc_evacuate.core.transport"
    ]
    # keystoneauth's version discovery comes first, logged by keystoneauth.
    assert ours == [
        "GET /servers/detail?all_tenants=1&host=c1&limit=1000 at 2.80: "
        f"200 {REQUEST_ID}",
    ]
    assert all(r.levelno == logging.DEBUG for r in all_logs.records)
