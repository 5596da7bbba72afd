"""Which files a run sees, in real git repositories and outside git."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import make_repo
from mailmigrate.discovery import UsageError, discover
from mailmigrate.filekinds import kind_of


@pytest.mark.parametrize(
    "name", [".env", ".env.local", ".env.production", ".env.example", ".env-sample", "prod.env", "app.env.example", ".envrc", ".flaskenv"]
)
def test_env_names(name: str) -> None:
    assert kind_of(name) == "env"


@pytest.mark.parametrize("name", ["environment.py", "envoy.yaml", "README.md", "settings.py", ".envoy", "env.py"])
def test_not_env_names(name: str) -> None:
    assert kind_of(name) is None


def _seen(root: Path, *paths: Path) -> dict[str, tuple[bool, bool, bool]]:
    found = discover(list(paths) or [root], cwd=root)
    return {f.display: (f.tracked, f.ignored, f.in_git) for f in found.files}


def test_git_tracked_untracked_and_ignored_env_files(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "r",
        tracked={".gitignore": ".env\nsecrets/\nnode_modules/\n*.log\n", ".env.example": "A=1\n", "app/.env.test": "A=1\n"},
        untracked={
            ".env": "A=1\n",
            "secrets/prod.env": "A=1\n",
            "docker.env": "A=1\n",
            "node_modules/pkg/.env": "A=1\n",
            "debug.log": "x",
        },
    )
    seen = _seen(repo)
    assert seen == {
        ".env": (False, True, True),
        ".env.example": (True, False, True),
        "app/.env.test": (True, False, True),
        "docker.env": (False, False, True),
        "secrets/prod.env": (False, True, True),
    }


def test_tracked_file_that_matches_gitignore_is_tracked(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", tracked={".gitignore": ".env*\n", ".env.production": "A=1\n"})
    assert _seen(repo) == {".env.production": (True, False, True)}


def test_explicit_files_get_git_status(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", tracked={".gitignore": ".env\n", ".env.example": "A=1\n"}, untracked={".env": "A=1\n"})
    seen = _seen(repo, repo / ".env", repo / ".env.example", repo / ".gitignore")
    assert seen == {".env": (False, True, True), ".env.example": (True, False, True)}


def test_outside_git_walk_skips_vcs_venvs_and_build_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "plain"
    for rel in [".env", "svc/.env.prod", "node_modules/x/.env", ".venv/.env", "build/.env", "myvenv/.env", "__pycache__/.env"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("A=1\n")
    (root / "myvenv" / "pyvenv.cfg").write_text("home = /usr\n")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    seen = _seen(root)
    assert seen == {".env": (False, False, False), "svc/.env.prod": (False, False, False)}


def test_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file"):
        discover([tmp_path / "nope"], cwd=tmp_path)


def test_symlink_outside_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.env"
    outside.write_text("EMAIL_HOST=smtp.gmail.com\n")
    repo = make_repo(tmp_path / "r", tracked={"README": "x"})
    (repo / ".env").symlink_to(outside)
    found = discover([repo], cwd=repo)
    assert not found.files
    assert found.refused and found.refused[0][0] == ".env"
