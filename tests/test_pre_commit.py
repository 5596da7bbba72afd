"""The hooks of .pre-commit-hooks.yaml run for real: `pre-commit try-repo` on this repository,
inside throwaway git repositories (slow: pre-commit builds the hooks' virtualenv with pip, once
per try-repo run).

try-repo installs the repository's HEAD commit plus changes to files git already tracks, never
untracked files: a new `.pre-commit-hooks.yaml` or module would be missed. So the working tree
as it is (tracked and untracked files, not ignored ones) is copied into a new repository and
committed there, and that is what pre-commit installs.

Nothing here reaches MailPace or starts a server: the hooks never do. pip fetches mailmigrate's
dependencies from the package index configured for this environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import clean_env, git, make_repo

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 600  # one try-repo run: virtualenv + pip install of mailmigrate and its dependencies

STALE_ENV = "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD=\n"
CLEAN_ENV = "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n"
CACHE_DIRS = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis", ".benchmarks",
              ".venv", "build", "dist"}


def _working_tree_files() -> list[str]:
    if (ROOT / ".git").exists():
        listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard").split("\0")
        return [name for name in listed if name and (ROOT / name).is_file()]
    return [  # an unpacked source distribution
        p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
        if p.is_file() and not CACHE_DIRS & set(p.relative_to(ROOT).parts)
    ]


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This repository's working tree, committed in a repository of its own."""
    snapshot = tmp_path_factory.mktemp("mailmigrate-hooks")
    for name in _working_tree_files():
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    assert (snapshot / ".pre-commit-hooks.yaml").is_file()
    git(snapshot, "init", "-q", "-b", "main")
    git(snapshot, "add", "-A")
    git(snapshot, "-c", "user.name=Test", "-c", "user.email=test@example.invalid", "commit", "-q", "-m", "snapshot")
    return snapshot


def _pre_commit_env(cache: Path) -> dict[str, str]:
    """No token or application variables (clean_env); nothing from an enclosing git hook or
    pre-commit run (GIT_DIR, GIT_INDEX_FILE, SKIP, PRE_COMMIT_*); no user or system git config;
    pre-commit's own store under the test's folder (try-repo installs the hooks into a temporary
    store of its own, but pre-commit still creates its default one)."""
    env = {
        k: v for k, v in clean_env().items()
        if not k.upper().startswith(("GIT_", "PRE_COMMIT")) and k.upper() != "SKIP"
    }
    env.update(
        PRE_COMMIT_HOME=str(cache), GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull, NO_COLOR="1"
    )
    return env


def try_repo(hook_repo: Path, target: Path, *hook_id: str) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), *hook_id, "--all-files", "--color", "never"],
        cwd=target, env=_pre_commit_env(target.parent / "pre-commit-cache"),
        capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )
    return done.returncode, done.stdout + done.stderr


def results(output: str) -> dict[str, str]:
    """hook name → Passed / Failed / Skipped, from pre-commit's status lines."""
    return dict(re.findall(r"^(mailmigrate \w+) .*?(Passed|Failed|Skipped)$", output, re.MULTILINE))


def test_check_hook_fails_on_a_stale_env_file_and_passes_on_a_clean_one(hook_repo: Path, tmp_path: Path) -> None:
    stale = make_repo(tmp_path / "stale" / "repo", tracked={".env": STALE_ENV, "README.md": "# app\n"})
    code, out = try_repo(hook_repo, stale, "mailmigrate-check")
    assert code != 0, out
    assert results(out) == {"mailmigrate check": "Failed"}, out
    assert re.search(r"^\.env:1:1: MM101 SendGrid host smtp\.sendgrid\.net", out, re.MULTILINE), out
    assert (stale / ".env").read_text() == STALE_ENV  # read-only

    clean = make_repo(tmp_path / "clean" / "repo", tracked={".env": CLEAN_ENV, "README.md": "# app\n"})
    code, out = try_repo(hook_repo, clean)  # every hook of the manifest
    assert code == 0, out
    assert results(out) == {"mailmigrate check": "Passed", "mailmigrate migrate": "Passed"}, out
    assert (clean / ".env").read_text() == CLEAN_ENV


def test_migrate_hook_rewrites_a_stale_env_file_without_the_token(hook_repo: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "stale" / "repo", tracked={".env": STALE_ENV})
    code, out = try_repo(hook_repo, repo, "mailmigrate-migrate")
    # pre-commit fails a hook that modified files, whatever its exit code
    assert code != 0, out
    assert results(out) == {"mailmigrate migrate": "Failed"}, out
    assert "files were modified by this hook" in out, out
    migrated = (repo / ".env").read_text()
    lines = migrated.splitlines()
    assert {"EMAIL_HOST=smtp.mailpace.com", "EMAIL_PORT=587", "EMAIL_USE_TLS=True"} <= set(lines), migrated
    assert "EMAIL_HOST_USER=" in lines and "EMAIL_HOST_PASSWORD=" in lines, migrated  # a tracked file: no token
    assert "sendgrid" not in migrated and "apikey" not in migrated

    code, out = try_repo(hook_repo, repo)  # both hooks on the migrated file
    assert code == 0, out
    assert results(out) == {"mailmigrate check": "Passed", "mailmigrate migrate": "Passed"}, out
    assert (repo / ".env").read_text() == migrated


def test_check_hook_sees_a_value_read_from_another_file(hook_repo: Path, tmp_path: Path) -> None:
    """docker-compose.yml reads its SMTP host from `.env` under a name no family knows: only a
    run holding both files sees SendGrid. With require_serial, pre-commit passes every name to
    one run; without it, on any machine with two or more CPUs, pre-commit's fixed shuffle sends
    these eight names to two parallel runs of four, `.env` and docker-compose.yml apart, and the
    hook passes."""
    modules = {f"app/mod{i}.py": f"X = {i}\n" for i in range(1, 7)}
    compose = "services:\n  app:\n    image: app\n    environment:\n      SMTP_HOST: ${RELAY}\n      SMTP_PORT: '587'\n"
    repo = make_repo(
        tmp_path / "cross" / "repo",
        tracked={".env": "RELAY=smtp.sendgrid.net\n", "docker-compose.yml": compose, **modules},
    )
    code, out = try_repo(hook_repo, repo, "mailmigrate-check")
    assert code != 0, out
    assert re.search(r"^docker-compose\.yml:\d+:\d+: MM101 SendGrid host", out, re.MULTILINE), out
