"""The runbook's outputs are the CLI's, on the sandbox: capturing them
again (make docs-capture) changes nothing but what it normalises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNBOOK = REPO / "doc" / "source" / "runbook"


def test_capturing_the_runbook_again_changes_nothing(tmp_path: Path) -> None:
    assert shutil.which("jq"), "the runbook's scripting step runs jq"
    out = tmp_path / "runbook"
    script = REPO / "tools" / "capture_runbook.py"
    proc = subprocess.run(
        [sys.executable, str(script), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    captured = sorted(out.glob("*.txt"))
    committed = sorted(RUNBOOK.glob("*.txt"))
    assert [p.name for p in captured] == [p.name for p in committed]
    for new, old in zip(captured, committed, strict=True):
        assert new.read_text() == old.read_text(), new.name
    # Each step shows its command, then what it printed.
    for path in committed:
        assert path.read_text().startswith("$ openstack ")
