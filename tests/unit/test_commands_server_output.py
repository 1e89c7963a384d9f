"""openstack server evacuate run end to end on a fake app and an in-memory
cloud: its columns (ours, then stock OSC's) as the server is after, and the
admin password, shown only when Nova generated it."""

from __future__ import annotations

import pytest

from osc_evacuate.commands.osc_columns import STOCK_COLUMNS
from osc_evacuate.commands.server import EvacuateServer
from osc_evacuate.core.api import EvacuateResponse
from osc_evacuate.core.microversion import Microversion, mv
from osc_evacuate.core.models import Image
from tests.unit.command_runs import command, run
from tests.unit.fake_compute import FakeCompute, server

SERVER_FIELDS = [
    "ID",
    "Name",
    "Project",
    "Status",
    "Task State",
    "Host",
    "Status Before",
    "Source Host",
    "Action",
    "Migration Status",
    "Destination",
    "Result",
    "Error",
    "Seconds",
    "Request ID",
]


def test_server_with_a_bare_wait_before_its_name() -> None:
    cmd, args = command(
        EvacuateServer, FakeCompute(server("a")), ["--wait", "vm-a"]
    )

    names, values = cmd.take_action(args)

    # Ours first, then stock OSC's but those cliff's -c takes for ours.
    assert list(names)[: len(SERVER_FIELDS)] == SERVER_FIELDS
    stock = [c for c in STOCK_COLUMNS if c not in ("id", "name", "status")]
    assert list(names)[len(SERVER_FIELDS) :] == stock
    shown = dict(zip(names, values, strict=True))
    assert shown["ID"] == "a"
    assert shown["Status"] == "ACTIVE"
    assert shown["Host"] == "c2"
    assert shown["Source Host"] == "c1"
    assert shown["Migration Status"] == "done"
    assert shown["Result"] == "verified"
    assert cmd.exit_code == 0


def test_server_shows_stock_osc_columns_as_it_is_after() -> None:
    api = FakeCompute(server("a"))
    api.glance["img-1"] = Image("img-1", "cirros")
    cmd, args = command(EvacuateServer, api, ["vm-a", "--wait"])

    names, values = cmd.take_action(args)

    shown = dict(zip(names, values, strict=True))
    assert shown["OS-EXT-SRV-ATTR:host"] == "c2"
    assert shown["OS-EXT-STS:vm_state"] == "active"
    assert shown["project_id"] == "p1"
    assert shown["image"] == "cirros (img-1)"
    assert shown["locked"] is None  # not sent by Nova: None, as in OSC
    assert api.calls["images"] == 1


def test_server_without_wait_shows_it_as_it_is_now() -> None:
    api = FakeCompute(server("a"))

    code, shown, _ = run(EvacuateServer, api, ["vm-a"])

    assert code == 0
    assert list(shown)[: len(SERVER_FIELDS)] == SERVER_FIELDS
    assert shown["Result"] == "submitted"
    assert shown["Host"] == "c1"  # not moved yet
    assert shown["Status Before"] == "ACTIVE"
    assert api.calls["show_server"] == 1


class PasswordCompute(FakeCompute):
    """Nova before 2.14: the answer carries the server's admin password,
    the one given or one Nova generated."""

    def evacuate(
        self, server_id: str, version: Microversion, body: dict[str, object]
    ) -> EvacuateResponse:
        answer = super().evacuate(server_id, version, body)
        password = str(body.get("adminPass", "generated-by-nova"))
        if version >= mv("2.14"):
            return answer
        return EvacuateResponse(answer.request_id, admin_pass=password)


def test_a_password_nova_generated_is_shown() -> None:
    api = PasswordCompute(server("a"))

    code, shown, _ = run(
        EvacuateServer, api, ["vm-a", "--shared-storage"], pin="2.13"
    )

    assert code == 0
    assert shown["Admin Password"] == "generated-by-nova"


def test_a_password_the_user_gave_is_never_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    api = PasswordCompute(server("a"))

    code, shown, app = run(
        EvacuateServer,
        api,
        ["vm-a", "--password", "s3cret-Pa55", "--wait"],
        pin="2.13",
    )

    assert code == 0
    assert "Admin Password" not in shown
    assert "s3cret-Pa55" not in app.stdout.getvalue()
    assert "s3cret-Pa55" not in app.stderr.getvalue()
    # osc-lib logs the parsed arguments, and we log our decisions.
    assert "run(Namespace(" in caplog.text
    assert "password given" in caplog.text
    assert "s3cret-Pa55" not in caplog.text
