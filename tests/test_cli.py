"""The command line through Typer's CliRunner, plus real subprocess runs: exit codes, output
shapes, and the dry-run diff applying with `git apply`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import TOKEN, make_repo
from mailmigrate.cli import app

SENDGRID = "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD=SG.sentinel-pass\n"
CLEAN = "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n"


def invoke(*args: str, token: str | None = TOKEN, stdin: str | None = None) -> tuple[int, str, str]:
    env = {"MAILPACE_API_TOKEN": token} if token else {"MAILPACE_API_TOKEN": ""}
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(
        tmp_path / "repo",
        tracked={".gitignore": ".env\n", ".env.example": SENDGRID.replace("SG.sentinel-pass", "")},
        untracked={".env": SENDGRID},
    )


def test_check_exit_codes(repo: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("check", str(repo))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[-1].startswith("Found ")
    for line in lines[:-1]:
        assert re.fullmatch(r"\S+:\d+:\d+: MM\d{3} .+", line), line
    assert "MM101 SendGrid host smtp.sendgrid.net" in out
    assert invoke("check", str(repo), "--exit-zero")[0] == 0
    clean = make_repo(tmp_path / "clean", tracked={".env.example": CLEAN})
    assert invoke("check", str(clean)) == (0, "", "")


def test_usage_errors_exit_2_without_traceback(tmp_path: Path) -> None:
    code, out, err = invoke("check", str(tmp_path / "missing"))
    assert code == 2
    assert "no such file or directory" in err and "Traceback" not in err + out
    code, _, err = invoke("check", "--format", "xml", str(tmp_path))
    assert code == 2 and "Traceback" not in err
    code, _, err = invoke("migrate", "--port", "2526", str(tmp_path))
    assert code == 2 and "Traceback" not in err
    code, _, err = invoke("migrate", "--token-env", "NOT A NAME", str(tmp_path))
    assert code == 2 and "--token-env" in err


def test_invalid_rules_exit_2_naming_file_and_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "broken.yaml").write_text("family: broken\ntitle: B\nforms:\n  env:\n    keys: {X_HOST: hots}\n")
    monkeypatch.setattr("mailmigrate.rules.default_rules_dir", lambda: rules_dir)
    code, out, err = invoke("check", str(tmp_path))
    assert code == 2
    assert "broken.yaml: forms.env.keys.X_HOST: unknown role 'hots'" in err


def test_check_json_and_github_formats(repo: Path) -> None:
    code, out, _ = invoke("check", str(repo), "--format", "json")
    assert code == 1
    findings = json.loads(out)
    assert {"code", "name", "path", "line", "column", "message", "fixable"} <= set(findings[0])
    assert any(f["code"] == "MM101" and f["name"] == "non-mailpace-host" for f in findings)
    code, out, _ = invoke("check", str(repo), "--format", "github")
    assert code == 1
    for line in out.strip().splitlines():
        assert re.match(r"::(error|warning) file=[^,]+,line=\d+,col=\d+,title=MM\d{3} [a-z-]+::", line), line


def test_scan_json_lists_configurations_with_git_status(repo: Path) -> None:
    code, out, _ = invoke("scan", str(repo), "--format", "json")
    assert code == 0
    data = json.loads(out)
    by_file = {Path(c["file"]).name: c for c in data["configurations"]}
    assert by_file[".env"]["git"] == "ignored"
    assert by_file[".env.example"]["git"] == "tracked"
    assert by_file[".env"]["provider"] == "SendGrid"
    assert by_file[".env"]["status"] == "migrate"
    assert by_file[".env"]["target"] == {"host": "smtp.mailpace.com", "port": 587, "encryption": "starttls"}
    password = next(s for s in by_file[".env"]["settings"] if s["role"] == "password")
    assert password["value"] == "********"


def test_migrate_dry_run_then_write(repo: Path) -> None:
    before = (repo / ".env").read_bytes()
    code, out, err = invoke("migrate", str(repo))
    assert code == 1
    assert out.startswith("diff --git ")
    assert "run with --write" in err
    assert (repo / ".env").read_bytes() == before, "a dry run wrote"
    code, out, err = invoke("migrate", str(repo), "--write")
    assert code == 0, err
    assert f"EMAIL_HOST_PASSWORD={TOKEN}" in (repo / ".env").read_text()
    assert TOKEN not in (repo / ".env.example").read_text()
    assert "EMAIL_HOST_USER" in err and "where the app is deployed" in err  # the template's follow-up
    assert invoke("migrate", str(repo)) == (0, "", "Nothing to change.\n")


def test_write_refuses_without_token_when_a_secrets_file_needs_it(repo: Path) -> None:
    before = {p: p.read_bytes() for p in repo.iterdir() if p.is_file()}
    code, out, err = invoke("migrate", str(repo), "--write", token=None)
    assert code == 2
    assert "MAILPACE_API_TOKEN" in err and "nothing was written" in err
    assert {p: p.read_bytes() for p in repo.iterdir() if p.is_file()} == before
    # The dry run works without a token and shows the token masked.
    code, out, _ = invoke("migrate", str(repo), token=None)
    assert code == 1 and "EMAIL_HOST_PASSWORD=********" in out


def test_token_from_stdin(repo: Path) -> None:
    code, _, err = invoke("migrate", str(repo), "--write", "--token-stdin", token=None, stdin=f"  {TOKEN}\n")
    assert code == 0, err
    assert f"EMAIL_HOST_USER={TOKEN}" in (repo / ".env").read_text()
    code, _, err = invoke("migrate", str(repo), "--write", "--token-stdin", token=None, stdin="")
    assert code == 2 and "empty" in err
    code, _, err = invoke("migrate", str(repo), "--write", "--token-stdin", token=None, stdin="a b\n")
    assert code == 2 and "whitespace" in err


def test_explicit_files_as_pre_commit_passes_them(repo: Path) -> None:
    (repo / "README.md").write_text("# mail docs: smtp\n")
    code, out, _ = invoke("check", str(repo / ".env.example"), str(repo / "README.md"))
    assert code == 1
    assert ".env.example" in out and ".env:" not in out.replace(".env.example", "")


@pytest.mark.slow
def test_dry_run_diff_applies_with_git_apply(tmp_path: Path) -> None:
    """For tracked files the printed diff is exactly what --write does (CRLF included)."""
    files = {
        ".env.example": SENDGRID.replace("SG.sentinel-pass", ""),
        "deploy/.env.production": "SMTP_SERVER=smtp.mailgun.org\r\nSMTP_PORT=465\r\nSMTP_TLS=true\r\nSMTP_LOGIN=\r\nSMTP_PASSWORD=",
    }
    applied = make_repo(tmp_path / "applied", tracked=files)
    written = make_repo(tmp_path / "written", tracked=files)
    done = subprocess.run(
        [sys.executable, "-m", "mailmigrate", "migrate", "."], cwd=applied, capture_output=True, check=False
    )
    assert done.returncode == 1, done.stderr
    subprocess.run(["git", "apply", "-"], cwd=applied, input=done.stdout, check=True)
    assert invoke("migrate", str(written), "--write")[0] == 0
    for rel in files:
        assert (applied / rel).read_bytes() == (written / rel).read_bytes(), rel
    assert b"\r\n" in (applied / "deploy/.env.production").read_bytes()


def test_dry_run_says_when_masked_lines_stop_git_apply(repo: Path) -> None:
    code, out, err = invoke("migrate", str(repo))
    assert code == 1
    assert "-EMAIL_HOST_PASSWORD=********" in out
    assert "masked" in err and "--write" in err


@pytest.mark.slow
def test_real_subprocess_version_and_help() -> None:
    done = subprocess.run([sys.executable, "-m", "mailmigrate", "--version"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.startswith("mailmigrate ")
    done = subprocess.run([sys.executable, "-m", "mailmigrate", "migrate", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and "--write" in done.stdout
