"""Sphinx configuration of osc-evacuate's docs (`make docs`).

The command reference comes from the commands' own parsers (cliff's
autoprogram-cliff), the release notes from git (reno), and the tables of
rules, exit codes and columns from the code (_ext/evacuate_pages.py), so
the docs say what the installed plugin does.
"""

from __future__ import annotations

import logging
import os
import sys

LOG = logging.getLogger(__name__)

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

project = "osc-evacuate"
copyright = "osc-evacuate developers"
author = "osc-evacuate developers"

extensions = [
    "cliff.sphinxext",
    "reno.sphinxext",
    "evacuate_pages",
    "evacuate_bench",
]

# Commands are documented as they are typed: `openstack host evacuate`.
autoprogram_cliff_application = "openstack"

# `text` in help strings and pages is a command or a value: show it as code.
default_role = "literal"
# Help shows options as typed: "--wait" must not become an en dash.
smartquotes = False

exclude_patterns: list[str] = []
html_theme = "alabaster"
html_title = "osc-evacuate"
html_static_path: list[str] = []
# The command reference and the generated tables are wide.
html_theme_options = {"page_width": "1100px", "body_max_width": "none"}
