"""The plugin's cost to every `openstack` command: OSC imports the plugin
module on every run, and every command module of every group for a
command's --help; the core is loaded only when one of ours runs."""

from __future__ import annotations

import json
import subprocess
import sys

# What a command module may load before its command runs: no dataclass
# tables, no enums of outcomes, no transport.
LIGHT = {
    "osc_evacuate.core",
    "osc_evacuate.core.defaults",
    "osc_evacuate.core.errors",
}


def probed(probe: str) -> str:
    """What a new Python process running probe prints."""
    return subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def loaded_by(*modules: str) -> set[str]:
    probe = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print('\\n'.join(m for m in sys.modules "
        "if m.startswith('osc_evacuate.core')))\n"
    )
    return set(probed(probe).split())


def test_the_command_modules_load_no_core() -> None:
    modules = [
        "osc_evacuate.plugin",
        "osc_evacuate.commands.host",
        "osc_evacuate.commands.server",
        "osc_evacuate.commands.lifecycle",
    ]
    assert loaded_by(*modules) <= LIGHT


def test_the_client_leaves_the_start_up_heap_out_of_collections() -> None:
    """Our command's run and exit do not walk OSC's start-up objects."""
    probe = (
        "import gc, json\n"
        "from osc_evacuate import plugin\n"
        "from tests.unit.fake_session import FakeSession\n"
        "from tests.unit.nova_wire import version_doc\n"
        "class Instance:\n"
        "    session = FakeSession(version_doc('2.96'))\n"
        "    region_name = interface = None\n"
        "    def get_configuration(self): return {}\n"
        "before = gc.get_freeze_count()\n"
        "plugin.make_client(Instance())\n"
        "print(json.dumps([before, gc.get_freeze_count()]))\n"
    )
    before, after = json.loads(probed(probe))
    assert before == 0
    assert after > 10_000
