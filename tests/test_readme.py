"""The README's first command (without its `pip install`, which CI's own install step did) runs
the main job on the bundled example: the dry-run diff and the emulator login of the plan."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_first_readme_command_shows_the_diff_and_logs_in_to_the_emulator() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").split("```sh\n", 1)[1].split("\n")
    first = lines[0]
    assert first.startswith("pip install -e . && ")
    command = first.removeprefix("pip install -e . && ").replace("mailmigrate migrate", f"{sys.executable} -m mailmigrate migrate")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILPACE_")}
    done = subprocess.run(["bash", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 1, done.stderr  # changes pending
    assert "diff --git" in done.stdout
    assert "Login check of the planned result (built-in MailPace emulator)" in done.stderr
    assert "1 logged in" in done.stderr
    assert "00000000-demo" not in done.stdout + done.stderr  # the token is masked
