"""Issue 9, atomicity: a write interrupted at any point leaves every file wholly old or wholly
new, never partial; a failed run says which files hold which text; what a killed run leaves
behind is never read as configuration, and the next run reports it.

- failures injected in-process at every step of a six-format run (staging, fsync, rename,
  the folders' fsync): every file is old afterwards (all-or-nothing), nothing is left beside
  them, the report names the failing file and every file left as it was;
- a restore that fails: the report says which file holds its new text and where its old text is;
- SIGKILL at many moments of `python -m mailmigrate migrate --write` in a subprocess whose
  fsyncs and renames are slowed down (a sitecustomize.py): every file is whole, old or new;
- the leftovers of a kill: reported by the next run (folder scan, named files, ignored ones,
  outside git), never migrated, and the next run completes the migration.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers import TOKEN, clean_env, git, make_repo, rules
from mailmigrate import writer
from mailmigrate.cli import app
from mailmigrate.discovery import discover, leftover_of
from mailmigrate.engine import RunOptions, RunResult, analyse
from mailmigrate.writer import write_all

# Six formats, each stale: a secrets file (git ignores .env: it gets the token), a Django
# settings module, Spring YAML and properties, Grafana INI, Mattermost JSON.
FILES: dict[str, str] = {
    ".env": (
        "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n"
        "EMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD=SG.secret-one\n"
    ),
    "config/settings.py": (
        'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\nEMAIL_HOST = "smtp.gmail.com"\n'
        'EMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_HOST_USER = "me@example.com"\n'
        'EMAIL_HOST_PASSWORD = "app-password"\n'
    ),
    "application.yml": (
        "spring:\n  mail:\n    host: smtp.mailgun.org\n    port: 587\n    username: postmaster@mg.example.com\n"
        "    password: mailgun-pass\n    properties:\n      mail.smtp.auth: true\n"
        "      mail.smtp.starttls.enable: true\n"
    ),
    "grafana.ini": (
        '[smtp]\nenabled = true\nhost = smtp.sendgrid.net:587\nuser = apikey\npassword = """SG.grafana"""\n'
        "from_address = grafana@example.com\n"
    ),
    "application.properties": (
        "spring.mail.host=smtp.office365.com\nspring.mail.port=587\nspring.mail.username=me@example.com\n"
        "spring.mail.password=o365-pass\nspring.mail.properties.mail.smtp.starttls.enable=true\n"
    ),
    "config.json": (
        '{\n  "EmailSettings": {\n    "SMTPServer": "smtp.sendgrid.net",\n    "SMTPPort": "587",\n'
        '    "SMTPUsername": "apikey",\n    "SMTPPassword": "SG.mm",\n    "ConnectionSecurity": "STARTTLS",\n'
        '    "EnableSMTPAuth": true\n  }\n}\n'
    ),
}
SECRETS = {".env"}  # ignored by git: untracked in the repository


class Plan:
    """Every file's old and planned new bytes, in the order the writer writes them."""

    def __init__(self, result: RunResult) -> None:
        self.order = [o.file.display for o in result.changed_files]
        self.old: dict[str, bytes] = {}
        self.new: dict[str, bytes] = {}
        for outcome in result.changed_files:
            assert outcome.new_text is not None
            self.old[outcome.file.display] = outcome.doc.encode()
            self.new[outcome.file.display] = outcome.doc.encode(outcome.new_text)

    def states(self, repo: Path) -> dict[str, str]:
        """"old" or "new" for every file; fails on any other content (partial, mixed, gone)."""
        states = {}
        for name in self.order:
            data = (repo / name).read_bytes()
            if data == self.old[name]:
                states[name] = "old"
            elif data == self.new[name]:
                states[name] = "new"
            else:
                pytest.fail(f"{name} is neither its old nor its new text:\n{data!r}")
        return states


def _stale_repo(root: Path) -> Path:
    tracked: dict[str, str | bytes] = {".gitignore": ".env\n*.env\n"}
    tracked.update({k: v for k, v in FILES.items() if k not in SECRETS})
    return make_repo(root, tracked=tracked, untracked={k: v for k, v in FILES.items() if k in SECRETS})


def _analyse(repo: Path) -> RunResult:
    return analyse([repo], rules(), RunOptions(token=TOKEN), cwd=repo)


def leftovers(repo: Path) -> list[str]:
    """Every file mailmigrate's writer made beside a target and did not remove."""
    found = []
    for here, dirs, files in os.walk(repo):
        dirs[:] = [d for d in dirs if d != ".git"]
        found += [Path(here, f).relative_to(repo).as_posix() for f in files if "mailmigrate" in f]
    return sorted(found)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Plan]:
    repo = _stale_repo(tmp_path_factory.mktemp("atomicity") / "template")
    result = _analyse(repo)
    plan = Plan(result)
    assert sorted(plan.order) == sorted(FILES), "every file of the fixture is stale and rewritten"
    assert len({Path(n).suffix or n for n in plan.order}) == len(FILES), "six formats"
    return repo, plan


def _copy(template: Path, to: Path) -> Path:
    shutil.copytree(template, to, symlinks=True)
    return to


# ---------------------------------------------------------------------------------------------
# In-process failures at every step
# ---------------------------------------------------------------------------------------------


def _fd_path(fd: int) -> str | None:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None


class FailAt:
    """Makes the k-th call of one step raise OSError(ENOSPC); records what it was working on."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, step: str, k: int) -> None:
        self.k, self.calls, self.on = k, 0, ""
        if step == "replace":
            self._wrap(monkeypatch, os, "replace", lambda src, *_: str(src))
        elif step == "fsync":
            self._wrap(monkeypatch, os, "fsync", lambda fd: _fd_path(fd) or "")
        else:
            self._wrap(monkeypatch, writer, "_stage", lambda target, _data: str(target))

    def _wrap(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str, what: Callable[..., str]) -> None:
        real = getattr(owner, name)

        def flaky(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self.k + 1:
                self.on = what(*args)
                raise OSError(28, "No space left on device")
            return real(*args, **kwargs)

        monkeypatch.setattr(owner, name, flaky)

    @property
    def fired(self) -> bool:
        return self.calls > self.k


def _expected_culprit(on: str, repo: Path, plan: Plan) -> str:
    """The file a failure at `on` (a temporary, a target or a folder) belongs to."""
    path = Path(on)
    if path.is_dir():  # a folder's fsync: reported on its first file
        folder = path.resolve().relative_to(repo.resolve()).as_posix()
        return next(n for n in plan.order if Path(n).parent.as_posix() == folder)
    found = leftover_of(path.name)
    name = found[1] if found is not None else path.name
    return (path.parent / name).resolve().relative_to(repo.resolve()).as_posix()


def _each_failure(
    step: str, template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    run: Callable[[Path], tuple[bool, str, str]],
) -> int:
    """For k = 0, 1, ...: a fresh copy of the repository, the k-th `step` fails, `run` writes.
    Until the step is no longer reached: then the run succeeds and every file is new."""
    source, plan = template
    for k in range(100):
        repo = _copy(source, tmp_path / f"{step}-{k}")
        monkeypatch.chdir(repo)
        with monkeypatch.context() as patch:
            failure = FailAt(patch, step, k)
            ok, culprit, message = run(repo)
        assert leftovers(repo) == [], f"k={k}: nothing is left beside the files"
        states = plan.states(repo)
        if not failure.fired:
            assert ok, message
            assert set(states.values()) == {"new"}
            return k
        assert not ok, f"k={k}: the failure at {failure.on} went unnoticed"
        assert set(states.values()) == {"old"}, f"k={k} ({failure.on}): all-or-nothing: every file is old ({states})"
        if failure.on:
            assert culprit == _expected_culprit(failure.on, repo, plan), (k, failure.on, message)
        assert "No space left on device" in message and "nothing was written" in message
        left = message.split("left as they were: ", 1)[1]
        assert sorted(left.split("\n", 1)[0].rstrip(".").split(", ")) == sorted(plan.order), "names every file"
    pytest.fail("the step never stopped failing")


def _write_all(repo: Path) -> tuple[bool, str, str]:
    result = _analyse(repo)
    report = write_all(result.changed_files)
    if report.ok:
        assert sorted(report.written) == sorted(FILES) and report.not_written == []
        return True, "", ""
    assert report.written == [] and sorted(report.not_written) == sorted(FILES), "which files hold which text"
    assert len(report.failed) == 1
    culprit, why, _code = report.failed[0]
    return False, culprit, why


@pytest.mark.parametrize("step", ["stage", "fsync", "replace"])
def test_a_failure_at_any_step_leaves_every_file_old(
    step: str, template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = _each_failure(step, template, tmp_path, monkeypatch, _write_all)
    # stage, replace: one call per file; fsync: one per file, then one per folder (2 here)
    assert failures == len(FILES) + (2 if step == "fsync" else 0)


def _cli(repo: Path) -> tuple[bool, str, str]:
    done = CliRunner().invoke(app, ["migrate", ".", "--write", "--no-verify"], env={"MAILPACE_API_TOKEN": TOKEN})
    if done.exit_code != 1 or "nothing was written" not in done.stderr:
        assert done.exit_code == 0, done.stderr
        return True, "", done.stderr
    lines = [line for line in done.stderr.splitlines() if ":1:1: MM001 " in line]
    assert len(lines) == 1, done.stderr
    assert done.stderr.rstrip().endswith("mailmigrate: nothing was written."), done.stderr
    culprit, why = lines[0].split(":1:1: MM001 ", 1)
    return False, culprit, why


@pytest.mark.parametrize("step", ["stage", "replace"])
def test_the_cli_reports_a_failed_write(
    step: str, template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Exit 1; `FILE:1:1: MM001 could not replace it (No space left on device); A, B had been
    replaced and were restored; nothing was written; left as they were: …`."""
    assert _each_failure(step, template, tmp_path, monkeypatch, _cli) == len(FILES)


# ---------------------------------------------------------------------------------------------
# A restore that fails
# ---------------------------------------------------------------------------------------------


def _break_restore(monkeypatch: pytest.MonkeyPatch, plan: Plan, fail_at: int, stuck: int) -> None:
    """The rename of file `fail_at` fails, and so does putting file `stuck` back."""
    real = os.replace
    fail_name = Path(plan.order[fail_at]).name
    stuck_backup = f".{Path(plan.order[stuck]).name}.mailmigrate-backup"

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        name = Path(src).name
        if name.startswith(f".{fail_name}.") and name.endswith(".mailmigrate"):
            raise OSError(5, "Input/output error")
        if name == stuck_backup:
            raise PermissionError(13, "Permission denied")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_a_failed_restore_says_which_file_holds_which_text(
    template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, plan = template
    repo = _copy(source, tmp_path / "r")
    result = _analyse(repo)
    with monkeypatch.context() as patch:
        _break_restore(patch, plan, fail_at=3, stuck=1)
        report = write_all(result.changed_files)
    first, stuck, failing = plan.order[0], plan.order[1], plan.order[3]
    states = plan.states(repo)
    assert states == {name: ("new" if name == stuck else "old") for name in plan.order}
    assert report.written == [stuck]
    assert report.not_written == [n for n in plan.order if n != stuck]
    (where, why, code), (stuck_shown, stuck_why, _) = report.failed
    assert where == failing and code == "MM001"
    assert why.startswith("could not replace it (Input/output error)")
    assert f"{first}, {plan.order[2]} had been replaced and were restored" in why
    assert f"NOT all-or-nothing: new text in {stuck}; old text in " in why
    assert why.endswith(", ".join(report.not_written))
    backup = Path(stuck).parent / f".{Path(stuck).name}.mailmigrate-backup"
    assert stuck_shown == stuck
    assert stuck_why == (
        "holds its NEW text: putting the old one back failed (Permission denied); "
        f"its old text is in {backup.as_posix()}"
    )
    assert (repo / backup).read_bytes() == plan.old[stuck], "the only copy of its old text is kept"
    assert leftovers(repo) == [backup.as_posix()]

    # The next run: the backup is reported, never read; the migration completes.
    again = _analyse(repo)
    assert [f.message for f in again.findings if f.path == backup.as_posix()] == [
        f"left by an interrupted `mailmigrate migrate --write`: the text {stuck} had before that run "
        f"(old credentials, maybe). Check that {stuck} is whole, keep what you need, then delete this "
        "file; never commit it"
    ]
    assert backup.as_posix() not in {o.file.display for o in again.files}
    assert write_all(again.changed_files).ok
    assert set(plan.states(repo).values()) == {"new"}
    assert leftovers(repo) == [backup.as_posix()], "the old text stays until a person deletes it"


def test_the_cli_reports_a_failed_restore(template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source, plan = template
    repo = _copy(source, tmp_path / "r")
    monkeypatch.chdir(repo)
    with monkeypatch.context() as patch:
        _break_restore(patch, plan, fail_at=2, stuck=0)
        done = CliRunner().invoke(app, ["migrate", ".", "--write", "--no-verify"], env={"MAILPACE_API_TOKEN": TOKEN})
    assert done.exit_code == 1
    stuck = plan.order[0]
    assert f"{plan.order[2]}:1:1: MM001 could not replace it (Input/output error); {plan.order[1]} had been replaced and was restored; NOT all-or-nothing: new text in {stuck}; old text in " in done.stderr
    assert f"{stuck}:1:1: MM001 holds its NEW text: putting the old one back failed (Permission denied)" in done.stderr
    assert plan.states(repo)[stuck] == "new"


def test_the_cli_does_not_say_nothing_was_written_when_a_restore_failed(
    template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, plan = template
    repo = _copy(source, tmp_path / "r")
    monkeypatch.chdir(repo)
    with monkeypatch.context() as patch:
        _break_restore(patch, plan, fail_at=2, stuck=0)
        done = CliRunner().invoke(app, ["migrate", ".", "--write", "--no-verify"], env={"MAILPACE_API_TOKEN": TOKEN})
    assert "mailmigrate: nothing was written." not in done.stderr
    assert "mailmigrate: the write failed part-way:" in done.stderr


def test_without_hard_links_the_backups_are_copies(
    template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system without hard links: each backup is a copy (written and renamed like a new
    text), and a failed rename still puts every file back."""
    source, plan = template
    for fail_at, expected in ((3, "old"), (None, "new")):
        repo = _copy(source, tmp_path / f"r{fail_at}")
        result = _analyse(repo)
        real = os.replace
        renames: list[str] = []
        copies: list[str] = []

        def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
            if Path(dst).name.endswith(".mailmigrate-backup"):
                copies.append(Path(dst).name)
            if Path(dst).name in FILES or Path(dst).name == "settings.py":
                renames.append(Path(dst).name)
                if len(renames) == fail_at and not Path(src).name.endswith("-backup"):
                    raise OSError(28, "No space left on device")
            real(src, dst)

        def no_link(src: object, dst: object) -> None:
            raise OSError(1, "Operation not permitted")

        with monkeypatch.context() as patch:
            patch.setattr(os, "link", no_link)
            patch.setattr(os, "replace", replace)
            report = write_all(result.changed_files)
        assert report.ok is (expected == "new"), report.failed
        assert len(copies) == (3 if fail_at else len(FILES)), "a copied backup before each rename"
        assert set(plan.states(repo).values()) == {expected}
        assert leftovers(repo) == []


def test_ctrl_c_during_the_renames_puts_every_file_back(
    template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, plan = template
    repo = _copy(source, tmp_path / "r")
    result = _analyse(repo)
    real = os.replace
    calls = {"n": 0}

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        real(src, dst)
        calls["n"] += 1
        if calls["n"] == 3:  # just after the third rename
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        write_all(result.changed_files)
    assert set(plan.states(repo).values()) == {"old"}
    assert leftovers(repo) == []


# ---------------------------------------------------------------------------------------------
# What a killed run leaves behind, and the next run
# ---------------------------------------------------------------------------------------------


def _as_a_kill_leaves_it(repo: Path, plan: Plan) -> dict[str, str]:
    """The state of a run killed during its renames: .env replaced (its backup holds the old
    text), config/settings.py hard-linked to its backup but not yet replaced, application.yml
    staged only. Returns leftover → what it is."""
    (repo / "..env.mailmigrate-backup").write_bytes(plan.old[".env"])
    (repo / ".env").write_bytes(plan.new[".env"])
    os.link(repo / "config/settings.py", repo / "config/.settings.py.mailmigrate-backup")
    (repo / ".application.yml.k3j_h5g6.mailmigrate").write_bytes(plan.new["application.yml"][:40])  # half written
    return {
        "..env.mailmigrate-backup": "the text .env had before that run",
        "config/.settings.py.mailmigrate-backup": "the text config/settings.py had before that run",
        ".application.yml.k3j_h5g6.mailmigrate": "a new text planned for application.yml that was never put in place",
    }


def test_leftovers_are_reported_never_read_and_the_next_run_completes(
    template: tuple[Path, Plan], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, plan = template
    repo = _copy(source, tmp_path / "r")
    left = _as_a_kill_leaves_it(repo, plan)
    # git would commit them with `git add -A`: none is ignored by the repository's .gitignore
    untracked = set(git(repo, "ls-files", "-o", "--exclude-standard").split())
    assert set(left) <= untracked

    found = discover([repo], repo)
    assert not {f.display for f in found.files} & set(left), "never read as configuration"
    refused = dict(found.leftovers)
    for name, what in left.items():
        assert refused[name].startswith(f"left by an interrupted `mailmigrate migrate --write`: {what}")

    monkeypatch.chdir(repo)
    runner = CliRunner()
    env = {"MAILPACE_API_TOKEN": TOKEN}
    checked = runner.invoke(app, ["check", "."], env=env)
    assert checked.exit_code == 1
    for name in left:
        assert f"{name}:1:1: MM008 left by an interrupted" in checked.stdout

    # pre-commit after `git add -A`: the staged names are passed one by one; the check fails.
    git(repo, "add", "-A")
    staged = [n for n in git(repo, "diff", "--cached", "--name-only").split() if n in left]
    assert sorted(staged) == sorted(left)
    named = runner.invoke(app, ["check", *staged], env=env)
    assert named.exit_code == 1
    assert sorted(line.split(":1:1:")[0] for line in named.stdout.splitlines() if ":1:1: MM008 left by" in line) == sorted(left)
    git(repo, "reset", "-q")

    # The next run writes the files still old and leaves the leftovers (reported) alone, but
    # the redundant backup of settings.py (a hard link to it): replaced, then removed.
    migrated = runner.invoke(app, ["migrate", ".", "--write", "--no-verify"], env=env)
    assert migrated.exit_code == 1, migrated.stderr  # findings remain: the leftovers
    assert set(plan.states(repo).values()) == {"new"}
    assert leftovers(repo) == sorted(set(left) - {"config/.settings.py.mailmigrate-backup"})
    assert (repo / "..env.mailmigrate-backup").read_bytes() == plan.old[".env"], "never deleted by mailmigrate"


def test_a_backup_holding_another_text_stops_the_write(template: tuple[Path, Plan], tmp_path: Path) -> None:
    source, plan = template
    repo = _copy(source, tmp_path / "r")
    (repo / ".grafana.ini.mailmigrate-backup").write_text("[smtp]\nhost = an older text\n")
    report = write_all(_analyse(repo).changed_files)
    assert report.failed == [(
        "grafana.ini",
        ".grafana.ini.mailmigrate-backup beside it was left by an interrupted run and holds another text: "
        "compare the two, keep what you need and delete the backup; nothing was written; left as they were: "
        + ", ".join(plan.order),
        "MM001",
    )]
    assert set(plan.states(repo).values()) == {"old"}
    assert (repo / ".grafana.ini.mailmigrate-backup").read_text() == "[smtp]\nhost = an older text\n"


def test_a_file_swapped_for_a_link_since_it_was_read_is_not_followed(template: tuple[Path, Plan], tmp_path: Path) -> None:
    """Discovery gives the file a link points to; a link put in its place afterwards (to a copy
    outside the repository) would take the write there: MM004, nothing written."""
    source, plan = template
    repo = _copy(source, tmp_path / "r")
    result = _analyse(repo)
    outside = tmp_path / "outside.env"
    outside.write_bytes(plan.old[".env"])
    (repo / ".env").unlink()
    (repo / ".env").symlink_to(outside)
    report = write_all(result.changed_files)
    assert report.failed[0][0] == ".env" and report.failed[0][2] == "MM004"
    assert report.failed[0][1].startswith("changed on disk since it was read (it is a symbolic link now); nothing was written")
    assert outside.read_bytes() == plan.old[".env"]
    assert plan.states(repo) == dict.fromkeys(plan.order, "old")
    assert leftovers(repo) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["outside.env", "r"]


def test_ignored_leftovers_and_leftovers_outside_git_are_reported(tmp_path: Path) -> None:
    # ignored by a pattern, and inside an ignored folder (git lists only the folder)
    repo = make_repo(tmp_path / "r", tracked={".gitignore": ".env\n*.mailmigrate-backup\nsecrets/\n"},
                     untracked={".env": FILES[".env"], "..env.mailmigrate-backup": FILES[".env"],
                                "secrets/.env": FILES[".env"], "secrets/..env.abcd1234.mailmigrate": "EMAIL_HOST=x\n"})
    found = discover([repo], repo)
    assert sorted(f.display for f in found.files) == [".env", "secrets/.env"]
    assert sorted(shown for shown, _ in found.leftovers) == ["..env.mailmigrate-backup", "secrets/..env.abcd1234.mailmigrate"]
    # outside git: the walk
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "prod.env").write_text(FILES[".env"])
    (plain / ".prod.env.mailmigrate-backup").write_text(FILES[".env"])
    (plain / ".settings.py.x1y2z3_4.mailmigrate").write_text(FILES["config/settings.py"])
    found = discover([plain], plain)
    assert [f.display for f in found.files] == ["prod.env"]
    assert sorted(shown for shown, _ in found.leftovers) == [".prod.env.mailmigrate-backup", ".settings.py.x1y2z3_4.mailmigrate"]


def test_leftover_names() -> None:
    assert leftover_of("..env.mailmigrate-backup") == ("backup", ".env")
    assert leftover_of(".settings.py.ab_cd123.mailmigrate") == ("temporary", "settings.py")
    for name in (".env", "settings.py", "mailmigrate-backup", ".mailmigrate", "a.mailmigrate-backup", ".mailmigrate-backup"):
        assert leftover_of(name) is None, name


# ---------------------------------------------------------------------------------------------
# SIGKILL in a subprocess
# ---------------------------------------------------------------------------------------------

# Loaded by every Python started with this folder on PYTHONPATH: each fsync of a file and each
# rename sleeps a little (the renames twice as long: that is where files go from old to new), so
# a kill lands inside the write; the first one touches a marker file, so the test knows the write
# has begun. Folders' fsyncs are not slowed: every file is new by then.
SITECUSTOMIZE = '''
import os, stat, time

_delay = float(os.environ.get("ATOMICITY_SLOW", "0"))
_marker = os.environ.get("ATOMICITY_MARKER", "")
if _delay:
    _fsync, _replace = os.fsync, os.replace

    def _mark():
        if _marker and not os.path.exists(_marker):
            open(_marker, "w").close()

    def fsync(fd):
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            _mark()
            time.sleep(_delay)
        _fsync(fd)

    def replace(src, dst, **kwargs):
        _mark()
        time.sleep(2 * _delay)
        _replace(src, dst, **kwargs)

    os.fsync, os.replace = fsync, replace
'''

KILLS = 20
SLOW = 0.003  # seconds per fsync of a file; twice that per rename


def _big_repo(root: Path) -> Path:
    tracked: dict[str, str | bytes] = {".gitignore": ".env\n"}
    untracked: dict[str, str | bytes] = {}
    for i in range(40):
        untracked[f"svc{i:02}/.env"] = FILES[".env"].replace("SG.secret-one", f"SG.secret-{i}")
    for i in range(10):
        tracked[f"app{i:02}/settings.py"] = FILES["config/settings.py"].replace("app-password", f"pw-{i}")
    for name in ("application.yml", "grafana.ini", "application.properties", "config.json"):
        tracked[f"conf/{name}"] = FILES[name]
    return make_repo(root, tracked=tracked, untracked=untracked)


def _start(repo: Path, site: Path, marker: Path) -> subprocess.Popen[bytes]:
    env = clean_env(
        MAILPACE_API_TOKEN=TOKEN, ATOMICITY_SLOW=str(SLOW), ATOMICITY_MARKER=str(marker),
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH", "")])),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "mailmigrate", "migrate", "--write", "--no-verify", "-q"],
        cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


def _wait_for(marker: Path, proc: subprocess.Popen[bytes], timeout: float = 30) -> float:
    start = time.monotonic()
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"the run ended before writing: {proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() - start > timeout:
            pytest.fail("the run never started writing")
        time.sleep(0.001)
    return time.monotonic()


def _kill_times(seed: int, window: float) -> Iterator[float]:
    """Delays after the write began: spread over the whole write, and a little past it."""
    rng = random.Random(seed)
    for i in range(KILLS):
        yield max(0.0, (i + rng.random()) / KILLS * window * 1.1)


@pytest.mark.slow
def test_sigkill_during_the_write_leaves_every_file_whole(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(SITECUSTOMIZE)
    source = _big_repo(tmp_path / "template")
    plan = Plan(_analyse(source))
    assert len(plan.order) == 54

    # One run to the end, slowed the same way: the planned text is what the CLI writes, and
    # how long its write takes.
    control = _copy(source, tmp_path / "control")
    marker = tmp_path / "control.marker"
    proc = _start(control, site, marker)
    began = _wait_for(marker, proc)
    _, err = proc.communicate(timeout=60)
    window = time.monotonic() - began
    assert proc.returncode == 0, err.decode()
    assert set(plan.states(control).values()) == {"new"} and leftovers(control) == []

    outcomes: dict[str, int] = {"all old": 0, "mixed, each whole": 0, "all new": 0}
    finished = 0  # runs that ended before their kill (counted as all new)
    for i, delay in enumerate(_kill_times(seed=9, window=window)):
        repo = _copy(source, tmp_path / f"kill{i}")
        marker = tmp_path / f"kill{i}.marker"
        proc = _start(repo, site, marker)
        _wait_for(marker, proc)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            finished += 1
        proc.communicate(timeout=60)

        states = plan.states(repo)  # every file wholly old or wholly new
        new = [n for n in plan.order if states[n] == "new"]
        assert new == plan.order[: len(new)], "the renames ran in order: no file was written out of turn"
        outcome = "all old" if not new else "all new" if len(new) == len(plan.order) else "mixed, each whole"
        outcomes[outcome] += 1
        left = leftovers(repo)
        for name in left:  # a backup holds the old text of its target; a temporary is never read
            found = leftover_of(Path(name).name)
            assert found is not None, name
            if found[0] == "backup":
                target = (Path(name).parent / found[1]).as_posix()
                assert (repo / name).read_bytes() == plan.old[target], name

        # The next run reports every leftover, reads none, and finishes the migration.
        again = _analyse(repo)
        assert not {o.file.display for o in again.files} & set(left)
        assert sorted(f.path for f in again.findings if f.code == "MM008") == left
        report = write_all(again.changed_files)
        assert report.ok, report.failed
        assert set(plan.states(repo).values()) == {"new"}

    print(f"{KILLS} kills (write window {window:.2f} s): {outcomes}; {finished} ended before their kill")
    assert sum(outcomes.values()) == KILLS
    assert outcomes["all old"] and outcomes["mixed, each whole"], outcomes
