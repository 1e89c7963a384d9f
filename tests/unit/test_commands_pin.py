"""--os-compute-api-version as the commands read it from OSC's settings."""

from __future__ import annotations

import pytest
from osc_lib import exceptions

from osc_evacuate.commands.pin import pinned_version
from osc_evacuate.core.microversion import Microversion, VersionRange, mv
from tests.unit.fake_compute import FakeCompute


class CountingCompute(FakeCompute):
    """Counts the calls that ask the cloud for its microversions."""

    def version_range(self) -> VersionRange:
        self.calls["version_range"] += 1
        return super().version_range()


@pytest.mark.parametrize("text", [None, "", "2", "2.0", " 2 "])
def test_no_pin(text: str | None) -> None:
    api = CountingCompute()
    assert pinned_version({"compute_api_version": text}, api) is None
    assert api.calls["version_range"] == 0


def test_no_setting_at_all_is_no_pin() -> None:
    assert pinned_version({}, CountingCompute()) is None


@pytest.mark.parametrize(
    ("text", "version"),
    [("2.95", mv("2.95")), ("2.1", mv("2.1")), (" 2.29 ", mv("2.29"))],
)
def test_a_microversion_is_pinned_without_asking_the_cloud(
    text: str, version: Microversion
) -> None:
    api = CountingCompute()
    assert pinned_version({"compute_api_version": text}, api) == version
    assert api.calls["version_range"] == 0


@pytest.mark.parametrize("text", ["2.latest", "2.LATEST"])
def test_latest_is_the_clouds_newest(text: str) -> None:
    api = CountingCompute()
    newest = api.version_range().maximum
    assert newest == mv("2.96")
    assert pinned_version({"compute_api_version": text}, api) == newest


@pytest.mark.parametrize("text", ["garbage", "2.x", "latest", "2.95.1", "v2"])
def test_garbage_is_a_command_error_naming_the_option(text: str) -> None:
    with pytest.raises(exceptions.CommandError) as exc:
        pinned_version({"compute_api_version": text}, CountingCompute())
    assert str(exc.value) == (
        f"--os-compute-api-version {text} is not a compute microversion "
        "(expected 2.<n>)"
    )
