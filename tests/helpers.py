"""Shared test helpers: run the engine on one file's text and check the two-cycle rule."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path

from mailmigrate.engine import RunOptions, RunResult, analyse_files
from mailmigrate.filekinds import kind_of
from mailmigrate.model import FileInfo
from mailmigrate.rules import Ruleset, load_ruleset

TOKEN = "7c9e6679-7425-40de-944b-e07fc1f90ae7"  # UUID-shaped, like MailPace's documented example
SUBPROCESS_TIMEOUT = 60  # per subprocess; each normally takes about a second

# Anything a migrated application, its framework or the CLI could read from the environment:
# subprocesses see only what the files say (load_dotenv / read_env never override the environment).
APP_ENV_PREFIXES = (
    "EMAIL_", "MAIL_", "SMTP_", "MAILPACE_", "DJANGO_", "FLASK_", "SENDGRID_", "MAILGUN_", "GMAIL_",
    "POSTMARK_", "SUPERSET_", "NETBOX_", "DATABASE_", "SECRET_KEY",
)


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without the application's variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(APP_ENV_PREFIXES)}
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the repos; no stale .pyc after a rewrite
    env.update(extra)
    return env


def run_process(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=False)


@functools.cache
def rules() -> Ruleset:
    return load_ruleset()


def run_file(
    tmp_path: Path,
    text: str,
    *,
    name: str = ".env",
    secrets_file: bool = True,
    tracked: bool | None = None,
    token: str | None = TOKEN,
    port: int | None = None,
    include_local: bool = False,
    newline: str = "",
    tags: tuple[str, ...] = (),
    list_unsubscribe: bool = False,
) -> tuple[str, RunResult]:
    """Migrate one file (not written): returns the planned text and the run result.

    `secrets_file` models an env file git ignores; otherwise the file is tracked."""
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    is_tracked = (not secrets_file) if tracked is None else tracked
    kind = kind_of(name)
    assert kind is not None, name
    info = FileInfo(path, name, kind, tracked=is_tracked, ignored=secrets_file and not is_tracked, in_git=True)
    options = RunOptions(
        token=token, forced_port=port, include_local=include_local, tags=tags, list_unsubscribe=list_unsubscribe
    )
    result = analyse_files([info], rules(), options)
    assert not result.blocked, [f.message for f in result.findings if f.code == "MM005"]
    outcome = next((o for o in result.files if o.file.path == path), None)
    if outcome is None or outcome.new_text is None:
        return text, result
    new = outcome.doc.encode(outcome.new_text).decode("utf-8")  # with its BOM, as written
    return new, result


def assert_migrates(tmp_path: Path, before: str, after: str, **kwargs: object) -> RunResult:
    """The planned text is `after`; it re-parses and planning again on it changes nothing."""
    new, result = run_file(tmp_path, before, **kwargs)  # type: ignore[arg-type]
    assert new == after
    again, second = run_file(tmp_path, new, **kwargs)  # type: ignore[arg-type]
    assert again == new, "second run changed the file again"
    assert not second.changed_files
    return result


def assert_noop(tmp_path: Path, before: str, **kwargs: object) -> RunResult:
    new, result = run_file(tmp_path, before, **kwargs)  # type: ignore[arg-type]
    assert new == before
    return result


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True, env=env)
    return done.stdout


def make_repo(root: Path, tracked: dict[str, str | bytes], untracked: dict[str, str | bytes] | None = None) -> Path:
    """A real git repository: `tracked` files committed, `untracked` ones left in the tree."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Test")
    git(root, "config", "user.email", "test@example.invalid")
    for files in (tracked, untracked or {}):
        for rel, content in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
    if tracked:
        git(root, "add", "-f", *tracked)
        git(root, "commit", "-q", "-m", "initial")
    return root
