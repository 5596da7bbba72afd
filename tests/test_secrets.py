"""No command or output format ever shows the token or a password found in the files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import make_repo
from mailmigrate.cli import app
from mailmigrate.masking import Masker

TOKEN = "sentinel-token-4f1d0c2a-93b7"
PASSWORDS = ["sentinel-pw-sendgrid-77", "sentinel-pw-mailgun@88/!", "sentinel-pw-url-99", "sentinel-pw-tracked-11"]


def _repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "r",
        tracked={
            ".gitignore": ".env\n.env.local\n",
            ".env.example": f"EMAIL_HOST=smtp.gmail.com\nEMAIL_HOST_USER=me@gmail.com\nEMAIL_HOST_PASSWORD={PASSWORDS[3]}\n",
            # smtplib and SMTPHandler: literal passwords in login() and credentials=(...)
            "send.py": "import smtplib\nimport logging.handlers\n\nPASSWORD = 'sentinel-pw-smtplib-12'\n"
            "s = smtplib.SMTP('smtp.gmail.com', 587)\ns.login('me@gmail.com', PASSWORD)\n"
            "t = smtplib.SMTP_SSL('smtp.sendgrid.net')\nt.login('apikey', 'sentinel-pw-inline-13')\n"
            "h = logging.handlers.SMTPHandler(('smtp.mailgun.org', 587), 'a@example.com', ['b@example.com'], 'x',"
            " ('pm', 'sentinel-pw-handler-14'))\n"
            # a message with provider tags and an unsubscribe header (issue 7's rewrites)
            "from email.message import EmailMessage\nmsg = EmailMessage()\nmsg['X-Mailgun-Tag'] = 'news'\n"
            "msg['List-Unsubscribe'] = '<https://example.com/u>'\ns.send_message(msg)\n",
            # structured files: compose, Grafana's triple quotes, Mattermost's JSON, Spring properties
            "docker-compose.yml": "services:\n  vw:\n    environment:\n      SMTP_HOST: smtp.gmail.com\n"
            "      SMTP_USERNAME: me@gmail.com\n      SMTP_PASSWORD: 'sentinel-pw-compose-15'\n",
            "grafana.ini": '[smtp]\nenabled = true\nhost = smtp.gmail.com:587\nuser = me\npassword = """sentinel-pw-grafana-16"""\n',
            "config.json": '{\n  "EmailSettings": {\n    "SMTPServer": "smtp.gmail.com",\n    "SMTPPort": "587",\n'
            '    "SMTPUsername": "me",\n    "SMTPPassword": "sentinel-pw-json-17",\n    "ConnectionSecurity": "STARTTLS"\n  }\n}\n',
            "application.properties": "spring.mail.host=smtp.gmail.com\nspring.mail.password=sentinel-pw-props-18\n",
        },
        untracked={
            ".env": f"EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD='{PASSWORDS[0]}'\n"
            f"MAIL_SERVER=smtp.mailgun.org\nMAIL_USERNAME=pm\nMAIL_PASSWORD=\"{PASSWORDS[1]}\"\n"
            # user == password (Postmark style): the username is a secret too
            f"SMTP_SERVER=smtp.postmarkapp.com\nSMTP_LOGIN={PASSWORDS[2]}x\nSMTP_PASSWORD={PASSWORDS[2]}x\n",
            ".env.local": "EMAIL_URL=smtp+tls://u:sentinel-pw-url-99%21@smtp.mailgun.org:587\n"
            "BROKEN LINE sentinel-pw-broken-00\n"
            "MAILER_DSN=smtp://apikey:sentinel-pw-q?mark@smtp.sendgrid.net:587\n"
            "MAIL_URL=smtp://user:sentinel-Grüße@smtp.sendgrid.net:587\n"
            'REDASH_MAIL_SERVER=smtp.gmail.com\nREDASH_MAIL_PASSWORD="sentinel\\"quoted\\\\pw"\n'
            "DB_PASSWORD=sentinel-db-pass\n",
        },
    )


SENTINELS = [
    TOKEN, *PASSWORDS, "sentinel-pw-url-99!", "sentinel-pw-url-99%21", "sentinel-pw-broken-00",
    "sentinel-pw-q?mark", "sentinel-Grüße", "sentinel-Gr\\u00fc\\u00dfe",  # as JSON escapes it
    'sentinel"quoted\\pw', 'sentinel\\"quoted\\\\pw',  # as read, and as written in the file
    "sentinel-db-pass",  # another credential: not SMTP, still never printed
    "sentinel-pw-smtplib-12", "sentinel-pw-inline-13", "sentinel-pw-handler-14",
    "sentinel-pw-compose-15", "sentinel-pw-grafana-16", "sentinel-pw-json-17", "sentinel-pw-props-18",
]

COMMANDS = [
    ["scan"], ["scan", "--format", "json"],
    ["check"], ["check", "--format", "json"], ["check", "--format", "github"], ["check", "--format", "sarif"],
    ["migrate"], ["migrate", "--port", "465"], ["migrate", "--tags", "news, receipts", "--list-unsubscribe"],
    ["migrate", "--write"], ["migrate", "--write", "--tags", "receipts", "--list-unsubscribe"],
    ["verify"], ["verify", "-v"],
]


def _assert_clean(text: str, where: str) -> None:
    for sentinel in SENTINELS:
        assert sentinel not in text, f"{sentinel!r} shown in {where}"


def test_every_command_and_format_masks_secrets(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    for args in COMMANDS:
        result = CliRunner().invoke(app, [*args, str(repo)], env={"MAILPACE_API_TOKEN": TOKEN})
        assert result.exit_code in (0, 1, 2 if args[0] == "verify" else 1), (args, result.output)
        _assert_clean(result.stdout, f"stdout of {args}")
        _assert_clean(result.stderr, f"stderr of {args}")
    assert TOKEN in (repo / ".env").read_text(), "the secrets file did get the token"
    assert TOKEN not in (repo / ".env.example").read_text()


def test_token_from_stdin_and_error_paths_mask_it(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    result = CliRunner().invoke(app, ["migrate", str(repo), "--token-stdin"], input=TOKEN + "\n", env={"MAILPACE_API_TOKEN": ""})
    _assert_clean(result.stdout + result.stderr, "--token-stdin dry run")
    result = CliRunner().invoke(app, ["migrate", str(tmp_path / "missing")], env={"MAILPACE_API_TOKEN": TOKEN})
    assert result.exit_code == 2
    _assert_clean(result.stdout + result.stderr, "usage error")


def test_internal_errors_show_no_traceback_and_no_secret(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    # A crash inside the engine (simulated by a sitecustomize that breaks the planner) must
    # end with exit 2, one line, and no local variables or secrets.
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(
        "import mailmigrate.planner as p\n"
        "def boom(config, ctx):\n"
        f"    raise RuntimeError('exploded with ' + {TOKEN!r})\n"
        "p.plan_configuration = boom\n"
        "import mailmigrate.engine as e\n"
        "e.plan_configuration = boom\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "mailmigrate", "check", str(repo)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(hook), "MAILPACE_API_TOKEN": TOKEN},
        check=False,
    )
    assert done.returncode == 2
    assert "internal error (RuntimeError)" in done.stderr
    assert "Traceback" not in done.stderr
    _assert_clean(done.stdout + done.stderr, "internal error")


def test_literal_password_in_tracked_file_is_flagged(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["check", str(_repo(tmp_path))], env={"MAILPACE_API_TOKEN": TOKEN})
    assert ".env.example:3:1: MM201 EMAIL_HOST_PASSWORD holds a literal password in a file git tracks" in result.stdout


@pytest.mark.parametrize(
    "secret", ["abcd1234", "p@ss word/+%", "x" * 64],
)
def test_masker_hides_plain_url_encoded_and_base64_forms(secret: str) -> None:
    import base64
    from urllib.parse import quote

    mask = Masker([secret])
    payload = base64.b64encode(("\0" + secret + "\0" + secret).encode()).decode()
    plain = f"before {secret} after {quote(secret, safe='')} auth {payload}"
    masked = mask(plain)
    assert secret not in masked and quote(secret, safe="") not in masked
    assert "before ******** after ******** auth ********" == masked


def test_masker_leaves_short_and_placeholder_values_alone() -> None:
    mask = Masker(["no", "", "true", "null"])
    assert mask("no true null") == "no true null"


def test_token_with_characters_that_need_escaping_is_masked_as_written(tmp_path: Path) -> None:
    token = 'tok"en\\9f'
    repo = make_repo(tmp_path / "r", tracked={".gitignore": ".env\n"}, untracked={".env": 'EMAIL_HOST=smtp.gmail.com\nEMAIL_HOST_PASSWORD="x-old-pass"\n'})
    result = CliRunner().invoke(app, ["migrate", str(repo)], env={"MAILPACE_API_TOKEN": token})
    assert token not in result.output and 'tok\\"en\\\\9f' not in result.output
    assert "EMAIL_HOST_PASSWORD=\"********\"" in result.output


def test_masker_keeps_paths_and_longer_words() -> None:
    mask = Masker(["hunter22"], keep=["docker/hunter22.env"])
    assert mask("docker/hunter22.env:1:1: DATABASE=hunter22") == "docker/hunter22.env:1:1: DATABASE=********"
    assert mask("hunter222 hunter22_x") == "hunter222 hunter22_x"


def test_placeholders_of_other_credentials_do_not_break_diff_headers() -> None:
    mask = Masker(weak=["---", "postgres", "gitea", "pg-pass-7731"])
    text = "--- a/.env.example\n+++ b/.env.example\n DATABASE_URL=postgres://u:pg-pass-7731@db/app\n"
    assert mask(text) == "--- a/.env.example\n+++ b/.env.example\n DATABASE_URL=postgres://u:********@db/app\n"


@pytest.mark.parametrize("form", ["markdown", "json"])
@pytest.mark.parametrize("write", [False, True])
def test_reports_mask_secrets(tmp_path: Path, form: str, write: bool) -> None:
    repo = _repo(tmp_path)
    target = tmp_path / f"report.{form}"
    args = ["migrate", str(repo), "--report", str(target), "--report-format", form, "--tags", "news"]
    result = CliRunner().invoke(app, args + (["--write"] if write else []), env={"MAILPACE_API_TOKEN": TOKEN})
    assert result.exit_code in (0, 1), result.output
    _assert_clean(target.read_text(encoding="utf-8"), f"{form} report")
    _assert_clean(result.stdout + result.stderr, f"migrate --report {form}")


def test_an_empty_default_is_not_masked(tmp_path: Path) -> None:
    """`os.environ.get("EMAIL_HOST_PASSWORD", "")` hides nothing: the diff keeps `""` (and so
    stays appliable) instead of showing a mask where the quotes were."""
    repo = make_repo(tmp_path / "r", {"settings.py": (
        'import os\nEMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n'
        'EMAIL_HOST_USER = "apikey"\nEMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")\n'
    )})
    result = CliRunner().invoke(app, ["migrate", str(repo)], env={"MAILPACE_API_TOKEN": TOKEN})
    assert '-EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")' in result.stdout
    assert "********" not in result.stdout and "cannot apply" not in result.stderr


def test_no_secret_in_log_records_or_tracked_files(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every command in-process with every logger at DEBUG (aiosmtpd's emulator logs each SMTP
    command): no record holds a sentinel; after --write, git finds the token in no tracked file."""
    import logging

    from helpers import git

    repo = _repo(tmp_path)
    caplog.set_level(logging.DEBUG)
    for args in [*COMMANDS, ["migrate", "--write", "--tags", "news", "--list-unsubscribe"], ["verify", "-v"]]:
        CliRunner().invoke(app, [*args, str(repo)], env={"MAILPACE_API_TOKEN": TOKEN})
    records = "\n".join(f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records)
    assert "AUTH" in records  # the emulator's log of the logins was captured
    _assert_clean(records, "log records")
    tracked = git(repo, "ls-files").split()
    assert tracked
    for name in tracked:
        assert TOKEN not in (repo / name).read_text(encoding="utf-8", errors="replace"), name


def test_an_unknown_value_does_not_hide_a_literal_password_in_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {".env.example": (
        "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_USE_TLS=maybe\nEMAIL_HOST_USER=apikey\n"
        "EMAIL_HOST_PASSWORD=SG.sentinel-literal-77\n"
    )})
    result = CliRunner().invoke(app, ["check", str(repo)])
    assert "MM006" in result.stdout and "MM201" in result.stdout
    assert "SG.sentinel-literal-77" not in result.stdout
