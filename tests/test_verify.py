"""`mailmigrate verify` and migrate's login check (issue 6): real SMTP logins over real TLS,
against the built-in emulator (dry run) and, with --live --server, against the TLS test server.
No test touches the network beyond 127.0.0.1; the token never appears in any output."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_repo
from smtp_server import SMTPTestServer
from typer.testing import CliRunner

from mailmigrate.cli import app

TOKEN = "3b1f0d2e-verify-4c5a-8e9f-0a1b2c3d4e5f"
MIGRATED_ENV = (
    "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n"
    f"EMAIL_HOST_USER={TOKEN}\nEMAIL_HOST_PASSWORD={TOKEN}\n"
)


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env or {})
    return result.exit_code, result.stdout, result.stderr


def _repo(tmp_path: Path, env_text: str, settings: str | None = None) -> Path:
    tracked = {".gitignore": ".env\n"}
    if settings is not None:
        tracked["settings.py"] = settings
    return make_repo(tmp_path / "r", tracked, {".env": env_text})


def test_migrated_repository_logs_in_and_a_wrong_token_fails(tmp_path: Path) -> None:
    repo = _repo(tmp_path, MIGRATED_ENV)
    code, out, err = _run("verify", "-v", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 0, out + err
    assert "logged in (emulator (starttls, as port 587))" in out and "AUTH PLAIN ********" in out
    assert TOKEN not in out + err
    code, out, err = _run("verify", str(repo), env={"MAILPACE_API_TOKEN": "a-different-token-0000"})
    assert code == 1 and "login FAILED at auth" in out and "535" in out
    assert TOKEN not in out + err


@pytest.mark.parametrize(
    ("env_text", "words"),
    [
        # both TLS flags on: Django refuses it, and the emulator is never reached in a sane mode
        (MIGRATED_ENV + "EMAIL_USE_SSL=True\n", "STARTTLS and implicit TLS are both switched on"),
        # a password different from the username
        (MIGRATED_ENV.replace(f"EMAIL_HOST_PASSWORD={TOKEN}", "EMAIL_HOST_PASSWORD=something-else-123"), "535"),
        # no TLS at all: MailPace needs TLS before AUTH
        (MIGRATED_ENV.replace("EMAIL_USE_TLS=True", "EMAIL_USE_TLS=False"), "FAILED at tls"),
    ],
    ids=["both-tls-flags", "password-not-the-username", "no-tls"],
)
def test_inconsistent_configurations_fail(tmp_path: Path, env_text: str, words: str) -> None:
    repo = _repo(tmp_path, env_text)
    code, out, err = _run("verify", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 1, out + err
    assert words in out
    assert TOKEN not in out + err and "something-else-123" not in out + err


def test_unresolvable_values_are_listed_not_failed(tmp_path: Path) -> None:
    settings = (
        'import os\nEMAIL_HOST = "smtp.mailpace.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n'
        'EMAIL_HOST_USER = os.environ["SMTP_LOGIN"]\nEMAIL_HOST_PASSWORD = os.environ["SMTP_LOGIN"]\n'
    )
    repo = make_repo(tmp_path / "r", {"settings.py": settings})
    code, out, _ = _run("verify", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 2  # nothing could be verified
    assert "not checked, missing: SMTP_LOGIN (read by EMAIL_HOST_USER in" in out
    code, out, _ = _run("verify", str(repo), env={"MAILPACE_API_TOKEN": TOKEN, "SMTP_LOGIN": TOKEN})
    assert code == 0 and "logged in" in out


def test_nothing_to_verify_exits_2_and_usage_errors_too(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "EMAIL_HOST=smtp.gmail.com\nEMAIL_PORT=587\nEMAIL_HOST_USER=a\nEMAIL_HOST_PASSWORD=b\n")
    code, out, _ = _run("verify", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 2 and "not MailPace: run `mailmigrate migrate` first" in out
    code, _, err = _run("verify", "--server", "x", str(repo))
    assert code == 2 and "--live" in err


def test_migrate_does_not_write_a_plan_that_fails_its_login(tmp_path: Path) -> None:
    """The deployment still holds the old provider's password: the planned result would fail
    to log in, so nothing is written (product.md, Verify)."""
    settings = (
        'import os\nEMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n'
        'EMAIL_HOST_USER = os.environ["SMTP_USER"]\nEMAIL_HOST_PASSWORD = os.environ["SMTP_PASSWORD"]\n'
    )
    repo = make_repo(tmp_path / "r", {"settings.py": settings})
    env = {"MAILPACE_API_TOKEN": TOKEN, "SMTP_USER": "apikey", "SMTP_PASSWORD": "SG.old-provider-key"}
    code, out, err = _run("migrate", "--write", str(repo), env=env)
    assert code == 1 and "fails its login" in err and "nothing was written" in err
    assert (repo / "settings.py").read_text() == settings
    assert "SG.old-provider-key" not in out + err
    code, _, _ = _run("migrate", "--write", "--no-verify", str(repo), env=env)
    assert code in (0, 1) and "smtp.mailpace.com" in (repo / "settings.py").read_text()


def test_migrate_reports_the_login_check_of_its_plan(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD=SG.x\n")
    code, _, err = _run("migrate", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 1
    assert "Login check of the planned result (built-in MailPace emulator): 1 configuration checked: 1 logged in" in err


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_live_against_another_server_with_its_ca(tmp_path: Path, smtp_server: object, mode: str) -> None:
    """--live --server HOST:PORT --ca-file: certificate verification on, the configuration's
    own TLS mode, the token as both username and password."""
    server: SMTPTestServer = smtp_server(mode=mode, token=TOKEN)  # type: ignore[operator]
    ca = tmp_path / "ca.pem"
    server.ca.cert_pem.write_to_path(str(ca))
    env_text = MIGRATED_ENV if mode == "starttls" else MIGRATED_ENV.replace("587", "465").replace("EMAIL_USE_TLS", "EMAIL_USE_SSL")
    repo = _repo(tmp_path, env_text)
    args = ["verify", "--live", "--server", f"127.0.0.1:{server.port}", "--ca-file", str(ca), "--timeout", "5", str(repo)]
    code, out, err = _run(*args, env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 0, out + err
    assert [(login.username, login.tls) for login in server.logins] == [(TOKEN, mode)]
    assert not server.messages  # never a message
    # Without the CA, the certificate is refused: a TLS-stage failure.
    code, out, _ = _run(*args[:4], "--timeout", "5", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 1 and "FAILED at tls" in out and "certificate verify failed" in out


def test_a_server_that_never_greets_fails_at_connect_within_the_timeout(tmp_path: Path) -> None:
    """--live against a server that accepts and stalls: a connect-stage failure, exit 1, no hang."""
    import socket
    import threading
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
    repo = _repo(tmp_path, MIGRATED_ENV)
    started = time.monotonic()
    code, out, _ = _run("verify", "--live", "--server", f"127.0.0.1:{listener.getsockname()[1]}", "--timeout", "1", str(repo),
                        env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 1 and "FAILED at connect" in out
    assert time.monotonic() - started < 10
    listener.close()


@pytest.mark.slow
def test_emulator_command_runs_in_the_foreground_until_interrupted(tmp_path: Path) -> None:
    import signal
    import smtplib
    import ssl
    import subprocess
    import sys

    env = {"MAILPACE_API_TOKEN": TOKEN, "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mailmigrate", "emulator", "--port", "0", "--tls-port", "0"],
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert process.stderr is not None
        lines = [process.stderr.readline() for _ in range(2)]
        port = int(next(part for line in lines for part in line.replace(":", " ").split() if part.isdigit() and int(part) > 1024))
        with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
            client.starttls(context=ssl._create_unverified_context())
            client.login(TOKEN, TOKEN)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    assert process.returncode == 0
    assert TOKEN not in "".join(lines) + err


def test_implicit_tls_configuration_logs_in_to_the_implicit_emulator(tmp_path: Path) -> None:
    env_text = MIGRATED_ENV.replace("587", "465").replace("EMAIL_USE_TLS", "EMAIL_USE_SSL")
    repo = _repo(tmp_path, env_text)
    code, out, _ = _run("verify", "-v", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 0 and "logged in (emulator (implicit, as port 465))" in out
    assert "STARTTLS" not in out.split("logged in", 1)[1]  # TLS from the first byte, no upgrade


@pytest.mark.parametrize(
    ("env_text", "words"),
    [
        # STARTTLS on 465 (MailPace's implicit-TLS port) and implicit TLS on 587: wrong pairing
        (MIGRATED_ENV.replace("EMAIL_PORT=587", "EMAIL_PORT=465"), "FAILED at"),
        (MIGRATED_ENV.replace("EMAIL_USE_TLS", "EMAIL_USE_SSL"), "FAILED at"),
        # not a MailPace port at all
        (MIGRATED_ENV.replace("EMAIL_PORT=587", "EMAIL_PORT=2526"), "MailPace does not listen on port 2526"),
    ],
    ids=["starttls-on-465", "implicit-on-587", "port-2526"],
)
def test_the_emulator_listens_as_mailpace_does_on_each_port(tmp_path: Path, env_text: str, words: str) -> None:
    repo = _repo(tmp_path, env_text)
    code, out, _ = _run("verify", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 1 and words in out, out


def test_without_a_token_nothing_is_sent(tmp_path: Path) -> None:
    repo = _repo(tmp_path, MIGRATED_ENV.replace(TOKEN, "${MAILPACE_API_TOKEN}"))
    code, out, _ = _run("verify", str(repo))
    assert code == 2 and "missing: MAILPACE_API_TOKEN" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--live", "--server", "127.0.0.1:abc"], "--server"),
        (["--live", "--server", "127.0.0.1:"], "--server"),
        (["--timeout", "nan"], "--timeout"),
        (["--live", "--ca-file", __file__], "--ca-file"),
    ],
)
def test_bad_verify_options_are_usage_errors(tmp_path: Path, args: list[str], words: str) -> None:
    repo = _repo(tmp_path, MIGRATED_ENV)
    code, _, err = _run("verify", *args, str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 2 and words in err and "internal error" not in err


def test_a_dry_run_still_shows_the_plan_whose_login_fails(tmp_path: Path) -> None:
    settings = (
        'import os\nEMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n'
        'EMAIL_HOST_USER = os.environ["SMTP_USER"]\nEMAIL_HOST_PASSWORD = os.environ["SMTP_PASSWORD"]\n'
    )
    repo = make_repo(tmp_path / "r", {"settings.py": settings})
    env = {"MAILPACE_API_TOKEN": TOKEN, "SMTP_USER": "apikey", "SMTP_PASSWORD": "SG.old-provider-key"}
    code, out, err = _run("migrate", str(repo), env=env)
    assert code == 1 and "diff --git" in out and "--write would refuse this plan" in err


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    """python-dotenv, Laravel and Symfony never override a variable already set: verify reads
    what the running app would."""
    settings = (
        'import os\nEMAIL_HOST = "smtp.mailpace.com"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n'
        'EMAIL_HOST_USER = os.environ["SMTP_LOGIN"]\nEMAIL_HOST_PASSWORD = os.environ["SMTP_LOGIN"]\n'
    )
    repo = make_repo(tmp_path / "r", {"settings.py": settings, ".gitignore": ".env\n"}, {".env": f"SMTP_LOGIN={TOKEN}\n"})
    code, _, _ = _run("verify", str(repo), env={"MAILPACE_API_TOKEN": TOKEN})
    assert code == 0
    code, out, _ = _run("verify", str(repo), env={"MAILPACE_API_TOKEN": TOKEN, "SMTP_LOGIN": "stale-value-1"})
    assert code == 1 and "535" in out


def test_live_without_write_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = _run("migrate", "--live", str(_repo(tmp_path, MIGRATED_ENV)))
    assert code == 2 and "--write" in err
