"""What actually goes on the wire through novaclient, per microversion."""

from __future__ import annotations

import pytest

from osc_evacuate.core.errors import ComputeAPIError
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.models import EvacuateOptions
from osc_evacuate.core.nova import NovaComputeAPI
from osc_evacuate.core.rules import evacuate_body
from tests.unit.bodies import BODIES
from tests.unit.fake_session import FakeSession


@pytest.mark.parametrize(("version", "options", "body"), BODIES)
def test_evacuate_request_body_and_headers(
    version: str, options: EvacuateOptions, body: dict[str, object]
) -> None:
    session = FakeSession((200, None))
    api = NovaComputeAPI(session, endpoint_override="http://nova/v2.1")
    api.evacuate("abc", mv(version), evacuate_body(mv(version), options))
    [sent] = session.sent
    assert sent.method == "POST"
    assert sent.url == "/servers/abc/action"
    assert sent.body == {"evacuate": body}
    assert sent.headers["X-OpenStack-Nova-API-Version"] == version
    # Nova reads the standard header from 2.27; before, only the legacy one.
    if mv(version) >= mv("2.27"):
        assert sent.headers["OpenStack-API-Version"] == f"compute {version}"
    else:
        assert "OpenStack-API-Version" not in sent.headers


def test_generated_password_is_returned() -> None:
    session = FakeSession((200, {"adminPass": "generated"}))
    api = NovaComputeAPI(session)
    answer = api.evacuate("abc", mv("2.13"), {"onSharedStorage": False})
    assert answer.admin_pass == "generated"
    assert answer.request_id == "req-fake"


def test_a_password_never_reaches_the_debug_log() -> None:
    session = FakeSession((200, None), (200, None), (200, None))
    api = NovaComputeAPI(session)
    api.evacuate("abc", mv("2.94"), {"adminPass": "s3cret"})
    api.evacuate("abc", mv("2.94"), {})
    # Up to 2.13 Nova answers with a generated password.
    api.evacuate("abc", mv("2.13"), {"onSharedStorage": False})
    assert [s.logged for s in session.sent] == [False, True, False]


def test_nova_errors_become_one_line_with_status() -> None:
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
    assert str(err.value) == (
        "Compute service of c1 is still in use. (HTTP 400)"
    )
    assert not err.value.transient


def test_servers_on_host_follows_every_page() -> None:
    def page(ids: list[str], more: bool) -> dict[str, object]:
        return {
            "servers": [{"id": i, "tenant_id": "p"} for i in ids],
            "servers_links": [{"rel": "next", "href": "x"}] if more else [],
        }

    session = FakeSession(
        (200, {"version": {"version": "2.96", "min_version": "2.1"}}),
        (200, page(["a", "b"], True)),
        (200, page(["c"], False)),
    )
    api = NovaComputeAPI(session)
    assert [s.id for s in api.servers_on_host("c1")] == ["a", "b", "c"]
    urls = [s.url for s in session.sent[1:]]
    assert "host=c1" in urls[0] and "all_tenants=1" in urls[0]
    assert "limit=1000" in urls[0] and "marker" not in urls[0]
    assert "marker=b" in urls[1]


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
        (200, {"version": {"version": "2.96", "min_version": "2.1"}}),
        (200, page(["m1", "m2"], True)),
        (200, page(["m3"], False)),
    )
    api = NovaComputeAPI(session)
    found = api.evacuation_migrations(source_host="c1")
    assert len(found) == 3
    first, second = (s.url for s in session.sent[1:])
    assert "migration_type=evacuation" in first
    assert "source_compute=c1" in first and "marker" not in first
    # No changes-since: a record never updated since its creation has a
    # NULL updated_at, and Nova would leave it out.
    assert "changes-since" not in first
    assert "marker=m2" in second
