"""The evacuate rules table and what is derived from it."""

from __future__ import annotations

import itertools

import pytest

from osc_evacuate.core.errors import UsageError
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from osc_evacuate.core.models import EvacuateOptions, TargetState
from osc_evacuate.core.rules import (
    EVACUATE_RULES,
    SERVICE_RULES,
    EvacuateRule,
    choose_microversion,
    evacuate_body,
    features,
    rule_for,
    service_requests,
    service_version,
    stops_itself_from,
)
from tests.unit.bodies import BODIES

CLOUD = VersionRange(mv("2.1"), mv("2.104"))


def test_table_covers_every_version_once_in_order() -> None:
    assert EVACUATE_RULES[0].first == mv("2.1")
    assert EVACUATE_RULES[-1].last is None
    for older, newer in itertools.pairwise(EVACUATE_RULES):
        assert older.last is not None
        assert older.first <= older.last
        # Contiguous: no gap, no overlap.
        assert newer.first == Microversion(2, older.last.minor + 1)


def test_table_rows_are_consistent() -> None:
    for rule in EVACUATE_RULES:
        # Forcing means skipping the scheduler's check, so it only exists
        # where the scheduler checks a requested host.
        assert not rule.accepts_force or rule.host_validated
        # Only the microversions that ask about shared storage echo a
        # generated password.
        assert rule.returns_admin_pass == rule.requires_shared_storage
    # Each row differs from the next: a row that changes nothing is noise.
    for older, newer in itertools.pairwise(EVACUATE_RULES):
        assert (
            older.requires_shared_storage,
            older.host_validated,
            older.accepts_force,
            older.ends_stopped,
        ) != (
            newer.requires_shared_storage,
            newer.host_validated,
            newer.accepts_force,
            newer.ends_stopped,
        )


@pytest.mark.parametrize(("version", "options", "body"), BODIES)
def test_evacuate_body(
    version: str, options: EvacuateOptions, body: dict[str, object]
) -> None:
    assert evacuate_body(mv(version), options) == body


@pytest.mark.parametrize("version", ["2.68", "2.94", "2.95", "2.104"])
def test_force_is_not_sent_where_nova_refuses_it(version: str) -> None:
    with pytest.raises(UsageError, match="--force"):
        evacuate_body(mv(version), EvacuateOptions(host="c2", force=True))


def test_unpinned_never_drifts_into_stopping_servers() -> None:
    assert choose_microversion(EvacuateOptions(), CLOUD, None) == mv("2.94")


def test_unpinned_stopped_policy_uses_novas_own_behaviour() -> None:
    options = EvacuateOptions(target_state=TargetState.STOPPED)
    assert choose_microversion(options, CLOUD, None) == mv("2.95")


def test_unpinned_picks_the_window_an_option_needs() -> None:
    force = EvacuateOptions(host="c2", force=True)
    assert choose_microversion(force, CLOUD, None) == mv("2.67")
    shared = EvacuateOptions(shared_storage=True)
    assert choose_microversion(shared, CLOUD, None) == mv("2.13")


def test_unpinned_respects_an_old_cloud() -> None:
    old = VersionRange(mv("2.1"), mv("2.60"))
    assert choose_microversion(EvacuateOptions(), old, None) == mv("2.60")
    with pytest.raises(UsageError, match="2.29 or later"):
        choose_microversion(
            EvacuateOptions(host="c2"),
            VersionRange(mv("2.1"), mv("2.20")),
            None,
        )


def test_pinned_version_is_honoured_or_refused_naming_the_option() -> None:
    assert choose_microversion(
        EvacuateOptions(shared_storage=True), CLOUD, mv("2.13")
    ) == mv("2.13")
    with pytest.raises(UsageError) as err:
        choose_microversion(
            EvacuateOptions(host="c2", force=True), CLOUD, mv("2.68")
        )
    assert str(err.value) == (
        "--force requires --os-compute-api-version 2.29 to 2.67 (pinned: 2.68)"
    )
    with pytest.raises(UsageError, match="--host requires .* 2.29 or later"):
        choose_microversion(EvacuateOptions(host="c2"), CLOUD, mv("2.14"))
    with pytest.raises(UsageError, match="2.13 or earlier"):
        choose_microversion(
            EvacuateOptions(shared_storage=True), CLOUD, mv("2.14")
        )


def test_pinned_stopping_version_contradicts_preserve() -> None:
    with pytest.raises(UsageError, match="--target-state stopped"):
        choose_microversion(EvacuateOptions(), CLOUD, mv("2.95"))
    stopped = EvacuateOptions(target_state=TargetState.STOPPED)
    assert choose_microversion(stopped, CLOUD, mv("2.95")) == mv("2.95")


def test_pinned_beyond_the_cloud_is_refused() -> None:
    with pytest.raises(UsageError, match="accepts 2.1 to 2.104"):
        choose_microversion(EvacuateOptions(), CLOUD, mv("2.200"))


def test_options_nova_refuses_at_every_version() -> None:
    with pytest.raises(UsageError, match="--force requires --host"):
        choose_microversion(EvacuateOptions(force=True), CLOUD, None)
    with pytest.raises(UsageError, match="--password cannot be used"):
        choose_microversion(
            EvacuateOptions(password="x", shared_storage=True), CLOUD, None
        )
    with pytest.raises(
        UsageError,
        match="--shared-storage needs 2.13 or "
        "earlier; --host needs 2.29 or later",
    ):
        choose_microversion(
            EvacuateOptions(host="c2", shared_storage=True), CLOUD, None
        )


def test_rule_for_every_minor_version_matches_its_row() -> None:
    for minor in range(1, 120):
        version = Microversion(2, minor)
        rule = rule_for(version)
        assert rule.covers(version)
        assert rule.ends_stopped == (minor >= 95)
        assert rule.accepts_force == (29 <= minor <= 67)


def test_service_rules_cover_every_version_from_2_11_in_order() -> None:
    assert SERVICE_RULES[0].first == mv("2.11")
    assert SERVICE_RULES[-1].last is None
    for older, newer in itertools.pairwise(SERVICE_RULES):
        assert older.last is not None
        assert newer.first == Microversion(2, older.last.minor + 1)
        assert older.by_id != newer.by_id


@pytest.mark.parametrize(
    ("cloud", "version"),
    [("2.104", "2.53"), ("2.53", "2.53"), ("2.52", "2.11"), ("2.11", "2.11")],
)
def test_services_change_at_the_newest_rule_a_cloud_has(
    cloud: str, version: str
) -> None:
    assert service_version(VersionRange(mv("2.1"), mv(cloud))) == mv(version)


def test_a_cloud_before_2_11_cannot_force_down() -> None:
    with pytest.raises(UsageError, match="--force-down needs .* 2.11"):
        service_version(VersionRange(mv("2.1"), mv("2.10")))


@pytest.mark.parametrize(
    ("version", "reason", "sent"),
    [
        (
            "2.53",
            None,
            [("PUT", "/os-services/s-1", {"forced_down": True})],
        ),
        (
            "2.53",
            "fenced",
            [
                (
                    "PUT",
                    "/os-services/s-1",
                    {
                        "forced_down": True,
                        "status": "disabled",
                        "disabled_reason": "fenced",
                    },
                )
            ],
        ),
        (
            "2.11",
            "fenced",
            [
                (
                    "PUT",
                    "/os-services/force-down",
                    {
                        "host": "c1",
                        "binary": "nova-compute",
                        "forced_down": True,
                    },
                ),
                (
                    "PUT",
                    "/os-services/disable-log-reason",
                    {
                        "host": "c1",
                        "binary": "nova-compute",
                        "disabled_reason": "fenced",
                    },
                ),
            ],
        ),
    ],
)
def test_force_down_requests(
    version: str,
    reason: str | None,
    sent: list[tuple[str, str, dict[str, object]]],
) -> None:
    requests = service_requests(
        mv(version), "s-1", "c1", forced_down=True, disabled_reason=reason
    )
    assert [(r.method, r.path, r.body) for r in requests] == sent


def test_the_reads_are_new_enough_for_every_feature_they_use() -> None:
    for feature in features.READ_FEATURES:
        assert feature.service == features.COMPUTE
        assert feature.covers(features.READ_VERSION), feature
    # Nothing that makes every list of servers dearer for Nova.
    assert features.READ_VERSION < features.REQUEST_SPEC_PER_SERVER.first
    # The display asks what openstacksdk asks, whatever it costs: one
    # server, once.
    assert features.DISPLAY_VERSION >= features.REQUEST_SPEC_PER_SERVER.first


def test_every_feature_is_listed_once_with_a_range_in_order() -> None:
    listed = [
        value
        for value in vars(features).values()
        if isinstance(value, features.Feature)
    ]
    assert sorted(listed, key=id) == sorted(features.FEATURES, key=id)
    for feature in features.FEATURES:
        assert feature.last is None or feature.first <= feature.last
        assert feature.what
    compute = [f for f in features.FEATURES if f.service == "compute"]
    # Every compute feature lies in what Nova 34 speaks.
    assert all(f.first in CLOUD for f in compute)


def test_derived_facts_follow_the_table() -> None:
    assert stops_itself_from() == mv("2.95")
    assert features.lock_version(CLOUD) == mv("2.73")
    old = VersionRange(mv("2.1"), mv("2.60"))
    assert features.lock_version(old) == mv("2.60")
    assert features.read_version(old) == mv("2.60")
    assert features.read_version(CLOUD) == mv("2.80")
    assert features.hypervisor_version(CLOUD) == mv("2.87")
    with pytest.raises(UsageError, match="need compute API microversion"):
        features.require_tags(VersionRange(mv("2.1"), mv("2.25")))


def test_rows_name_only_what_holds_in_their_range() -> None:
    # Keyword rows: a fact left out is false there.
    plain = EvacuateRule(first=mv("2.14"), last=mv("2.28"))
    assert plain == EVACUATE_RULES[1]
    assert not any(
        (
            plain.requires_shared_storage,
            plain.host_validated,
            plain.accepts_force,
            plain.ends_stopped,
            plain.returns_admin_pass,
        )
    )
