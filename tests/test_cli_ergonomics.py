"""Terminal niceties that must never leak into pipes, CI logs or hooks (issue 8): a progress bar
on stderr and coloured diffs only on a terminal, `--quiet`, shell completion."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import clean_env, make_repo
from typer.testing import CliRunner

from mailmigrate.cli import PROGRESS_FROM, app
from mailmigrate.diff import colour

STALE = "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n"


def _on_a_terminal(args: list[str], cwd: Path, *, stream: str, env: dict[str, str]) -> tuple[int, bytes]:
    """Run the CLI with `stream` ("stdout" or "stderr") attached to a pseudo-terminal; the
    other goes to a pipe. Returns the exit code and what the terminal received."""
    master, slave = pty.openpty()
    kwargs = {stream: slave, ("stderr" if stream == "stdout" else "stdout"): subprocess.DEVNULL}
    proc = subprocess.Popen([sys.executable, "-m", "mailmigrate", *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    os.close(slave)
    received = b""
    while True:
        ready, _, _ = select.select([master], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    return proc.wait(timeout=60), received


def _env() -> dict[str, str]:
    env = clean_env()
    env.pop("CI", None)
    env.pop("NO_COLOR", None)
    return env


def test_quiet_prints_findings_and_diffs_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {".env.example": STALE})
    loud = CliRunner().invoke(app, ["check", str(repo)])
    quiet = CliRunner().invoke(app, ["check", str(repo), "-q"])
    assert loud.exit_code == quiet.exit_code == 1
    assert loud.stdout.splitlines()[:-1] == quiet.stdout.splitlines() and "Found" not in quiet.stdout
    dry = CliRunner().invoke(app, ["migrate", str(repo), "--quiet"])
    assert dry.exit_code == 1 and dry.stdout.startswith("diff --git") and dry.stderr == ""


def test_diffs_are_coloured_on_a_terminal_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {".env.example": STALE})
    code, shown = _on_a_terminal(["migrate", "."], repo, stream="stdout", env=_env())
    assert code == 1
    assert b"\x1b[32m+EMAIL_HOST=smtp.mailpace.com" in shown and b"\x1b[31m-EMAIL_HOST=smtp.sendgrid.net" in shown
    code, shown = _on_a_terminal(["migrate", "."], repo, stream="stdout", env={**_env(), "NO_COLOR": "1"})
    assert b"\x1b[" not in shown and b"+EMAIL_HOST=smtp.mailpace.com" in shown
    piped = subprocess.run([sys.executable, "-m", "mailmigrate", "migrate", "."], cwd=repo, env=_env(), capture_output=True, check=False)
    assert b"\x1b[" not in piped.stdout + piped.stderr


def test_colour_keeps_line_endings() -> None:
    diff = "diff --git a/x b/x\r\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\r\n+b\r\n c\n"
    coloured = colour(diff)
    assert coloured.replace("\x1b[0m", "").replace("\x1b[1m", "").replace("\x1b[36m", "").replace("\x1b[32m", "").replace("\x1b[31m", "") == diff
    assert "\x1b[31m-a\x1b[0m\r\n" in coloured


@pytest.mark.slow
def test_progress_bar_on_a_terminal_for_long_scans_only(tmp_path: Path) -> None:
    tree = tmp_path / "big"
    for i in range(PROGRESS_FROM + 10):
        folder = tree / f"m{i // 200}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i}.py").write_text("x = 1\n")
    code, shown = _on_a_terminal(["check", str(tree)], tmp_path, stream="stderr", env=_env())
    assert code == 0 and b"reading files" in shown
    code, shown = _on_a_terminal(["check", str(tree), "-q"], tmp_path, stream="stderr", env=_env())
    assert code == 0 and b"reading files" not in shown
    code, shown = _on_a_terminal(["check", str(tree)], tmp_path, stream="stderr", env={**_env(), "CI": "true"})
    assert b"reading files" not in shown
    piped = subprocess.run([sys.executable, "-m", "mailmigrate", "check", str(tree)], env=_env(), capture_output=True, check=False)
    assert piped.stderr == b""


def test_shell_completion_scripts() -> None:
    for shell in ("bash", "zsh", "fish"):
        result = CliRunner().invoke(app, ["--show-completion", shell])
        assert result.exit_code == 0, result.output
        assert "complete" in result.stdout.lower()
