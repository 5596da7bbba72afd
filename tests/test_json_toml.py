"""JSON and TOML configurations (issue 5): Mattermost `config.json`, Ghost
`config.production.json`, lldap's `lldap_config.toml`. No-op cases first, then rewrites. After
each rewrite the new text is parsed by the standard library (json, tomllib): the MailPace values
must be in place with their JSON/TOML types, every other value must equal the old one, and a
second run must change nothing. Inputs are trimmed from real files of those projects."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import TOKEN, assert_migrates, assert_noop, rules, run_file
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mailmigrate.document import apply_edits, decode
from mailmigrate.formats.jsonfiles import BOOLEAN, NULL, NUMBER, _leaves, _Lines, _read
from mailmigrate.formats.jsonfiles import HANDLER as JSON
from mailmigrate.formats.structured import ScopeRef
from mailmigrate.formats.toml import HANDLER as TOML
from mailmigrate.formats.toml import _Reader
from mailmigrate.model import Configuration, FileInfo, Setting, Status

MISSING = object()

# Mattermost's config.json as the server writes it (trimmed to a few sections).
MATTERMOST = """\
{
    "ServiceSettings": {
        "SiteURL": "https://chat.example.com",
        "ListenAddress": ":8065",
        "ConnectionSecurity": "",
        "TLSCertFile": "",
        "EnableLocalMode": false
    },
    "SqlSettings": {
        "DriverName": "postgres",
        "DataSource": "postgres://mmuser:mostest@localhost/mattermost?sslmode=disable&connect_timeout=10",
        "MaxIdleConns": 20,
        "AtRestEncryptKey": "x7yzfabbt38ceqgjo5ghuc9hcc3hdcuo"
    },
    "EmailSettings": {
        "EnableSignUpWithEmail": true,
        "SendEmailNotifications": true,
        "FeedbackName": "Mattermost",
        "FeedbackEmail": "chat@example.com",
        "ReplyToAddress": "noreply@example.com",
        "EnableSMTPAuth": false,
        "SMTPUsername": "chat@example.com",
        "SMTPPassword": "T6rp3Bct2wEAHq18",
        "SMTPServer": "smtp-relay.sendinblue.com",
        "SMTPPort": "587",
        "SMTPServerTimeout": 10,
        "ConnectionSecurity": "STARTTLS",
        "SendPushNotifications": false,
        "PushNotificationContents": "full",
        "EmailBatchingBufferSize": 256,
        "SkipServerCertificateVerification": false,
        "LoginButtonColor": "#0000"
    },
    "RateLimitSettings": {
        "Enable": false,
        "PerSec": 10,
        "VaryByHeader": ""
    }
}
"""

# Ghost-CLI's config.production.json with a Mailgun mail section, as Ghost's docs show it.
GHOST = """\
{
  "url": "https://blog.example.com",
  "server": {
    "port": 2368,
    "host": "127.0.0.1"
  },
  "database": {
    "client": "mysql",
    "connection": {
      "host": "localhost",
      "user": "ghost-42",
      "password": "Tu-PasswordDB_MuySegura!",
      "database": "ghost_prod"
    }
  },
  "mail": {
    "transport": "SMTP",
    "options": {
      "service": "Mailgun",
      "host": "smtp.eu.mailgun.org",
      "port": 465,
      "secure": true,
      "auth": {
        "user": "postmaster@mg.example.com",
        "pass": "9c3b5f8e2d-abc123-def456"
      }
    }
  },
  "logging": {
    "transports": ["file", "stdout"]
  },
  "process": "systemd",
  "paths": {
    "contentPath": "/var/www/ghost/content"
  }
}
"""

# lldap's lldap_config.toml template, SMTP section filled in.
LLDAP = """\
## Tune the logging to be more verbose by setting this to be true.
verbose=false

## The port on which to have the LDAP server.
ldap_port = 3890
http_port = 17170
http_url = "https://ldap.example.com"
jwt_secret = "REPLACE_WITH_RANDOM"
ldap_base_dn = "dc=example,dc=com"
ldap_user_dn = "admin"
ldap_user_pass = "REPLACE_WITH_PASSWORD"
database_url = "sqlite:///data/users.db?mode=rwc"
key_seed = "RanD0m STR1ng"

## Options to configure SMTP parameters, to send password reset emails.
## To set these options from environment variables, use the following format
## (example with "password"): LLDAP_SMTP_OPTIONS__PASSWORD
[smtp_options]
## Whether to enabled password reset via email, from LLDAP.
enable_password_reset=true
## The SMTP server.
server="smtp.gmail.com"
## The SMTP port.
port=587
## How the connection is encrypted, either "NONE" (no encryption), "TLS" or "STARTTLS".
smtp_encryption = "TLS"
## The SMTP user, usually your email address.
user="sender@gmail.com"
## The SMTP password.
password="gmail-app-password-1234"
## The header field, optional: how the sender appears in the email.
from="LLDAP Admin <sender@gmail.com>"
## Same for reply-to, optional.
#reply_to="Do not reply <noreply@localhost>"

## Options to configure LDAPS.
[ldaps_options]
## Whether to enable LDAPS.
enabled=true
## Port on which to listen.
port=6360
## Certificate file.
cert_file="/data/cert.pem"
## Certificate key file.
key_file="/data/key.pem"
"""


def _flat(data: Any, path: str = "") -> dict[str, Any]:
    if isinstance(data, dict):
        return {k: v for key, item in data.items() for k, v in _flat(item, f"{path}.{key}" if path else key).items()}
    if isinstance(data, list):
        return {k: v for index, item in enumerate(data) for k, v in _flat(item, f"{path}.{index}").items()}
    return {path: data}


def _parser(name: str) -> Callable[[str], Any]:
    return tomllib.loads if name.endswith(".toml") else json.loads


def _assert_values(name: str, before: str, after: str, changed: dict[str, Any]) -> None:
    """The new text parses; exactly `changed` differs (values and their types); nothing is lost."""
    old, new = _flat(_parser(name)(before)), _flat(_parser(name)(after))
    assert set(old) <= set(new)
    differs = {key: value for key, value in new.items() if old.get(key, MISSING) != value or type(old[key]) is not type(value)}
    assert differs == changed


def _replaced(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


# --------------------------------------------------------------------------------------------
# Left alone

NOOPS = [
    pytest.param(
        "config.json",
        '{\n  "name": "shop",\n  "support_email": "help@example.com",\n  "database": {"host": "db", "port": 5432, "password": "pw"}\n}\n',
        id="json-config-without-smtp",
    ),
    pytest.param(
        "appsettings.json",
        '{\n  "EmailSettings": {\n    "SmtpServer": "smtp.gmail.com",\n    "SmtpPort": 587\n  }\n}\n',
        id="dotnet-appsettings-is-not-mattermost",
    ),
    pytest.param(
        "config.json",
        _replaced(
            MATTERMOST,
            ('"SMTPServer": "smtp-relay.sendinblue.com"', '"SMTPServer": "localhost"'),
            ('"SMTPPort": "587"', '"SMTPPort": "10025"'),
            ('"ConnectionSecurity": "STARTTLS"', '"ConnectionSecurity": ""'),
        ),
        id="mattermost-default-localhost",
    ),
    pytest.param(
        "config.json",
        _replaced(
            MATTERMOST,
            ('"SMTPServer": "smtp-relay.sendinblue.com"', '"SMTPServer": "smtp.mailpace.com"'),
            ('"EnableSMTPAuth": false', '"EnableSMTPAuth": true'),
            ('"SMTPUsername": "chat@example.com"', '"SMTPUsername": ""'),
            ('"SMTPPassword": "T6rp3Bct2wEAHq18"', '"SMTPPassword": ""'),
        ),
        id="mattermost-already-mailpace",
    ),
    pytest.param(
        "config.production.json",
        '{\n  "url": "http://localhost:2368",\n  "mail": {\n    "transport": "Direct"\n  },\n  "process": "systemd"\n}\n',
        id="ghost-cli-default-direct-mail",
    ),
    pytest.param(
        "config.production.json",
        _replaced(
            GHOST,
            ('      "service": "Mailgun",\n', ""),
            ("smtp.eu.mailgun.org", "smtp.mailpace.com"),
            ('"user": "postmaster@mg.example.com"', '"user": ""'),
            ('"pass": "9c3b5f8e2d-abc123-def456"', '"pass": ""'),
        ),
        id="ghost-already-mailpace-implicit",
    ),
    pytest.param(
        "config.development.json",
        '{\n  "mail": {\n    "transport": "SMTP",\n    "options": {"host": "mailpit", "port": 1025}\n  }\n}\n',
        id="ghost-mailpit",
    ),
    pytest.param(
        "lldap_config.toml",
        '[smtp_options]\n#enable_password_reset=true\n#server="smtp.gmail.com"\n#port=587\n\n[ldaps_options]\nenabled=true\nport=6360\n',
        id="lldap-ldaps-port-only",
    ),
    pytest.param("lldap_config.toml", '[smtp_options]\nserver = "localhost"\nport = 25\nsmtp_encryption = "NONE"\n', id="lldap-localhost"),
    pytest.param(
        "lldap_config.toml",
        _replaced(LLDAP, ("enable_password_reset=true", "enable_password_reset=false")),
        id="lldap-password-reset-off-sends-no-mail",
    ),
    pytest.param(
        "lldap_config.toml",
        _replaced(
            LLDAP,
            ('server="smtp.gmail.com"', 'server="smtp.mailpace.com"'),
            ("port=587", "port=465"),
            ('user="sender@gmail.com"', 'user=""'),
            ('password="gmail-app-password-1234"', 'password=""'),
        ),
        id="lldap-already-mailpace",
    ),
    pytest.param(
        "lldap_config.toml",
        '[smtp_options]\nserver = "smtp.gmail.com"  # mailmigrate: ignore[MM101]\nport = 587\nsmtp_encryption = "STARTTLS"\n',
        id="lldap-suppressed",
    ),
    pytest.param(
        "pyproject.toml",
        '[project]\nname = "mailer"\n\n[tool.mailmigrate]\nport = 587\n\n[tool.other]\nsmtp_host = "smtp.gmail.com"\n',
        id="toml-without-a-family",
    ),
]


@pytest.mark.parametrize(("name", "before"), NOOPS)
def test_left_alone(tmp_path: Path, name: str, before: str) -> None:
    result = assert_noop(tmp_path, before, name=name, secrets_file=False)
    assert not [f for f in result.findings if f.code.startswith("MM0")]


# --------------------------------------------------------------------------------------------
# Rewritten

FIXES = [
    # -- Mattermost: SMTPPort is a string, EnableSMTPAuth a boolean, no reference syntax.
    pytest.param(
        "config.json", MATTERMOST,
        _replaced(
            MATTERMOST,
            ('"EnableSMTPAuth": false', '"EnableSMTPAuth": true'),
            ('"SMTPUsername": "chat@example.com"', '"SMTPUsername": ""'),
            ('"SMTPPassword": "T6rp3Bct2wEAHq18"', '"SMTPPassword": ""'),
            ('"SMTPServer": "smtp-relay.sendinblue.com"', '"SMTPServer": "smtp.mailpace.com"'),
        ),
        {
            "EmailSettings.EnableSMTPAuth": True, "EmailSettings.SMTPUsername": "", "EmailSettings.SMTPPassword": "",
            "EmailSettings.SMTPServer": "smtp.mailpace.com",
        },
        {}, id="mattermost-brevo-starttls",
    ),
    pytest.param(
        "config.json",
        _replaced(MATTERMOST, ('"SMTPPort": "587"', '"SMTPPort": "25"'), ('"ConnectionSecurity": "STARTTLS"', '"ConnectionSecurity": ""')),
        _replaced(
            MATTERMOST,
            ('"EnableSMTPAuth": false', '"EnableSMTPAuth": true'),
            ('"SMTPUsername": "chat@example.com"', '"SMTPUsername": ""'),
            ('"SMTPPassword": "T6rp3Bct2wEAHq18"', '"SMTPPassword": ""'),
            ('"SMTPServer": "smtp-relay.sendinblue.com"', '"SMTPServer": "smtp.mailpace.com"'),
            ('"SMTPPort": "587"', '"SMTPPort": "25"'),
        ),
        {
            "EmailSettings.EnableSMTPAuth": True, "EmailSettings.SMTPUsername": "", "EmailSettings.SMTPPassword": "",
            "EmailSettings.SMTPServer": "smtp.mailpace.com", "EmailSettings.ConnectionSecurity": "STARTTLS",
        },
        {}, id="mattermost-no-encryption-becomes-starttls-on-25",
    ),
    pytest.param(
        "config.json",
        _replaced(
            MATTERMOST,
            ('"SMTPServer": "smtp-relay.sendinblue.com"', '"SMTPServer": "email-smtp.eu-west-1.amazonaws.com"'),
            ('"SMTPPort": "587"', '"SMTPPort": "465"'), ('"ConnectionSecurity": "STARTTLS"', '"ConnectionSecurity": "TLS"'),
            ('"EnableSMTPAuth": false', '"EnableSMTPAuth": true'),
        ),
        _replaced(
            MATTERMOST,
            ('"SMTPUsername": "chat@example.com"', '"SMTPUsername": ""'),
            ('"SMTPPassword": "T6rp3Bct2wEAHq18"', '"SMTPPassword": ""'),
            ('"EnableSMTPAuth": false', '"EnableSMTPAuth": true'),
            ('"SMTPServer": "smtp-relay.sendinblue.com"', '"SMTPServer": "smtp.mailpace.com"'),
        ),
        {
            "EmailSettings.SMTPUsername": "", "EmailSettings.SMTPPassword": "", "EmailSettings.SMTPServer": "smtp.mailpace.com",
            "EmailSettings.SMTPPort": "587", "EmailSettings.ConnectionSecurity": "STARTTLS",
        },
        {"port": 587}, id="mattermost-ses-implicit-forced-to-587-stays-a-string",
    ),
    pytest.param(
        "config.json",
        '{\n    "EmailSettings": {\n        "SMTPServer": "smtp.postmarkapp.com",\n        "SMTPPort": "2525",\n'
        '        "ConnectionSecurity": "TLS"\n    }\n}',
        '{\n    "EmailSettings": {\n        "SMTPServer": "smtp.mailpace.com",\n        "SMTPPort": "465",\n'
        '        "ConnectionSecurity": "TLS",\n        "EnableSMTPAuth": true\n    }\n}',
        {
            "EmailSettings.SMTPServer": "smtp.mailpace.com", "EmailSettings.SMTPPort": "465",
            "EmailSettings.EnableSMTPAuth": True,
        },
        {}, id="mattermost-implicit-kept-auth-added-no-final-newline",
    ),
    pytest.param(
        "config.json",
        '{\r\n  "EmailSettings": {\r\n    "SMTPServer": "smtp.mailgun.org",\r\n    "SMTPPort": "587",\r\n'
        '    "ConnectionSecurity": "STARTTLS",\r\n    "EnableSMTPAuth": true,\r\n    "SMTPUsername": "postmaster@mg.example.com",\r\n'
        '    "SMTPPassword": "p\\"q\\\\r\\u00e9"\r\n  }\r\n}\r\n',
        '{\r\n  "EmailSettings": {\r\n    "SMTPServer": "smtp.mailpace.com",\r\n    "SMTPPort": "587",\r\n'
        '    "ConnectionSecurity": "STARTTLS",\r\n    "EnableSMTPAuth": true,\r\n    "SMTPUsername": "",\r\n'
        '    "SMTPPassword": ""\r\n  }\r\n}\r\n',
        {"EmailSettings.SMTPServer": "smtp.mailpace.com", "EmailSettings.SMTPUsername": "", "EmailSettings.SMTPPassword": ""},
        {}, id="mattermost-crlf-escaped-password",
    ),
    # -- Ghost: nodemailer options nested under mail; secure=true is implicit TLS.
    pytest.param(
        "config.production.json", GHOST,
        _replaced(
            GHOST,
            ('"service": "Mailgun"', '"service": ""'),
            ("smtp.eu.mailgun.org", "smtp.mailpace.com"),
            ('"user": "postmaster@mg.example.com"', '"user": ""'),
            ('"pass": "9c3b5f8e2d-abc123-def456"', '"pass": ""'),
        ),
        {
            "mail.options.service": "", "mail.options.host": "smtp.mailpace.com",
            "mail.options.auth.user": "", "mail.options.auth.pass": "",
        },
        {}, id="ghost-mailgun-implicit-465-kept",
    ),
    pytest.param(
        "config.production.json",
        _replaced(GHOST, ('"port": 465,\n      "secure": true,', '"port": 587,')),
        _replaced(
            GHOST,
            ('"port": 465,\n      "secure": true,', '"port": 465,'),
            ('"service": "Mailgun"', '"service": ""'),
            ("smtp.eu.mailgun.org", "smtp.mailpace.com"),
            ('"user": "postmaster@mg.example.com"', '"user": ""'),
            ('"pass": "9c3b5f8e2d-abc123-def456"', '"pass": ""'),
            ('        "pass": ""\n      }\n', '        "pass": ""\n      },\n      "secure": true\n'),
        ),
        {
            "mail.options.service": "", "mail.options.host": "smtp.mailpace.com", "mail.options.port": 465,
            "mail.options.auth.user": "", "mail.options.auth.pass": "", "mail.options.secure": True,
        },
        {"port": 465}, id="ghost-forced-465-adds-secure-true",
    ),
    pytest.param(
        "config.production.json",
        '{\n  "mail": {\n    "transport": "SMTP",\n    "options": {\n      "service": "Gmail",\n'
        '      "auth": {\n        "user": "blog@gmail.com",\n        "pass": "abcd efgh ijkl mnop"\n      }\n    }\n  }\n}\n',
        '{\n  "mail": {\n    "transport": "SMTP",\n    "options": {\n      "service": "",\n'
        '      "auth": {\n        "user": "",\n        "pass": ""\n      },\n      "host": "smtp.mailpace.com"\n    }\n  }\n}\n',
        {"mail.options.service": "", "mail.options.host": "smtp.mailpace.com", "mail.options.auth.user": "", "mail.options.auth.pass": ""},
        {}, id="ghost-service-preset-gets-a-host",
    ),
    pytest.param(
        "config.production.json",
        '{\n\t"url": "https://blog.example.com",\n\t"mail": {\n\t\t"options": {\n\t\t\t"host": "smtp.sendgrid.net",\n'
        '\t\t\t"secure": false\n\t\t}\n\t}\n}',
        '{\n\t"url": "https://blog.example.com",\n\t"mail": {\n\t\t"options": {\n\t\t\t"host": "smtp.mailpace.com",\n'
        '\t\t\t"secure": true,\n\t\t\t"port": 465\n\t\t},\n\t\t"transport": "SMTP"\n\t}\n}',
        {"mail.options.host": "smtp.mailpace.com", "mail.options.secure": True, "mail.options.port": 465, "mail.transport": "SMTP"},
        {"port": 465}, id="ghost-tabs-no-final-newline-port-and-transport-added",
    ),
    pytest.param(
        "config.production.json",
        '{"url":"https://blog.example.com","mail":{"transport":"SMTP","options":{"host":"smtp.office365.com","port":587}}}\n',
        '{"url":"https://blog.example.com","mail":{"transport":"SMTP","options":{"host":"smtp.mailpace.com","port":587}}}\n',
        {"mail.options.host": "smtp.mailpace.com"},
        {}, id="ghost-minified",
    ),
    pytest.param(
        "config.production.json",
        '{\r\n  "mail": {\r\n    "transport": "SMTP",\r\n    "options": {\r\n      "host": "smtp.gmail.com",\r\n      "port": 587\r\n'
        '    }\r\n  }\r\n}\r\n',
        '{\r\n  "mail": {\r\n    "transport": "SMTP",\r\n    "options": {\r\n      "host": "smtp.mailpace.com",\r\n      "port": 465,\r\n'
        '      "secure": true\r\n    }\r\n  }\r\n}\r\n',
        {"mail.options.host": "smtp.mailpace.com", "mail.options.port": 465, "mail.options.secure": True},
        {"port": 465}, id="ghost-crlf-secure-added",
    ),
    # -- lldap: "TLS" is implicit TLS; another table's port stays.
    pytest.param(
        "lldap_config.toml", LLDAP,
        _replaced(
            LLDAP,
            ('server="smtp.gmail.com"', 'server="smtp.mailpace.com"'),
            ("port=587", "port=465"),
            ('user="sender@gmail.com"', 'user=""'),
            ('password="gmail-app-password-1234"', 'password=""'),
        ),
        {"smtp_options.server": "smtp.mailpace.com", "smtp_options.port": 465, "smtp_options.user": "", "smtp_options.password": ""},
        {}, id="lldap-tls-on-587-moves-to-465",
    ),
    pytest.param(
        "lldap_config.toml",
        _replaced(LLDAP, ('smtp_encryption = "TLS"', 'smtp_encryption = "STARTTLS"'), ('server="smtp.gmail.com"', "server='smtp-relay.brevo.com'  # Brevo")),
        _replaced(
            LLDAP,
            ('smtp_encryption = "TLS"', 'smtp_encryption = "STARTTLS"'),
            ('server="smtp.gmail.com"', "server='smtp.mailpace.com'  # Brevo"),
            ('user="sender@gmail.com"', 'user=""'),
            ('password="gmail-app-password-1234"', 'password=""'),
        ),
        {"smtp_options.server": "smtp.mailpace.com", "smtp_options.user": "", "smtp_options.password": ""},
        {}, id="lldap-starttls-literal-string-and-comment-kept",
    ),
    pytest.param(
        "lldap_config.toml",
        '[smtp_options]\r\nserver = "smtp.office365.com"\r\nport = 25\r\nsmtp_encryption = "NONE"\r\n\r\n[ldaps_options]\r\nport = 6360\r\n',
        '[smtp_options]\r\nserver = "smtp.mailpace.com"\r\nport = 25\r\nsmtp_encryption = "STARTTLS"\r\n\r\n[ldaps_options]\r\nport = 6360\r\n',
        {"smtp_options.server": "smtp.mailpace.com", "smtp_options.smtp_encryption": "STARTTLS"},
        {}, id="lldap-crlf-none-becomes-starttls",
    ),
    pytest.param(
        "lldap_config.toml",
        '[ldaps_options]\nport = 6360\n\n[smtp_options]\n  server = "smtp.sendgrid.net"\n  port = 587\n  from = "LLDAP <ldap@example.com>"\n'
        '  # reply_to = "noreply@example.com"\n\n[smtp_options.extra]\nport = 1\n',
        '[ldaps_options]\nport = 6360\n\n[smtp_options]\n  server = "smtp.mailpace.com"\n  port = 587\n  from = "LLDAP <ldap@example.com>"\n'
        '  smtp_encryption = "STARTTLS"\n  # reply_to = "noreply@example.com"\n\n[smtp_options.extra]\nport = 1\n',
        {"smtp_options.server": "smtp.mailpace.com", "smtp_options.smtp_encryption": "STARTTLS"},
        {"port": 587}, id="lldap-missing-encryption-added-after-the-tables-last-setting",
    ),
    pytest.param(
        "lldap_config.toml",
        'ldap_port = 3890\nsmtp_options.server = \'smtp.zoho.eu\'\nsmtp_options.port = 0x24B',
        'ldap_port = 3890\nsmtp_options.server = \'smtp.mailpace.com\'\nsmtp_options.port = 0x24B\nsmtp_options.smtp_encryption = \'STARTTLS\'',
        {"smtp_options.server": "smtp.mailpace.com", "smtp_options.smtp_encryption": "STARTTLS"},
        {"port": 587}, id="lldap-dotted-keys-hex-port-is-587-no-final-newline",
    ),
]


@pytest.mark.parametrize(("name", "before", "after", "changed", "options"), FIXES)
def test_rewritten(tmp_path: Path, name: str, before: str, after: str, changed: dict[str, Any], options: dict[str, Any]) -> None:
    assert_migrates(tmp_path, before, after, name=name, secrets_file=False, **options)
    _assert_values(name, before, after, changed)


def test_mattermost_credentials_become_a_followup(tmp_path: Path) -> None:
    new, result = run_file(tmp_path, MATTERMOST, name="config.json", secrets_file=False)
    assert [p.status for p in result.plans] == [Status.MIGRATE]
    assert any("EmailSettings.SMTPPassword" in text and "deployed" in text for text in result.followups)
    assert "MM201" in {f.code for f in result.findings}  # the literal password in a tracked file
    assert TOKEN not in new  # JSON has no reference syntax: the token never lands there


def test_other_credentials_in_the_file_are_masked(tmp_path: Path) -> None:
    _, result = run_file(tmp_path, MATTERMOST, name="config.json", secrets_file=False)
    assert {"mostest", "x7yzfabbt38ceqgjo5ghuc9hcc3hdcuo", "T6rp3Bct2wEAHq18"} <= result.secrets | result.sensitive
    _, result = run_file(tmp_path, GHOST, name="config.production.json", secrets_file=False)
    assert "Tu-PasswordDB_MuySegura!" in result.sensitive


# --------------------------------------------------------------------------------------------
# Reported, not edited

INVALID = [
    pytest.param("config.json", '{\n  "EmailSettings": {\n    // the relay\n    "SMTPServer": "smtp.gmail.com"\n  }\n}\n', 3, "comments are not allowed", id="jsonc-comment"),
    pytest.param("config.json", '{\n  "EmailSettings": {\n    "SMTPServer": "smtp.gmail.com",\n  }\n}\n', 4, "trailing comma", id="trailing-comma"),
    pytest.param("config.json", '{\n  "EmailSettings": {\n    "SMTPServer": "smtp.gmail.com" "SMTPPort": "587"\n  }\n}\n', 3, "delimiter", id="missing-comma"),
    pytest.param(
        "config.json", '{\n  "EmailSettings": {\n    "SMTPServer": "smtp.gmail.com",\n    "SMTPServer": "localhost"\n  }\n}\n', 4,
        "'EmailSettings.SMTPServer' appears twice", id="duplicate-key",
    ),
    pytest.param("config.json", '{"EmailSettings": {"SMTPServer": "smtp.gmail.com", "SMTPServerTimeout": NaN}}', 1, "NaN", id="nan"),
    pytest.param("lldap_config.toml", '[smtp_options]\nserver = "smtp.gmail.com"\nport = 587\nport = 465\n', 4, "invalid TOML", id="toml-duplicate"),
    pytest.param("lldap_config.toml", '[smtp_options]\nserver = smtp.gmail.com\n', 2, "Invalid value", id="toml-bare-string"),
    pytest.param("lldap_config.toml", '[smtp_options]\nserver = "smtp.gmail.com"\npassword = "hunter\x01two"\n', 3, "invalid TOML", id="toml-control-character"),
]


@pytest.mark.parametrize(("name", "text", "line", "words"), INVALID)
def test_invalid_files_are_findings(tmp_path: Path, name: str, text: str, line: int, words: str) -> None:
    result = assert_noop(tmp_path, text, name=name, secrets_file=False)
    problems = [f for f in result.findings if f.code == "MM003"]
    assert len(problems) == 1 and problems[0].line == line and words in problems[0].message
    assert "hunter" not in problems[0].message and "gmail" not in problems[0].message  # never a value
    assert not result.plans


REPORTED = [
    pytest.param(
        "lldap_config.toml", '[smtp_options]\nserver = ["smtp.gmail.com"]\nport = 587\n', "MM115", "is an array",
        id="toml-array-host",
    ),
    pytest.param(
        "lldap_config.toml", '[smtp_options]\nserver = """smtp.gmail.com"""\nport = 587\nsmtp_encryption = "STARTTLS"\n', "MM115",
        "multi-line string", id="toml-multiline-host",
    ),
    pytest.param(
        "config.json", '{"EmailSettings": {"SMTPServer": "smtp.gmail.com", "SMTPPort": "five-eight-seven"}}', "MM006",
        "not a port number", id="json-port-not-a-number",
    ),
]


@pytest.mark.parametrize(("name", "text", "code", "words"), REPORTED)
def test_reported_not_edited(tmp_path: Path, name: str, text: str, code: str, words: str) -> None:
    result = assert_noop(tmp_path, text, name=name, secrets_file=False)
    assert any(f.code == code and words in f.message for f in result.findings), result.findings


def test_multiline_password_is_replaced_whole(tmp_path: Path) -> None:
    before = "[smtp_options]\nserver = 'smtp.gmail.com'\nport = 465\npassword = '''\nabc'def'''\n"
    after = "[smtp_options]\nserver = 'smtp.mailpace.com'\nport = 465\npassword = \"\"\n"
    assert_migrates(tmp_path, before, after, name="lldap_config.toml", secrets_file=False)


# --------------------------------------------------------------------------------------------
# The handlers on their own


def _file(name: str, kind: str) -> FileInfo:
    return FileInfo(Path("/x") / name, name, kind, tracked=True, ignored=False, in_git=True)


def test_json_leaves_values_and_types() -> None:
    text = '{"a": {"s": "x\\u0041\\"", "n": -1.5e3, "t": true, "z": null, "l": [1, "two"]}}'
    located = JSON.locate(decode(text.encode()), _file("config.json", "json"), rules())
    assert not located.findings
    doc = decode(text.encode())
    root, problems = _read(text)
    assert root is not None and not problems
    got = {".".join(leaf.path): (leaf.setting.value, leaf.setting.quote) for leaf in _leaves(doc, root, (), _Lines(text))}
    assert got == {
        "a.s": ('xA"', '"'), "a.n": ("-1.5e3", NUMBER), "a.t": ("true", BOOLEAN), "a.z": ("", NULL),
        "a.l.0": ("1", NUMBER), "a.l.1": ("two", '"'),
    }


def test_json_strings_are_escaped_when_written() -> None:
    doc = decode(b'{"p": "old"}')
    edit = JSON.render_value(doc, Setting("p", "password", "old", 7, 10, 1, 2, quote='"'), 'a"b\\c\n')
    assert edit.text == 'a\\"b\\\\c\\n'
    number = JSON.render_value(doc, Setting("port", "port", "25", 7, 10, 1, 2, quote="json-number"), "587")
    assert number.text == "587"


def _configuration(kind: str, family: str, scope: tuple[str, ...], name: str) -> Configuration:
    chosen = next(f for f in rules().families if f.name == family)
    config = Configuration(chosen, kind, _file(name, kind), ".".join(scope), "", {}, 0, 1)
    config.handler_data = ScopeRef(scope)
    return config


@pytest.mark.parametrize(
    ("before", "after"),
    [
        pytest.param(
            '{\n    "mail": {\n        "transport": "SMTP"\n    }\n}\n',
            '{\n    "mail": {\n        "transport": "SMTP",\n        "options": {\n            "port": 465,\n'
            '            "auth": {\n                "user": "u",\n                "pass": "p"\n            }\n        }\n    }\n}\n',
            id="nested-objects-created",
        ),
        pytest.param(
            '{"mail": {"transport": "SMTP", "options": {"host": "h"}}}',
            '{"mail": {"transport": "SMTP", "options": {"host": "h", "port": 465, "auth": {"user": "u", "pass": "p"}}}}',
            id="one-line-objects",
        ),
        pytest.param(
            '{\r\n  "mail": {\r\n    "options": {}\r\n  }\r\n}\r\n',
            '{\r\n  "mail": {\r\n    "options": {\r\n      "port": 465,\r\n      "auth": {\r\n        "user": "u",\r\n'
            '        "pass": "p"\r\n      }\r\n    }\r\n  }\r\n}\r\n',
            id="empty-object-crlf",
        ),
    ],
)
def test_json_additions_create_missing_objects(before: str, after: str) -> None:
    doc = decode(before.encode())
    config = _configuration("json", "ghost", ("mail",), "config.production.json")
    items = [("options.port", "465"), ("options.auth.user", "u"), ("options.auth.pass", "p")]
    edits = JSON.render_additions(doc, config, items)
    new = apply_edits(doc.text, edits)
    assert new == after
    assert JSON.syntax_errors(new) == []


def test_toml_leaves_of_arrays_of_tables_and_dotted_keys() -> None:
    text = (
        'title = "x"  # comment\n[[servers]]\nname = "a"\n[[servers]]\nname = "b"\n[servers.mail]\nhost = "h"\n'
        '[a."b.c"]\nd.e = 1\n"quoted key" = \'lit\'\nwhen = 1979-05-27 07:32:00Z\nlist = [\n  1, # one\n  "]",\n]\nafter = true\n'
    )
    doc = decode(text.encode())
    got = {".".join(e.leaf.path): e.leaf.setting.value for e in _Reader(doc).entries()}
    assert got == {
        "title": "x", "servers.0.name": "a", "servers.1.name": "b", "servers.1.mail.host": "h", "a.b.c.d.e": "1",
        "a.b.c.quoted key": "lit", "a.b.c.when": "1979-05-27 07:32:00Z", "a.b.c.list": '[\n  1, # one\n  "]",\n]',
        "a.b.c.after": "true",
    }


def test_toml_values_keep_their_kind() -> None:
    doc = decode(b"x = 'a'\n")
    literal = Setting("x", "host", "a", 5, 6, 1, 1, quote="'")
    assert TOML.render_value(doc, literal, "smtp.mailpace.com").text == "smtp.mailpace.com"
    switched = TOML.render_value(doc, literal, "it's")
    assert (switched.start, switched.end, switched.text) == (4, 7, '"it\'s"')
    basic = Setting("x", "password", "a", 5, 6, 1, 1, quote='"')
    assert TOML.render_value(doc, basic, 'q"\\\t').text == 'q\\"\\\\\\t'
    integer = Setting("port", "port", "25", 4, 6, 1, 1, quote="toml-integer")
    assert TOML.render_value(doc, integer, "587").text == "587"
    flag = Setting("f", "flag", "false", 4, 9, 1, 1, quote="toml-boolean")
    assert TOML.render_value(doc, flag, "True").text == "true"


def test_syntax_errors_never_quote_values() -> None:
    assert JSON.syntax_errors('{"a": "secret') == ["invalid JSON: Unterminated string starting at"]
    assert TOML.syntax_errors('a = "se\x01cret"\n') == ["invalid TOML: Illegal character"]
    assert JSON.syntax_errors('{"a": 1}') == TOML.syntax_errors("a = 1\n") == []


# --------------------------------------------------------------------------------------------
# Properties: the readers find every value json/tomllib find, and writing a value in its span
# gives a file where exactly that value changed.

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
JSON_VALUES = st.recursive(
    SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=20,
)


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _paths(data: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(data, dict):
        return {k: v for key, item in data.items() for k, v in _paths(item, (*path, key)).items()}
    if isinstance(data, list):
        return {k: v for index, item in enumerate(data) for k, v in _paths(item, (*path, str(index))).items()}
    return {path: data}


@settings(max_examples=150, deadline=None)
@given(
    value=st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=5),
    indent=st.sampled_from([None, 2, 4, "\t"]),
    ascii_only=st.booleans(),
    crlf=st.booleans(),
    replacement=st.text(max_size=8),
)
def test_json_reader_agrees_with_json_loads(value: Any, indent: Any, ascii_only: bool, crlf: bool, replacement: str) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    if crlf:
        text = text.replace("\n", "\r\n")
    doc = decode(text.encode())
    root, problems = _read(text)
    assert root is not None and not problems
    leaves = _leaves(doc, root, (), _Lines(text))
    expected = _paths(value)
    assert {leaf.path: leaf.setting.value for leaf in leaves if not isinstance(expected[leaf.path], float)} == {
        path: _scalar_text(v) for path, v in expected.items() if not isinstance(v, float)  # floats: as written
    }
    for leaf in leaves:
        if leaf.setting.quote == '"':
            new = apply_edits(text, [JSON.render_value(doc, leaf.setting, replacement)])
            assert _paths(json.loads(new)) == {**expected, leaf.path: replacement}


TOML_KEYS = st.sampled_from(["host", "port", "user", "a-b", "x_1", '"quoted key"', "'lit key'", "dotted.key"])
TOML_VALUES = st.sampled_from([
    '"smtp.gmail.com"', "'C:\\path'", '"esc\\"aped\\u00e9"', "587", "+1_000", "0x1F", "3.5e2", "true", "false",
    "1979-05-27T07:32:00Z", "1979-05-27 07:32:00", "07:32:00", '"""multi\nline"""', "'''lit\nmulti'''",
    '[1, "two", [3]]', '[\n  "a", # c\n  "]",\n]', '{ x = 1, y = "}" }', '""',
])


@st.composite
def toml_text(draw: st.DrawFn) -> str:
    lines = []
    for index in range(draw(st.integers(0, 3))):
        lines.append(f"root{index} = {draw(TOML_VALUES)}")
    tables = draw(st.lists(st.sampled_from(["[smtp]", "[smtp.tls]", "[[servers]]", "[ 'other' . x ]"]), max_size=4, unique=True))
    for header in tables:
        lines.append(draw(st.sampled_from(["", "# comment", "  "])))
        lines.append(header + draw(st.sampled_from(["", "  # table"])))
        for key in draw(st.lists(TOML_KEYS, max_size=4, unique=True)):
            spacing = draw(st.sampled_from([" = ", "=", "  =  "]))
            comment = draw(st.sampled_from(["", " # note", "\t#"]))
            lines.append(f"{draw(st.sampled_from(['', '  ', chr(9)]))}{key}{spacing}{draw(TOML_VALUES)}{comment}")
    return "\n".join(lines) + draw(st.sampled_from(["", "\n"]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(text=toml_text(), replacement=st.text(max_size=8))
def test_toml_reader_agrees_with_tomllib(text: str, replacement: str) -> None:
    try:
        loaded = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assume(False)
    doc = decode(text.encode())
    entries = _Reader(doc).entries()
    for entry in entries:
        setting = entry.leaf.setting
        node: Any = loaded
        for part in entry.leaf.path:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if setting.quote in ('"', "'") or setting.opaque == "a multi-line string":
            assert setting.value == node
            new = apply_edits(text, [TOML.render_value(doc, setting, replacement)])
            again: Any = tomllib.loads(new)
            for part in entry.leaf.path:
                again = again[int(part)] if isinstance(again, list) else again[part]
            assert again == replacement
        elif setting.quote == "toml-integer":
            assert int(setting.value) == node
        elif setting.quote == "toml-boolean":
            assert setting.value == ("true" if node else "false")
    # every value tomllib found is one entry (arrays and inline tables as one)
    assert len(entries) == len({tuple(e.leaf.path) for e in entries})


def test_inline_table_where_the_configuration_sits_is_reported(tmp_path: Path) -> None:
    """lldap's `smtp_options = { ... }` cannot be read key by key: reported, never passed silently."""
    before = 'smtp_options = { server = "smtp.gmail.com", port = 465, user = "me@gmail.com", password = "pw" }\n'
    new, result = run_file(tmp_path, before, name="lldap_config.toml", secrets_file=False)
    assert new == before
    assert [f.code for f in result.findings] == ["MM115"]
