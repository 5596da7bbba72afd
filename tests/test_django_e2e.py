"""End to end: a real Django project on SendGrid, migrated by the real CLI, then Django's real SMTP
backend logs in to a local MailPace stand-in with the token, over verified TLS.

The CLI and Django each run in their own subprocess (fresh settings, nothing shared with pytest);
the SMTP server runs here in the pytest process.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from dotenv import dotenv_values
from smtp_server import MAILPACE_HOST, SMTPTestServer

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parent
TIMEOUT = 60  # per subprocess; each normally takes well under a second

SETTINGS_PY = """\
import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")

SECRET_KEY = "not-a-secret-test-only"
DEBUG = False
INSTALLED_APPS: list[str] = []
DEFAULT_FROM_EMAIL = "App <noreply@example.com>"

EMAIL_HOST = os.environ["EMAIL_HOST"]
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "False") == "True"
EMAIL_USE_SSL = os.environ.get("EMAIL_USE_SSL", "False") == "True"
"""

ENV_EXAMPLE = """\
# Copy to .env and fill in the secrets.
DATABASE_URL=postgres://localhost:5432/app
EMAIL_HOST=smtp.sendgrid.net
EMAIL_PORT=587
EMAIL_HOST_USER=apikey
EMAIL_HOST_PASSWORD=
"""

# Realistic SendGrid setup. No EMAIL_USE_TLS line: Django's default is no TLS at all.
ENV_TEMPLATE = """\
# Local development settings -- never commit this file
DATABASE_URL=postgres://app:db-password@localhost:5432/app
SECRET_KEY=dev-secret-key
EMAIL_HOST=smtp.sendgrid.net
EMAIL_PORT=587
EMAIL_HOST_USER=apikey
EMAIL_HOST_PASSWORD={sendgrid_key}
SENTRY_DSN=https://public@sentry.example.com/1
"""

# Runs Django in a fresh interpreter: settings come from the project (and its .env) only.
DRIVER = TESTS_DIR / "drivers" / "send_with_django.py"


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def _git(repo: Path, *args: str) -> str:
    result = _run(["git", *args], repo)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _clean_env(**extra: str) -> dict[str, str]:
    # load_dotenv never overrides the environment, so any EMAIL_* or token here would
    # silently win over the migrated .env.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "MAILPACE_", "DJANGO_"))}
    env.update(extra)
    return env


def _make_project(root: Path, sendgrid_key: str) -> Path:
    repo = root / "project"
    (repo / "mysite").mkdir(parents=True)
    (repo / "mysite" / "__init__.py").write_text("")
    (repo / "mysite" / "settings.py").write_text(SETTINGS_PY)
    (repo / ".gitignore").write_text(".env\n__pycache__/\n")
    (repo / ".env.example").write_text(ENV_EXAMPLE)
    (repo / ".env").write_text(ENV_TEMPLATE.format(sendgrid_key=sendgrid_key))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "Test")
    _git(repo, "config", "user.email", "test@example.com")
    _git(repo, "config", "commit.gpgsign", "false")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "Django project on SendGrid")
    assert _git(repo, "ls-files").split() == [".env.example", ".gitignore", "mysite/__init__.py", "mysite/settings.py"]
    return repo


CASES = [
    pytest.param("starttls", [], 587, {"EMAIL_USE_TLS": "True"}, "EMAIL_USE_SSL", id="starttls-587"),
    pytest.param("implicit", ["--port", "465"], 465, {"EMAIL_USE_SSL": "True"}, "EMAIL_USE_TLS", id="implicit-465"),
]


@pytest.mark.parametrize(("mode", "cli_args", "mailpace_port", "tls_setting", "other_setting"), CASES)
def test_django_project_sends_through_mailpace_after_migrate(
    tmp_path: Path,
    smtp_server: Callable[..., SMTPTestServer],
    mode: str,
    cli_args: list[str],
    mailpace_port: int,
    tls_setting: dict[str, str],
    other_setting: str,
) -> None:
    token = str(uuid.uuid4())
    sendgrid_key = f"SG.{secrets.token_urlsafe(16)}.{secrets.token_urlsafe(32)}"
    repo = _make_project(tmp_path, sendgrid_key)

    # 1. The real CLI, exactly as a user runs it.
    cli_env = _clean_env(MAILPACE_API_TOKEN=token)
    migrated = _run([sys.executable, "-m", "mailmigrate", "migrate", "--write", *cli_args], repo, cli_env)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    for secret in (token, sendgrid_key):
        assert secret not in migrated.stdout and secret not in migrated.stderr

    # 2. The files: the ignored .env holds the token; the tracked template never does.
    env = dotenv_values(repo / ".env")
    assert env["EMAIL_HOST"] == MAILPACE_HOST
    assert env["EMAIL_PORT"] == str(mailpace_port)
    assert env["EMAIL_HOST_USER"] == env["EMAIL_HOST_PASSWORD"] == token
    for key, value in tls_setting.items():
        assert env[key] == value
    assert env.get(other_setting, "False") != "True"  # Django refuses both at once
    env_text = (repo / ".env").read_text()
    assert sendgrid_key not in env_text
    for untouched in ENV_TEMPLATE.splitlines():
        if not untouched.startswith("EMAIL_"):
            assert untouched in env_text.splitlines(), f"unrelated line changed: {untouched!r}"
    example = (repo / ".env.example").read_text()
    assert token not in example
    assert "smtp.sendgrid.net" not in example
    assert _git(repo, "status", "--porcelain").splitlines() == [" M .env.example"]
    assert _git(repo, "status", "--porcelain", "--ignored").splitlines() == [" M .env.example", "!! .env"]

    # 3. Running it again: nothing left to do.
    again = _run([sys.executable, "-m", "mailmigrate", "migrate"], repo, cli_env)
    assert (again.returncode, again.stdout) == (0, ""), again.stdout + again.stderr
    assert token not in again.stderr

    # 4. Django, in a fresh interpreter, sends through the stand-in for smtp.mailpace.com.
    server = smtp_server(mode=mode, token=token)
    ca_file = tmp_path / "test-ca.pem"
    server.ca.cert_pem.write_to_path(str(ca_file))
    driver = DRIVER  # outside the repository: git status stays as checked
    driver_env = _clean_env(
        MM_TEST_RECIPIENT="user@example.org",
        MM_TEST_HELPERS=str(TESTS_DIR),
        MM_TEST_PROJECT=str(repo),
        MM_TEST_MAILPACE_PORT=str(mailpace_port),
        MM_TEST_SMTP_PORT=str(server.port),
        MM_TEST_CA_PEM=str(ca_file),
    )
    sent = _run([sys.executable, str(driver)], repo, driver_env)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    facts = json.loads(sent.stdout.strip().splitlines()[-1])
    assert facts == {
        "backend": "django.core.mail.backends.smtp.EmailBackend",
        "host": MAILPACE_HOST,
        "port": mailpace_port,
        "use_tls": mode == "starttls",
        "use_ssl": mode == "implicit",
        "verify_required": True,
        "check_hostname": True,
        "from": "App <noreply@example.com>",
        "sent": 1,
    }

    assert [(login.username, login.tls) for login in server.logins] == [(token, mode)]
    assert server.failed_logins == []
    [message] = server.messages
    assert message.tls == mode and message.username == token
    assert message.mail_from == "noreply@example.com"
    assert message.rcpt_tos == ("user@example.org",)
    assert b"Subject: Migrated to MailPace" in message.content
