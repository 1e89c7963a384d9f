"""The filters that need more than the server: --exclude-image and
InstanceHA's evacuable mark (fail-open on flavors and images, fail-closed
on aggregates), and the plain ones host evacuate added beside them."""

from __future__ import annotations

import dataclasses

import pytest

from osc_evacuate.core import preflight, selection
from osc_evacuate.core.errors import ComputeAPIError, Refused
from osc_evacuate.core.models import (
    Aggregate,
    EvacuableMark,
    EvacuateOptions,
    Flavor,
    Image,
    MarkPlace,
    Request,
    ServerFilter,
)
from tests.unit.fake_compute import FakeCompute, server

MARK = EvacuableMark("evacuable")
MARKED = Flavor(1, 512, 1, extra_specs={"evacuable": "True"}, name="ha")
PLAIN = Flavor(1, 512, 1, name="plain")
HA_IMAGE = Image("img-ha", "cirros-ha", {"evacuable": "true"})
IMAGE = Image("img-1", "cirros", {})
IN_HA = Aggregate("ha", frozenset({"c1"}), {"evacuable": "true"})
NOT_HA = Aggregate("rest", frozenset({"c1"}), {"evacuable": "false"})
EVERYWHERE = frozenset(MarkPlace)
FLAVOR_IMAGE = frozenset({MarkPlace.FLAVOR, MarkPlace.IMAGE})
AGGREGATE = frozenset({MarkPlace.AGGREGATE})

# (where it is looked for, the server's flavor and image, the cloud: a
# flavor marked, an image marked, its aggregates): (let in, the words).
MARKS = {
    "nothing marked anywhere: all pass the flavor and image half": (
        FLAVOR_IMAGE,
        (PLAIN, IMAGE),
        (False, False, ()),
        (True, "no flavor or image of the cloud carries evacuable=true"),
    ),
    "a marked flavor lets it in": (
        FLAVOR_IMAGE,
        (MARKED, IMAGE),
        (True, False, ()),
        (True, "flavor ha carries evacuable=true"),
    ),
    "an unmarked one is left out once any flavor is marked": (
        FLAVOR_IMAGE,
        (PLAIN, IMAGE),
        (True, False, ()),
        (False, "its flavor and image carry no evacuable=true"),
    ),
    "a marked image lets it in, its flavor plain": (
        FLAVOR_IMAGE,
        (PLAIN, HA_IMAGE),
        (True, True, ()),
        (True, "image cirros-ha carries evacuable=true"),
    ),
    "images only: a marked flavor does not count": (
        frozenset({MarkPlace.IMAGE}),
        (MARKED, IMAGE),
        (True, True, ()),
        (False, "its image carries no evacuable=true"),
    ),
    "aggregates are fail-closed: none marked, none in": (
        AGGREGATE,
        (MARKED, IMAGE),
        (True, False, (NOT_HA,)),
        (False, "c1 is in no aggregate that carries evacuable=true"),
    ),
    "a marked aggregate lets it in": (
        AGGREGATE,
        (PLAIN, IMAGE),
        (False, False, (NOT_HA, IN_HA)),
        (True, "aggregate ha carries evacuable=true"),
    ),
    "all three: both halves must hold": (
        EVERYWHERE,
        (MARKED, IMAGE),
        (True, False, (IN_HA,)),
        (
            True,
            "flavor ha carries evacuable=true; aggregate ha carries "
            "evacuable=true",
        ),
    ),
    "all three: a marked flavor, no marked aggregate": (
        EVERYWHERE,
        (MARKED, IMAGE),
        (True, False, (NOT_HA,)),
        (False, "c1 is in no aggregate that carries evacuable=true"),
    ),
    "a flavor not read is no mark": (
        FLAVOR_IMAGE,
        (None, None),
        (True, False, ()),
        (False, "its flavor and image carry no evacuable=true"),
    ),
}


@pytest.mark.parametrize("case", MARKS, ids=list(MARKS))
def test_what_the_evacuable_mark_lets_in(case: str) -> None:
    places, (flavor, image), (flavors, images, aggs), expected = MARKS[case]
    mark = dataclasses.replace(MARK, places=places)
    scene = selection.MarkScene(flavors, images, aggs)
    seen = selection.Seen(flavor, image)
    assert selection.by_mark(mark, server("a"), seen, scene) == expected


def test_a_value_is_matched_in_any_case_and_a_key_alone_means_true() -> None:
    assert EvacuableMark("ha").carried_by({"ha": "TRUE"})
    assert not EvacuableMark("ha").carried_by({"ha": "yes"})
    assert EvacuableMark("ha", "Yes").carried_by({"ha": "yes"})
    assert not EvacuableMark("ha").carried_by({})


LEFT_OUT = {
    "--exclude-name": (
        ServerFilter(exclude_names=("amphora-*",)),
        "amphora-1",
        "active",
        "excluded by --exclude-name amphora-*",
    ),
    "--exclude-name, no match": (
        ServerFilter(exclude_names=("amphora-*",)),
        "db-1",
        "active",
        None,
    ),
    "--skip-error": (
        ServerFilter(skip_error=True),
        "db-1",
        "error",
        "excluded by --skip-error (it is in ERROR)",
    ),
    "--skip-error, not in error": (
        ServerFilter(skip_error=True),
        "db-1",
        "stopped",
        None,
    ),
}


@pytest.mark.parametrize("case", LEFT_OUT, ids=list(LEFT_OUT))
def test_what_the_plain_filters_leave_out(case: str) -> None:
    filters, name, vm_state, expected = LEFT_OUT[case]
    found = dataclasses.replace(server("a", vm_state), name=name)
    assert filters.left_out(found) == expected


def plan(
    api: FakeCompute, filters: ServerFilter
) -> dict[str, tuple[str, str | None]]:
    request = Request(options=EvacuateOptions(), filters=filters)
    planned = preflight.plan_hosts(api, ["c1"], request)
    return {
        r.id: (r.action.value, r.error or r.selected_by) for r in planned.rows
    }


def cloud() -> FakeCompute:
    """A failed c1 with a server of a marked flavor (a), one of a plain
    flavor (b), and one booted from image img-ha (c)."""
    api = FakeCompute(
        dataclasses.replace(server("a"), flavor=MARKED),
        dataclasses.replace(server("b"), flavor=PLAIN),
        dataclasses.replace(server("c"), flavor=PLAIN, image_id="img-ha"),
    )
    api.glance = {"img-ha": HA_IMAGE}
    api.host_aggregates = (IN_HA,)
    return api


def test_the_plan_says_why_each_server_is_in_or_out() -> None:
    rows = plan(cloud(), ServerFilter(mark=MARK))
    assert rows == {
        "a": (
            "submitted",
            "flavor ha carries evacuable=true; aggregate ha carries "
            "evacuable=true",
        ),
        "b": (
            "skipped",
            "excluded by --evacuable-mark evacuable=true: its flavor and "
            "image carry no evacuable=true",
        ),
        "c": (
            "submitted",
            "image cirros-ha carries evacuable=true; aggregate ha carries "
            "evacuable=true",
        ),
    }


def test_exclude_image_by_name_or_id() -> None:
    for given in ("cirros-ha", "img-ha"):
        rows = plan(cloud(), ServerFilter(exclude_images=frozenset({given})))
        assert rows["c"] == ("skipped", f"excluded by --exclude-image {given}")
        assert rows["a"] == rows["b"] == ("submitted", None)


def test_marks_that_cannot_be_read_refuse_the_run() -> None:
    api = cloud()

    def broken() -> list[Aggregate]:
        raise ComputeAPIError("Forbidden", status=403)

    api.aggregates = broken  # type: ignore[method-assign]
    with pytest.raises(Refused, match="cannot be read.*Forbidden"):
        plan(api, ServerFilter(mark=MARK))


def test_no_such_filter_reads_nothing_more() -> None:
    api = cloud()
    plan(api, ServerFilter(exclude_names=("x-*",)))
    reads = ("all_flavors", "all_images", "aggregates")
    assert [api.calls[r] for r in reads] == [0, 0, 0]
