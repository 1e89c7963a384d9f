"""Records polls read what changed (records.py): the choice of a full or
a changes read, from a table, and what the poll loop does with it."""

from __future__ import annotations

import datetime

import pytest

from osc_evacuate.core.clock import parse_nova_time
from osc_evacuate.core.models import EvacuateOptions, Migration, WaitPolicy
from osc_evacuate.core.records import (
    FULL_READ_AFTER,
    Read,
    RecordCache,
    choose_read,
)
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute, server

FULL, CHANGES = Read.FULL, Read.CHANGES
LATE = FULL_READ_AFTER


@pytest.mark.parametrize(
    ("window", "last_full", "now", "without", "idle", "read"),
    [
        # Nothing read yet: the records known before the run matter too.
        (True, None, 0.0, 0, 0.0, FULL),
        (False, None, 0.0, 0, 0.0, FULL),
        # Nova's answers carry no Date: no window to ask from.
        (False, 0.0, 5.0, 0, 0.0, FULL),
        # A request just (re)sent: its record is invisible to
        # changes-since until it first changes.
        (True, 0.0, 1.0, 1, 0.0, FULL),
        (True, 0.0, 1.0, 0, 0.0, CHANGES),
        # Idle long, and the last full read as old: read all again.
        (True, 0.0, LATE, 0, LATE, FULL),
        # Idle long, but a full read is recent: not again yet.
        (True, 10.0, LATE, 0, LATE, CHANGES),
        # A full read long ago, but every row moves: nothing to catch.
        (True, 0.0, 5 * LATE, 0, LATE - 1, CHANGES),
    ],
)
def test_choose_read(
    window: bool,
    last_full: float | None,
    now: float,
    without: int,
    idle: float,
    read: Read,
) -> None:
    choice = choose_read(
        window=window,
        last_full=last_full,
        now=now,
        rows_without_record=without,
        longest_idle=idle,
    )
    assert choice.read is read
    assert choice.why


def _record(rid: int, status: str, sid: str = "a") -> Migration:
    return Migration(rid, sid, status, "c1", "c2", "2026-01-01T00:00:00", None)


def test_a_full_read_replaces_a_changes_read_updates() -> None:
    cache = RecordCache(datetime.timedelta(seconds=2))
    key = ("c1", "evacuation")
    cache.keep(key, [_record(1, "accepted"), _record(2, "done", "b")], FULL, 0)
    cache.keep(key, [_record(1, "pre-migrating")], CHANGES, 1)
    assert cache.by_server() == {
        "a": [_record(1, "pre-migrating")],
        "b": [_record(2, "done", "b")],
    }
    assert cache.last_full(key) == 0
    # A full read no longer shows b's record: deleted with its server.
    cache.keep(key, [_record(1, "done")], FULL, 2)
    assert cache.by_server() == {"a": [_record(1, "done")]}
    assert cache.last_full(key) == 2


def test_the_window_trails_the_mark_by_the_overlap() -> None:
    cache = RecordCache(datetime.timedelta(seconds=2))
    assert cache.since is None
    mark = datetime.datetime(2026, 1, 1, 0, 0, 10)
    cache.advance(mark)
    assert cache.since == datetime.datetime(2026, 1, 1, 0, 0, 8)
    cache.advance(None)
    assert cache.since is None


def _run(api: FakeCompute, clock: FakeClock, **wait: object) -> list[str]:
    request = engine.Request(
        options=EvacuateOptions(),
        wait=WaitPolicy(timeout=3600, **wait),  # type: ignore[arg-type]
    )
    report = engine.evacuate_host(api, "c1", request, clock)
    return [r.result.value for r in report.rows]


def _counting(api: FakeCompute) -> list[int]:
    """How many records each records read of the poll loop answered."""
    read = api.migrations
    answered: list[int] = []

    def counted(
        migration_type: str,
        source_host: str | None = None,
        instance_uuid: str | None = None,
        changes_since: str | None = None,
    ) -> list[Migration]:
        found = read(migration_type, source_host, instance_uuid, changes_since)
        if source_host is not None:
            answered.append(len(found))
        return found

    api.migrations = counted  # type: ignore[method-assign]
    return answered


@pytest.mark.parametrize("count", [5, 50])
def test_after_the_first_poll_only_changed_records_are_read(
    count: int,
) -> None:
    clock = FakeClock()
    api = FakeCompute(*(server(str(i)) for i in range(count)), clock=clock)
    # Records of an earlier outage, long done: history, read once.
    for i in range(count):
        api.records.append(
            Migration(
                len(api.records) + 1,
                f"old-{i}",
                "completed",
                "c1",
                "c2",
                "2025-01-01T00:00:00",
                "2025-01-01T00:01:00",
            )
        )
    answered = _counting(api)
    assert _run(api, clock) == ["verified"] * count
    polls = api.calls["servers_changed_since"]
    # The plan's read and the first poll's read every record; each later
    # poll only those that changed since the poll before: this run's, and
    # none of the earlier outage's.
    assert answered[:2] == [count, 2 * count]
    assert api.calls["migrations_changed"] == polls - 1
    assert all(n <= count for n in answered[2:])
    # Each window starts at Nova's time before the poll before, less the
    # overlap: never further back.
    asked = [parse_nova_time(s) for s in api.records_since_asked]
    assert asked == sorted(asked)
    assert asked[-1] >= api.now() - datetime.timedelta(seconds=15)


def test_a_resubmitted_row_has_its_new_record_read_as_it_changes() -> None:
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    api.no_valid_host = {"a"}
    assert _run(api, clock, retries=1) == ["verified"]
    assert api.calls["evacuate"] == 2
    # One full read, the first poll's: the new request's record shows in
    # a changes read as soon as the conductor takes it up.
    full = api.calls["migrations"] - api.calls["migrations_changed"] - 1
    assert full == 1


def test_a_record_never_taken_up_is_found_by_a_full_read() -> None:
    """A record that stays `accepted` has no updated_at, so no changes read
    shows it: once its row has shown no record for NEW_RECORD_GRACE, the
    host's records are read in full, and the row sees its record."""
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    api.stalls = {"a": "accepted"}
    request = engine.Request(
        options=EvacuateOptions(), wait=WaitPolicy(timeout=60)
    )
    report = engine.evacuate_host(api, "c1", request, clock)
    assert report.rows[0].migration is not None  # it saw its record
    full = api.calls["migrations"] - api.calls["migrations_changed"] - 1
    assert full >= 2  # the first poll's, and one after the grace


def test_a_record_stamped_before_the_window_is_found_by_a_full_read() -> None:
    """A conductor whose clock runs a minute behind the API's stamps each
    record change before the window: changes reads never show it, so the
    row looks idle; once idle FULL_READ_AFTER, a full read finds it."""
    clock = FakeClock()
    api = FakeCompute(server("a"), clock=clock)
    api.record_lag = 60.0
    assert _run(api, clock) == ["verified"]
    assert api.calls["migrations_changed"] >= 1
    assert clock.now >= FULL_READ_AFTER
    assert clock.now < 4 * FULL_READ_AFTER
