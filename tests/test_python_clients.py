"""Issue 3, "Proof": Python settings modules migrated by the real CLI, then loaded by the real
frameworks, which send through the local MailPace stand-in (tests/smtp_server.py).

Each case is a small project committed to a real git repository (so a literal credential in the
settings module is in a *tracked* file and must become ``os.environ["MAILPACE_API_TOKEN"]``),
sometimes with an ignored ``.env`` holding the old provider's secrets. Then:

1. ``python -m mailmigrate migrate --write`` runs in a subprocess with MAILPACE_API_TOKEN set;
   the token is never printed, never written into a tracked file, and a second dry run has nothing
   left to do.
2. The settings module is imported in a fresh interpreter before and after the migration: it still
   imports, and every setting that is not part of the mail configuration is unchanged.
3. A driver script in a fresh interpreter loads the settings through the framework (Django's SMTP
   backend, Flask-Mail), with smtp.mailpace.com redirected to the test server and the test CA
   trusted, and sends one message. The server must see a login with the token in the right TLS
   mode (STARTTLS on 587, implicit TLS on 465).

NetBox- and Superset-style modules have no client here: they are imported and their values checked.

The drivers run without any EMAIL_*/MAIL_*/SMTP_*/provider variables in their environment, so the
values come from the migrated files alone; MAILPACE_API_TOKEN is set only when the migrated module
reads it (a deployment must set it then; a literal credential always becomes such a reference).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values
from helpers import clean_env, make_repo, run_process
from smtp_server import MAILPACE_HOST, SMTPTestServer

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parent
# os.environ["MAILPACE_API_TOKEN"], or os.environ.get("MAILPACE_API_TOKEN", "") in a base class
TOKEN_REF = re.compile(r"""os\.environ(?:\[\s*["']MAILPACE_API_TOKEN["']\s*\]|\.get\(\s*["']MAILPACE_API_TOKEN["'])""")
GITIGNORE = ".env\n__pycache__/\n*.sqlite3\n"

# Anything the settings modules or the frameworks could read from the environment: the drivers must
# see only what the migrated files say (load_dotenv / read_env never override the environment).


# --------------------------------------------------------------------------------------------
# Subprocess plumbing
# --------------------------------------------------------------------------------------------






def _git(repo: Path, *args: str) -> str:
    result = run_process(["git", *args], repo, clean_env(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_SYSTEM=os.devnull))
    assert result.returncode == 0, result.stderr
    return result.stdout


def _driver_env(settings_file: Path, token: str, **extra: str) -> dict[str, str]:
    """The driver's environment: the token only if the migrated module reads it."""
    env = clean_env(MM_TEST_HELPERS=str(TESTS_DIR), **extra)
    if "MAILPACE_API_TOKEN" in settings_file.read_text(encoding="utf-8"):
        env["MAILPACE_API_TOKEN"] = token
    return env


def _last_json(result: subprocess.CompletedProcess[str], server: SMTPTestServer | None = None) -> Any:
    seen = f"\ntest server: failed logins as {server.failed_logins!r}" if server is not None else ""
    assert result.returncode == 0, result.stdout + result.stderr + seen
    return json.loads(result.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# The CLI part shared by every case
# --------------------------------------------------------------------------------------------


def _migrate(repo: Path, token: str, old_secrets: Iterable[str]) -> subprocess.CompletedProcess[str]:
    """`migrate --write`, then the checks every case shares. Returns the --write run."""
    cli_env = clean_env(MAILPACE_API_TOKEN=token)
    written = run_process([sys.executable, "-m", "mailmigrate", "migrate", "--write"], repo, cli_env)
    assert written.returncode == 0, written.stdout + written.stderr
    assert "Traceback" not in written.stderr, written.stderr
    # The token, and the old provider's secrets it finds, are masked in everything it prints.
    for secret in (token, *old_secrets):
        assert secret not in written.stdout, f"{secret[:6]}... printed on stdout"
        assert secret not in written.stderr, f"{secret[:6]}... printed on stderr"

    # No tracked file holds the token (a reference to the variable, never the value).
    for rel in _git(repo, "ls-files", "-z").split("\0"):
        if rel:
            assert token.encode() not in (repo / rel).read_bytes(), f"token written into tracked file {rel}"

    # Idempotent: a second dry run finds nothing to change.
    again = run_process([sys.executable, "-m", "mailmigrate", "migrate"], repo, cli_env)
    assert (again.returncode, again.stdout) == (0, ""), again.stdout + again.stderr
    assert token not in again.stderr
    return written


def _assert_git_status(repo: Path, modified_tracked: list[str], ignored: list[str]) -> None:
    """Exactly these tracked files were modified, nothing new appeared (no temp or backup files)."""
    status = _git(repo, "status", "--porcelain", "--ignored", "--untracked-files=all").splitlines()
    assert sorted(status) == sorted([f" M {p}" for p in modified_tracked] + [f"!! {p}" for p in ignored])


def _assert_references_token(settings_file: Path) -> str:
    text = settings_file.read_text(encoding="utf-8")
    assert TOKEN_REF.search(text), f"no os.environ['MAILPACE_API_TOKEN'] reference in:\n{text}"
    assert re.search(r"^import (.*, )?os\b", text, re.MULTILINE), f"os used but not imported:\n{text}"
    return text


# --------------------------------------------------------------------------------------------
# Importing a settings module: every UPPER_CASE setting (and those of config classes) as JSON
# --------------------------------------------------------------------------------------------

DUMP_SETTINGS = '''\
import importlib
import json
import os
import sys

sys.path.insert(0, os.environ["MM_TEST_PATH"])
module = importlib.import_module(os.environ["MM_TEST_MODULE"])


def settings_of(obj):
    return {name: getattr(obj, name) for name in dir(obj) if name.isupper()}


dump = {}
for name, value in vars(module).items():
    if name.isupper():
        dump[name] = value
    elif isinstance(value, type) and value.__module__ == module.__name__:
        dump["class " + name] = settings_of(value)  # inherited attributes included
print(json.dumps(dump, default=repr, sort_keys=True))
'''


def _dump_settings(tmp_path: Path, path: Path, module: str, env: dict[str, str]) -> dict[str, Any]:
    script = tmp_path / "dump_settings.py"  # outside the repository
    script.write_text(DUMP_SETTINGS)
    result = run_process([sys.executable, str(script)], path, {**env, "MM_TEST_PATH": str(path), "MM_TEST_MODULE": module})
    dump: dict[str, Any] = _last_json(result)
    return dump


def _assert_only_mail_settings_changed(
    before: dict[str, Any], after: dict[str, Any], mail_keys: set[str]
) -> None:
    """Every setting outside ``mail_keys`` has the same value before and after (none added or lost)."""

    def others(settings: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in settings.items() if k not in mail_keys}

    assert others(after) == others(before)


# --------------------------------------------------------------------------------------------
# Django: the real SMTP backend sends one message through the test server
# --------------------------------------------------------------------------------------------

DJANGO_DRIVER = Path(__file__).resolve().parent / "drivers" / "send_with_django.py"


def _send_with_django(
    tmp_path: Path, repo: Path, server: SMTPTestServer, mailpace_port: int, token: str
) -> dict[str, Any]:
    ca_file = tmp_path / "test-ca.pem"
    server.ca.cert_pem.write_to_path(str(ca_file))
    driver = DJANGO_DRIVER  # outside the repository
    env = _driver_env(
        repo / "mysite" / "settings.py", token,
        MM_TEST_RECIPIENT="customer@example.org",
        MM_TEST_PROJECT=str(repo),
        MM_TEST_MAILPACE_PORT=str(mailpace_port),
        MM_TEST_SMTP_PORT=str(server.port),
        MM_TEST_CA_PEM=str(ca_file),
    )
    facts: dict[str, Any] = _last_json(run_process([sys.executable, str(driver)], repo, env), server)
    return facts


def _assert_django_sent(
    facts: dict[str, Any], server: SMTPTestServer, token: str, mode: str, port: int, sender: str
) -> None:
    assert facts == {
        "backend": "django.core.mail.backends.smtp.EmailBackend",
        "host": MAILPACE_HOST,
        "port": port,
        "use_tls": mode == "starttls",
        "use_ssl": mode == "implicit",
        "verify_required": True,
        "check_hostname": True,
        "from": sender,
        "sent": 1,
    }
    assert [(login.username, login.tls) for login in server.logins] == [(token, mode)]
    assert server.failed_logins == []
    [message] = server.messages
    assert (message.tls, message.username) == (mode, token)
    assert message.mail_from == sender
    assert message.rcpt_tos == ("customer@example.org",)
    assert b"Subject: Migrated to MailPace" in message.content


DJANGO_MAIL_KEYS = {
    "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "EMAIL_USE_SSL",
}

DJANGO_COMMON = '''\
ALLOWED_HOSTS = ["shop.example.com", "www.shop.example.com"]
CSRF_TRUSTED_ORIGINS = ["https://shop.example.com"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "mysite.urls"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://:cache-Pa55word@redis:6379/1",
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "Europe/London"
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
'''


def _django_project(root: Path, settings: str, env_file: str | None = None) -> Path:
    tracked = {
        ".gitignore": GITIGNORE,
        "manage.py": MANAGE_PY,
        "mysite/__init__.py": "",
        "mysite/settings.py": settings,
        "mysite/urls.py": "urlpatterns: list[object] = []\n",
        "requirements.txt": "Django>=4.2\npython-dotenv>=1.0\ndjango-environ>=0.11\n",
    }
    return make_repo(root, tracked, {".env": env_file} if env_file is not None else None)


MANAGE_PY = '''\
#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
'''


# --- Case 1: literal Gmail settings --------------------------------------------------------------

GMAIL_APP_PASSWORD = "abcd efgh ijkl mnop"

DJANGO_GMAIL_SETTINGS = (
    '''\
"""Django settings for mysite."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "django-insecure-7f#q2w!m0x9t@z4k1v8b$e6n3r5y^u2i"
DEBUG = False

'''
    + DJANGO_COMMON
    + f'''
# Outgoing mail: the shop's Gmail account (app password).
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "smtp.gmail.com"
EMAIL_PORT = 587
EMAIL_USE_TLS = True
EMAIL_HOST_USER = "me@gmail.com"
EMAIL_HOST_PASSWORD = "{GMAIL_APP_PASSWORD}"
DEFAULT_FROM_EMAIL = "shop@example.com"
SERVER_EMAIL = "errors@example.com"
'''
)


def test_django_literal_gmail_settings(tmp_path: Path, smtp_server: Callable[..., SMTPTestServer]) -> None:
    token = str(uuid.uuid4())
    repo = _django_project(tmp_path / "project", DJANGO_GMAIL_SETTINGS)
    settings_file = repo / "mysite" / "settings.py"
    before = _dump_settings(tmp_path, repo, "mysite.settings", clean_env())

    _migrate(repo, token, [GMAIL_APP_PASSWORD])

    text = _assert_references_token(settings_file)
    assert GMAIL_APP_PASSWORD not in text and "me@gmail.com" not in text and "smtp.gmail.com" not in text
    _assert_git_status(repo, ["mysite/settings.py"], [])
    after = _dump_settings(tmp_path, repo, "mysite.settings", _driver_env(settings_file, token))
    _assert_only_mail_settings_changed(before, after, DJANGO_MAIL_KEYS)

    server = smtp_server(mode="starttls", token=token)
    facts = _send_with_django(tmp_path, repo, server, 587, token)
    _assert_django_sent(facts, server, token, "starttls", 587, "shop@example.com")


# --- Case 2: environment lookups with SendGrid defaults, no EMAIL_USE_TLS --------------------------

SENDGRID_KEY = "SG.Zx81kQm3TnG2vYp0aLw7Rw.f4Hs9dKq2mLx0PzT7vBnC3rYe8uWj5aGo1iQ6kNh"

DJANGO_SENDGRID_SETTINGS = (
    '''\
"""Django settings for mysite: configuration comes from the environment (.env in development)."""

import os
from pathlib import Path

from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-dev-only")
DEBUG = os.environ.get("DJANGO_DEBUG", "") == "1"

'''
    + DJANGO_COMMON
    + '''
# Outgoing mail through SendGrid (the password is the API key).
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "smtp.sendgrid.net")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "apikey")
EMAIL_HOST_PASSWORD = os.environ.get("SENDGRID_API_KEY", "")
DEFAULT_FROM_EMAIL = "shop@example.com"
'''
)

SENDGRID_DOTENV = f"""\
# Local secrets -- never commit this file
DJANGO_SECRET_KEY=dev-secret-key-3k2j1h
DJANGO_DEBUG=1
SENDGRID_API_KEY={SENDGRID_KEY}
SENTRY_DSN=https://public@sentry.example.com/1
"""


def test_django_env_lookups_with_sendgrid_defaults(
    tmp_path: Path, smtp_server: Callable[..., SMTPTestServer]
) -> None:
    token = str(uuid.uuid4())
    repo = _django_project(tmp_path / "project", DJANGO_SENDGRID_SETTINGS, SENDGRID_DOTENV)
    settings_file = repo / "mysite" / "settings.py"
    before = _dump_settings(tmp_path, repo, "mysite.settings", clean_env())

    _migrate(repo, token, [SENDGRID_KEY])

    text = settings_file.read_text()
    assert "smtp.sendgrid.net" not in text
    # The secret lives where it lived: the ignored .env now holds the token, the rest of it as it was.
    dotenv = dotenv_values(repo / ".env")
    assert dotenv["SENDGRID_API_KEY"] == token
    env_lines = (repo / ".env").read_text().splitlines()
    for line in SENDGRID_DOTENV.splitlines():
        if not line.startswith("SENDGRID_API_KEY="):
            assert line in env_lines, f"unrelated .env line changed: {line!r}"
    _assert_git_status(repo, ["mysite/settings.py"], [".env"])
    after = _dump_settings(tmp_path, repo, "mysite.settings", _driver_env(settings_file, token))
    _assert_only_mail_settings_changed(before, after, DJANGO_MAIL_KEYS)

    server = smtp_server(mode="starttls", token=token)
    facts = _send_with_django(tmp_path, repo, server, 587, token)
    _assert_django_sent(facts, server, token, "starttls", 587, "shop@example.com")


# --- Case 3: django-environ, implicit TLS on 465 -----------------------------------------------------

MAILGUN_USER = "postmaster@mg.example.com"
MAILGUN_PASSWORD = "4f1c9a7e2b8d3f60a5e1c7b9d2f4a8e6-2b8d3f60-a5e1c7b9"

DJANGO_ENVIRON_SETTINGS = (
    '''\
"""Django settings for mysite (django-environ)."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

SECRET_KEY = env("DJANGO_SECRET_KEY")
DEBUG = env.bool("DJANGO_DEBUG", default=False)

'''
    + DJANGO_COMMON
    + '''
# Outgoing mail through Mailgun, implicit TLS.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = env("EMAIL_HOST", default="smtp.mailgun.org")
EMAIL_PORT = env.int("EMAIL_PORT", default=465)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=True)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@example.com")
'''
)

ENVIRON_DOTENV = f"""\
# Local secrets -- never commit this file
DJANGO_SECRET_KEY=dev-secret-key-9x8c7v
DJANGO_DEBUG=on
EMAIL_HOST_USER={MAILGUN_USER}
EMAIL_HOST_PASSWORD={MAILGUN_PASSWORD}
"""


def test_django_environ_implicit_tls_465(tmp_path: Path, smtp_server: Callable[..., SMTPTestServer]) -> None:
    token = str(uuid.uuid4())
    repo = _django_project(tmp_path / "project", DJANGO_ENVIRON_SETTINGS, ENVIRON_DOTENV)
    settings_file = repo / "mysite" / "settings.py"
    before = _dump_settings(tmp_path, repo, "mysite.settings", clean_env())

    _migrate(repo, token, [MAILGUN_PASSWORD])

    assert "smtp.mailgun.org" not in settings_file.read_text()
    env_text = (repo / ".env").read_text()
    assert MAILGUN_PASSWORD not in env_text
    for line in ENVIRON_DOTENV.splitlines():
        if not line.startswith("EMAIL_"):
            assert line in env_text.splitlines(), f"unrelated .env line changed: {line!r}"
    _assert_git_status(repo, ["mysite/settings.py"], [".env"])
    after = _dump_settings(tmp_path, repo, "mysite.settings", _driver_env(settings_file, token))
    _assert_only_mail_settings_changed(before, after, DJANGO_MAIL_KEYS)

    server = smtp_server(mode="implicit", token=token)
    facts = _send_with_django(tmp_path, repo, server, 465, token)
    _assert_django_sent(facts, server, token, "implicit", 465, "shop@example.com")


# --------------------------------------------------------------------------------------------
# Case 4: Flask config class hierarchy, sent through Flask-Mail
# --------------------------------------------------------------------------------------------

FLASK_MAILGUN_PASSWORD = "key-123"

FLASK_CONFIG = f'''\
"""Configuration classes for the Flask app (selected by APP_SETTINGS)."""

import os


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", "change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL", "sqlite:///app.db")
    SQLALCHEMY_TRACK_MODIFICATIONS = False

    MAIL_SERVER = "smtp.mailgun.org"
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USERNAME = "postmaster@mg.example.com"
    MAIL_PASSWORD = "{FLASK_MAILGUN_PASSWORD}"
    MAIL_DEFAULT_SENDER = "app@example.com"


class DevelopmentConfig(Config):
    DEBUG = True


class TestingConfig(Config):
    TESTING = True
    MAIL_SUPPRESS_SEND = True


class ProductionConfig(Config):
    DEBUG = False
'''

FLASK_DRIVER = '''\
import json
import os
import socket
import sys
from pathlib import Path

sys.path.insert(0, os.environ["MM_TEST_HELPERS"])
sys.path.insert(0, os.environ["MM_TEST_PROJECT"])
socket.setdefaulttimeout(10)  # Flask-Mail passes no timeout to smtplib

from flask import Flask
from flask_mail import Mail, Message
from smtp_server import MAILPACE_HOST, redirect_connections

from config import ProductionConfig

app = Flask("shop")
app.config.from_object(ProductionConfig)
mail = Mail(app)

routes = {
    (MAILPACE_HOST, int(os.environ["MM_TEST_MAILPACE_PORT"])): ("127.0.0.1", int(os.environ["MM_TEST_SMTP_PORT"])),
}
ca_pem = Path(os.environ["MM_TEST_CA_PEM"]).read_text()

with app.app_context(), redirect_connections(routes, ca_pem):
    state = app.extensions["mail"]
    facts = {
        "server": state.server,
        "port": state.port,
        "use_tls": state.use_tls,
        "use_ssl": state.use_ssl,
        "default_sender": state.default_sender,
        "suppress": state.suppress,
    }
    print(json.dumps(facts), file=sys.stderr)  # shown if sending fails
    mail.send(Message("Migrated to MailPace", recipients=["customer@example.org"], body="Sent by Flask-Mail."))
    facts["sent"] = True
print(json.dumps(facts))
'''

FLASK_MAIL_KEYS = {"MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_USE_SSL"}


def test_flask_config_class_with_flask_mail(tmp_path: Path, smtp_server: Callable[..., SMTPTestServer]) -> None:
    token = str(uuid.uuid4())
    repo = make_repo(
        tmp_path / "project",
        {
            ".gitignore": GITIGNORE,
            "config.py": FLASK_CONFIG,
            "requirements.txt": "Flask>=3.0\nFlask-Mail>=0.10\n",
        },
    )
    config_file = repo / "config.py"
    before = _dump_settings(tmp_path, repo, "config", clean_env())

    _migrate(repo, token, [FLASK_MAILGUN_PASSWORD])

    text = _assert_references_token(config_file)
    assert FLASK_MAILGUN_PASSWORD not in text and "smtp.mailgun.org" not in text
    assert text.count("import os") == 1, "import os added although the module already had it"
    _assert_git_status(repo, ["config.py"], [])
    after = _dump_settings(tmp_path, repo, "config", _driver_env(config_file, token))
    # Class attributes: every class sees the same non-mail settings as before.
    assert set(after) == set(before)
    for name, settings in before.items():
        if name.startswith("class "):
            _assert_only_mail_settings_changed(settings, after[name], FLASK_MAIL_KEYS)
        else:
            assert after[name] == settings, name
    production = after["class ProductionConfig"]
    assert production["MAIL_SERVER"] == MAILPACE_HOST
    assert production["MAIL_PORT"] == 587
    assert production["MAIL_USE_TLS"] is True
    assert production.get("MAIL_USE_SSL", False) is False
    assert production["MAIL_USERNAME"] == production["MAIL_PASSWORD"] == token

    server = smtp_server(mode="starttls", token=token)
    ca_file = tmp_path / "test-ca.pem"
    server.ca.cert_pem.write_to_path(str(ca_file))
    driver = tmp_path / "send_with_flask_mail.py"
    driver.write_text(FLASK_DRIVER)
    env = _driver_env(
        config_file, token,
        MM_TEST_PROJECT=str(repo),
        MM_TEST_MAILPACE_PORT="587",
        MM_TEST_SMTP_PORT=str(server.port),
        MM_TEST_CA_PEM=str(ca_file),
    )
    facts = _last_json(run_process([sys.executable, str(driver)], repo, env), server)
    assert facts == {
        "server": MAILPACE_HOST,
        "port": 587,
        "use_tls": True,
        "use_ssl": False,
        "default_sender": "app@example.com",
        "suppress": False,
        "sent": True,
    }
    assert [(login.username, login.tls) for login in server.logins] == [(token, "starttls")]
    assert server.failed_logins == []
    [message] = server.messages
    assert (message.tls, message.username) == ("starttls", token)
    assert message.mail_from == "app@example.com"
    assert message.rcpt_tos == ("customer@example.org",)


# --------------------------------------------------------------------------------------------
# Case 5: NetBox- and Superset-style modules, imported after the migration
# --------------------------------------------------------------------------------------------

NETBOX_SENDGRID_KEY = "SG.nB7xQ2mK9pLw4RtY1vC8sA.h3Jd6fGk0LzX5cVb2nM7qW9eR4tY1uI8oP3aS6dF"
NETBOX_DB_PASSWORD = "J5brHrAXFLQSif0K"
NETBOX_REDIS_PASSWORD = "r3d1s-t4sks-pw"
NETBOX_SECRET_KEY = "0x9$a7!kq2^m4z#v8w1e5r3t6y@u0i9o8p7l6k5j4h3g2f1d"

NETBOX_CONFIGURATION = f"""\
#########################
#                       #
#   Required settings   #
#                       #
#########################

# This is a list of valid fully-qualified domain names (FQDNs) for the NetBox server.
ALLOWED_HOSTS = ['netbox.example.com', 'netbox.internal.example.com']

# PostgreSQL database configuration.
DATABASE = {{
    'ENGINE': 'django.db.backends.postgresql',
    'NAME': 'netbox',
    'USER': 'netbox',
    'PASSWORD': '{NETBOX_DB_PASSWORD}',
    'HOST': 'localhost',
    'PORT': '',
    'CONN_MAX_AGE': 300,
}}

# Redis database settings.
REDIS = {{
    'tasks': {{
        'HOST': 'localhost',
        'PORT': 6379,
        'USERNAME': '',
        'PASSWORD': '{NETBOX_REDIS_PASSWORD}',
        'DATABASE': 0,
        'SSL': False,
    }},
    'caching': {{
        'HOST': 'localhost',
        'PORT': 6379,
        'USERNAME': '',
        'PASSWORD': '{NETBOX_REDIS_PASSWORD}',
        'DATABASE': 1,
        'SSL': False,
    }},
}}

# Used for cryptographic signing. Keep it secret.
SECRET_KEY = '{NETBOX_SECRET_KEY}'


#########################
#                       #
#   Optional settings   #
#                       #
#########################

ADMINS = [
    ('NetBox Admin', 'netbox-admin@example.com'),
]

# Email settings
EMAIL = {{
    'SERVER': 'smtp.sendgrid.net',
    'PORT': 587,
    'USERNAME': 'apikey',
    'PASSWORD': '{NETBOX_SENDGRID_KEY}',
    'USE_SSL': False,
    'TIMEOUT': 10,  # seconds
    'FROM_EMAIL': 'netbox@example.com',
}}

LOGIN_REQUIRED = True
TIME_ZONE = 'UTC'
"""


def test_netbox_configuration(tmp_path: Path) -> None:
    token = str(uuid.uuid4())
    repo = make_repo(
        tmp_path / "netbox",
        {
            ".gitignore": GITIGNORE,
            "netbox/netbox/__init__.py": "",
            "netbox/netbox/configuration.py": NETBOX_CONFIGURATION,
        },
    )
    module_dir = repo / "netbox" / "netbox"
    config_file = module_dir / "configuration.py"
    before = _dump_settings(tmp_path, module_dir, "configuration", clean_env())

    _migrate(repo, token, [NETBOX_SENDGRID_KEY, NETBOX_DB_PASSWORD, NETBOX_REDIS_PASSWORD, NETBOX_SECRET_KEY])

    text = _assert_references_token(config_file)
    assert NETBOX_SENDGRID_KEY not in text and "smtp.sendgrid.net" not in text
    _assert_git_status(repo, ["netbox/netbox/configuration.py"], [])
    after = _dump_settings(tmp_path, module_dir, "configuration", _driver_env(config_file, token))

    _assert_only_mail_settings_changed(before, after, {"EMAIL"})
    email = after["EMAIL"]
    assert email["SERVER"] == MAILPACE_HOST
    assert email["PORT"] == 587
    # NetBox's settings.py reads EMAIL.get('USE_TLS', False): MailPace on 587 needs STARTTLS.
    assert email.get("USE_TLS", False) is True
    assert email.get("USE_SSL", False) is False
    assert email["USERNAME"] == email["PASSWORD"] == token
    _assert_only_mail_settings_changed(
        before["EMAIL"], email, {"SERVER", "PORT", "USERNAME", "PASSWORD", "USE_SSL", "USE_TLS"}
    )
    assert (email["TIMEOUT"], email["FROM_EMAIL"]) == (10, "netbox@example.com")
    assert after["DATABASE"]["PASSWORD"] == NETBOX_DB_PASSWORD
    assert after["REDIS"]["tasks"]["PASSWORD"] == after["REDIS"]["caching"]["PASSWORD"] == NETBOX_REDIS_PASSWORD
    assert after["SECRET_KEY"] == NETBOX_SECRET_KEY


SUPERSET_SENDGRID_KEY = "SG.sU9pE2rS3eT4kL5mN6oP7q.w1E2r3T4y5U6i7O8p9A0s1D2f3G4h5J6k7L8z9X0"
SUPERSET_DB_URI = "postgresql+psycopg2://superset:pg-Pa55-superset@db:5432/superset"
SUPERSET_SECRET_KEY = "thisISaSECRET_1234-superset-prod-key"

SUPERSET_CONFIG = f'''\
"""Superset configuration for analytics.example.com (mounted as superset_config.py)."""

import os
from datetime import timedelta

ROW_LIMIT = 5000
SUPERSET_WEBSERVER_PORT = 8088
SECRET_KEY = os.environ.get("SUPERSET_SECRET_KEY", "{SUPERSET_SECRET_KEY}")
SQLALCHEMY_DATABASE_URI = "{SUPERSET_DB_URI}"
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = 60 * 60 * 24 * 365
PERMANENT_SESSION_LIFETIME = timedelta(days=1)

FEATURE_FLAGS = {{"ALERT_REPORTS": True, "DASHBOARD_RBAC": True}}
ALERT_REPORTS_NOTIFICATION_DRY_RUN = False
WEBDRIVER_BASEURL = "http://superset:8088/"
WEBDRIVER_BASEURL_USER_FRIENDLY = "https://analytics.example.com/"
EMAIL_REPORTS_SUBJECT_PREFIX = "[Superset] "

# Email configuration
SMTP_HOST = "smtp.sendgrid.net"
SMTP_STARTTLS = True
SMTP_SSL = False
SMTP_USER = "apikey"
SMTP_PORT = 25
SMTP_PASSWORD = "{SUPERSET_SENDGRID_KEY}"
SMTP_MAIL_FROM = "superset@example.com"
EMAIL_NOTIFICATIONS = True
'''


def test_superset_config(tmp_path: Path) -> None:
    token = str(uuid.uuid4())
    repo = make_repo(
        tmp_path / "superset",
        {
            ".gitignore": GITIGNORE,
            "docker/pythonpath_dev/superset_config.py": SUPERSET_CONFIG,
        },
    )
    module_dir = repo / "docker" / "pythonpath_dev"
    config_file = module_dir / "superset_config.py"
    before = _dump_settings(tmp_path, module_dir, "superset_config", clean_env())

    _migrate(repo, token, [SUPERSET_SENDGRID_KEY, SUPERSET_SECRET_KEY, "pg-Pa55-superset"])

    text = _assert_references_token(config_file)
    assert SUPERSET_SENDGRID_KEY not in text and "smtp.sendgrid.net" not in text
    assert text.count("import os") == 1, "import os added although the module already had it"
    _assert_git_status(repo, ["docker/pythonpath_dev/superset_config.py"], [])
    after = _dump_settings(tmp_path, module_dir, "superset_config", _driver_env(config_file, token))

    smtp_keys = {"SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_STARTTLS", "SMTP_SSL"}
    _assert_only_mail_settings_changed(before, after, smtp_keys)
    assert after["SMTP_HOST"] == MAILPACE_HOST
    assert after["SMTP_PORT"] == 25  # STARTTLS stays on its port when MailPace serves it (25/587/2525)
    assert after["SMTP_STARTTLS"] is True
    assert after["SMTP_SSL"] is False
    assert after["SMTP_USER"] == after["SMTP_PASSWORD"] == token
    assert after["SQLALCHEMY_DATABASE_URI"] == SUPERSET_DB_URI
    assert after["SECRET_KEY"] == SUPERSET_SECRET_KEY
    assert (after["SMTP_MAIL_FROM"], after["EMAIL_NOTIFICATIONS"]) == ("superset@example.com", True)
