"""What goes on the wire through keystoneauth, per microversion, and what
reaches the logs."""

from __future__ import annotations

import datetime
import gc
import logging
import subprocess
import sys
from typing import Any

import microversion_parse
import pytest
import requests
from keystoneauth1 import discover
from keystoneauth1 import exceptions as ks_exc

from osc_evacuate import plugin
from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.models import EvacuateOptions
from osc_evacuate.core.nova import NovaComputeAPI
from osc_evacuate.core.rules import evacuate_body
from osc_evacuate.core.transport import DEFAULT_TIMEOUT
from tests.unit.bodies import BODIES
from tests.unit.fake_session import ENDPOINT, REQUEST_ID, FakeSession, Sent


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


@pytest.mark.parametrize(("version", "options", "body"), BODIES)
def test_evacuate_request_body_and_headers(
    version: str, options: EvacuateOptions, body: dict[str, object]
) -> None:
    session = FakeSession((200, None))
    api = NovaComputeAPI(session)
    api.evacuate("abc", mv(version), evacuate_body(mv(version), options))
    [sent] = session.sent
    assert sent.method == "POST"
    assert sent.url == f"{ENDPOINT}/servers/abc/action"
    assert sent.body == {"evacuate": body}
    # keystoneauth sends both headers at every version; Nova reads the
    # standard one first, whatever the version, then the legacy one.
    assert sent.headers["OpenStack-API-Version"] == f"compute {version}"
    assert sent.headers["X-OpenStack-Nova-API-Version"] == version
    assert nova_reads(sent) == version
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["X-Auth-Token"] == "fake-token"


def test_reads_name_the_newest_version_they_need_up_to_the_cloud_s() -> None:
    session = FakeSession(version_doc("2.104"), (200, {"services": []}))
    NovaComputeAPI(session).compute_services("c1")
    discovery, services = session.sent
    # keystoneauth reads the version document at the endpoint, with no
    # microversion (every Nova answers it so).
    assert discovery.url == ENDPOINT
    assert nova_reads(discovery) is None
    assert services.path == "/os-services?binary=nova-compute&host=c1"
    assert nova_reads(services) == "2.80"

    old = FakeSession(version_doc("2.60"), (200, {"services": []}))
    NovaComputeAPI(old).compute_services()
    assert old.sent[1].path == "/os-services?binary=nova-compute"
    assert nova_reads(old.sent[1]) == "2.60"


def test_generated_password_is_returned() -> None:
    session = FakeSession((200, {"adminPass": "generated"}))
    api = NovaComputeAPI(session)
    answer = api.evacuate("abc", mv("2.13"), {"onSharedStorage": False})
    assert answer.admin_pass == "generated"
    assert answer.request_id == REQUEST_ID


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


def test_the_timeout_goes_with_every_request() -> None:
    session = FakeSession(version_doc("2.96"), (200, {"servers": []}))
    NovaComputeAPI(session, timeout=12.5).servers_on_host("c1")
    assert [s.timeout for s in session.sent] == [12.5, 12.5]

    # osc-lib's session sets none: without ours, a hung Nova hangs us.
    default = FakeSession(version_doc("2.96"))
    NovaComputeAPI(default).version_range()
    assert default.sent[0].timeout == DEFAULT_TIMEOUT == 60.0

    # A session that has one (a script's own) is honoured.
    own = FakeSession(version_doc("2.96"), timeout=7)
    NovaComputeAPI(own).version_range()
    assert own.sent[0].timeout == 7.0


def test_a_request_that_times_out_is_no_answer() -> None:
    session = FakeSession(
        version_doc("2.96"), requests.exceptions.ReadTimeout("timed out")
    )
    api = NovaComputeAPI(session)
    with pytest.raises(ComputeAPIError) as err:
        api.servers_changed_since("2026-01-01T00:00:00Z")
    assert err.value.status is None
    assert err.value.no_answer and err.value.transient


def test_nova_s_time_is_its_answers_date() -> None:
    session = FakeSession(version_doc("2.96"), (200, {"services": []}))
    api = NovaComputeAPI(session)
    assert api.nova_now() is None  # nothing answered yet
    session.date = "Thu, 01 Jan 2026 10:20:30 GMT"
    api.version_range()  # keystoneauth's discovery: not Nova's API
    assert api.nova_now() is None
    session.answers.append((200, {"services": []}))
    api.compute_services()
    told = api.nova_now()
    assert told is not None and told.tzinfo is None
    # The Date plus the (tiny) time elapsed since that answer.
    base = datetime.datetime(2026, 1, 1, 10, 20, 30)
    assert base <= told < base + datetime.timedelta(seconds=5)
    # Each answer resets it: Nova's clock, whatever ours says.
    session.date = "Thu, 01 Jan 2026 09:00:00 GMT"
    api.compute_services()
    later = api.nova_now()
    assert later is not None and later < base


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


def test_a_service_in_a_down_cell_is_never_up() -> None:
    # Nova answers a service whose cell database is down with only its
    # binary, host and status: no id, no state.
    session = FakeSession(
        version_doc("2.96"),
        (
            200,
            {
                "services": [
                    {
                        "binary": "nova-compute",
                        "host": "c7",
                        "status": "UNKNOWN",
                    },
                    {
                        "binary": "nova-compute",
                        "host": "c8",
                        "id": "8c4c",
                        "state": "up",
                        "status": "enabled",
                        "forced_down": False,
                    },
                ]
            },
        ),
    )
    down_cell, healthy = NovaComputeAPI(session).compute_services()
    assert (down_cell.host, down_cell.id) == ("c7", "")
    assert (down_cell.state, down_cell.status) == ("unknown", "unknown")
    assert not down_cell.is_up
    assert healthy.is_up and healthy.id == "8c4c"


def test_endpoint_from_the_catalog_by_region_and_interface() -> None:
    session = FakeSession(version_doc("2.96"))
    api = NovaComputeAPI(session, region_name="R2", interface="internal")
    api.version_range()
    [wanted] = session.fake_auth.endpoint_filters
    assert wanted["service_type"] == "compute"
    assert wanted["region_name"] == "R2"
    assert wanted["interface"] == "internal"


def test_make_client_honours_the_endpoint_override() -> None:
    class Instance:
        session = FakeSession(version_doc("2.96"))
        region_name = "R1"
        interface = None

        def get_configuration(self) -> dict[str, object]:
            return {"compute_endpoint_override": "http://override/v2.1"}

    try:
        api = plugin.make_client(Instance())
    finally:
        gc.unfreeze()  # make_client froze this test process's heap
    assert api.version_range().maximum == mv("2.96")
    [sent] = Instance.session.sent
    assert sent.url == "http://override/v2.1"
    assert Instance.session.fake_auth.endpoint_filters == []


def test_the_plugin_loads_the_transport_only_for_a_command() -> None:
    probe = (
        "import sys\n"
        "import osc_evacuate.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'osc_evacuate.core', 'keystoneauth1', 'novaclient'))))\n"
        "import osc_evacuate.core.nova\n"
        "print('novaclient' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == ["[]", "False"]


def test_servers_on_host_follows_every_page() -> None:
    def page(ids: list[str], more: bool) -> dict[str, object]:
        return {
            "servers": [{"id": i, "tenant_id": "p"} for i in ids],
            "servers_links": [{"rel": "next", "href": "x"}] if more else [],
        }

    session = FakeSession(
        version_doc("2.96"),
        (200, page(["a", "b"], True)),
        (200, page(["c"], False)),
    )
    api = NovaComputeAPI(session)
    assert [s.id for s in api.servers_on_host("c1")] == ["a", "b", "c"]
    first, second = (s.query for s in session.sent[1:])
    assert first == {"all_tenants": ["1"], "host": ["c1"], "limit": ["1000"]}
    assert second == {**first, "marker": ["b"]}


def test_migrations_follow_every_page_from_2_59() -> None:
    def page(uuids: list[str], more: bool) -> dict[str, object]:
        return {
            "migrations": [
                {"id": n, "uuid": u, "instance_uuid": "i", "status": "done"}
                for n, u in enumerate(uuids)
            ],
            "migrations_links": [{"rel": "next"}] if more else [],
        }

    session = FakeSession(
        version_doc("2.96"),
        (200, page(["m1", "m2"], True)),
        (200, page(["m3"], False)),
    )
    api = NovaComputeAPI(session)
    found = api.migrations("evacuation", source_host="c1")
    assert len(found) == 3
    first, second = (s.query for s in session.sent[1:])
    # No changes-since unless asked: a record never updated since its
    # creation has a NULL updated_at, and Nova would leave it out.
    assert first == {
        "migration_type": ["evacuation"],
        "source_compute": ["c1"],
        "limit": ["1000"],
    }
    assert second == {**first, "marker": ["m2"]}


def test_changed_migrations_are_asked_with_changes_since() -> None:
    session = FakeSession(
        version_doc("2.96"), (200, {"migrations": [], "migrations_links": []})
    )
    api = NovaComputeAPI(session)
    stamp = "2026-01-01T00:00:08Z"
    assert api.migrations("evacuation", "c1", changes_since=stamp) == []
    [sent] = session.sent[1:]
    assert sent.query["changes-since"] == [stamp]
    assert nova_reads(sent) == "2.80"


def test_changes_since_is_not_sent_before_2_59() -> None:
    # Nova would drop it: the answer is every record, as without it.
    session = FakeSession(version_doc("2.58"), (200, {"migrations": []}))
    api = NovaComputeAPI(session)
    api.migrations("evacuation", "c1", changes_since="2026-01-01T00:00:08Z")
    [sent] = session.sent[1:]
    assert "changes-since" not in sent.query


def test_migrations_before_2_59_are_one_unpaged_request() -> None:
    session = FakeSession(
        version_doc("2.58"),
        (
            200,
            {
                "migrations": [
                    {"id": 1, "instance_uuid": "i", "status": "done"}
                ],
                # Even a next link is no reason to ask for more.
                "migrations_links": [{"rel": "next"}],
            },
        ),
    )
    found = NovaComputeAPI(session).migrations("evacuation", instance_uuid="i")
    assert [m.id for m in found] == [1]
    [sent] = session.sent[1:]
    assert sent.query == {
        "migration_type": ["evacuation"],
        "instance_uuid": ["i"],
    }
    assert nova_reads(sent) == "2.58"


def test_a_server_that_never_launched_is_told_apart() -> None:
    launched = "OS-SRV-USG:launched_at"
    session = FakeSession(
        version_doc("2.96"),
        (
            200,
            {
                "servers": [
                    {"id": "ran", launched: "2026-11-01T00:00:00.000000"},
                    {"id": "never", launched: None},
                    {"id": "unsaid"},
                ]
            },
        ),
    )
    api = NovaComputeAPI(session)
    seen = {s.id: s.launched for s in api.servers_on_host("c1")}
    assert seen == {"ran": True, "never": False, "unsaid": True}


def test_the_server_is_shown_at_openstacksdk_s_version() -> None:
    body = {"server": {"id": "a", "tenant_id": "p", "locked": False}}
    session = FakeSession(version_doc("2.104"), (200, body))
    detail = NovaComputeAPI(session).show_server("a")
    assert detail is not None
    assert detail.server.project_id == "p"
    assert detail.body["locked"] is False
    assert nova_reads(session.sent[1]) == "2.100"

    old = FakeSession(version_doc("2.60"), (404, {"itemNotFound": {}}))
    assert NovaComputeAPI(old).show_server("a") is None
    assert nova_reads(old.sent[1]) == "2.60"


def test_images_are_read_a_hundred_ids_a_request_from_glance() -> None:
    ids = [f"i{n:03d}" for n in range(150)]
    session = FakeSession(
        (200, {"images": [{"id": "i000", "name": "cirros"}]}),
        (200, {"images": []}),
    )
    session.date = "Tue, 01 Dec 2026 07:00:00 GMT"
    api = NovaComputeAPI(session, image_endpoint_override="http://glance")
    found = api.images([*ids, "i000"])
    assert list(found) == ["i000"]
    assert found["i000"].name == "cirros"
    first, second = session.sent
    assert first.url.startswith("http://glance/v2/images?")
    assert first.query["id"] == ["in:" + ",".join(ids[:100])]
    assert second.query["id"] == ["in:" + ",".join(ids[100:])]
    # Glance has no microversion, and its Date is not Nova's clock.
    assert "OpenStack-API-Version" not in first.headers
    assert api.nova_now() is None


def test_flavors_are_read_with_their_extra_specs() -> None:
    session = FakeSession(
        version_doc("2.46"),
        (200, {"flavor": {"id": "7", "name": "m1", "vcpus": 2, "ram": 512}}),
        (200, {"extra_specs": {"resources:CUSTOM_X": "1"}}),
    )
    found = NovaComputeAPI(session).flavors(["7"])
    assert [s.path for s in session.sent[1:]] == [
        "/flavors/7",
        "/flavors/7/os-extra_specs",  # Nova's route: an underscore
    ]
    assert found["7"].extra_specs == {"resources:CUSTOM_X": "1"}
    assert (found["7"].vcpus, found["7"].ram, found["7"].name) == (
        2,
        512,
        "m1",
    )
