"""The benchmark's arithmetic: figures counted from a request log, and
the results file read and written as it is (the goals:
test_bench_goals.py). No sandbox runs here."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

# tools/bench.py's parts, as `python tools/bench.py` imports them.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from benchlib.clients import Ran, WayRun
from benchlib.goals import goals
from benchlib.metrics import (
    LogEntry,
    busy_seconds,
    by_phase,
    cpu_between,
    done_at,
    metrics,
    others_cpu,
    ours_cycles,
    poll_items,
)
from benchlib.report import RESULTS
from benchlib.results import (
    ResultsError,
    Spread,
    dumps,
    load,
    loads,
)
from benchlib.runner import WAYS, machine_busy, turn_order
from machine_speed import spread, windows

UUID = "5d1c0e4e-8a1b-4c2d-9e3f-0a1b2c3d4e5f"


def entry(at: float, method: str, path: str, size: int) -> LogEntry:
    return {"at": at, "method": method, "path": path, "bytes": size}


def test_each_turn_runs_every_way_and_starts_with_the_next() -> None:
    turns = [turn_order(WAYS, turn) for turn in range(len(WAYS))]
    assert all(sorted(order) == sorted(WAYS) for order in turns)
    assert [order[0] for order in turns] == list(WAYS)
    assert turns[1] == [*WAYS[1:], WAYS[0]]
    assert turn_order(WAYS, len(WAYS)) == list(WAYS)


def test_per_cycle_figures_are_counted_from_the_log() -> None:
    records = "/v2.1/os-migrations"
    log = [
        entry(0.5, "GET", "/v2.1/servers/detail", 9000),  # before the run
        entry(1.0, "POST", "/v2.1/servers/a/action", 100),
        entry(2.0, "GET", records, 1000),  # cycle 1
        entry(2.1, "GET", "/v2.1/servers/detail", 500),
        entry(4.0, "GET", records, 3000),  # cycle 2: three requests
        entry(4.1, "GET", "/v2.1/servers/detail", 700),
        entry(4.2, "GET", f"/v2.1/servers/{UUID}", 300),
        entry(9.0, "GET", records, 1),  # after the last server was seen
    ]
    client = Ran("", "", 0, 1.5, 2048, 1.0, 5.0)
    run = WayRun(1.0, 5.0, [client], cycles=None)

    got = metrics(log, run, 2, "osc-evacuate")

    assert got.requests == 6
    assert got.cycles == 2
    assert got.requests_per_cycle == Spread(min=2, median=2.5, max=3)
    assert got.bytes_per_cycle is not None
    assert got.bytes_per_cycle.max == 4000
    assert got.by_kind["GET /v2.1/servers/{id}"] == 1
    assert (got.client_cpu_seconds, got.client_peak_rss_mib) == (1.5, 2)


def test_nova_cpu_of_each_phase_is_read_from_samples() -> None:
    def post(at: float, took: float) -> LogEntry:
        return {
            **entry(at, "POST", "/v2.1/servers/a/action", 0),
            "seconds": took,
        }

    log = [
        entry(1.5, "GET", "/v2.1/servers/detail", 9000),
        post(2.0, 0.5),
        post(3.0, 1.0),  # answered at 4.0
        entry(5.0, "GET", "/v2.1/os-migrations", 10),
    ]
    run = WayRun(1.0, 6.0, [], cycles=None)
    # Nova's CPU, per second: 0.1 before the first evacuate, 0.9 while
    # they are sent, 0.5 after.
    samples = [(1.0, 10.0), (2.0, 10.1), (4.0, 11.9), (6.0, 12.9)]

    got = by_phase(log, run, samples)

    assert [(p.phase, p.wall_seconds) for p in got] == [
        ("before the first evacuate", 1.0),
        ("sending evacuates", 2.0),
        ("after the last evacuate", 2.0),
    ]
    assert [p.nova_cpu_seconds for p in got] == [0.1, 1.8, 1.0]
    assert [p.requests for p in got] == [1, 2, 1]
    # Between two samples, read on the line between them.
    assert cpu_between(samples, 4.0, 5.0) == pytest.approx(0.5)
    # A run with no evacuate request is one phase.
    assert [p.phase for p in by_phase([], run, samples)] == ["whole run"]


def test_a_poll_that_reads_what_it_has_seen_pays_more_per_change() -> None:
    def read(at: float, *items: tuple[str, str]) -> LogEntry:
        listed = [["server", ident, digest] for ident, digest in items]
        return {**entry(at, "GET", "/v2.1/servers/detail", 0), "items": listed}

    plan = read(0.5, ("a", "1"), ("b", "1"), ("c", "1"))
    # Each cycle, one server changes. One client reads every server each
    # cycle; the other only what changed since its last read.
    everything = [
        plan,
        read(2.0, ("a", "2"), ("b", "1"), ("c", "1")),
        read(3.0, ("a", "2"), ("b", "2"), ("c", "1")),
        read(4.0, ("a", "2"), ("b", "2"), ("c", "2")),
    ]
    changes = [plan, read(2.0, ("a", "2")), read(3.0, ("b", "2"))]
    changes.append(read(4.0, ("b", "2"), ("c", "2")))  # an overlap re-read

    assert poll_items(everything, 2.0) == (9, 3)
    assert poll_items(changes, 2.0) == (4, 3)


def test_the_last_done_is_read_on_the_monotonic_clock() -> None:
    records: list[dict[str, Any]] = [
        {"updated_at": "2026-01-01T00:00:10.250000"},
        {"updated_at": "2026-01-01T00:00:12.500000"},  # the last done
        {"updated_at": "2026-01-01T00:00:11Z"},
        {"updated_at": None},
    ]
    epoch = 1767225600.0  # 2026-01-01T00:00:00Z
    offset = epoch - 1000.0  # time.time() - time.monotonic()

    assert done_at(records, offset) == pytest.approx(1012.5)
    assert done_at([{"updated_at": None}], offset) is None


def test_the_machine_busy_counts_every_state_but_idle_and_io_wait() -> None:
    stat = (
        "cpu  700 10 60 7000 1200 0 8 20 0 0\n"
        "cpu0 350 5 30 3500 600 0 4 10 0 0\n"
    )
    # user, nice, system, irq, softirq, steal; not idle 7000 nor iowait.
    assert busy_seconds(stat, 100) == 7.98
    # What Nova's process and the clients used is not the others'.
    assert others_cpu(7.98, 5.0, 1.5) == 1.48
    # Ticks of 10 ms: a quiet run can read a little under nothing.
    assert others_cpu(6.49, 5.0, 1.5) == 0.0


def test_the_machine_busy_grows_with_what_this_process_spins() -> None:
    before, cpu = machine_busy(), time.process_time()
    while time.process_time() - cpu < 0.3:
        pass
    # The whole machine: at least what this process used (within a tick
    # of each reading), whatever else ran.
    assert machine_busy() - before >= 0.28


def test_the_machine_speed_is_the_median_task_of_each_full_window() -> None:
    # Windows of 1 CPU s: the tasks that fill one, in order; what is
    # left at the end, under a window, is not one.
    spent = [0.3, 0.3, 0.5, 0.4, 0.4, 0.4, 0.9]
    assert windows(spent, 1.0) == [0.3, 0.4]
    assert round(spread([0.32, 0.40, 0.35]), 4) == 0.25
    assert spread([0.3]) == 0.0


def test_poll_cycles_are_counted_from_the_first_post() -> None:
    records = "/v2.1/os-migrations"

    def read(at: float, query: str = "source_compute=failed01") -> LogEntry:
        return {**entry(at, "GET", records, 1000), "query": query}

    def post(at: float) -> LogEntry:
        return entry(at, "POST", "/v2.1/servers/a/action", 0)

    log = [
        read(1.0),  # the plan's one read of the host's records
        post(2.0),
        read(2.5),  # polling while still sending
        post(3.0),
        read(3.1, "instance_uuid=a"),  # one server's: no cycle
        read(3.5),
        post(4.0),  # the last POST
        read(4.5),
        read(5.5),
    ]

    assert ours_cycles(log) == [2.5, 3.5, 4.5, 5.5]
    client = Ran("", "", 0, 1.0, 1024, 0.5, 6.0)
    got = metrics(log, WayRun(0.5, 6.0, [client], cycles=None), 3, "x")
    assert got.cycles == 4
    # The evacuate requests are not the poll's: each cycle's one read, and
    # the one server's read in the second.
    assert got.requests_per_cycle == Spread(min=1, median=1, max=2)
    assert got.requests == 9


def test_the_committed_results_load_and_dump_as_they_are() -> None:
    text = RESULTS.read_text()
    results = load(RESULTS)
    rejudged = dataclasses.replace(results, goals=goals(results))

    assert dumps(results) == text
    # Judged anew (bench.py --goals-only), the results dump and load as
    # they are, whatever the bench that wrote them measured.
    assert loads(dumps(rejudged)) == rejudged
    if results.of_size(50).find("osc floor") is not None:
        # Written by this bench: the goals in the file are those its
        # figures meet (bench.py --goals-only changes nothing). A file
        # from before the osc floor ran has goals judged by other rules.
        assert goals(results) == results.goals


def test_results_from_before_the_new_figures_load() -> None:
    document = json.loads(RESULTS.read_text())
    for run in document["runs"]:
        for key in (
            "server_list_seconds",
            "done_to_exit_seconds",
            "server_list_seconds_of_each_run",
            "done_to_exit_seconds_of_each_run",
            "others_cpu_seconds",
            "others_cpu_seconds_of_each_run",
        ):
            run.pop(key, None)
    # With them: kept as they are, per run and of the median run.
    mine = document["runs"][0]
    mine["server_list_seconds"] = 2.1
    mine["server_list_seconds_of_each_run"] = [2.0, 2.1, None][: mine["runs"]]
    mine["done_to_exit_seconds_of_each_run"] = [1.2] * mine["runs"]
    mine["others_cpu_seconds"] = 0.3
    mine["others_cpu_seconds_of_each_run"] = [0.3, None, 4.1][: mine["runs"]]

    results = loads(json.dumps(document))

    assert results.runs[0].server_list_seconds == 2.1
    assert results.runs[0].done_to_exit_seconds is None
    assert results.runs[1].server_list_seconds_of_each_run is None
    assert results.runs[0].others_cpu_seconds == 0.3
    assert results.runs[1].others_cpu_seconds_of_each_run is None
    assert json.loads(dumps(results)) == document
    short = json.loads(json.dumps(document))
    short["runs"][0]["done_to_exit_seconds_of_each_run"].append(1.0)
    fewer = json.loads(json.dumps(document))
    fewer["runs"][0]["others_cpu_seconds_of_each_run"].pop()
    for bad in (short, fewer):
        with pytest.raises(ResultsError):
            loads(json.dumps(bad))


def test_results_in_another_layout_are_refused() -> None:
    document = json.loads(RESULTS.read_text())
    unknown = json.loads(RESULTS.read_text())
    unknown["runs"][0]["nova_work_seconds"] = 1.0
    missing = json.loads(RESULTS.read_text())
    del missing["runs"][0]["phases_of_each_run"]
    short = json.loads(RESULTS.read_text())
    short["runs"][0]["wall_seconds_of_each_run"].pop()
    a_string = json.loads(RESULTS.read_text())
    a_string["runs"][0]["requests"] = "23"

    for bad in (unknown, missing, short, a_string):
        with pytest.raises(ResultsError):
            loads(json.dumps(bad))
    assert loads(json.dumps(document)).runs[0].servers == 10


class FakeNova:
    """keystoneauth's Adapter on a made-up compute API: the host's
    servers, and evacuation records that turn done a read after the
    evacuate."""

    def __init__(self, session: object, **where: str) -> None:
        self.where = where
        self.sent: list[tuple[str, str, dict[str, Any]]] = []
        self.status: dict[str, str] = {}

    def get(self, path: str, params: dict[str, Any], headers: Any) -> Any:
        self.sent.append(("GET", path, params))
        if path == "/servers/detail":
            body: Any = {"servers": [{"id": "a"}, {"id": "b"}]}
        else:
            body = {
                "migrations": [
                    {"instance_uuid": i, "status": s}
                    for i, s in self.status.items()
                ]
            }
            self.status = dict.fromkeys(self.status, "done")
        return type("Answer", (), {"json": lambda _: body})()

    def post(self, path: str, json: Any, headers: dict[str, str]) -> None:
        assert headers == {"OpenStack-API-Version": "compute 2.94"}
        assert json == {"evacuate": {}}
        self.sent.append(("POST", path, {}))
        self.status[path.split("/")[2]] = "accepted"


def test_the_osc_floor_lists_evacuates_one_by_one_and_reads_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(RESULTS.parents[3] / "tools/bench_floor"))
    import osc_bench_floor
    from keystoneauth1 import adapter

    made: list[FakeNova] = []

    def fake(session: object, **where: str) -> FakeNova:
        made.append(FakeNova(session, **where))
        return made[-1]

    monkeypatch.setattr(adapter, "Adapter", fake)
    monkeypatch.setattr(time, "sleep", lambda _: None)
    manager = argparse.Namespace(
        session=object(), interface="public", region_name="RegionOne"
    )
    # OSC's shell, as far as the command reads it.
    app: Any = argparse.Namespace(client_manager=manager)
    floor = osc_bench_floor.Floor(app, None)

    floor.take_action(argparse.Namespace(host="failed01", interval=0.5))

    (nova,) = made
    assert nova.where["service_type"] == "compute"
    records = {"source_compute": "failed01", "migration_type": "evacuation"}
    assert nova.sent == [
        ("GET", "/servers/detail", {"all_tenants": 1, "host": "failed01"}),
        ("POST", "/servers/a/action", {}),
        ("POST", "/servers/b/action", {}),
        ("GET", "/os-migrations", records),  # accepted
        ("GET", "/os-migrations", records),  # done
    ]
