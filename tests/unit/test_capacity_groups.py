"""The capacity check's placement rules (groups.py): where each server may
go by its pinned zone and its server groups, and when zones matter."""

from __future__ import annotations

from typing import Any

import pytest

from osc_evacuate.core.groups import where_each_goes, zones_matter
from osc_evacuate.core.models.cloud import ServerGroup


def group(
    policy: str, *members: str, gid: str = "g1", most: int = 1
) -> ServerGroup:
    return ServerGroup(gid, f"n{gid}", policy, frozenset(members), most)


ZONES = {"h1": "az1", "h2": "az2", "h3": "az2"}
ANTI = "anti-affinity"
# Servers evacuated, pins, groups, every server's host (None: not known),
# forced; each server's rules, as limits (rule: hosts) and spreads
# (rule: members elsewhere, by host).
WHERE: dict[str, tuple[Any, ...]] = {
    "a pinned zone limits to its hosts": (
        ["a", "b"],
        {"a": "az2", "b": None},
        [],
        {},
        False,
        {"a": ({"availability zone az2": {"h2", "h3"}}, {})},
    ),
    "a forced host skips the zones": (
        ["a"],
        {"a": "az2"},
        [],
        {},
        True,
        {},
    ),
    "anti-affinity: the members elsewhere counted by host": (
        ["a", "b"],
        {},
        [group(ANTI, "a", "b", "c", "d")],
        {"a": "src", "b": "src", "c": "h1", "d": "h1"},
        False,
        {k: ({}, {"anti-affinity group ng1": {"h1": 2}}) for k in ("a", "b")},
    ),
    "anti-affinity: where members run not known: only among them": (
        ["a"],
        {},
        [group(ANTI, "a", "c")],
        None,
        False,
        {"a": ({}, {"anti-affinity group ng1": {}})},
    ),
    "affinity: only where the fellows run, never the failed host": (
        ["a"],
        {},
        [group("affinity", "a", "b", "c")],
        {"a": "src", "b": "src", "c": "h3"},
        False,
        {"a": ({"affinity group ng1": {"h3"}}, {})},
    ),
    "affinity: all on the failed host: nowhere": (
        ["a", "b"],
        {},
        [group("affinity", "a", "b")],
        {"a": "src", "b": "src"},
        False,
        {k: ({"affinity group ng1": set()}, {}) for k in ("a", "b")},
    ),
    "affinity: a lone member, forced, goes anywhere": (
        ["a"],
        {},
        [group("affinity", "a")],
        {"a": "src"},
        True,
        {},
    ),
    "affinity: where members run not known: not judged": (
        ["a"],
        {},
        [group("affinity", "a", "b")],
        None,
        False,
        {},
    ),
    "soft policies and other servers' groups hold nothing": (
        ["a"],
        {},
        [group("soft-anti-affinity", "a"), group(ANTI, "x", gid="g2")],
        {},
        False,
        {},
    ),
}


@pytest.mark.parametrize("case", WHERE)
def test_where_each_server_may_go(case: str) -> None:
    servers, pinned, groups, hosts_of, forced, expected = WHERE[case]
    where = where_each_goes(
        servers, pinned, ZONES, groups, hosts_of, {"src"}, forced
    )
    shown = {
        sid: (
            {rule: set(hosts) for rule, hosts in w.limits},
            {s.rule: dict(s.on_host) for s in w.spreads},
        )
        for sid, w in where.items()
    }
    assert shown == expected


@pytest.mark.parametrize(
    ("hosts", "sources", "zones", "matter"),
    [
        (["h1", "h2"], ["s"], {"h1": "z", "h2": "z", "s": "z"}, False),
        (["h1", "h2"], ["s"], {"h1": "z", "h2": "y", "s": "z"}, True),
        # Every candidate in another zone than the failed host's.
        (["h1"], ["s"], {"h1": "y", "s": "z"}, True),
        # The failed host's zone not known.
        (["h1"], ["s"], {"h1": "z"}, True),
        (["h1"], [], {"h1": None}, False),
    ],
)
def test_zones_matter_only_when_not_all_one(
    hosts: list[str], sources: list[str], zones: dict[str, str], matter: bool
) -> None:
    assert zones_matter(hosts, sources, zones) is matter
