"""--password: sent to Nova, never shown (osc-lib logs parsed arguments)."""

from __future__ import annotations

import argparse
import json
import logging

import pytest

from osc_evacuate.commands import options
from osc_evacuate.commands.server import EvacuateServer
from tests.unit.fake_app import FakeApp, make_command
from tests.unit.fake_compute import FakeCompute

PASSWORD = "hunter2-Secret"


def parsed() -> argparse.Namespace:
    cmd = make_command(EvacuateServer, FakeApp(FakeCompute()))
    parser = cmd.get_parser("openstack server evacuate")
    return parser.parse_args(["web-1", "--password", PASSWORD])


def test_the_parsed_password_is_a_secret_that_still_reads_as_given() -> None:
    secret = parsed().password
    assert isinstance(secret, options.Secret)
    assert secret == PASSWORD
    # The request body needs the real value.
    assert json.loads(json.dumps({"adminPass": secret})) == {
        "adminPass": PASSWORD
    }


def test_repr_hides_it_everywhere_it_is_used() -> None:
    args = parsed()
    secret = args.password
    shown = [
        repr(secret),
        "%r" % (secret,),  # noqa: UP031 (the %-style logging uses)
        f"{secret!r}",
        repr([secret]),
        repr({"password": secret}),
        repr(args),
        str(args),  # osc-lib logs "run(%s)" with the Namespace
        repr(options.evacuate_options(args, None, args.password)),
    ]
    for text in shown:
        assert PASSWORD not in text, text
    assert repr(secret) == "'***'"
    assert "password='***'" in repr(args)


def test_logging_the_arguments_hides_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    args = parsed()
    log = logging.getLogger("test")
    log.debug("run(%s)", args)
    log.info("password %r", args.password)
    log.warning(
        "options %r", options.evacuate_options(args, None, args.password)
    )
    assert caplog.text.count("***") == 2
    assert PASSWORD not in caplog.text
