"""--password values never reach a log record, in any form."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from osc_evacuate import redact

SECRET = 'a=b@c "q" \\ ü'


@pytest.fixture
def scrubbed() -> Iterator[None]:
    factory = logging.getLogRecordFactory()
    redact.install(["server", "evacuate", "vm", "--password", SECRET])
    yield
    logging.setLogRecordFactory(factory)


@pytest.mark.parametrize(
    ("argv", "found"),
    [
        (["--password", "x"], ["x"]),
        (["--password=x=y"], ["x=y"]),
        (["--pass", "x"], ["x"]),
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


@pytest.mark.parametrize(
    "spelling",
    [
        SECRET,
        repr(SECRET),
        '{"adminPass": "a=b@c \\"q\\" \\\\ \\u00fc"}',
        "adminPass=a%3Db%40c%20%22q%22%20%5C%20%C3%BC",
    ],
)
def test_no_spelling_of_the_password_is_logged(
    scrubbed: None, spelling: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("keystoneauth.session").debug("REQ: %s", spelling)
    logging.getLogger("osc_lib.shell").info("START with options: %s", SECRET)
    text = caplog.text
    assert "***" in text
    for form in redact.forms_of(SECRET):
        assert form not in text


def test_what_another_masker_left_is_scrubbed(
    scrubbed: None, caplog: pytest.LogCaptureFixture
) -> None:
    # oslo's mask_password turns "--password a=b@c" into "--password ***=b@c"
    caplog.set_level(logging.INFO)
    logging.getLogger("osc_lib.shell").info(
        "START with options: --password ***%s --wait", SECRET[1:]
    )
    assert "b@c" not in caplog.text
    assert "--wait" in caplog.text


def test_a_traceback_quoting_the_password_is_scrubbed(
    scrubbed: None, caplog: pytest.LogCaptureFixture
) -> None:
    try:
        raise ValueError(f"bad value {SECRET}")
    except ValueError:
        logging.getLogger("cliff").exception("failed")
    assert SECRET not in caplog.text
    assert "ValueError: bad value ***" in caplog.text


def test_nothing_installed_without_a_password() -> None:
    factory = logging.getLogRecordFactory()
    redact.install(["host", "evacuate", "c1", "--wait"])
    assert logging.getLogRecordFactory() is factory


def test_the_submission_never_shows_its_body() -> None:
    from osc_evacuate.core.microversion import mv
    from osc_evacuate.core.submit import Submission

    shown = repr(Submission(mv("2.94"), {"adminPass": "s3cret"}))
    assert "s3cret" not in shown
    assert "minor=94" in shown
