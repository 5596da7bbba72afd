"""Inline `mailmigrate: ignore[...]` comments work in every format that has comments (issue 8):
the configuration is left untouched and its findings are not reported; another code in the
brackets does not suppress this one; JSON has no comments, so it has no inline suppression."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import run_file

# (file name, text with {comment} on the host line)
FORMATS = {
    "env": (".env.example", "EMAIL_HOST=smtp.sendgrid.net  {comment}\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n"),
    "python": ("settings.py", 'EMAIL_HOST = "smtp.sendgrid.net"  {comment}\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n'),
    "yaml": ("application.yml", "spring:\n  mail:\n    host: smtp.sendgrid.net  {comment}\n    port: 587\n"),
    "ini": ("grafana.ini", "[smtp]\nenabled = true\nhost = smtp.sendgrid.net:587  {comment}\n"),
    "ini-semicolon": ("airflow.cfg", "[smtp]\nsmtp_host = smtp.sendgrid.net  {semicolon}\nsmtp_port = 587\nsmtp_starttls = True\n"),
    "toml": ("lldap_config.toml", '[smtp_options]\nenable_password_reset = true\nserver = "smtp.sendgrid.net"  {comment}\nport = 587\nsmtp_encryption = "STARTTLS"\n'),
    # `#` after a value is part of it in .properties: the comment goes on the line above
    "properties": ("application.properties", "{comment}\nspring.mail.host=smtp.sendgrid.net\nspring.mail.port=587\n"),
    "yaml-line-above": ("application.yml", "spring:\n  mail:\n    {comment}\n    host: smtp.sendgrid.net\n    port: 587\n"),
}


def _text(template: str, codes: str) -> str:
    return template.format(comment=f"# mailmigrate: ignore{codes}", semicolon=f"; mailmigrate: ignore{codes}")


@pytest.mark.parametrize("form", list(FORMATS), ids=list(FORMATS))
def test_an_ignore_comment_leaves_the_configuration_alone(tmp_path: Path, form: str) -> None:
    name, template = FORMATS[form]
    stale = _text(template, "").replace("# mailmigrate: ignore", "# note").replace("; mailmigrate: ignore", "; note")
    _, loud = run_file(tmp_path, stale, name=name, secrets_file=False)
    assert any(f.code == "MM101" for f in loud.findings), (form, [(f.code, f.message) for f in loud.findings])
    for codes in ("", "[MM101]", "[MM104, MM101]"):
        text = _text(template, codes)
        new, result = run_file(tmp_path, text, name=name, secrets_file=False)
        assert new == text, (form, codes)
        assert not result.findings, (form, codes, [(f.code, f.message) for f in result.findings])


@pytest.mark.parametrize("form", list(FORMATS), ids=list(FORMATS))
def test_another_code_does_not_suppress(tmp_path: Path, form: str) -> None:
    name, template = FORMATS[form]
    text = _text(template, "[MM201]")
    new, result = run_file(tmp_path, text, name=name, secrets_file=False)
    assert new != text and any(f.code == "MM101" for f in result.findings)
