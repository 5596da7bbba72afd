"""Files named one by one (pre-commit passes only what is staged) are judged with the env files
of their repository as context: the verdict on a settings module or a compose file does not
depend on whether its .env was staged with it, and the .env is never written in that run."""

from __future__ import annotations

from pathlib import Path

from helpers import make_repo
from typer.testing import CliRunner

from mailmigrate.cli import app

COMPOSE = "services:\n  app:\n    image: x\n    environment:\n      SMTP_HOST: ${RELAY}\n      SMTP_PORT: 587\n"
SETTINGS = (
    'import os\nEMAIL_HOST = "smtp.mailpace.com"\nEMAIL_PORT = 587\n'
    'EMAIL_USE_TLS = os.environ.get("EMAIL_USE_TLS", "False") == "True"\n'
    'EMAIL_HOST_USER = os.environ["MAILPACE_API_TOKEN"]\nEMAIL_HOST_PASSWORD = os.environ["MAILPACE_API_TOKEN"]\n'
)


def _run(*args: str, cwd: Path) -> tuple[int, str]:
    import os

    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args), env={"MAILPACE_API_TOKEN": ""})
    finally:
        os.chdir(before)
    return result.exit_code, result.stdout


def _codes(out: str) -> list[str]:
    return sorted(line.split(": ")[1].split()[0] for line in out.splitlines() if ": MM" in line)


def test_a_compose_file_alone_still_sees_the_host_its_env_file_sets(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"docker-compose.yml": COMPOSE, ".env": "RELAY=smtp.sendgrid.net\n"})
    together = _run("check", ".", cwd=repo)
    alone = _run("check", "docker-compose.yml", cwd=repo)
    assert together[0] == alone[0] == 1
    assert _codes(together[1]) == _codes(alone[1]) and "MM101" in _codes(alone[1])
    before = (repo / ".env").read_bytes()
    code, out = _run("migrate", "docker-compose.yml", "--write", "--no-verify", cwd=repo)
    assert code == 1  # the host lives in .env, which this run did not include: left for a person
    assert (repo / ".env").read_bytes() == before


def test_a_settings_module_alone_reads_the_flag_its_env_file_sets(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"settings.py": SETTINGS, ".env": "EMAIL_USE_TLS=True\n"})
    assert _run("check", ".", cwd=repo) == (0, "")
    assert _run("check", "settings.py", cwd=repo) == (0, "")
    assert _run("migrate", "settings.py", cwd=repo)[0] == 0  # nothing to change
