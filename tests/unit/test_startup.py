"""The plugin's cost to every `openstack` command: OSC imports the plugin
module on every run, and every command module of every group for a
command's --help; the core is loaded only when one of ours runs."""

from __future__ import annotations

import subprocess
import sys

# What a command module may load before its command runs: no dataclass
# tables, no enums of outcomes, no transport.
LIGHT = {
    "osc_evacuate.core",
    "osc_evacuate.core.defaults",
    "osc_evacuate.core.errors",
}


def loaded_by(*modules: str) -> set[str]:
    probe = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "print('\\n'.join(m for m in sys.modules "
        "if m.startswith('osc_evacuate.core')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(out.split())


def test_the_command_modules_load_no_core() -> None:
    modules = [
        "osc_evacuate.plugin",
        "osc_evacuate.commands.host",
        "osc_evacuate.commands.server",
        "osc_evacuate.commands.lifecycle",
    ]
    assert loaded_by(*modules) <= LIGHT
