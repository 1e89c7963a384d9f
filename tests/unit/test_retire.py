"""host evacuation retire's decisions, from tables: its refusals, what it
removes and why, the order of its rows; and its requests on the wire.
(Its runs and the command: test_retire_run.py.)"""

from __future__ import annotations

import pytest

from osc_evacuate.core import lifecycle, retire, retire_reads, retire_run
from osc_evacuate.core.errors import ComputeAPIError, NotYet, Refused
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.models import (
    COLD_MIGRATION,
    LIVE_MIGRATION,
    ComputeService,
)
from osc_evacuate.core.retire_models import (
    Consumer,
    HostMigration,
    Kind,
    Provider,
    ServersOnHost,
)
from osc_evacuate.core.transport import Transport
from tests.unit.fake_compute import server
from tests.unit.fake_placement import (
    HOST,
    FakeRetireCompute,
    dead_host,
    record,
)
from tests.unit.fake_session import ENDPOINT, Answer, FakeSession


def move(
    mid: int, kind: str, status: str, source: str = HOST, dest: str = "c9"
) -> HostMigration:
    return HostMigration(mid, f"m{mid}", kind, status, "x", source, dest)


# -- Refusals ---------------------------------------------------------------

UP = ComputeService("s1", HOST, "up", "enabled", False)
HEARTBEAT = ComputeService("s1", HOST, "down", "disabled", False)
CELL_DOWN = ComputeService("", HOST, "UNKNOWN", "UNKNOWN", False)

# name: (service or None for forced down, records, other moves, servers
# on the host), and the refusal's type and words (None: allowed).
REFUSALS = {
    "up": (UP, [], [], [], Refused, "is up"),
    "down by its heartbeat only": (
        HEARTBEAT,
        [],
        [],
        [],
        Refused,
        "set --down c1 nova-compute",
    ),
    "in a down cell": (CELL_DOWN, [], [], [], Refused, "down cell"),
    "an evacuation accepted": (
        None,
        [record(1, "a", "accepted")],
        [],
        [("a", "active")],
        NotYet,
        "vm-a (a) accepted",
    ),
    "an evacuation pre-migrating": (
        None,
        [record(1, "a", "pre-migrating")],
        [],
        [("a", "active")],
        NotYet,
        "still under way",
    ),
    "a stale accepted record, its server elsewhere (Nova's 409)": (
        None,
        [record(1, "z", "accepted")],
        [],
        [],
        NotYet,
        "evacuation 1 of z accepted",
    ),
    "a live migration to it running": (
        None,
        [],
        [move(7, LIVE_MIGRATION, "running", source="c3", dest=HOST)],
        [],
        NotYet,
        "live-migration 7 of x running",
    ),
    "a resize waiting for its confirmation": (
        None,
        [],
        [move(8, COLD_MIGRATION, "finished")],
        [],
        NotYet,
        "Nova refuses (409)",
    ),
    "a server left": (
        None,
        [record(1, "a", "failed")],
        [],
        [("a", "error")],
        ServersOnHost,
        "1 server(s) still on it (vm-a)",
    ),
    "a server Nova cannot evacuate": (
        None,
        [],
        [],
        [("p", "paused")],
        ServersOnHost,
        "Nova refuses (409) to delete its service",
    ),
    "done and finished records only": (
        None,
        [record(1, "a", "done"), record(2, "b", "completed")],
        [
            move(9, LIVE_MIGRATION, "completed"),
            move(10, COLD_MIGRATION, "error"),
        ],
        [],
        None,
        "",
    ),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_refusals(case: str) -> None:
    service, records, moves, on_host, refusal, words = REFUSALS[case]
    api = FakeRetireCompute(*(server(sid, vm) for sid, vm in on_host))
    if service is not None:
        api.services[0] = service
    api.records = records
    api.other_moves = moves
    state = lifecycle.host_state(api, HOST)
    migrations = api.host_migrations(HOST)

    if refusal is None:
        retire.refuse(state, migrations)
        return
    with pytest.raises(Refused) as refused:
        retire.refuse(state, migrations)
    assert type(refused.value) is refusal
    assert words in str(refused.value)


# -- What may be removed, and why ------------------------------------------

PROVIDERS = {
    "rp-c1": Provider("rp-c1", "c1", "rp-c1"),
    "rp-gpu": Provider("rp-gpu", "c1_pci", "rp-c1", "rp-c1"),
}
MOVES = (
    HostMigration(1, "ev-1", "evacuation", "done", "a", HOST, "c2"),
    HostMigration(2, "ev-2", "evacuation", "completed", "b", HOST, "c2"),
    HostMigration(5, "m5", COLD_MIGRATION, "confirmed", "c", HOST, "c3"),
    HostMigration(6, "m6", COLD_MIGRATION, "post-migrating", "d", HOST, "c3"),
)
SERVERS = {
    "a": server("a", host="c2"),
    "b": server("b", host="c2"),
    "e": server("e", host="c3"),
    "h": server("h", host=HOST),
    "gone": None,
}
ON_C1 = {"rp-c1": {"VCPU": 1, "MEMORY_MB": 512}}

# consumer, its allocations on c1's providers: the row's name and words
# of its Why, or (None, the words of why it must stay).
JUDGED = {
    "evacuated, record done": (
        "a",
        ON_C1,
        ("vm-a", "vm-a was evacuated to c2 (evacuation 1 done): what "),
    ),
    "evacuated, record completed (left by its start-up)": (
        "b",
        ON_C1,
        ("vm-b", "vm-b is on c2, not on c1 (evacuation 2 completed)"),
    ),
    "a server elsewhere, no record": (
        "e",
        ON_C1,
        ("vm-e", "vm-e is on c3, not on c1; orphaned by Nova's own audit"),
    ),
    "no server of that id": (
        "gone",
        ON_C1,
        ("", "Nova has no server or migration of this ID"),
    ),
    "a finished migration's": (
        "m5",
        ON_C1,
        ("migration 5", "held by migration record 5, confirmed: no longer"),
    ),
    "nested provider, and the root": (
        "e",
        {"rp-gpu": {"VGPU": 1}, "rp-c1": {"VCPU": 1}},
        ("vm-e", "VCPU 1 on c1; VGPU 1 on c1_pci: vm-e is on c3"),
    ),
    "Nova's and a custom class": (
        "e",
        {"rp-c1": {"VCPU": 1, "CUSTOM_X": 1}},
        ("vm-e", "CUSTOM_X 1, VCPU 1 on c1"),
    ),
    "a migration in progress": (
        "m6",
        ON_C1,
        (None, "m6 is migration 6, post-migrating"),
    ),
    "a server still on the host": (
        "h",
        ON_C1,
        (None, "h is server vm-h, still on c1"),
    ),
    "no class of Nova's": (
        "gone",
        {"rp-c1": {"CUSTOM_X": 1}},
        (None, "none of Nova's resource classes"),
    ),
}


@pytest.mark.parametrize("case", JUDGED)
def test_what_may_be_removed_and_why(case: str) -> None:
    consumer, held, (name, words) = JUDGED[case]
    facts = retire.Facts(HOST, PROVIDERS, MOVES, SERVERS)

    judged = retire.judge_allocation(consumer, held, facts)

    if name is None:
        assert isinstance(judged, str)
        assert words in judged
        return
    assert not isinstance(judged, str)
    assert (judged.kind, judged.id, judged.name) == (
        Kind.ALLOCATION,
        consumer,
        name,
    )
    assert words in judged.why
    assert judged.providers == tuple(sorted(held))


def test_the_plan_in_order_children_before_parents() -> None:
    api = dead_host()
    api.provider("c1_pci", parent="rp-c1")
    api.allocate("gone", "rp-c1_pci", VGPU=1)

    plan = retire_run.survey(api, HOST)

    assert [(r.kind, r.id) for r in plan.rows] == [
        (Kind.ALLOCATION, "a"),
        (Kind.ALLOCATION, "b"),
        (Kind.ALLOCATION, "gone"),
        (Kind.SERVICE, "s1"),
        (Kind.PROVIDER, "rp-c1_pci"),
        (Kind.PROVIDER, "rp-c1"),
        (Kind.RECORD, "1"),
        (Kind.RECORD, "2"),
    ]
    assert plan.note is not None
    assert plan.note.startswith("2 evacuation record(s) from c1 stay done")
    assert api.writes == []


def test_an_allocation_not_novas_refuses_everything() -> None:
    api = dead_host()
    api.allocate("other", "rp-c1", CUSTOM_X=1)

    with pytest.raises(Refused, match="1 allocation.*not orphaned"):
        retire_run.carry_out(api, HOST, False, print)

    assert api.writes == []


def test_placement_unreadable_refuses_before_anything() -> None:
    api = dead_host()
    api.errors["provider_tree"] = ComputeAPIError("unavailable", 503)

    with pytest.raises(Refused, match="^Placement could not be read"):
        retire_run.carry_out(api, HOST, False, print)
    assert api.writes == []


# -- On the wire ------------------------------------------------------------


def placement(*answers: Answer) -> tuple[FakeSession, Transport]:
    session = FakeSession(*answers)
    return session, Transport(
        session, service_type="placement", endpoint_override=ENDPOINT
    )


def test_allocations_change_under_the_consumer_generation() -> None:
    session, wire = placement((204, None))
    new = Consumer("c-1", {"rp-2": {"VCPU": 1}}, 3, "p1", "u1")

    retire_reads.set_allocations(wire, new)

    [sent] = session.sent
    assert (sent.method, sent.path) == ("PUT", "/allocations/c-1")
    assert sent.headers["OpenStack-API-Version"] == "placement 1.28"
    assert sent.body == {
        "allocations": {"rp-2": {"resources": {"VCPU": 1}}},
        "consumer_generation": 3,
        "project_id": "p1",
        "user_id": "u1",
    }


def test_a_provider_placement_has_not_is_none() -> None:
    errors = {"errors": [{"status": 404, "detail": "No provider"}]}
    session, wire = placement((404, errors))

    assert retire_reads.provider(wire, "rp-1") is None
    assert session.sent[0].path == "/resource_providers/rp-1"


def test_a_consumer_and_the_providers_of_a_tree() -> None:
    allocations = {
        "allocations": {"rp-1": {"resources": {"VCPU": 1}, "generation": 7}},
        "consumer_generation": 2,
        "project_id": "p1",
        "user_id": "u1",
    }
    tree = {
        "resource_providers": [
            {
                "uuid": "rp-2",
                "name": "c1_pci",
                "root_provider_uuid": "rp-1",
                "parent_provider_uuid": "rp-1",
            }
        ]
    }
    session, wire = placement((200, allocations), (200, tree))

    found = retire_reads.consumer(wire, "c-1")
    [child] = retire_reads.providers(wire, in_tree="rp-1")

    assert found == Consumer("c-1", {"rp-1": {"VCPU": 1}}, 2, "p1", "u1")
    assert child == Provider("rp-2", "c1_pci", "rp-1", "rp-1")
    assert session.sent[1].query == {"in_tree": ["rp-1"]}


def test_the_host_records_and_the_service_deletion() -> None:
    page = {
        "migrations": [
            {
                "id": 4,
                "uuid": "m-4",
                "migration_type": "live-migration",
                "status": "running",
                "instance_uuid": "s-1",
                "source_compute": "c3",
                "dest_compute": HOST,
            }
        ]
    }
    session = FakeSession((200, page), (204, None))
    wire = Transport(session, endpoint_override=ENDPOINT)

    [found] = retire_reads.host_migrations(wire, mv("2.80"), HOST)
    retire_reads.delete_service(wire, mv("2.80"), "9f1c-uuid")

    assert found.in_progress and found.uuid == "m-4"
    assert session.sent[0].query["host"] == [HOST]
    assert (session.sent[1].method, session.sent[1].path) == (
        "DELETE",
        "/os-services/9f1c-uuid",
    )
