"""End-to-end scenario repositories (fixtures/<scenario>/{input,expected}), run through the CLI
inside real git repositories: the input's `gitignore` decides which env files are secrets files.

`expected` is the whole tree after `migrate --write`; files that must not change are in it
byte-identical. Regenerate after a deliberate change with MAILMIGRATE_REGEN_FIXTURES=1, then
review the diff of fixtures/ like any other change.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import TOKEN, git
from mailmigrate.cli import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
SCENARIOS = sorted(p.name for p in FIXTURES.iterdir() if (p / "input").is_dir())


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def _materialise(source: Path, target: Path) -> None:
    # Fixtures keep `gitignore` without the dot so this repository's git ignores nothing in them.
    shutil.copytree(source, target)
    for path in list(target.rglob("gitignore")):
        path.rename(path.with_name(".gitignore"))


def _export(repo: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    for rel, data in _tree(repo).items():
        out = target / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    for path in list(target.rglob(".gitignore")):
        path.rename(path.with_name("gitignore"))


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"MAILPACE_API_TOKEN": TOKEN})
    return result.exit_code, result.output


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_scenario(tmp_path: Path, scenario: str) -> None:
    here = FIXTURES / scenario
    settings = json.loads((here / "scenario.json").read_text())
    repo = tmp_path / "repo"
    _materialise(here / "input", repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "input")
    tracked_before = git(repo, "ls-files").split()

    code, out = _run("check", str(repo))
    assert code == 1, out
    code, out = _run("migrate", str(repo), "--write")
    assert code == settings["migrate_exit"], out
    assert TOKEN not in out

    if os.environ.get("MAILMIGRATE_REGEN_FIXTURES"):
        _export(repo, here / "expected")
    expected = here / "expected"
    _materialise(expected, tmp_path / "expected")
    assert _tree(repo) == _tree(tmp_path / "expected")

    # The token never lands in a file git tracks.
    for rel in tracked_before:
        assert TOKEN.encode() not in (repo / rel).read_bytes(), rel
    # Second cycle: nothing left to change.
    code, out = _run("migrate", str(repo))
    assert "diff --git" not in out
    assert code == 0, out  # a dry run exits 1 only when something would change
    code, out = _run("check", str(repo))
    assert code == settings["check_after_exit"], out
