"""Which files a run sees, in real git repositories and outside git."""

from __future__ import annotations

import os
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


@pytest.mark.parametrize("name", ["environment.py", "envoy.yaml", "README.md", "settings.py", ".envoy", "env.py", "docker-compose.env.yml", "config.env.js", ".env.j2", ".env.bak"])
def test_not_env_names(name: str) -> None:
    assert kind_of(name) != "env"


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


def test_symlink_takes_its_targets_git_status(tmp_path: Path) -> None:
    """An ignored link to a tracked file must not make the tracked file a secrets file."""
    repo = make_repo(tmp_path / "r", tracked={".gitignore": ".env.local\n", ".env.dev": "A=1\n"})
    (repo / ".env.local").symlink_to(".env.dev")
    assert _seen(repo) == {".env.dev": (True, False, True)}
    assert _seen(repo, repo / ".env.local") == {".env.dev": (True, False, True)}


@pytest.mark.parametrize(("make", "words"), [("loop", "symbolic link loop"), ("dangling", "does not exist")])
def test_broken_symlinks_are_refused_not_fatal(tmp_path: Path, make: str, words: str) -> None:
    repo = make_repo(tmp_path / "r", tracked={".env.example": "A=1\n"})
    if make == "loop":
        (repo / ".env").symlink_to(".env")
    else:
        (repo / ".env").symlink_to("missing.env")
    found = discover([repo], cwd=repo)
    assert [f.display for f in found.files] == [".env.example"]
    assert found.refused == [(".env", f"is a {words}" if make == "loop" else "is a symbolic link to a file that does not exist")]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the repository to another user")
def test_repository_git_refuses_to_read_is_an_error_not_outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI containers often check out as another user: git then says "dubious ownership". Treating
    that as "outside git" would make tracked env files secrets files."""
    repo = make_repo(tmp_path / "r", tracked={"prod.env": "EMAIL_HOST=smtp.sendgrid.net\n"})
    for path in [repo, *repo.rglob("*")]:
        os.lchown(path, 65534, 65534)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)  # no safe.directory exception from the machine
    with pytest.raises(UsageError, match="git cannot read this repository"):
        discover([repo], cwd=repo)
    with pytest.raises(UsageError, match="git cannot read this repository"):
        discover([repo / "prod.env"], cwd=repo)


def test_path_inside_an_ignored_folder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", tracked={".gitignore": "/ignored\n"}, untracked={"ignored/a/b/.env": "A=1\n"})
    assert _seen(repo, repo / "ignored" / "a" / "b") == {"ignored/a/b/.env": (False, True, True)}


def test_cookiecutter_django_envs_folder(tmp_path: Path) -> None:
    """cookiecutter-django keeps env files as .envs/.production/.django (ignored)."""
    repo = make_repo(
        tmp_path / "r",
        tracked={".gitignore": ".envs/*\n!.envs/.local/\n", ".envs/.local/.django": "A=1\n"},
        untracked={".envs/.production/.django": "A=1\n", ".envs/.production/.postgres": "A=1\n", ".envs/README.md": "x"},
    )
    assert _seen(repo) == {
        ".envs/.local/.django": (True, False, True),
        ".envs/.production/.django": (False, True, True),
        ".envs/.production/.postgres": (False, True, True),
    }
