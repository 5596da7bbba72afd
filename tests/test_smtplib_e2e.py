"""Issue 4, "Proof": scripts that talk smtplib / logging.SMTPHandler themselves, migrated by the
real CLI and then executed for real against the local MailPace stand-in (tests/smtp_server.py).

Each script in tests/smtplib_scripts/ sends one message through a real provider today (Gmail,
SendGrid, Mailgun, SES, ...). It is committed to a real git repository (so its literal passwords
are in a tracked file), migrated with ``python -m mailmigrate migrate --write`` (optionally with
``--port``), then run by tests/drivers/run_script.py in a fresh interpreter with
smtp.mailpace.com redirected at the socket level to the test server. The server must see exactly
one login with the token in the planned TLS mode (STARTTLS or implicit) and one message whose
From header is the script's own (expected.json) -- never the token.

The CLI runs see no provider variables; the scripts see only MAILPACE_API_TOKEN (and, for the
script that reads SMTP_USER / SMTP_PASSWORD, those two set to the token, as the follow-up says).
"""

from __future__ import annotations

import json
import sys
from email import message_from_bytes
from pathlib import Path

import pytest
from helpers import clean_env, git, make_repo, run_process
from smtp_server import SMTPTestServer

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parent
SCRIPTS = TESTS_DIR / "smtplib_scripts"
EXPECTED: dict[str, dict[str, str]] = json.loads((SCRIPTS / "expected.json").read_text())
DRIVER = TESTS_DIR / "drivers" / "run_script.py"
TOKEN = "5f0c2a1e-8d3b-4c7a-9e21-test-smtplib-token"

# (script, --port given to migrate or None, the MailPace port it must then use, TLS mode)
CASES = [
    ("01_starttls_constants.py", None, 587, "starttls"),
    ("02_ssl_with_context.py", None, 465, "implicit"),
    ("03_import_alias.py", None, 587, "starttls"),
    ("04_from_import_ssl_alias.py", None, 465, "implicit"),
    ("05_host_port_one_string.py", None, 587, "starttls"),
    ("06_port_as_string.py", None, 587, "starttls"),
    ("07_connect_after_init.py", None, 587, "starttls"),
    ("08_keyword_args.py", None, 587, "starttls"),
    ("09_plain_login_no_tls.py", None, 25, "starttls"),  # no TLS today: starttls() is added
    ("10_env_credentials.py", None, 587, "starttls"),
    ("11_function_locals.py", None, 587, "starttls"),
    ("12_class_wrapper.py", None, 587, "starttls"),
    ("13_smtphandler_secure.py", None, 587, "starttls"),
    ("14_smtphandler_positional.py", None, 587, "starttls"),  # secure=() is added
    # --port forces a change of mode: SMTP_SSL(context=...) <-> SMTP + starttls(context=...)
    ("02_ssl_with_context.py", 587, 587, "starttls"),
    ("08_keyword_args.py", 465, 465, "implicit"),
    ("01_starttls_constants.py", 2525, 2525, "starttls"),
    ("09_plain_login_no_tls.py", 465, 465, "implicit"),
]






@pytest.mark.parametrize(("script", "port", "mailpace_port", "mode"), CASES, ids=[f"{c[0][:-3]}-{c[1] or 'kept'}" for c in CASES])
def test_script_logs_in_to_mailpace_after_migration(
    tmp_path: Path, smtp_server: object, script: str, port: int | None, mailpace_port: int, mode: str
) -> None:
    before = (SCRIPTS / script).read_text(encoding="utf-8")
    repo = make_repo(tmp_path / "repo", {script: before, ".gitignore": ".env\n__pycache__/\n"})

    # 1. Migrate with the real CLI: the token is never printed nor written into the tracked script.
    port_args = ["--port", str(port)] if port else []
    cli = clean_env(MAILPACE_API_TOKEN=TOKEN)
    written = run_process([sys.executable, "-m", "mailmigrate", "migrate", "--write", *port_args], repo, cli)
    assert written.returncode == 0, written.stdout + written.stderr
    assert "Traceback" not in written.stderr
    assert TOKEN not in written.stdout + written.stderr
    after = (repo / script).read_text(encoding="utf-8")
    assert after != before and TOKEN not in after
    # literal credentials become the token reference; environment ones keep their variables
    assert 'os.environ["MAILPACE_API_TOKEN"]' in after or 'os.environ["SMTP_USER"]' in after
    compile(after, script, "exec")
    assert git(repo, "status", "--porcelain").splitlines() == [f" M {script}"]

    # 2. Idempotent: a second dry run (same --port) has nothing to change, and check is clean.
    again = run_process([sys.executable, "-m", "mailmigrate", "migrate", *port_args], repo, cli)
    assert (again.returncode, again.stdout) == (0, ""), again.stdout + again.stderr
    checked = run_process([sys.executable, "-m", "mailmigrate", "check"], repo, cli)
    assert (checked.returncode, checked.stdout) == (0, "")  # any MailPace port is consistent

    # 3. Run the migrated script for real: one login with the token, in the planned mode.
    server: SMTPTestServer = smtp_server(mode=mode, token=TOKEN)  # type: ignore[operator]
    ca_file = tmp_path / "ca.pem"
    server.ca.cert_pem.write_to_path(str(ca_file))
    deployment = {"SMTP_USER": TOKEN, "SMTP_PASSWORD": TOKEN} if "SMTP_USER" in after else {}
    run = run_process(
        [sys.executable, str(DRIVER), str(repo / script)], repo,
        clean_env(
            MAILPACE_API_TOKEN=TOKEN, MM_TEST_HELPERS=str(TESTS_DIR), MM_TEST_CA_PEM=str(ca_file),
            MM_TEST_MAILPACE_PORT=str(mailpace_port), MM_TEST_SMTP_PORT=str(server.port), **deployment,
        ),
    )
    assert run.returncode == 0, f"{run.stdout}{run.stderr}\nfailed logins: {server.failed_logins!r}\n{after}"
    assert [(login.username, login.tls) for login in server.logins] == [(TOKEN, mode)]
    assert len(server.messages) == 1
    received = server.messages[0]
    assert received.tls == mode and received.username == TOKEN
    message = message_from_bytes(received.content)
    assert message["From"] == EXPECTED[script]["from"]  # the sender did not become the token
    assert EXPECTED[script]["recipient"] in received.rcpt_tos
