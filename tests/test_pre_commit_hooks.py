"""The pre-commit hook manifest (.pre-commit-hooks.yaml), checked without running pre-commit:
pre-commit's own schema accepts it, its `files` pattern never misses a name mailmigrate reads,
its `types` never drop a file mailmigrate reports, its entries need no token and no network,
and the hooks run serially because mailmigrate's verdict depends on which files share a run.

tests/test_pre_commit.py (slow) runs the hooks for real with `pre-commit try-repo`.
"""

from __future__ import annotations

import codecs
import itertools
import os
import re
import shlex
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from identify.identify import tags_from_path
from pre_commit.clientlib import load_manifest
from typer.testing import CliRunner

from helpers import APP_ENV_PREFIXES, git, make_repo
from mailmigrate.cli import app
from mailmigrate.filekinds import kind_of_path

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"

STALE_ENV = "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD=\n"


def hooks() -> dict[str, dict[str, Any]]:
    # pre-commit's own loader: validates against its schema and fills in the defaults.
    return {hook["id"]: hook for hook in load_manifest(str(MANIFEST))}


def files_pattern(hook_id: str) -> re.Pattern[str]:
    # pre-commit compiles `files` with Python's re and applies it with .search() to the path
    # relative to the repository root, "/"-separated.
    return re.compile(hooks()[hook_id]["files"])


def test_manifest_is_valid_and_has_both_hooks() -> None:
    found = hooks()
    assert set(found) == {"mailmigrate-check", "mailmigrate-migrate"}
    for hook in found.values():
        assert hook["language"] == "python"
        assert hook["pass_filenames"] is True
        assert hook["files"] == found["mailmigrate-check"]["files"]
        # One process over every name: see test_verdict_depends_on_which_files_share_a_run.
        assert hook["require_serial"] is True
    assert shlex.split(found["mailmigrate-check"]["entry"]) == ["mailmigrate", "check"]
    migrate = shlex.split(found["mailmigrate-migrate"]["entry"])
    assert migrate[:2] == ["mailmigrate", "migrate"]
    # --write: it fixes; --no-verify: no emulator is started; never --live (the network).
    assert {"--write", "--no-verify"} <= set(migrate) and "--live" not in migrate


# Paths as pre-commit passes them: relative to the repository root, "/"-separated.
PATHS = [
    # env files
    ".env", ".ENV", ".env.production", "deploy/.env.production", ".env.local", ".env.example",
    ".env-sample", ".env_staging", "prod.env", "config/app.env.example", ".envrc", ".flaskenv",
    "env", "dotenv", "env.example", "env.template", "docker/.envrc.sample", "secrets/postmark.local.env",
    ".envs/.production/.django", ".envs/.local/.postgres", "compose/.envs/.production/.django",
    # Python
    "config/settings/base.py", "config/settings/production.py", "app/__init__.py", "manage.py",
    "src/mail/smtp_client.py", "settings_email.py",
    # YAML
    "docker-compose.yml", "compose.yaml", "docker-compose.env.yml", ".github/workflows/mail.yml",
    "src/main/resources/application.yml", "application.yml.example", "config/packages/mailer.yaml",
    "charts/mastodon/values.yaml", "homeassistant/secrets.yaml", "environment.yml",
    # INI / CFG
    "grafana.ini", "conf/app.ini", "airflow.cfg", "airflow.cfg.sample", "setup.cfg", "tox.ini",
    "pytest.ini", "mypy.ini", "CTFd/config.ini",
    # TOML
    "lldap_config.toml", "pyproject.toml", "config.toml.dist",
    # JSON
    "config.json", "config.production.json", "appsettings.json", "appsettings.Development.json",
    "vw-data/config.json", "app/settings.json", "config.json.dist", "package.json", "package-lock.json",
    "tsconfig.json", "jsconfig.json", ".vscode/settings.json", "composer.lock.json", "dist/config.min.json",
    "data/users.json",
    # properties
    "src/main/resources/application-prod.properties", "application.properties.example",
    # neither
    "README.md", "image.png", "Dockerfile", "Makefile", "src/app.js", "config.env.js", "app/.env.j2",
    ".env.bak", "env.d.ts", "scripts/setenv.sh", "src/environment.ts", "settings.py.example",
    "docs/index.rst", "LICENSE", "Pipfile", "go.mod", "templates/email.html",
]

# Clear negatives: the hook must not start for these (a commit touching only them is skipped).
NOT_MATCHED = [
    "README.md", "image.png", "Dockerfile", "Makefile", "src/app.js", "package.json", "package-lock.json",
    "tsconfig.json", "data/users.json", "docs/index.rst", "LICENSE", "go.mod", "src/environment.ts",
    "settings.py.example", "templates/email.html",
]


@pytest.mark.parametrize("hook_id", ["mailmigrate-check", "mailmigrate-migrate"])
def test_files_pattern_covers_every_name_mailmigrate_reads(hook_id: str) -> None:
    pattern = files_pattern(hook_id)
    accepted = [p for p in PATHS if kind_of_path(p) is not None]
    # The list exercises every kind filekinds knows, and names it declines.
    assert {kind_of_path(p) for p in accepted} == {"env", "python", "yaml", "ini", "toml", "json", "properties"}
    assert len(accepted) < len(PATHS)
    missed = [p for p in accepted if not pattern.search(p)]
    assert missed == [], f"{hook_id}: files pattern misses {missed}"
    wrongly = [p for p in NOT_MATCHED if pattern.search(p)]
    assert wrongly == [], f"{hook_id}: files pattern needlessly matches {wrongly}"


def test_files_pattern_covers_generated_names() -> None:
    """Names built from the pieces filekinds looks at (dots, dashes, case, template suffixes,
    folders): a superset is fine (mailmigrate classifies again), a miss is not."""
    pattern = files_pattern("mailmigrate-check")
    folders = ["", "config/", ".envs/.production/", ".vscode/"]
    stems = ["", "env", ".env", "Env", "dotenv", ".envrc", ".flaskenv", "prod", "config", "settings",
             "appsettings", "my-config", "tsconfig", "setup", "application", "package-lock", "environment"]
    middles = ["", ".env", ".ENV", "-env", ".env.", ".production", ".lock", "-lock", ".min", "-sample", "_local"]
    extensions = ["", ".py", ".PY", ".yml", ".YAML", ".ini", ".cfg", ".toml", ".json", ".properties",
                  ".md", ".js", ".j2", ".example", ".conf"]
    templates = ["", ".example", ".sample", ".template", ".dist", ".tpl", ".Example", ".dist.sample", ".bak"]
    accepted: list[str] = []
    for folder, *parts in itertools.product(folders, stems, middles, extensions, templates):
        name = "".join(parts)
        if name not in ("", ".", "..") and kind_of_path(folder + name) is not None:
            accepted.append(folder + name)
    assert len(accepted) > 10_000
    missed = [p for p in accepted if not pattern.search(p)]
    assert missed == [], f"files pattern misses {len(missed)} names, such as {missed[:20]}"


def test_files_pattern_covers_this_repository_and_its_fixtures() -> None:
    pattern = files_pattern("mailmigrate-check")
    paths = [
        p.relative_to(ROOT).as_posix()
        for top in ("fixtures", "mailmigrate", "rules", "tests", "docs", "bench")
        for p in (ROOT / top).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert len(paths) > 50
    # The fixtures keep their .gitignore as `gitignore`; below `input/` they are repositories.
    paths += [p.split("/input/", 1)[1] for p in paths if "/input/" in p]
    missed = [p for p in paths if kind_of_path(p) is not None and not pattern.search(p)]
    assert missed == []


def test_types_keep_files_mailmigrate_reports(tmp_path: Path) -> None:
    """pre-commit passes a file only when it carries every tag in `types`. `text` would drop a
    UTF-16 `.env` (identify reads it as binary), which `mailmigrate check` reports (MM002)."""
    utf16 = tmp_path / ".env"
    utf16.write_bytes(codecs.BOM_UTF16_LE + STALE_ENV.encode("utf-16-le"))
    plain = tmp_path / "prod.env"
    plain.write_text(STALE_ENV)
    for hook in hooks().values():
        for path in (utf16, plain):
            assert set(hook["types"]) <= tags_from_path(str(path)), (hook["id"], path.name)
        assert not hook["types_or"] and not hook["exclude_types"]
        assert hook["exclude"] == "^$"


# ---------------------------------------------------------------------------------------------
# Running the entries as pre-commit does: from the repository root, file names appended, no
# token in the environment, no network.
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def hook_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No MAILPACE_API_TOKEN or application variables, and any socket use fails the test."""
    for name in list(os.environ):
        if name.upper().startswith(APP_ENV_PREFIXES):
            monkeypatch.delenv(name)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a hook touched the network: {args!r}")

    for method in ("connect", "connect_ex", "bind", "listen", "sendto"):
        monkeypatch.setattr(socket.socket, method, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def run_entry(hook_id: str, repo: Path, files: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    argv = shlex.split(hooks()[hook_id]["entry"])
    assert argv[0] == "mailmigrate"
    monkeypatch.chdir(repo)
    result = CliRunner().invoke(app, [*argv[1:], *files], catch_exceptions=False)
    return result.exit_code, result.stdout + result.stderr


def test_entries_need_no_token_and_no_network(tmp_path: Path, hook_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    # Committed and staged files are what pre-commit passes: both are tracked, so neither
    # receives the token and migrate needs none.
    repo = make_repo(tmp_path / "repo", tracked={".env.production": STALE_ENV, "README.md": "x\n"})
    (repo / ".env.staging").write_text(STALE_ENV)
    git(repo, "add", ".env.staging")
    files = [".env.production", ".env.staging"]

    code, out = run_entry("mailmigrate-check", repo, files, monkeypatch)
    assert code == 1 and "MM101" in out and ".env.staging" in out

    code, out = run_entry("mailmigrate-migrate", repo, files, monkeypatch)
    assert code == 0, out
    for name in files:
        text = (repo / name).read_text()
        assert "EMAIL_HOST=smtp.mailpace.com" in text and "EMAIL_USE_TLS=True" in text, text
        assert "EMAIL_HOST_USER=\n" in text and "EMAIL_HOST_PASSWORD=\n" in text

    migrated = {name: (repo / name).read_bytes() for name in files}
    assert run_entry("mailmigrate-migrate", repo, files, monkeypatch)[0] == 0
    assert {name: (repo / name).read_bytes() for name in files} == migrated
    assert run_entry("mailmigrate-check", repo, files, monkeypatch) == (0, "")


def test_migrate_entry_refuses_an_ignored_secrets_file_without_the_token(
    tmp_path: Path, hook_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pre-commit run --files .env` can name a file git ignores: that one would need the
    token, and the hook stops (exit 2) without writing rather than emptying the secret."""
    repo = make_repo(tmp_path / "repo", tracked={".gitignore": ".env\n"}, untracked={".env": STALE_ENV})
    code, out = run_entry("mailmigrate-migrate", repo, [".env"], monkeypatch)
    assert code == 2 and "MAILPACE_API_TOKEN" in out and "nothing was written" in out
    assert (repo / ".env").read_text() == STALE_ENV


# ---------------------------------------------------------------------------------------------
# Parallel batches. Without `require_serial`, pre-commit shuffles the names and runs the entry
# once per batch, in parallel. mailmigrate follows a value only to the files of its own run, so
# for these repositories the verdict of one run over all files differs from that of runs over
# parts of them (each file alone is the smallest batch). When it differs, the hooks must be
# serial. (The slow test runs pre-commit on the first case.)
# ---------------------------------------------------------------------------------------------

CROSS_FILE = {
    # docker-compose reads the host from an env variable no family knows by name: only a run
    # that holds both files sees SendGrid.
    "compose-reads-env": {
        ".env": "RELAY=smtp.sendgrid.net\n",
        "docker-compose.yml": (
            "services:\n  app:\n    image: app\n    environment:\n      SMTP_HOST: ${RELAY}\n      SMTP_PORT: '587'\n"
        ),
    },
    # Migrated: the env file says EMAIL_USE_TLS=True; alone, the module's default "False" is a finding.
    "settings-read-env": {
        ".env": "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n",
        "settings.py": (
            "import os\n\n"
            'EMAIL_HOST = os.environ.get("EMAIL_HOST", "smtp.mailpace.com")\n'
            'EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))\n'
            'EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "False") == "True"\n'
            'EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")\n'
            'EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")\n'
        ),
    },
}


def _findings(output: str) -> set[str]:
    return {line for line in output.splitlines() if re.match(r"\S+:\d+:\d+: MM\d{3} ", line)}


def _tree(repo: Path, names: list[str]) -> dict[str, bytes]:
    return {name: (repo / name).read_bytes() for name in names}


@pytest.mark.parametrize("case", sorted(CROSS_FILE))
def test_verdict_depends_on_which_files_share_a_run(
    tmp_path: Path, case: str, hook_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = CROSS_FILE[case]
    names = sorted(files)
    repo = make_repo(tmp_path / "repo", tracked=dict(files))

    whole_code, whole_out = run_entry("mailmigrate-check", repo, names, monkeypatch)
    alone = [run_entry("mailmigrate-check", repo, [name], monkeypatch) for name in names]
    alone_code = max(code for code, _ in alone)
    alone_findings = set().union(*(_findings(out) for _, out in alone))
    check_differs = (whole_code, _findings(whole_out)) != (alone_code, alone_findings)

    run_entry("mailmigrate-migrate", repo, names, monkeypatch)
    migrated_whole = _tree(repo, names)
    split = tmp_path / "split"
    shutil.copytree(repo, split)
    git(split, "checkout", "-q", "--", ".")
    for name in names:
        run_entry("mailmigrate-migrate", split, [name], monkeypatch)
    migrate_differs = _tree(split, names) != migrated_whole

    if check_differs or migrate_differs:
        serial = {hook_id: hook["require_serial"] for hook_id, hook in hooks().items()}
        assert all(serial.values()), (
            f"{case}: mailmigrate's verdict depends on which files share a run "
            f"(check whole: exit {whole_code} {sorted(_findings(whole_out))}; file by file: exit "
            f"{alone_code} {sorted(alone_findings)}; migrate differs: {migrate_differs}), but "
            f"pre-commit may split them into parallel batches: {serial}"
        )
