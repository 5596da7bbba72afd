"""Bad input gets a finding (or a clear error) naming the file; it is never written, and the
other files are still processed."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import TOKEN, make_repo, rules
from mailmigrate.cli import app
from mailmigrate.engine import RunOptions, analyse
from mailmigrate.writer import write_all

GOOD = "EMAIL_HOST=smtp.gmail.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=a@b.c\nEMAIL_HOST_PASSWORD=app-pass\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"MAILPACE_API_TOKEN": TOKEN})
    return result.exit_code, result.stdout, result.stderr


def _repo(tmp_path: Path, bad_name: str, bad: bytes) -> Path:
    return make_repo(tmp_path / "r", tracked={".gitignore": "*.env\n.env\n"}, untracked={bad_name: bad, "good.env": GOOD})


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        pytest.param(b"\x7fELF\x02\x01\x01\x00\x00\x00SMTP", "MM002", "binary content", id="binary-named-env"),
        pytest.param(b"\xef\xbb\xbfEMAIL_HOST=smtp.gmail.com # caf\xe9\n", "MM002", "BOM but is not UTF-8", id="bom-then-latin-1"),
        pytest.param(b"\xff\xfeE\x00M\x00A\x00I\x00L\x00", "MM002", "UTF-16 text", id="utf-16"),
    ],
)
def test_undecodable_files_are_findings(tmp_path: Path, content: bytes, code: str, words: str) -> None:
    repo = _repo(tmp_path, ".env", content)
    exit_code, out, err = run("migrate", str(repo), "--write")
    assert exit_code == 1, err
    assert f".env:1:1: {code} " in out and words in out
    assert (repo / ".env").read_bytes() == content
    assert TOKEN in (repo / "good.env").read_text(), "the other file was not processed"
    assert run("check", str(repo))[0] == 1


def test_latin_1_files_keep_every_byte(tmp_path: Path) -> None:
    text = "# Réglages courriel - équipe\nEMAIL_HOST=smtp.gmail.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n"
    repo = _repo(tmp_path, ".env", (text + "EMAIL_HOST_USER=a\nEMAIL_HOST_PASSWORD=mot-de-passe-é\n").encode("latin-1"))
    code, out, err = run("migrate", str(repo), "--write")
    assert code == 0, out + err
    data = (repo / ".env").read_bytes()
    assert data.startswith(text.replace("smtp.gmail.com", "smtp.mailpace.com").encode("latin-1"))
    assert data.endswith(f"EMAIL_HOST_PASSWORD={TOKEN}\n".encode())


def test_invalid_lines_are_reported_and_the_rest_migrated(tmp_path: Path) -> None:
    text = "EMAIL_HOST smtp.sendgrid.net-hunter2\nEMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\n'unterminated\nEMAIL_USE_TLS=True\n"
    repo = _repo(tmp_path, ".env", text.encode())
    code, out, err = run("migrate", str(repo), "--write")
    assert code == 1, err
    assert ".env:1:1: MM003" in out
    assert "hunter2" not in out + err, "an invalid line may be a secret: never echoed"
    new = (repo / ".env").read_text()
    assert "EMAIL_HOST=smtp.mailpace.com" in new
    assert new.startswith("EMAIL_HOST smtp.sendgrid.net-hunter2\n"), "the invalid line is left as it was"


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _repo(tmp_path, ".env", GOOD.encode())
    target = repo / ".env"
    if os.geteuid() == 0:
        # root reads any file whatever its mode: make the read fail where the OS would.
        import mailmigrate.engine

        real = mailmigrate.engine.read_bytes

        def read_bytes(path: Path) -> bytes:
            if path == target:
                raise PermissionError(13, "Permission denied")
            return real(path)

        monkeypatch.setattr(mailmigrate.engine, "read_bytes", read_bytes)
    else:
        target.chmod(0)
    code, out, _ = run("check", str(repo))
    assert code == 1
    assert ".env:1:1: MM001 cannot read the file: Permission denied" in out


def test_file_changed_between_planning_and_writing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", tracked={".gitignore": "*.env\n"}, untracked={"a.env": GOOD, "b.env": GOOD})
    result = analyse([repo], rules(), RunOptions(token=TOKEN), cwd=repo)
    assert len(result.changed_files) == 2
    (repo / "b.env").write_text(GOOD + "# edited meanwhile\n")
    report = write_all(result.changed_files)
    assert not report.ok
    assert report.failed[0][2] == "MM004" and report.failed[0][0] == "b.env"
    assert (repo / "a.env").read_text() == GOOD, "all-or-nothing: the unchanged file was not written either"


def test_failure_half_way_through_renames_restores_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "r", tracked={".gitignore": "*.env\n"}, untracked={"a.env": GOOD, "b.env": GOOD, "c.env": GOOD})
    result = analyse([repo], rules(), RunOptions(token=TOKEN), cwd=repo)
    real_replace = os.replace
    calls = {"n": 0}

    def flaky_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls["n"] += 1
        if calls["n"] == 2 and str(src).endswith(".mailmigrate"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    report = write_all(result.changed_files)
    assert not report.ok and "restored" in report.failed[0][1]
    for name in ("a.env", "b.env", "c.env"):
        assert (repo / name).read_text() == GOOD, name
    leftovers = [p.name for p in repo.iterdir() if "mailmigrate" in p.name]
    assert leftovers == []


def test_writes_keep_mode_bom_crlf_and_leave_no_temporary_files(tmp_path: Path) -> None:
    text = "\ufeffEMAIL_HOST=smtp.gmail.com\r\nEMAIL_PORT=587\r\nEMAIL_USE_TLS=True\r\nEMAIL_HOST_USER=a\r\nEMAIL_HOST_PASSWORD=b"
    repo = make_repo(tmp_path / "r", tracked={".gitignore": ".env\n"}, untracked={".env": text.encode("utf-8")})
    (repo / ".env").chmod(0o600)
    code, _, err = run("migrate", str(repo), "--write")
    assert code == 0, err
    data = (repo / ".env").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfEMAIL_HOST=smtp.mailpace.com\r\n")
    assert data.endswith(f"EMAIL_HOST_PASSWORD={TOKEN}".encode()), "no newline added at the end"
    assert data.count(b"\r\n") == 4 and b"\n" not in data.replace(b"\r\n", b"")
    assert (repo / ".env").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in repo.iterdir()) == [".env", ".git", ".gitignore"]


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    repo = _repo(tmp_path, ".env", (GOOD + "EMAIL_HOST=smtp.sendgrid.net\n").encode())
    code, out, _ = run("check", str(repo))
    assert code == 1
    assert "MM003 EMAIL_HOST is defined twice (lines 1 and 6)" in out
