"""Python settings, shape by shape: no-op cases first, then fixes; each fix re-parses (ast and
libcst) and a second run changes nothing. Settings modules are tracked files: credentials
become os.environ["MAILPACE_API_TOKEN"], never the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import assert_migrates, assert_noop

REF = 'os.environ["MAILPACE_API_TOKEN"]'
TRACKED = {"secrets_file": False, "name": "settings.py"}

NOOP = [
    pytest.param('EMAIL_HOST = "localhost"\nEMAIL_PORT = 1025\n', id="django-localhost"),
    pytest.param(
        f'import os\nEMAIL_HOST = "smtp.mailpace.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_HOST_USER = {REF}\nEMAIL_HOST_PASSWORD = {REF}\n',
        id="already-mailpace",
    ),
    pytest.param("from django.conf import settings\n\ndef send():\n    return settings.EMAIL_HOST, settings.EMAIL_PORT\n", id="settings-only-read"),
    pytest.param('# EMAIL_HOST = "smtp.gmail.com"\nHELP = "set EMAIL_HOST to smtp.gmail.com"\n', id="comment-and-string"),
    pytest.param('SMTP_HOST = "smtp.gmail.com"\nSMTP_PORT = 587\n', id="smtp-constants-without-superset-keys"),
    pytest.param('import os\nEMAIL_HOST = os.environ.get("EMAIL_HOST", "mailpit")\nEMAIL_PORT = 1025\n', id="env-default-is-a-catcher"),
    pytest.param("EMAIL_HOST = get_smtp_host()\nEMAIL_PORT = 587\n", id="computed-host-is-reported-not-guessed"),
    pytest.param('EMAIL_HOST = "smtp.gmail.com"  # mailmigrate: ignore[MM101]\nEMAIL_PORT = 587\n', id="suppressed"),
    pytest.param("def broken(:\n    EMAIL_HOST = 'smtp.gmail.com'\n", id="syntax-error-is-a-finding"),
    pytest.param('EMAIL_HOST = "{{ cookiecutter.email_host }}"\nEMAIL_PORT = {{ cookiecutter.port }}\n', id="cookiecutter-template"),
]


@pytest.mark.parametrize("before", NOOP)
def test_noop(tmp_path: Path, before: str) -> None:
    assert_noop(tmp_path, before, **TRACKED)


def test_reports_for_noop_cases(tmp_path: Path) -> None:
    result = assert_noop(tmp_path, 'EMAIL_HOST = get_smtp_host()\nEMAIL_PORT = 587\nEMAIL_HOST_USER = "apikey"\nEMAIL_HOST_PASSWORD = "SG.x"\n', **TRACKED)
    assert {f.code for f in result.findings} == {"MM115", "MM108", "MM201"}
    assert any("get_smtp_host()" in f.message for f in result.findings)
    assert not any(f.fixable for f in result.findings)
    result = assert_noop(tmp_path, "def broken(:\n    EMAIL_HOST = 1\n", **TRACKED)
    assert [f.code for f in result.findings] == ["MM003"]
    result = assert_noop(tmp_path, 'EMAIL_HOST = "{{ cookiecutter.email_host }}"\nEMAIL_PORT = {{ cookiecutter.port }}\n', **TRACKED)
    assert [f.code for f in result.findings] == ["MM113"]


FIXES = [
    pytest.param(
        (
            '"""Shop settings."""\n'
            'from pathlib import Path\n'
            '\n'
            'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\n'
            'EMAIL_HOST = "smtp.gmail.com"\n'
            'EMAIL_PORT = 587\n'
            'EMAIL_USE_TLS = True\n'
            'EMAIL_HOST_USER = "me@gmail.com"\n'
            "EMAIL_HOST_PASSWORD = 'abcd efgh ijkl mnop'  # app password\n"
            'DEFAULT_FROM_EMAIL = "shop@example.com"\n'
        ),
        (
            '"""Shop settings."""\n'
            'import os\n'
            'from pathlib import Path\n'
            '\n'
            'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\n'
            'EMAIL_HOST = "smtp.mailpace.com"\n'
            'EMAIL_PORT = 587\n'
            'EMAIL_USE_TLS = True\n'
            'EMAIL_HOST_USER = os.environ["MAILPACE_API_TOKEN"]\n'
            'EMAIL_HOST_PASSWORD = os.environ["MAILPACE_API_TOKEN"]  # app password\n'
            'DEFAULT_FROM_EMAIL = "shop@example.com"\n'
        ),
        id='django-literal-gmail',
    ),
    pytest.param(
        (
            '"""Settings."""\n'
            'from __future__ import annotations\n'
            '\n'
            'from typing import Final\n'
            '\n'
            'EMAIL_HOST: Final[str] = "smtp.sendgrid.net"\n'
            'EMAIL_PORT: Final = 2525\n'
            'EMAIL_USE_TLS: Final = True\n'
        ),
        (
            '"""Settings."""\n'
            'from __future__ import annotations\n'
            '\n'
            'import os\n'
            'from typing import Final\n'
            '\n'
            'EMAIL_HOST: Final[str] = "smtp.mailpace.com"\n'
            'EMAIL_PORT: Final = 2525\n'
            'EMAIL_USE_TLS: Final = True\n'
            'EMAIL_HOST_USER = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            'EMAIL_HOST_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
        ),
        id='annotated-assignments',
    ),
    pytest.param(
        (
            'import os\n'
            '\n'
            'EMAIL_HOST = os.environ.get("EMAIL_HOST", "smtp.sendgrid.net")\n'
            'EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))\n'
            'EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "apikey")\n'
            'EMAIL_HOST_PASSWORD = os.getenv("SENDGRID_API_KEY")\n'
        ),
        (
            'import os\n'
            '\n'
            'EMAIL_HOST = os.environ.get("EMAIL_HOST", "smtp.mailpace.com")\n'
            'EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))\n'
            'EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", os.environ.get("MAILPACE_API_TOKEN", ""))\n'
            'EMAIL_HOST_PASSWORD = os.getenv("SENDGRID_API_KEY")\n'
            'EMAIL_USE_TLS = True\n'
        ),
        id='env-lookups-with-sendgrid-defaults-and-no-tls',
    ),
    pytest.param(
        (
            'import environ\n'
            '\n'
            'env = environ.Env()\n'
            'EMAIL_HOST = env("EMAIL_HOST", default="smtp.mailgun.org")\n'
            'EMAIL_PORT = env.int("EMAIL_PORT", default=465)\n'
            'EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=True)\n'
            'EMAIL_HOST_USER = env("EMAIL_HOST_USER")\n'
            'EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")\n'
        ),
        (
            'import environ\n'
            '\n'
            'env = environ.Env()\n'
            'EMAIL_HOST = env("EMAIL_HOST", default="smtp.mailpace.com")\n'
            'EMAIL_PORT = env.int("EMAIL_PORT", default=465)\n'
            'EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=True)\n'
            'EMAIL_HOST_USER = env("EMAIL_HOST_USER")\n'
            'EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")\n'
        ),
        id='django-environ-465',
    ),
    pytest.param(
        (
            'from decouple import config\n'
            '\n'
            'EMAIL_HOST = config("EMAIL_HOST", default="smtp.office365.com")\n'
            'EMAIL_PORT = config("EMAIL_PORT", default=587, cast=int)\n'
            'EMAIL_USE_TLS = config("EMAIL_USE_TLS", default=False, cast=bool)\n'
        ),
        (
            'import os\n'
            'from decouple import config\n'
            '\n'
            'EMAIL_HOST = config("EMAIL_HOST", default="smtp.mailpace.com")\n'
            'EMAIL_PORT = config("EMAIL_PORT", default=587, cast=int)\n'
            'EMAIL_USE_TLS = config("EMAIL_USE_TLS", default=True, cast=bool)\n'
            'EMAIL_HOST_USER = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            'EMAIL_HOST_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
        ),
        id='python-decouple',
    ),
    pytest.param(
        (
            'import os\n'
            'EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "false").lower() in ("true", "1")\n'
            'EMAIL_HOST = "smtp.gmail.com"\n'
            'EMAIL_PORT = 587\n'
        ),
        (
            'import os\n'
            'EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "true").lower() in ("true", "1")\n'
            'EMAIL_HOST = "smtp.mailpace.com"\n'
            'EMAIL_PORT = 587\n'
            'EMAIL_HOST_USER = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            'EMAIL_HOST_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
        ),
        id='boolean-through-lower-in',
    ),
    pytest.param(
        (
            'SMTP_RELAY = "smtp.gmail.com"\n'
            'RELAY_PORT = 465\n'
            '\n'
            'EMAIL_HOST = SMTP_RELAY\n'
            'EMAIL_PORT = RELAY_PORT\n'
            'EMAIL_USE_SSL = True\n'
        ),
        (
            'import os\n'
            '\n'
            'SMTP_RELAY = "smtp.mailpace.com"\n'
            'RELAY_PORT = 465\n'
            '\n'
            'EMAIL_HOST = SMTP_RELAY\n'
            'EMAIL_PORT = RELAY_PORT\n'
            'EMAIL_USE_SSL = True\n'
            'EMAIL_HOST_USER = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            'EMAIL_HOST_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
        ),
        id='module-constants-edited-where-defined',
    ),
    pytest.param(
        (
            'EMAIL_HOST = "smtp.mailgun.org"\n'
            'EMAIL_PORT = 587\n'
            'EMAIL_USE_TLS = True\n'
            'EMAIL_USE_SSL = True\n'
        ),
        (
            'import os\n'
            '\n'
            'EMAIL_HOST = "smtp.mailpace.com"\n'
            'EMAIL_PORT = 587\n'
            'EMAIL_USE_TLS = True\n'
            'EMAIL_USE_SSL = False\n'
            'EMAIL_HOST_USER = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            'EMAIL_HOST_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
        ),
        id='both-flags',
    ),
    pytest.param(
        (
            'EMAIL_HOST = "smtp.sendgrid.net"\r\n'
            'EMAIL_PORT = 25\r\n'
        ),
        (
            'import os\r\n'
            '\r\n'
            'EMAIL_HOST = "smtp.mailpace.com"\r\n'
            'EMAIL_PORT = 25\r\n'
            'EMAIL_USE_TLS = True\r\n'
            'EMAIL_HOST_USER = os.environ.get("MAILPACE_API_TOKEN", "")\r\n'
            'EMAIL_HOST_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\r\n'
        ),
        id='crlf-and-adds-use-tls',
    ),
    pytest.param(
        (
            'class Config:\n'
            "    MAIL_SERVER = 'smtp.mailgun.org'\n"
            '    MAIL_PORT = 587\n'
            '    MAIL_USE_TLS = True\n'
            '\n'
            '\n'
            'class ProductionConfig(Config):\n'
            '    DEBUG = False\n'
            '\n'
            '\n'
            'class DevelopmentConfig(Config):\n'
            "    MAIL_SERVER = 'localhost'\n"
            '    MAIL_PORT = 1025\n'
        ),
        (
            'import os\n'
            '\n'
            'class Config:\n'
            "    MAIL_SERVER = 'smtp.mailpace.com'\n"
            '    MAIL_PORT = 587\n'
            '    MAIL_USE_TLS = True\n'
            '    MAIL_USERNAME = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            '    MAIL_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            '\n'
            '\n'
            'class ProductionConfig(Config):\n'
            '    DEBUG = False\n'
            '\n'
            '\n'
            'class DevelopmentConfig(Config):\n'
            "    MAIL_SERVER = 'localhost'\n"
            '    MAIL_PORT = 1025\n'
        ),
        id='flask-config-classes',
    ),
    pytest.param(
        (
            'class Config:\n'
            "    MAIL_SERVER = 'smtp.googlemail.com'\n"
            '    MAIL_PORT = 587\n'
            "    SECRET_KEY = 'x'\n"
        ),
        (
            'import os\n'
            '\n'
            'class Config:\n'
            "    MAIL_SERVER = 'smtp.mailpace.com'\n"
            '    MAIL_PORT = 587\n'
            '    MAIL_USE_TLS = True\n'
            '    MAIL_USERNAME = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            '    MAIL_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            "    SECRET_KEY = 'x'\n"
        ),
        id='flask-class-gets-use-tls-in-its-body',
    ),
    pytest.param(
        (
            'app.config["MAIL_SERVER"] = "smtp.gmail.com"\n'
            'app.config["MAIL_PORT"] = 465\n'
            'app.config["MAIL_USE_SSL"] = True\n'
        ),
        (
            'app.config["MAIL_SERVER"] = "smtp.mailpace.com"\n'
            'app.config["MAIL_PORT"] = 465\n'
            'app.config["MAIL_USE_SSL"] = True\n'
        ),
        id='app-config-subscripts',
    ),
    pytest.param(
        (
            'app.config.update(\n'
            '    MAIL_SERVER="smtp.sendgrid.net",\n'
            '    MAIL_PORT=587,\n'
            ')\n'
        ),
        (
            'app.config.update(\n'
            '    MAIL_SERVER="smtp.mailpace.com",\n'
            '    MAIL_PORT=587,\n'
            '    MAIL_USE_TLS=True,\n'
            ')\n'
        ),
        id='app-config-update-keywords',
    ),
    pytest.param(
        (
            "app.config.update({'MAIL_SERVER': 'smtp.sendgrid.net', 'MAIL_PORT': 587})\n"
        ),
        (
            "app.config.update({'MAIL_SERVER': 'smtp.mailpace.com', 'MAIL_PORT': 587, 'MAIL_USE_TLS': True})\n"
        ),
        id='app-config-update-dict',
    ),
    pytest.param(
        (
            "app.config.from_mapping(dict(MAIL_SERVER='smtp.sendgrid.net', MAIL_PORT=2525, MAIL_USE_TLS=True))\n"
        ),
        (
            "app.config.from_mapping(dict(MAIL_SERVER='smtp.mailpace.com', MAIL_PORT=2525, MAIL_USE_TLS=True))\n"
        ),
        id='from-mapping-dict-call',
    ),
    pytest.param(
        (
            'EMAIL = {\n'
            "    'SERVER': 'smtp.sendgrid.net',\n"
            "    'PORT': 587,\n"
            "    'USE_SSL': False,\n"
            "    'TIMEOUT': 10,\n"
            "    'FROM_EMAIL': 'netbox@example.com',\n"
            '}\n'
        ),
        (
            'import os\n'
            '\n'
            'EMAIL = {\n'
            "    'SERVER': 'smtp.mailpace.com',\n"
            "    'PORT': 587,\n"
            "    'USE_SSL': False,\n"
            "    'TIMEOUT': 10,\n"
            "    'FROM_EMAIL': 'netbox@example.com',\n"
            "    'USE_TLS': True,\n"
            '    \'USERNAME\': os.environ.get("MAILPACE_API_TOKEN", ""),\n'
            '    \'PASSWORD\': os.environ.get("MAILPACE_API_TOKEN", ""),\n'
            '}\n'
        ),
        id='netbox-email-dict',
    ),
    pytest.param(
        (
            'MAILERS = {\n'
            '    "default": {\n'
            '        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",\n'
            '        "OPTIONS": {"host": "smtp.gmail.com", "port": 465, "use_ssl": True},\n'
            '    },\n'
            '}\n'
        ),
        (
            'import os\n'
            '\n'
            'MAILERS = {\n'
            '    "default": {\n'
            '        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",\n'
            '        "OPTIONS": {"host": "smtp.mailpace.com", "port": 465, "use_ssl": True, "username": os.environ.get("MAILPACE_API_TOKEN", ""), "password": os.environ.get("MAILPACE_API_TOKEN", "")},\n'
            '    },\n'
            '}\n'
        ),
        id='django-6.1-mailers',
    ),
    pytest.param(
        (
            'from django.core.mail import get_connection\n'
            '\n'
            'connection = get_connection(host="smtp.sendgrid.net", port=587, use_tls=True)\n'
        ),
        (
            'from django.core.mail import get_connection\n'
            '\n'
            'connection = get_connection(host="smtp.mailpace.com", port=587, use_tls=True)\n'
        ),
        id='get-connection-keywords',
    ),
    pytest.param(
        (
            'SMTP_HOST = "smtp.sendgrid.net"\n'
            'SMTP_STARTTLS = True\n'
            'SMTP_SSL = False\n'
            'SMTP_PORT = 25\n'
            'SMTP_MAIL_FROM = "superset@example.com"\n'
        ),
        (
            'import os\n'
            '\n'
            'SMTP_HOST = "smtp.mailpace.com"\n'
            'SMTP_STARTTLS = True\n'
            'SMTP_SSL = False\n'
            'SMTP_PORT = 25\n'
            'SMTP_USER = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            'SMTP_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
            'SMTP_MAIL_FROM = "superset@example.com"\n'
        ),
        id='superset',
    ),
    pytest.param(
        (
            'import environ\n'
            'env = environ.Env()\n'
            'EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp+tls://apikey:SG.k@smtp.sendgrid.net:587")\n'
            'vars().update(EMAIL_CONFIG)\n'
        ),
        (
            'import environ\n'
            'env = environ.Env()\n'
            'EMAIL_CONFIG = env.email_url("EMAIL_URL", default="smtp+tls://smtp.mailpace.com:587")\n'
            'vars().update(EMAIL_CONFIG)\n'
        ),
        id='email-url-default',
    ),
]


@pytest.mark.parametrize(("before", "after"), FIXES)
def test_fixes(tmp_path: Path, before: str, after: str) -> None:
    assert_migrates(tmp_path, before, after, **TRACKED)


def test_secrets_file_rule_does_not_apply_to_python(tmp_path: Path) -> None:
    """An ignored local_settings.py is still code: it refers to the token, never holds it."""
    before = 'EMAIL_HOST = "smtp.gmail.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_HOST_USER = "me"\nEMAIL_HOST_PASSWORD = "pw"\n'
    after = f'import os\n\nEMAIL_HOST = "smtp.mailpace.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_HOST_USER = {REF}\nEMAIL_HOST_PASSWORD = {REF}\n'
    assert_migrates(tmp_path, before, after, name="local_settings.py", secrets_file=True)


def test_reports_from_address_and_misspelling(tmp_path: Path) -> None:
    before = (
        f'import os\nMAIL_SERVER = "smtp.gmail.com"\nMAIL_PORT = 587\nMAIL_USE_TLS = True\nMAIL_USERNAME = {REF}\n'
        f'MAIL_PASSWORD = {REF}\nMAIL_DEFAULT_SENDER = "no-reply@" + MAIL_SERVER\nEMAIL_USE_TSL = True\n'
    )
    result = assert_migrates(tmp_path, before, before.replace("smtp.gmail.com", "smtp.mailpace.com"), **TRACKED)
    codes = {f.code: f for f in result.findings}
    assert "MAIL_SERVER" in codes["MM202"].message and not codes["MM202"].fixable
    assert "EMAIL_USE_TLS" in codes["MM114"].message


def test_split_settings_read_the_base_module(tmp_path: Path) -> None:
    """`from .base import *`: a TLS flag set in base.py counts for production.py."""
    from helpers import TOKEN, rules
    from mailmigrate.engine import RunOptions, analyse_files
    from mailmigrate.model import FileInfo

    package = tmp_path / "mysite" / "settings"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    base = 'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_USE_SSL = False\n'
    production = 'from .base import *  # noqa\n\nEMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_HOST_USER = "apikey"\n'
    (package / "base.py").write_text(base)
    (package / "production.py").write_text(production)
    files = [FileInfo(package / n, n, "python", tracked=True, ignored=False, in_git=True) for n in ("base.py", "production.py")]
    result = analyse_files(files, rules(), RunOptions(token=TOKEN))
    assert not result.blocked
    new = {o.file.path.name: o.new_text for o in result.files if o.changed}
    assert set(new) == {"production.py"}, "base.py already says STARTTLS on 587"
    assert new["production.py"] == (
        'import os\nfrom .base import *  # noqa\n\nEMAIL_HOST = "smtp.mailpace.com"\n'
        f'EMAIL_HOST_USER = {REF}\nEMAIL_HOST_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")\n'
    )

    # A flag in base.py that contradicts the move is overridden in production.py: other
    # modules import base.py too.
    (package / "base.py").write_text(base.replace("EMAIL_USE_SSL = False", "EMAIL_USE_SSL = True"))
    result = analyse_files(files, rules(), RunOptions(token=TOKEN, forced_port=587))
    new = {o.file.path.name: o.new_text for o in result.files if o.changed}
    assert "base.py" not in new
    assert "EMAIL_USE_SSL = False" in new["production.py"]


# Regressions from the adversarial review: each input once, the essential expectation.
REVIEW = [
    pytest.param(
        'import os\nDEBUG = False\nif not DEBUG:\n    EMAIL_HOST = "smtp.sendgrid.net"\n    EMAIL_PORT = 587\n    EMAIL_USE_TLS = True\n'
        f'    EMAIL_HOST_USER = {REF}\n    EMAIL_HOST_PASSWORD = {REF}\nelse:\n    EMAIL_HOST = "mailpit"\n    EMAIL_PORT = 1025\n',
        ['    EMAIL_HOST = "smtp.mailpace.com"\n', '    EMAIL_HOST = "mailpit"\n'],
        id="if-else-branches-are-separate-configurations",
    ),
    pytest.param(
        'import os\nEMAIL_HOST = "smtp.gmail.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "false") == "True"\n'
        f'EMAIL_HOST_USER = {REF}\nEMAIL_HOST_PASSWORD = {REF}\n',
        ['EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "True") == "True"\n'],
        id="comparison-decides-the-spelling",
    ),
    pytest.param(
        'EMAIL_HOST = "smtp.postmarkapp.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_HOST_USER = EMAIL_HOST_PASSWORD = "pm-chained"\n',
        [f'EMAIL_HOST_USER = EMAIL_HOST_PASSWORD = {REF}\n'],
        id="chained-assignment",
    ),
    pytest.param(
        'EMAIL_HOST = "smtp.gmail.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_HOST_USER = "me@gmail.com"\n'
        "EMAIL_HOST_PASSWORD = 'it\\'s-escaped'\n",
        [f"EMAIL_HOST_PASSWORD = {REF}\n"],
        id="escaped-password-replaced-whole",
    ),
    pytest.param(
        "class Config:\n    MAIL_SERVER = 'smtp.gmail.com'\n    MAIL_PORT = 587\n    MAIL_USE_TLS = True\n\n\n"
        "class ProductionConfig(Config):\n    MAIL_SERVER = 'smtp.mailgun.org'\n    MAIL_PORT = 465\n    MAIL_USE_SSL = True\n",
        ["    MAIL_USE_TLS = True\n", "    MAIL_USE_SSL = True\n    MAIL_USE_TLS = False\n"],
        id="subclass-overrides-instead-of-editing-the-base",
    ),
]


@pytest.mark.parametrize(("before", "lines"), REVIEW)
def test_review_regressions(tmp_path: Path, before: str, lines: list[str]) -> None:
    from helpers import run_file

    new, _ = run_file(tmp_path, before, **TRACKED)
    assert_migrates(tmp_path, before, new, **TRACKED)  # re-parses, second run is a no-op
    for line in lines:
        assert line in new, (line, new)


@pytest.mark.parametrize(
    "before",
    [
        pytest.param('EMAIL_HOST = ("smtp." "sendgrid.net")\nEMAIL_PORT = 587\nEMAIL_HOST_USER = "apikey"\nEMAIL_HOST_PASSWORD = "SG.x"\n', id="concatenated-host"),
        pytest.param('EMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_PORT = get_int("EMAIL_PORT", 587)\nEMAIL_HOST_PASSWORD = "SG.x"\n', id="computed-port"),
    ],
)
def test_host_or_port_that_cannot_be_written_changes_nothing(tmp_path: Path, before: str) -> None:
    """The token must never go to the old provider's server."""
    result = assert_noop(tmp_path, before, **TRACKED)
    assert any(f.code == "MM101" and not f.fixable for f in result.findings) or any(f.code == "MM115" for f in result.findings)


@pytest.mark.parametrize(
    "before",
    [
        pytest.param('EMAIL_HOST = "{{ smtp_host | default(\'smtp.gmail.com\') }}"\nEMAIL_HOST_PASSWORD = "{{ vault_pw }}"\n', id="jinja-that-parses"),
        pytest.param(
            "from django.conf import settings\nfrom django.core.mail import get_connection\n\n"
            "c = get_connection(host=settings.EMAIL_HOST, port=settings.EMAIL_PORT)\n",
            id="get-connection-reading-settings",
        ),
    ],
)
def test_more_noops(tmp_path: Path, before: str) -> None:
    assert_noop(tmp_path, before, **TRACKED)


def test_from_address_in_a_config_class(tmp_path: Path) -> None:
    before = (
        f"import os\nclass Config:\n    MAIL_SERVER = 'smtp.mailpace.com'\n    MAIL_PORT = 587\n    MAIL_USE_TLS = True\n"
        f"    MAIL_USERNAME = {REF}\n    MAIL_PASSWORD = {REF}\n    MAIL_DEFAULT_SENDER = MAIL_USERNAME\n"
    )
    result = assert_noop(tmp_path, before, **TRACKED)
    assert [f.code for f in result.findings] == ["MM202"]


def test_single_file_check_reads_the_star_imported_base(tmp_path: Path) -> None:
    """pre-commit passes production.py alone: base.py's STARTTLS still counts."""
    from helpers import TOKEN, rules
    from mailmigrate.engine import RunOptions, analyse_files
    from mailmigrate.model import FileInfo

    package = tmp_path / "settings"
    package.mkdir()
    (package / "base.py").write_text("EMAIL_PORT = 587\nEMAIL_USE_TLS = True\n")
    (package / "production.py").write_text(
        f'import os\nfrom .base import *\n\nEMAIL_HOST = "smtp.mailpace.com"\nEMAIL_HOST_USER = {REF}\nEMAIL_HOST_PASSWORD = {REF}\n'
    )
    info = FileInfo(package / "production.py", "production.py", "python", tracked=True, ignored=False, in_git=True)
    result = analyse_files([info], rules(), RunOptions(token=TOKEN))
    assert not result.findings and not result.changed_files


def test_credentials_on_top_of_a_star_imported_host(tmp_path: Path) -> None:
    from helpers import TOKEN, rules
    from mailmigrate.engine import RunOptions, analyse_files
    from mailmigrate.model import FileInfo

    package = tmp_path / "settings"
    package.mkdir()
    (package / "base.py").write_text('EMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n')
    (package / "production.py").write_text('from .base import *\n\nEMAIL_HOST_USER = "apikey"\nEMAIL_HOST_PASSWORD = "SG.prod-only"\n')
    files = [FileInfo(package / n, n, "python", tracked=True, ignored=False, in_git=True) for n in ("base.py", "production.py")]
    result = analyse_files(files, rules(), RunOptions(token=TOKEN))
    new = {o.file.path.name: o.new_text for o in result.files if o.changed}
    assert 'EMAIL_HOST = "smtp.mailpace.com"' in new["base.py"]
    assert f"EMAIL_HOST_PASSWORD = {REF}" in new["production.py"] and "SG.prod-only" not in new["production.py"]
    assert any(f.code == "MM201" and f.path == "production.py" for f in result.findings)



@pytest.mark.parametrize(
    "flag",
    [
        'EMAIL_USE_SSL = bool(int(os.environ.get("EMAIL_USE_SSL", "1")) % 2)',
        'EMAIL_USE_SSL = os.getenv("EMAIL_USE_SSL", "yes").lower() not in ("no", "off")',
    ],
)
def test_flag_that_cannot_be_read_blocks_the_configuration(tmp_path: Path, flag: str) -> None:
    before = f'import os\nEMAIL_HOST = "smtp.gmail.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n{flag}\n'
    result = assert_noop(tmp_path, before, **TRACKED)
    assert any(f.code == "MM115" and "EMAIL_USE_SSL" in f.message for f in result.findings)


def test_class_chain_inherits_from_every_ancestor(tmp_path: Path) -> None:
    before = (
        "class Config:\n    MAIL_SERVER = 'localhost'\n    MAIL_PORT = 25\n    MAIL_USE_TLS = False\n\n\n"
        "class ProductionConfig(Config):\n    MAIL_SERVER = 'smtp.mailgun.org'\n\n\n"
        "class StagingConfig(ProductionConfig):\n    MAIL_PORT = 2526\n"
    )
    from helpers import run_file

    new, result = run_file(tmp_path, before, **TRACKED)
    assert_migrates(tmp_path, before, new, **TRACKED)
    assert "    MAIL_SERVER = 'localhost'\n" in new, "the base (a local server) is not edited"
    staging = new[new.index("class StagingConfig"):]
    assert "MAIL_PORT = 587" in staging and "MAIL_USE_TLS = True" in staging


def test_crlf_python_without_final_newline(tmp_path: Path) -> None:
    before = 'EMAIL_HOST = "smtp.gmail.com"\r\nEMAIL_PORT = 587\r\nEMAIL_USE_TLS = True'
    from helpers import run_file

    new, _ = run_file(tmp_path, before, **TRACKED)
    assert new.endswith(
        'EMAIL_USE_TLS = True\r\nEMAIL_HOST_USER = os.environ.get("MAILPACE_API_TOKEN", "")\r\n'
        'EMAIL_HOST_PASSWORD = os.environ.get("MAILPACE_API_TOKEN", "")'  # and still no final newline
    )


def test_settings_module_gets_credentials_even_if_an_env_file_names_them(tmp_path: Path) -> None:
    """The module does not read the environment: an .env defining EMAIL_HOST_USER is not its."""
    from helpers import TOKEN, rules
    from mailmigrate.engine import RunOptions, analyse_files
    from mailmigrate.model import FileInfo

    (tmp_path / "settings.py").write_text('EMAIL_HOST = "smtp.gmail.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n')
    (tmp_path / ".env").write_text("EMAIL_HOST_USER=a\nEMAIL_HOST_PASSWORD=b\n")
    files = [
        FileInfo(tmp_path / "settings.py", "settings.py", "python", tracked=True, ignored=False, in_git=True),
        FileInfo(tmp_path / ".env", ".env", "env", tracked=False, ignored=True, in_git=True),
    ]
    result = analyse_files(files, rules(), RunOptions(token=TOKEN))
    new = {o.file.path.name: o.new_text for o in result.files if o.changed}
    assert 'EMAIL_HOST_USER = os.environ.get("MAILPACE_API_TOKEN", "")' in new["settings.py"]


def test_a_star_imported_base_gets_no_credentials_dev_would_inherit(tmp_path: Path) -> None:
    from helpers import TOKEN, rules
    from mailmigrate.engine import RunOptions, analyse_files
    from mailmigrate.model import FileInfo

    package = tmp_path / "settings"
    package.mkdir()
    (package / "base.py").write_text('EMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n')
    (package / "production.py").write_text("from .base import *\n\nDEBUG = False\n")
    (package / "dev.py").write_text('from .base import *\n\nEMAIL_HOST = "localhost"\nEMAIL_PORT = 1025\nEMAIL_USE_TLS = False\n')
    files = [FileInfo(package / n, n, "python", tracked=True, ignored=False, in_git=True) for n in ("base.py", "production.py", "dev.py")]
    result = analyse_files(files, rules(), RunOptions(token=TOKEN))
    new = {o.file.path.name: o.new_text for o in result.files if o.changed}
    assert "MAILPACE_API_TOKEN" not in new.get("base.py", ""), "dev.py would log in to its catcher with the token"
    assert "dev.py" not in new
    assert any("EMAIL_HOST_USER" in text for text in result.followups)


def test_template_placeholder_beside_real_env_file(tmp_path: Path) -> None:
    """settings.py reads EMAIL_HOST; .env.example says localhost, the ignored .env Mailgun:
    the .env is migrated, the template left alone, and the run is stable (was MM005)."""
    from helpers import TOKEN, rules
    from mailmigrate.engine import RunOptions, analyse_files
    from mailmigrate.model import FileInfo

    (tmp_path / "settings.py").write_text('import os\nEMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")\nEMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))\nEMAIL_USE_TLS = True\n')
    (tmp_path / ".env.example").write_text("EMAIL_HOST=localhost\n")
    (tmp_path / ".env").write_text("EMAIL_HOST=smtp.mailgun.org\n")
    files = [
        FileInfo(tmp_path / "settings.py", "settings.py", "python", tracked=True, ignored=False, in_git=True),
        FileInfo(tmp_path / ".env.example", ".env.example", "env", tracked=True, ignored=False, in_git=True),
        FileInfo(tmp_path / ".env", ".env", "env", tracked=False, ignored=True, in_git=True),
    ]
    result = analyse_files(files, rules(), RunOptions(token=TOKEN))
    assert not result.blocked, [f.message for f in result.findings]
    new = {o.file.path.name: o.new_text for o in result.files if o.changed}
    assert ".env.example" not in new and "EMAIL_HOST=smtp.mailpace.com" in new[".env"]
    assert 'EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")' in new["settings.py"], "a local default stays"


def test_project_env_helpers_are_lookups(tmp_path: Path) -> None:
    before = (
        'import os\n\ndef envint(s, default):\n    return int(os.getenv(s, default))\n\n'
        'EMAIL_HOST = os.getenv("EMAIL_HOST", "smtp.sendgrid.net")\nEMAIL_PORT = envint("EMAIL_PORT", "587")\n'
        'EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "True")\n'
        f'EMAIL_HOST_USER = {REF}\nEMAIL_HOST_PASSWORD = {REF}\n'
    )
    assert_migrates(tmp_path, before, before.replace("smtp.sendgrid.net", "smtp.mailpace.com"), **TRACKED)


def test_base_class_credentials_are_soft_and_not_repeated_in_children(tmp_path: Path) -> None:
    before = (
        "class Config:\n    MAIL_SERVER = 'smtp.gmail.com'\n    MAIL_PORT = 587\n    MAIL_USE_TLS = True\n"
        "    MAIL_USERNAME = 'me@gmail.com'\n    MAIL_PASSWORD = 'app-pass'\n\n\n"
        "class ProductionConfig(Config):\n    DEBUG = False\n\n\n"
        "class TestingConfig(Config):\n    MAIL_SERVER = 'localhost'\n    MAIL_PORT = 1025\n    MAIL_USE_TLS = False\n"
    )
    from helpers import run_file

    new, _ = run_file(tmp_path, before, **TRACKED)
    assert_migrates(tmp_path, before, new, **TRACKED)
    assert new.count('os.environ.get("MAILPACE_API_TOKEN", "")') == 2, new
    assert 'os.environ["MAILPACE_API_TOKEN"]' not in new
