"""Our --password values never reach OSC's log of the command line, and
no other command's logging is touched."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import pytest
from oslo_utils import strutils

from osc_evacuate import redact

SECRET = 'a=b@c "q" \\ ü'
ARGV = ["-v", "server", "evacuate", "vm", "--password", SECRET, "--wait"]
# The logger cliff's App logs errors with, for a program named openstack.
CLIFF = "openstack"

Install = Callable[[list[str]], None]


def osc_lib_logs_start(argv: list[str]) -> None:
    """What osc_lib.shell.OpenStackShell.initialize_app logs first."""
    logging.getLogger("osc_lib.shell").info(
        "START with options: %s", strutils.mask_password(" ".join(argv))
    )


@pytest.fixture
def install() -> Iterator[Install]:
    """redact.install, undone afterwards; the record factory must never
    change."""
    loggers = [logging.getLogger(n) for n in ("osc_lib.shell", CLIFF)]
    before = [list(logger.filters) for logger in loggers]
    factory = logging.getLogRecordFactory()
    yield lambda argv: redact.install(argv, "/usr/bin/openstack")
    assert logging.getLogRecordFactory() is factory
    for logger, filters in zip(loggers, before, strict=True):
        logger.filters[:] = filters


@pytest.fixture
def ours(install: Install) -> None:
    install(ARGV)


@pytest.mark.parametrize(
    ("argv", "found"),
    [
        (["--password", "x"], ["x"]),
        (["--password=x=y"], ["x=y"]),
        (["--pass", "x"], ["x"]),
        (["--p", "x"], ["x"]),
        (["--os-password", "x"], []),
        (["--parent", "x"], []),
        (["--password"], []),
        (["vm", "--wait"], []),
    ],
)
def test_passwords_found_on_the_command_line(
    argv: list[str], found: list[str]
) -> None:
    assert redact.passwords_in(argv) == found


def test_each_password_value_is_masked_in_the_command_line() -> None:
    argv = ["server", "evacuate", "vm", "--pass", "x", "--password=a=b"]
    assert redact.masked(argv) == [
        "server",
        "evacuate",
        "vm",
        "--pass",
        "***",
        "--password=***",
    ]


def test_the_start_line_is_oslo_masking_of_the_masked_command_line(
    ours: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    osc_lib_logs_start(ARGV)
    [record] = caplog.records
    assert record.getMessage() == (
        "START with options: -v server evacuate vm --password *** --wait"
    )


def test_a_prefix_of_the_option_is_masked_too(
    install: Install, caplog: pytest.LogCaptureFixture
) -> None:
    # oslo's mask_password leaves "--pass a=Sekr1t" whole.
    argv = ["server", "evacuate", "vm", "--pass", "a=Sekr1t"]
    install(argv)
    caplog.set_level(logging.INFO)
    osc_lib_logs_start(argv)
    assert caplog.records[0].getMessage() == (
        "START with options: server evacuate vm --pass ***"
    )


def test_another_command_line_is_not_shown(
    ours: None, caplog: pytest.LogCaptureFixture
) -> None:
    """OSC run from Python with an argv not the plugin's: no telling
    which words of it are passwords."""
    caplog.set_level(logging.INFO)
    osc_lib_logs_start(["server", "evacuate", "vm", "--pass", "other"])
    assert caplog.records[0].getMessage() == "START with options: ***"


@pytest.mark.parametrize(
    "spelling",
    [
        SECRET,
        repr(SECRET),
        '{"adminPass": "a=b@c \\"q\\" \\\\ \\u00fc"}',
        "adminPass=a%3Db%40c%20%22q%22%20%5C%20%C3%BC",
        "adminPass=a%3Db%40c+%22q%22+%5C+%C3%BC",
    ],
)
@pytest.mark.parametrize("logger", ["osc_lib.shell", CLIFF])
def test_any_spelling_of_the_password_is_masked_in_oslib_and_cliff_logs(
    ours: None, spelling: str, logger: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger(logger).debug("body: %s", spelling)
    text = caplog.records[0].getMessage()
    assert "***" in text
    for form in redact.spellings(SECRET):
        assert form not in text


def test_a_traceback_quoting_the_password_is_masked(
    ours: None, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        raise ValueError(f"bad value {SECRET}")
    except ValueError:
        logging.getLogger(CLIFF).exception("failed")
    assert SECRET not in caplog.text
    assert "ValueError: bad value ***" in caplog.text


def test_pieces_of_the_password_are_left_alone(
    install: Install, caplog: pytest.LogCaptureFixture
) -> None:
    """Only the whole value is masked: its pieces are ordinary words."""
    install(["server", "evacuate", "vm", "--password", "compute01"])
    caplog.set_level(logging.DEBUG)
    logging.getLogger("osc_lib.shell").debug("on compute0 and compute01")
    assert caplog.records[0].getMessage() == "on compute0 and ***"


def test_other_loggers_are_untouched(
    ours: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("keystoneauth.session").debug("REQ: %s", SECRET)
    assert caplog.records[0].getMessage() == f"REQ: {SECRET}"


@pytest.mark.parametrize(
    "argv",
    [
        ["user", "create", "bob", "--password", SECRET],
        ["server", "list", "--password", SECRET],
        ["server", "rebuild", "vm", "--password", SECRET],
        ["host", "evacuate", "c1", "--wait"],
        ["server", "evacuate", "vm", "--wait"],
        [],
    ],
)
def test_nothing_installed_unless_our_command_has_a_password(
    install: Install, argv: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    loggers = [logging.getLogger(n) for n in ("osc_lib.shell", CLIFF)]
    before = [list(logger.filters) for logger in loggers]
    install(argv)
    assert [list(logger.filters) for logger in loggers] == before
    caplog.set_level(logging.INFO)
    osc_lib_logs_start(argv)
    expected = strutils.mask_password(" ".join(argv))
    assert caplog.records[0].getMessage() == f"START with options: {expected}"


def test_cliff_logger_is_named_after_the_program() -> None:
    assert redact.cliff_logger_name("/usr/bin/openstack") == "openstack"
    assert redact.cliff_logger_name("/x/openstack.py") == "openstack"
    assert redact.cliff_logger_name("/x/openstackclient/__main__.py") == (
        "openstackclient"
    )


def test_the_submission_never_shows_its_body() -> None:
    from osc_evacuate.core.microversion import mv
    from osc_evacuate.core.submit import Submission

    shown = repr(Submission(mv("2.94"), {"adminPass": "s3cret"}))
    assert "s3cret" not in shown
    assert "minor=94" in shown
