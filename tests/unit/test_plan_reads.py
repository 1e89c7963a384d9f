"""The plan's reads that do not depend on each other are in flight
together: the capacity check's room and server groups beside a host's
first reads, and the images, attachments and room beside each other;
and each is read once, however often the rows are judged."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from osc_evacuate.core import attached_reads, drain_plan, host_reads
from osc_evacuate.core.attached import Attachments
from osc_evacuate.core.defaults import READS_AT_ONCE
from osc_evacuate.core.models import (
    DrainRequest,
    EvacuateOptions,
    Fit,
    Image,
    Migration,
    Request,
    Room,
    Server,
)
from osc_evacuate.core.models.cloud import ServerGroup
from tests.unit import engine
from tests.unit.fake_compute import FakeClock, FakeCompute
from tests.unit.test_plan import ROOMY, TINY, sized

_T = TypeVar("_T")

# How long a read waits for the others it should be in flight with: far
# longer than the fake takes, so only reads sent one after another miss.
PATIENCE = 2.0


class Rendezvous(FakeCompute):
    """A fake whose reads named in `together` each wait, when called,
    until all of them have been called; `met` says which did not wait in
    vain."""

    def __init__(
        self, together: Iterable[str], *servers: Server, up: bool = False
    ) -> None:
        super().__init__(*servers, up=up)
        self.together = frozenset(together)
        self.started: set[str] = set()
        self.met: dict[str, bool] = {}
        self._changed = threading.Condition()

    def _meet(self, name: str, read: Callable[[], _T]) -> _T:
        if name not in self.together:
            return read()
        with self._changed:
            self.started.add(name)
            self._changed.notify_all()
            self.met[name] = self._changed.wait_for(
                lambda: self.together <= self.started, PATIENCE
            )
        return read()

    def servers_on_host(self, host: str) -> list[Server]:
        return self._meet(
            "servers", lambda: FakeCompute.servers_on_host(self, host)
        )

    def migrations(self, *args: Any, **kwargs: Any) -> list[Migration]:
        return self._meet(
            "records", lambda: FakeCompute.migrations(self, *args, **kwargs)
        )

    def compute_services(self, host: str | None = None) -> list[Any]:
        return self._meet(
            "services", lambda: FakeCompute.compute_services(self, host)
        )

    def hypervisors(self) -> list[Any]:
        return self._meet("hypervisors", lambda: FakeCompute.hypervisors(self))

    def rooms(self, smallest: Mapping[str, int]) -> dict[str, Room] | None:
        return self._meet("rooms", lambda: FakeCompute.rooms(self, smallest))

    def server_groups(self) -> list[ServerGroup]:
        return self._meet("groups", lambda: FakeCompute.server_groups(self))

    def images(self, image_ids: Iterable[str]) -> dict[str, Image]:
        return self._meet(
            "images", lambda: FakeCompute.images(self, image_ids)
        )

    def attachments(
        self, servers: Sequence[Server], volumes: bool = True
    ) -> Attachments:
        return self._meet(
            "attachments",
            lambda: FakeCompute.attachments(self, servers, volumes),
        )


def cloud(together: Iterable[str], up: bool = False) -> Rendezvous:
    api = Rendezvous(together, sized("a"), sized("b", image="img2"), up=up)
    api.placement = {"c2": ROOMY}
    api.glance["img"] = Image("img", "cirros")
    return api


def evacuation(api: FakeCompute) -> Any:
    request = Request(options=EvacuateOptions())
    return engine.plan_hosts(api, ["c1"], request, FakeClock())


def test_the_room_and_groups_are_read_with_the_host_s_servers() -> None:
    api = cloud({"servers", "rooms", "groups"})
    planned = evacuation(api)
    assert api.met == {"servers": True, "rooms": True, "groups": True}
    assert planned.capacity.source == "placement"


def test_images_attachments_and_room_are_read_at_once() -> None:
    api = cloud({"images", "attachments", "rooms", "groups"})
    request = Request(options=EvacuateOptions())
    planned = engine.plan_server(api, "a", request, FakeClock())
    assert all(api.met.values()), api.met
    assert set(api.met) == {"images", "attachments", "rooms", "groups"}
    assert planned.capacity.source == "placement"


def test_a_server_s_reads_go_at_once_and_the_services_once() -> None:
    together = {"records", "services", "hypervisors", "rooms", "groups"}
    api = cloud(together)
    request = Request(options=EvacuateOptions())
    planned = engine.plan_server(api, "a", request, FakeClock())
    assert api.met == dict.fromkeys(together, True)
    assert api.calls["services"] == 1
    assert planned.capacity.source == "placement"


def test_a_drain_reads_its_room_with_the_host_s_servers() -> None:
    api = cloud({"servers", "rooms", "groups"}, up=True)
    drain_plan.plan_drain(api, ["c1"], DrainRequest(), FakeClock())
    assert api.met == {"servers": True, "rooms": True, "groups": True}


class Counted(FakeCompute):
    """A fake whose host reads take a while, counting how many are in
    flight at once."""

    def __init__(self) -> None:
        super().__init__()
        self.in_flight = 0
        self.most = 0
        self._lock = threading.Lock()

    def _slow(self, read: Callable[[], _T]) -> _T:
        with self._lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(0.05)
        with self._lock:
            self.in_flight -= 1
        return read()

    def servers_on_host(self, host: str) -> list[Server]:
        return self._slow(lambda: FakeCompute.servers_on_host(self, host))

    def migrations(self, *args: Any, **kwargs: Any) -> list[Migration]:
        return self._slow(
            lambda: FakeCompute.migrations(self, *args, **kwargs)
        )


def test_a_plan_has_at_most_ten_reads_in_flight() -> None:
    api = Counted()
    hosts = [f"c{n}" for n in range(1, 8)]
    with host_reads.reading(api, hosts, ("a", "b"), FakeClock()) as read:
        read.servers()
        read.records()
    # 4 + 3 reads a host for 7 hosts would be 25 at once.
    assert api.most == READS_AT_ONCE
    # What the plan reads beside the per-server reads (plan_reads.read):
    # flavors, images, Placement's room and the server groups.
    assert attached_reads.READERS + 4 <= READS_AT_ONCE


def test_a_drain_before_2_47_reads_each_flavor_once() -> None:
    old = dataclasses.replace(sized("a"), flavor=None, flavor_id="f1")
    api = FakeCompute(old, up=True)
    api.placement = {"c2": ROOMY}
    api.flavor_store["f1"] = TINY
    planned = drain_plan.plan_drain(api, ["c1"], DrainRequest(), FakeClock())
    assert api.calls["flavors"] == 1
    assert [r.fit for r in planned.rows] == [Fit.FITS]
