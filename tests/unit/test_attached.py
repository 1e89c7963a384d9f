"""What servers have attached (attached.py, attached_reads.py): shares
and accelerator ports skipped with Nova's words, encrypted volumes a risk,
and each read made only where the cloud has the service."""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core import attached, attached_reads
from osc_evacuate.core.attached import Attachments
from osc_evacuate.core.microversion import VersionRange, mv
from osc_evacuate.core.models import Action, EvacuateOptions, Server
from osc_evacuate.core.transport import Transport
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute, server
from tests.unit.fake_session import ENDPOINT, FakeSession

SHARED = Attachments(shares={"s1": ("share-a",)})
PORTS = Attachments(accelerator_ports={"s1": ("port-a", "port-b")})
BOTH = Attachments(
    shares={"s1": ("share-a",)}, accelerator_ports=PORTS.accelerator_ports
)
ENCRYPTED = Attachments(encrypted_volumes=frozenset({"vol-1"}))
WITH_VOLUMES = dataclasses.replace(server("s1"), volumes=("vol-1", "vol-2"))


@pytest.mark.parametrize(
    ("found", "says"),
    [
        (Attachments(), None),
        (
            SHARED,
            "it has shares attached (share-a), and Nova refuses: Feature not "
            "supported with instances that have shares. (no Nova release "
            "lifts it yet)",
        ),
        (
            PORTS,
            "it has ports with accelerators (port-a, port-b), and Nova "
            "refuses: Feature not supported with Ports that have "
            "accelerators. (no Nova release lifts it yet)",
        ),
        # Nova checks shares first.
        (BOTH, attached.SHARES.says(("share-a",))),
        # Another server's.
        (Attachments(shares={"s2": ("x",)}), None),
    ],
)
def test_what_nova_refuses_for_attachments(
    found: Attachments, says: str | None
) -> None:
    assert attached.refusal(server("s1"), found) == says


@pytest.mark.parametrize(
    ("srv", "found", "says"),
    [
        (WITH_VOLUMES, Attachments(), None),
        (server("s1"), ENCRYPTED, None),
        (
            WITH_VOLUMES,
            ENCRYPTED,
            "encrypted volume vol-1: the rebuild needs its key from "
            "Barbican, and ends in ERROR if this identity cannot read it",
        ),
    ],
)
def test_encrypted_volumes_are_a_risk(
    srv: Server, found: Attachments, says: str | None
) -> None:
    assert attached.risk(srv, found) == says


def plan(api: FakeCompute) -> engine.Plan:
    request = engine.Request(options=EvacuateOptions())
    return engine.plan_hosts(api, ["c1"], request, FakeClock())


def test_a_server_with_a_share_is_skipped_and_never_sent() -> None:
    api = FakeCompute(server("s1"), server("s2"))
    api.attached = SHARED
    rows = {r.id: r for r in plan(api).rows}
    assert rows["s1"].action is Action.SKIPPED
    assert rows["s1"].error == attached.SHARES.says(("share-a",))
    assert rows["s1"].risk is not None and "refused by Nova" in rows["s1"].risk
    assert rows["s2"].action is Action.SUBMITTED
    engine.evacuate_host(
        api, "c1", engine.Request(options=EvacuateOptions()), FakeClock()
    )
    assert [r.instance_uuid for r in api.records] == ["s2"]


def test_an_encrypted_volume_is_a_risk_and_still_sent() -> None:
    api = FakeCompute(WITH_VOLUMES)
    api.attached = ENCRYPTED
    (row,) = plan(api).rows
    assert row.action is Action.SUBMITTED
    assert row.risk is not None and "encrypted volume vol-1" in row.risk


def test_nothing_is_read_of_servers_not_to_send() -> None:
    api = FakeCompute(dataclasses.replace(server("s1"), vm_state="paused"))
    plan(api)
    assert api.calls["attachments"] == 0


# -- the reads on the wire -------------------------------------------------

CLOUD = VersionRange(mv("2.1"), mv("2.100"))


def services(
    session: FakeSession, *present: str
) -> attached_reads.AttachedServices:
    """The services, with an endpoint for those present only."""
    return attached_reads.AttachedServices.on(
        session, {kind: ENDPOINT for kind in present}
    )


def nova(session: FakeSession) -> Transport:
    return Transport(session, endpoint_override=ENDPOINT)


def test_shares_are_read_per_server_at_2_97_where_manila_is() -> None:
    session = FakeSession(
        (200, {"shares": [{"share_id": "share-a", "status": "active"}]})
    )
    found = attached_reads.read(
        nova(session),
        services(session, "shared-file-system"),
        CLOUD,
        [server("s1")],
    )
    assert found.shares == {"s1": ("share-a",)}
    (sent,) = session.sent
    assert sent.path == "/servers/s1/shares"
    assert sent.headers["OpenStack-API-Version"] == "compute 2.97"


@pytest.mark.parametrize(
    ("cloud", "present"),
    [
        (CLOUD, ()),  # no Manila: no server can have a share
        (VersionRange(mv("2.1"), mv("2.96")), ("shared-file-system",)),
    ],
)
def test_shares_are_not_read_where_there_can_be_none(
    cloud: VersionRange, present: tuple[str, ...]
) -> None:
    session = FakeSession()
    found = attached_reads.read(
        nova(session), services(session, *present), cloud, [server("s1")]
    )
    assert found == Attachments()
    assert session.sent == []


def test_accelerator_ports_are_one_neutron_list_per_host() -> None:
    ports = [{"id": "p1", "device_id": "s1"}, {"id": "p2", "device_id": "s1"}]
    session = FakeSession((200, {"ports": ports}))
    found = attached_reads.read(
        nova(session),
        services(session, "network"),
        CLOUD,
        [server("s1"), server("s2")],
    )
    assert found.accelerator_ports == {"s1": ("p1", "p2")}
    (sent,) = session.sent
    assert sent.path.startswith("/v2.0/ports?")
    assert sent.query == {
        "binding:host_id": ["c1"],
        "binding:vnic_type": [
            "accelerator-direct",
            "accelerator-direct-physical",
        ],
        "fields": ["id", "device_id"],
    }


def test_encrypted_volumes_are_read_in_cinder() -> None:
    session = FakeSession(
        (200, {"volume": {"id": "vol-1", "encrypted": True}})
    )
    srv = dataclasses.replace(server("s1"), volumes=("vol-1",))
    found = attached_reads.read(
        nova(session), services(session, "block-storage"), CLOUD, [srv]
    )
    assert found.encrypted_volumes == {"vol-1"}
    (sent,) = session.sent
    assert sent.path == "/volumes/vol-1"


def test_a_read_that_fails_is_left_out() -> None:
    session = FakeSession((503, {"error": "busy"}))
    srv = dataclasses.replace(server("s1"), volumes=("vol-1",))
    found = attached_reads.read(
        nova(session), services(session, "block-storage"), CLOUD, [srv]
    )
    assert found == Attachments()
