"""What goes on the wire through keystoneauth, per microversion: the
evacuation's body and headers, the version each read names, the endpoint,
the timeout; and what Nova's answers tell (a password, its clock)."""

from __future__ import annotations

import datetime
import gc
import subprocess
import sys

import pytest

from osc_evacuate import plugin
from osc_evacuate.core.microversion import mv
from osc_evacuate.core.models import EvacuateOptions
from osc_evacuate.core.nova import NovaComputeAPI
from osc_evacuate.core.rules import evacuate_body
from osc_evacuate.core.transport import DEFAULT_TIMEOUT
from tests.unit.bodies import BODIES
from tests.unit.fake_session import ENDPOINT, REQUEST_ID, FakeSession
from tests.unit.nova_wire import nova_reads, version_doc


@pytest.mark.parametrize(("version", "options", "body"), BODIES)
def test_evacuate_request_body_and_headers(
    version: str, options: EvacuateOptions, body: dict[str, object]
) -> None:
    session = FakeSession((200, None))
    api = NovaComputeAPI(session)
    api.evacuate("abc", mv(version), evacuate_body(mv(version), options))
    [sent] = session.sent
    assert sent.method == "POST"
    assert sent.url == f"{ENDPOINT}/servers/abc/action"
    assert sent.body == {"evacuate": body}
    # keystoneauth sends both headers at every version; Nova reads the
    # standard one first, whatever the version, then the legacy one.
    assert sent.headers["OpenStack-API-Version"] == f"compute {version}"
    assert sent.headers["X-OpenStack-Nova-API-Version"] == version
    assert nova_reads(sent) == version
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["Accept"] == "application/json"
    assert sent.headers["X-Auth-Token"] == "fake-token"


def test_reads_name_the_newest_version_they_need_up_to_the_cloud_s() -> None:
    session = FakeSession(version_doc("2.104"), (200, {"services": []}))
    NovaComputeAPI(session).compute_services("c1")
    discovery, services = session.sent
    # keystoneauth reads the version document at the endpoint, with no
    # microversion (every Nova answers it so).
    assert discovery.url == ENDPOINT
    assert nova_reads(discovery) is None
    assert services.path == "/os-services?binary=nova-compute&host=c1"
    assert nova_reads(services) == "2.80"

    old = FakeSession(version_doc("2.60"), (200, {"services": []}))
    NovaComputeAPI(old).compute_services()
    assert old.sent[1].path == "/os-services?binary=nova-compute"
    assert nova_reads(old.sent[1]) == "2.60"


def test_generated_password_is_returned() -> None:
    session = FakeSession((200, {"adminPass": "generated"}))
    api = NovaComputeAPI(session)
    answer = api.evacuate("abc", mv("2.13"), {"onSharedStorage": False})
    assert answer.admin_pass == "generated"
    assert answer.request_id == REQUEST_ID


def test_the_timeout_goes_with_every_request() -> None:
    session = FakeSession(version_doc("2.96"), (200, {"servers": []}))
    NovaComputeAPI(session, timeout=12.5).servers_on_host("c1")
    assert [s.timeout for s in session.sent] == [12.5, 12.5]

    # osc-lib's session sets none: without ours, a hung Nova hangs us.
    default = FakeSession(version_doc("2.96"))
    NovaComputeAPI(default).version_range()
    assert default.sent[0].timeout == DEFAULT_TIMEOUT == 60.0

    # A session that has one (a script's own) is honoured.
    own = FakeSession(version_doc("2.96"), timeout=7)
    NovaComputeAPI(own).version_range()
    assert own.sent[0].timeout == 7.0


def test_nova_s_time_is_its_answers_date() -> None:
    session = FakeSession(version_doc("2.96"), (200, {"services": []}))
    api = NovaComputeAPI(session)
    assert api.nova_now() is None  # nothing answered yet
    session.date = "Thu, 01 Jan 2026 10:20:30 GMT"
    api.version_range()  # keystoneauth's discovery: not Nova's API
    assert api.nova_now() is None
    session.answers.append((200, {"services": []}))
    api.compute_services()
    told = api.nova_now()
    assert told is not None and told.tzinfo is None
    # The Date plus the (tiny) time elapsed since that answer.
    base = datetime.datetime(2026, 1, 1, 10, 20, 30)
    assert base <= told < base + datetime.timedelta(seconds=5)
    # Each answer resets it: Nova's clock, whatever ours says.
    session.date = "Thu, 01 Jan 2026 09:00:00 GMT"
    api.compute_services()
    later = api.nova_now()
    assert later is not None and later < base


def test_endpoint_from_the_catalog_by_region_and_interface() -> None:
    session = FakeSession(version_doc("2.96"))
    api = NovaComputeAPI(session, region_name="R2", interface="internal")
    api.version_range()
    [wanted] = session.fake_auth.endpoint_filters
    assert wanted["service_type"] == "compute"
    assert wanted["region_name"] == "R2"
    assert wanted["interface"] == "internal"


def test_make_client_honours_the_endpoint_override() -> None:
    class Instance:
        session = FakeSession(version_doc("2.96"))
        region_name = "R1"
        interface = None

        def get_configuration(self) -> dict[str, object]:
            return {"compute_endpoint_override": "http://override/v2.1"}

    try:
        api = plugin.make_client(Instance())
    finally:
        gc.unfreeze()  # make_client froze this test process's heap
    assert api.version_range().maximum == mv("2.96")
    [sent] = Instance.session.sent
    assert sent.url == "http://override/v2.1"
    assert Instance.session.fake_auth.endpoint_filters == []


def test_the_plugin_loads_the_transport_only_for_a_command() -> None:
    probe = (
        "import sys\n"
        "import osc_evacuate.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'osc_evacuate.core', 'keystoneauth1', 'novaclient'))))\n"
        "import osc_evacuate.core.nova\n"
        "print('novaclient' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert out == ["[]", "False"]
