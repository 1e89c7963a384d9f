"""Both commands' parsers: options, defaults, OSC's --wait, bad input.

A bad command line must be one line on stderr and exit 2, before any
request: these tests parse only, as cliff does before take_action.
"""

from __future__ import annotations

import argparse

import pytest

from osc_evacuate.commands import options
from osc_evacuate.commands.base import EvacuateCommand
from osc_evacuate.commands.host import EvacuateHost
from osc_evacuate.commands.parser import EvacuateParser
from osc_evacuate.commands.server import EvacuateServer
from tests.unit.fake_app import FakeApp, make_command
from tests.unit.fake_compute import FakeCompute

HOST = "openstack host evacuate"
SERVER = "openstack server evacuate"
PROG = {EvacuateHost: HOST, EvacuateServer: SERVER}


def parser_of(cls: type[EvacuateCommand]) -> argparse.ArgumentParser:
    command = make_command(cls, FakeApp(FakeCompute()))
    return command.get_parser(PROG[cls])


def parse(cls: type[EvacuateCommand], *argv: str) -> argparse.Namespace:
    return parser_of(cls).parse_args(list(argv))


def refused(
    cls: type[EvacuateCommand],
    argv: list[str],
    capsys: pytest.CaptureFixture[str],
) -> str:
    """The one line a refused command line prints; asserts exit 2."""
    with pytest.raises(SystemExit) as exc:
        parse(cls, *argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"{PROG[cls]}: error: "), err
    return lines[0]


def test_host_defaults() -> None:
    args = parse(EvacuateHost, "compute01")
    assert args.hosts == ["compute01"]
    assert args.target_host is None
    assert args.force is False
    assert args.shared_storage is False
    assert args.wait is None
    assert args.target_state == "preserve"
    assert args.retries == 0
    assert args.max_parallel == 4
    assert args.dry_run is False
    assert args.ignore_capacity is False
    assert args.force_down is False
    assert args.disable_reason is None
    assert args.yes is False
    assert args.formatter == "table"


def test_host_every_option() -> None:
    args = parse(
        EvacuateHost,
        "compute01",
        "--target-host",
        "compute02",
        "--force",
        "--shared-storage",
        "--wait",
        "900",
        "--target-state",
        "stopped",
        "--retries",
        "2",
        "--max-parallel",
        "8",
        "--dry-run",
        "--ignore-capacity",
        "--force-down",
        "--disable-reason",
        "fenced: PSU",
        "--yes",
        "-f",
        "json",
    )
    assert args.hosts == ["compute01"]
    assert args.target_host == "compute02"
    assert args.force is True
    assert args.shared_storage is True
    assert args.wait == 900.0
    assert args.target_state == "stopped"
    assert args.retries == 2
    assert args.max_parallel == 8
    assert args.dry_run is True
    assert args.ignore_capacity is True
    assert args.force_down is True
    assert args.disable_reason == "fenced: PSU"
    assert args.yes is True
    assert args.formatter == "json"


def test_server_defaults() -> None:
    args = parse(EvacuateServer, "web-1")
    assert args.server == "web-1"
    assert args.host is None
    assert args.password is None
    assert args.shared_storage is False
    assert args.force is False
    assert args.wait is None
    assert args.target_state == "preserve"
    assert args.retries == 0
    assert args.dry_run is False
    assert args.ignore_capacity is False
    assert not hasattr(args, "max_parallel")
    assert not hasattr(args, "force_down")
    assert args.formatter == "table"


def test_server_every_option() -> None:
    args = parse(
        EvacuateServer,
        "web-1",
        "--host",
        "compute02",
        "--password",
        "hunter2",
        "--force",
        "--wait",
        "60",
        "--target-state",
        "stopped",
        "--retries",
        "1",
    )
    assert args.server == "web-1"
    assert args.host == "compute02"
    assert args.password == "hunter2"
    assert isinstance(args.password, options.Secret)
    assert args.force is True
    assert args.wait == 60.0
    assert args.target_state == "stopped"
    assert args.retries == 1


@pytest.mark.parametrize(
    ("cls", "argv", "positional", "wait"),
    [
        # OSC's plain --wait before the name: the name is not a timeout.
        (EvacuateServer, ["--wait", "web-1"], "web-1", 0.0),
        (EvacuateHost, ["--wait", "compute01"], "compute01", 0.0),
        (EvacuateServer, ["web-1", "--wait"], "web-1", 0.0),
        (EvacuateServer, ["--wait", "--force", "web-1"], "web-1", 0.0),
        # A number after --wait is its timeout.
        (EvacuateServer, ["--wait", "30", "web-1"], "web-1", 30.0),
        (EvacuateHost, ["compute01", "--wait", "900"], "compute01", 900.0),
        (EvacuateHost, ["compute01", "--wait=2.5"], "compute01", 2.5),
        (EvacuateHost, ["--wait", "1e3", "compute01"], "compute01", 1000.0),
        (EvacuateHost, ["compute01", "--wait", "0"], "compute01", 0.0),
    ],
)
def test_wait_with_and_without_a_timeout(
    cls: type[EvacuateCommand],
    argv: list[str],
    positional: str,
    wait: float,
) -> None:
    args = parse(cls, *argv)
    assert args.wait == wait
    name = args.server if cls is EvacuateServer else args.hosts[0]
    assert name == positional


def test_the_longest_wait_and_largest_counts_are_accepted() -> None:
    args = parse(
        EvacuateHost,
        "compute01",
        "--wait",
        str(options.MAX_WAIT),
        "--retries",
        str(options.MAX_RETRIES),
        "--max-parallel",
        str(options.PARALLEL_CEILING),
    )
    assert args.wait == 7 * 24 * 3600
    assert args.retries == options.MAX_RETRIES
    assert args.max_parallel == options.PARALLEL_CEILING
    assert parse(EvacuateHost, "c", "--max-parallel", "1").max_parallel == 1


BAD_WAITS = ["nan", "NaN", "inf", "-inf", "1e999", "-1", "-0.5", "604801"]
BAD_RETRIES = ["nan", "inf", "-1", "11", "1.5", "two"]
BAD_PARALLEL = ["nan", "inf", "-1", "0", "33", "2.0", "many"]


@pytest.mark.parametrize("cls", [EvacuateHost, EvacuateServer])
@pytest.mark.parametrize(
    ("option", "value"),
    [("--wait", v) for v in [*BAD_WAITS, "soon"]]
    + [("--retries", v) for v in BAD_RETRIES],
)
def test_bad_numbers_are_refused_in_one_line(
    cls: type[EvacuateCommand],
    option: str,
    value: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # "--wait=soon": a word after a bare --wait is the positional.
    line = refused(cls, ["name", f"{option}={value}"], capsys)
    assert f"argument {option}: " in line
    assert repr(value) in line


@pytest.mark.parametrize("value", BAD_PARALLEL)
def test_bad_max_parallel_is_refused_in_one_line(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refused(EvacuateHost, ["c1", "--max-parallel", value], capsys)
    assert line == (
        f"{HOST}: error: argument --max-parallel: expected a whole number "
        f"from 1 to 32, got {value!r}"
    )


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_bad_number_after_a_bare_wait_is_refused_not_a_name(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # "--wait nan" asks for a timeout of NaN (which would never end), not
    # to wait for a host called "nan".
    line = refused(EvacuateHost, ["c1", "--wait", value], capsys)
    assert line == (
        f"{HOST}: error: argument --wait: expected a finite number of "
        f"seconds from 0 to 604800 (7 days), got {value!r}"
    )


@pytest.mark.parametrize(
    ("cls", "argv", "message"),
    [
        (EvacuateHost, [], "the following arguments are required: <host>"),
        (EvacuateHost, ["c1", "--bogus"], "unrecognized arguments: --bogus"),
        (
            EvacuateHost,
            ["c1", "--property", "HA_Enabled"],
            # osc-lib's KeyValueAction's words.
            "argument --property: Expected 'key=value' type, "
            "but got: HA_Enabled",
        ),
        (
            EvacuateHost,
            ["c1", "--max-failed-fraction", "nan"],
            "argument --max-failed-fraction: expected a fraction",
        ),
        (
            EvacuateHost,
            ["c1", "--max-failed-hosts", "0"],
            "argument --max-failed-hosts: expected a whole number",
        ),
        (EvacuateHost, ["c1", "--target-state", "off"], "invalid choice"),
        (
            EvacuateServer,
            ["web-1", "--password", "x", "--shared-storage"],
            "argument --shared-storage: not allowed with argument --password",
        ),
        (EvacuateServer, ["web-1", "--max-parallel", "2"], "unrecognized"),
        (
            EvacuateHost,
            ["c1", "--evacuable-mark", "=true"],
            "argument --evacuable-mark: expected <key> or <key>=<value>",
        ),
        (
            EvacuateHost,
            ["c1", "--evacuable-mark", "ha="],
            "argument --evacuable-mark: expected <key> or <key>=<value>",
        ),
        (
            EvacuateHost,
            ["c1", "--evacuable-mark", "ha", "--evacuable-mark-on", "host"],
            "argument --evacuable-mark-on: invalid choice",
        ),
    ],
)
def test_every_parse_error_is_one_line(
    cls: type[EvacuateCommand],
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert message in refused(cls, argv, capsys)


@pytest.mark.parametrize("cls", [EvacuateHost, EvacuateServer])
def test_help_states_the_bounds_and_exit_codes(
    cls: type[EvacuateCommand],
) -> None:
    parser = parser_of(cls)
    assert isinstance(parser, EvacuateParser)
    text = " ".join(parser.format_help().split())
    assert f"at most {options.MAX_WAIT} (7 days)" in text
    assert f"(default: 0, at most {options.MAX_RETRIES})" in text
    assert "exit codes: 0 every server was evacuated" in text
    assert "4 --wait timed out" in text
    # cliff's output options are still there, on our parser.
    assert "-f {" in text
    if cls is EvacuateHost:
        assert f"(default: 4, at most {options.PARALLEL_CEILING})" in text
        assert "[--sort-ascending | --sort-descending]" in text


@pytest.mark.parametrize("reason", ["", "   ", "x" * 256, "two\nlines"])
def test_a_disable_reason_nova_cannot_keep_is_refused(
    reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    line = refused(EvacuateHost, ["c1", "--disable-reason", reason], capsys)
    assert "argument --disable-reason: expected one line" in line


def test_several_hosts_and_every_filter() -> None:
    args = parse(
        EvacuateHost,
        "c1",
        "c2",
        "--server",
        "web-1",
        "--server",
        "web-2",
        "--project",
        "p1",
        "--tag",
        "ha",
        "--property",
        "HA_Enabled=True",
        "--property",
        "tier=a=b",
        "--exclude-tag",
        "amphora",
        "--exclude-property",
        "role=lb",
        "--lock",
        "--max-failed-hosts",
        "5",
        "--max-failed-fraction",
        "0.5",
    )
    assert args.hosts == ["c1", "c2"]
    assert args.servers == ["web-1", "web-2"]
    assert args.projects == ["p1"]
    assert args.tags == ["ha"]
    assert args.properties == {"HA_Enabled": "True", "tier": "a=b"}
    assert args.exclude_tags == ["amphora"]
    assert args.exclude_properties == {"role": "lb"}
    assert args.lock is True
    assert args.max_failed_hosts == 5
    assert args.max_failed_fraction == 0.5


def test_the_ha_selection_options_make_the_core_s_filter() -> None:
    from osc_evacuate.commands import host_options
    from osc_evacuate.core.models import EvacuableMark, MarkPlace

    args = parse(
        EvacuateHost, "c1", "--evacuable-mark", "ha=Yes",
        "--evacuable-mark-on", "image", "--evacuable-mark-on", "aggregate",
        "--exclude-name", "amphora-*", "--exclude-name", "lb-?",
        "--exclude-image", "cirros", "--skip-error",
    )  # fmt: skip
    found = host_options.server_filter(args)
    assert found.mark == EvacuableMark(
        "ha", "Yes", frozenset({MarkPlace.IMAGE, MarkPlace.AGGREGATE})
    )
    assert found.exclude_names == ("amphora-*", "lb-?")
    assert found.exclude_images == frozenset({"cirros"})
    assert found.skip_error is True
    plain = host_options.server_filter(
        parse(EvacuateHost, "c1", "--evacuable-mark", "ha")
    )
    assert plain.mark == EvacuableMark("ha", "true", frozenset(MarkPlace))


def test_host_guard_defaults() -> None:
    args = parse(EvacuateHost, "c1")
    assert (args.servers, args.tags, args.lock) == ([], [], False)
    assert args.max_failed_hosts == 3
    assert args.max_failed_fraction == pytest.approx(1 / 3)
