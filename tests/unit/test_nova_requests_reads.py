"""What the reads of Nova and Glance ask and make of the answers: every
page, changes-since from 2.59, the services, servers, migrations, images
and flavors as the engine sees them."""

from __future__ import annotations

from osc_evacuate.core.nova import NovaComputeAPI
from tests.unit.fake_session import FakeSession
from tests.unit.nova_wire import nova_reads, version_doc


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
