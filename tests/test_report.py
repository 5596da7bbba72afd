"""`migrate --report FILE --report-format markdown|json` (issue 8): the pull-request report on a
realistic multi-format repository, parsed back; truncation under GitHub's 1 MiB summary limit;
usage errors; secrets (see also test_secrets.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from helpers import make_repo
from typer.testing import CliRunner

from mailmigrate.cli import app

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "sentinel-report-token-5d1c"
MESSAGES = (
    "from django.core.mail import EmailMessage, send_mail\n\n\n"
    "def welcome(user):\n    EmailMessage('Welcome', 'Hi', 'shop@example.com', [user.email], headers={'X-PM-Tag': 'welcome'}).send()\n\n\n"
    "def notify():\n    send_mail('x', 'y', 'shop@example.com', ['ops@example.com'])\n"
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The structured-configs fixture (YAML, INI, TOML, JSON, properties, env, compose) plus a
    Django module that sends tagged mail, committed to git."""
    source = ROOT / "fixtures" / "structured-configs" / "input"
    files: dict[str, str | bytes] = {p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*") if p.is_file()}
    files["shop/emails.py"] = MESSAGES
    return make_repo(tmp_path / "repo", files)


def _migrate(repo: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["migrate", str(repo), *args], env={"MAILPACE_API_TOKEN": TOKEN})
    return result.exit_code, result.stdout, result.stderr


def test_markdown_report_on_a_multi_format_repository(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    code, out, err = _migrate(repo, "--tags", "shop", "--report", str(target))
    assert code == 1, err  # a dry run with changes
    text = target.read_text(encoding="utf-8")
    changed = len(re.findall(r"^diff --git ", out, re.M))
    # The summary line and table: one row per configuration, provider → MailPace, port / TLS.
    assert re.search(r"^\d+ SMTP configurations in \d+ files move to MailPace; 1 message re-tagged; \d+ findings need a person\.$", text, re.M)
    rows = [line for line in text.splitlines() if line.startswith("| <code>")]
    assert any("| SendGrid | smtp.mailpace.com | 587 / STARTTLS |" in r for r in rows)
    assert any("implicit TLS" in r for r in rows)
    assert any("X-PM-Tag → X-MailPace-Tags: welcome, shop" in r for r in rows)
    # One collapsible diff per changed file, each a fenced diff the dry run also printed.
    blocks = re.findall(r"<details><summary><code>(.*?)</code> \(\+(\d+) −(\d+)\)</summary>\n\n```diff\n(.*?)```\n\n</details>", text, re.S)
    assert len(blocks) == changed
    for path, added, removed, diff in blocks:
        assert diff in out, path
        assert int(added) == sum(1 for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
    # The follow-ups a person must do.
    assert "**Settings to make in deployment**" in text
    assert "**Mail that could not be tagged**" in text and "send_mail()" in text
    assert "**From addresses to fix**" in text  # Home Assistant's sender = username (MM202)
    assert "Report truncated" not in text
    assert TOKEN not in text


def test_json_report_parses_back_and_matches_the_run(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, out, _ = _migrate(repo, "--report", str(target), "--report-format", "json")
    assert code == 1
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["version"] == 1 and data["written"] is False
    assert {f["path"] for f in data["files"]} == set(re.findall(r"^diff --git a/(\S+) ", out, re.M))
    assert all(c["port"] in (25, 587, 2525, 465) and c["tls"] in ("starttls", "implicit") for c in data["configurations"])
    assert data["messages"][0]["translated"] == ["X-PM-Tag"]
    assert all({"path", "line", "col", "code", "message"} <= set(f) for f in data["findings"])
    assert data["followups"]


def test_report_after_write_says_written_and_the_tree_is_then_clean(repo: Path, tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    code, _, err = _migrate(repo, "--write", "--report", str(target))
    assert code == 1, err  # findings that need a person remain (listed)
    assert " were moved to MailPace" in target.read_text(encoding="utf-8")
    again = tmp_path / "again.md"
    code, out, _ = _migrate(repo, "--report", str(again))
    assert (code, out) == (0, "")
    assert "<details>" not in again.read_text(encoding="utf-8")


def test_a_large_report_is_truncated_under_githubs_limit(tmp_path: Path) -> None:
    from mailmigrate import report
    from mailmigrate.engine import RunResult

    diffs = [report.FileDiff(f"big/{i}.env", "diff --git a/x b/x\n" + "+x\n" * 20000) for i in range(60)]
    text = report.markdown(RunResult(), diffs, lambda s: s, written=False)
    assert len(text.encode()) <= report.SUMMARY_LIMIT
    assert "Report truncated" in text and "<code>big/59.env</code>" in text
    shown = text.count("<details>")
    assert 0 < shown < 60


def test_report_usage_errors_write_nothing(repo: Path, tmp_path: Path) -> None:
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    code, _, err = _migrate(repo, "--write", "--report", str(tmp_path / "missing" / "r.md"))
    assert code == 2 and "--report:" in err
    code, _, err = _migrate(repo, "--report", str(tmp_path))
    assert code == 2 and "is a directory" in err
    assert before == {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    shutil.rmtree(tmp_path / "missing", ignore_errors=True)


def test_paths_that_break_markdown_are_escaped_and_the_login_check_is_in_the_report(tmp_path: Path) -> None:
    stale = "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n"
    repo = make_repo(tmp_path / "r", {"a|b/.env.example": stale, "x`y/.env.example": stale, "<lt>/.env.example": stale})
    target = tmp_path / "r.md"
    code, _, _ = _migrate(repo, "--report", str(target))
    assert code == 1
    text = target.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith("| <code>")]
    assert len(rows) == 3 and all(row.count(" | ") == 4 for row in rows)  # no cell split by a pipe
    assert "a&#124;b/.env.example:1</code>" in text and "&lt;lt&gt;/.env.example:1</code>" in text
    assert "**Login check of the planned result**" in text


def test_an_unwritable_report_stops_a_write_before_anything_is_written(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    target = tmp_path / "r.md"
    real = Path.write_text

    def refuse(self: Path, *args: object, **kwargs: object) -> int:
        if self == target:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", refuse)
    code, _, err = _migrate(repo, "--write", "--report", str(target))
    assert code == 2 and "No space left on device; nothing was written" in err
    assert before == {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}


def test_a_report_for_thousands_of_files_stays_under_the_limit(tmp_path: Path) -> None:
    from mailmigrate import report
    from mailmigrate.engine import RunResult
    from mailmigrate.model import Finding

    result = RunResult()
    result.findings = [Finding("MM006", "服务" * 40 + f"/{i}/.env.example", 4, 1, "EMAIL_USE_TLS=maybe: " + "x" * 200) for i in range(5000)]
    text = report.markdown(result, [], lambda s: s, written=False)
    assert len(text.encode()) <= report.SUMMARY_LIMIT and "more findings not shown" in text
