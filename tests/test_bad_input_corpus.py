"""The bad input corpus (issue 9), through the real CLI: every malformed or hostile file of
tests/bad_inputs.py gets a finding naming it (or at least no crash), is never written, does not
stop the other files of the run, and costs bounded time and memory.

Each case is run in a subprocess (`python -m mailmigrate check .`, then `migrate . --write
--no-verify` with a sentinel token), killed just after its time bound; its peak RSS is the
child's own (os.wait4 in a small launcher), so no measurement includes pytest or another case.
`-s` prints them (and --junitxml records them as properties):

    python -m pytest -q -s tests/test_bad_input_corpus.py

Cases are marked xfail(strict=True) where the tool misbehaves today (tests/bad_inputs.py says
how); the day a fix lands, the case passes, the strict xfail fails, and the mark must go.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bad_inputs import BETWEEN, CASES, ENV, GOOD, GOOD_NAME, MB, MIGRATED_GOOD, TOKEN, Between, Case

ROOT = Path(__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# Running the CLI with a timeout, measuring wall time and the child's own peak RSS


@dataclass
class Run:
    args: tuple[str, ...]
    code: int | None  # None: killed at the timeout
    out: str
    err: str
    seconds: float
    rss_mb: float

    @property
    def timed_out(self) -> bool:
        return self.code is None

    def describe(self) -> str:
        return f"{' '.join(self.args)}: exit {self.code}, {self.seconds:.2f} s, {self.rss_mb:.0f} MB"


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAILPACE_", "MAILMIGRATE_", "EMAIL_", "SMTP_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["NO_COLOR"] = "1"
    env.pop("MAILMIGRATE_DEBUG", None)
    env.update(extra)
    return env


# The child is started by a small launcher that forks it and reports its rusage: Linux carries
# the peak RSS of the process that forked over into the child (through exec), so measuring a
# child forked by pytest itself would report pytest's own size. The launcher is tiny.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status) & 0xFF)
"""


def run_cli(args: list[str], cwd: Path, timeout: float, env: dict[str, str], prefix: tuple[str, ...] = ()) -> Run:
    """`python -m mailmigrate ARGS` in `cwd`: killed (the whole process group) after `timeout`
    seconds. Output goes to files, so a child printing megabytes never blocks on a pipe."""
    with tempfile.TemporaryDirectory() as scratch:
        rss_file = Path(scratch) / "rss"
        out_file, err_file = Path(scratch) / "out", Path(scratch) / "err"
        command = [*prefix, sys.executable, "-c", _LAUNCHER, str(rss_file), sys.executable, "-m", "mailmigrate", *args]
        started = time.monotonic()
        with open(out_file, "wb") as out, open(err_file, "wb") as err:
            proc = subprocess.Popen(command, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                    start_new_session=True)
            try:
                code: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                code = None
        seconds = time.monotonic() - started
        rss_kib = int(rss_file.read_text() or 0) if rss_file.exists() else 0
        return Run(
            tuple(args), code, out_file.read_bytes().decode("utf-8", "replace"),
            err_file.read_bytes().decode("utf-8", "replace"), seconds, rss_kib / 1024,
        )


# --------------------------------------------------------------------------------------------
# Cases


def _marks(case: Case | Between) -> list[pytest.MarkDecorator]:
    marks = []
    if getattr(case, "slow", False):
        marks.append(pytest.mark.slow)
    if case.bug:
        marks.append(pytest.mark.xfail(strict=True, reason=f"bug: {case.bug}"))
    return marks


def _params(cases: list[Case]) -> list[object]:
    return [pytest.param(case, id=f"{case.fmt}:{case.id}", marks=_marks(case)) for case in cases]


def _unreadable_prefix() -> tuple[str, ...] | None:
    """How to run the CLI so that a chmod 000 file cannot be read: nothing as a normal user;
    as root (which reads any file), root without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH through
    setpriv; None when neither works."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search")
    with tempfile.TemporaryDirectory() as scratch:
        probe = Path(scratch) / "probe"
        probe.write_bytes(b"x")
        probe.chmod(0)
        done = subprocess.run([*prefix, "cat", str(probe)], capture_output=True, check=False)
    return prefix if done.returncode != 0 else None


def build(case: Case, root: Path) -> Path:
    repo = root / "repo"
    repo.mkdir()
    (repo / GOOD_NAME).write_bytes(GOOD)
    if isinstance(case.content, bytes):
        path = repo / case.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(case.content)
    else:
        case.content(repo)
    return repo


def _snapshot(path: Path) -> bytes | None:
    """The bad file's bytes (None when it is not a readable regular file: a link loop, a pipe)."""
    try:
        if path.is_file() and not path.is_symlink():
            return path.read_bytes()
        if path.is_symlink() and path.exists():
            return path.read_bytes()
    except OSError:
        pass
    return None


def _files_outside(root: Path, repo: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink() and repo not in p.parents}


def _named_finding(output: str, name: str, code: str) -> bool:
    return re.search(rf"(?m)^{re.escape(name)}:\d+:\d+: {code} ", output) is not None


_FINDING_LINE = re.compile(r"^(?P<path>.*?):\d+:\d+: (?P<code>MM\d{3}) ")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def check_output_is_clean(run: Run, repo: Path) -> None:
    """One finding per line, each naming a file of the repository and a documented code; no
    control characters from the files (a terminal would obey them)."""
    from mailmigrate.codes import BY_CODE

    control = _CONTROL.search(run.out)
    assert control is None, f"control character {control.group()!r} in the output: {run.out[max(0, control.start() - 80):control.end() + 40]!r}"
    for line in run.out.splitlines():
        match = _FINDING_LINE.match(line)
        if match is not None:
            assert os.path.lexists(repo / match["path"]), f"a finding names a file that does not exist: {line!r}"
            assert match["code"] in BY_CODE, f"unknown code: {line!r}"


def check_no_crash(run: Run, case: Case) -> None:
    assert not run.timed_out, f"{run.describe()}: killed after {case.seconds} s"
    assert run.code in (0, 1), f"{run.describe()}\n{run.err[-2000:]}"
    assert "internal error" not in run.err and "Traceback" not in run.err, run.err[-2000:]
    assert run.seconds < case.seconds, f"{run.describe()}: over {case.seconds} s"
    assert run.rss_mb < case.rss_mb, f"{run.describe()}: over {case.rss_mb} MB"


@pytest.mark.parametrize("case", _params(CASES))
def test_bad_input(case: Case, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    try:
        _run_case(case, tmp_path, record_property)
    finally:
        for path in tmp_path.rglob("*"):  # the 10 and 50 MB files: not kept in pytest's tmp folders
            if path.is_file() and not path.is_symlink() and path.stat().st_size > MB:
                path.unlink()


def _measured(run: Run, case: Case, record_property: Callable[[str, object], None]) -> None:
    """Printed (pytest -s) and recorded (--junitxml) for every run."""
    print(f"\n{case.fmt}:{case.id}: {run.describe()}", end="")
    record_property(f"{run.args[0]}_seconds", round(run.seconds, 2))
    record_property(f"{run.args[0]}_rss_mb", round(run.rss_mb))


def _run_case(case: Case, tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    prefix: tuple[str, ...] = ()
    if case.special == "unreadable":
        found = _unreadable_prefix()
        if found is None:
            pytest.skip("running as root without setpriv (or without the right to drop CAP_DAC_OVERRIDE): "
                        "a chmod 000 file stays readable, so unreadability cannot be simulated")
        prefix = found
    repo = build(case, tmp_path)
    bad = repo / case.name
    before = _snapshot(bad)
    outside_before = _files_outside(tmp_path, repo)
    timeout = case.seconds + 1  # killed just after its bound: a hang costs the bound, not more

    check = run_cli(["check", "."], repo, timeout, _child_env(), prefix)
    _measured(check, case, record_property)
    check_no_crash(check, case)
    assert check.code == 1, "the good stale file alone makes check fail"
    report = check.out + check.err
    for code in case.codes:
        assert _named_finding(report, case.name, code), f"no {code} naming {case.name!r}:\n{report[-3000:]}"
    for code in case.absent:
        assert not _named_finding(report, case.name, code), f"{code} should not be reported:\n{report[-3000:]}"
    assert _named_finding(report, GOOD_NAME, "MM101"), f"the good file was not checked:\n{report[-3000:]}"
    check_output_is_clean(check, repo)

    migrate = run_cli(["migrate", ".", "--write", "--no-verify"], repo, timeout, _child_env(MAILPACE_API_TOKEN=TOKEN), prefix)
    _measured(migrate, case, record_property)
    check_no_crash(migrate, case)
    written = migrate.out + migrate.err
    for code in case.codes:
        if code.startswith("MM0"):  # input problems: never fixed, so listed after the write too
            assert _named_finding(written, case.name, code), f"migrate does not report {code}:\n{written[-3000:]}"
    assert (repo / GOOD_NAME).read_bytes().startswith(MIGRATED_GOOD), f"the good file was not migrated:\n{written[-3000:]}"

    after = _snapshot(bad)
    if case.may_change:
        for piece in case.kept:
            assert after is not None and piece in after, f"{piece[:80]!r} was not kept verbatim"
    else:
        assert after == before, "the bad file was written"
    assert _files_outside(tmp_path, repo) == outside_before, "a file outside the repository was written"
    assert not (repo / "pwned-by-yaml").exists()
    leftovers = [p.name for p in repo.rglob("*") if "mailmigrate" in p.name]
    assert leftovers == [], "temporary files left behind"


# --------------------------------------------------------------------------------------------
# Files that change between planning and writing (the engine API)


@pytest.mark.parametrize("case", [pytest.param(c, id=f"between:{c.id}", marks=_marks(c)) for c in BETWEEN])
def test_changed_between_planning_and_writing(case: Between, tmp_path: Path) -> None:
    from mailmigrate.engine import RunOptions, analyse
    from mailmigrate.rules import load_ruleset
    from mailmigrate.writer import write_all

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / GOOD_NAME).write_bytes(GOOD)
    target = repo / case.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(case.content)
    result = analyse([repo], load_ruleset(), RunOptions(token=TOKEN), cwd=repo)
    planned = {o.file.display for o in result.changed_files}
    assert {case.name, GOOD_NAME} <= planned, planned
    case.mutate(target)
    changed_to = _snapshot(target)
    outside_before = _files_outside(tmp_path, repo)

    report = write_all(result.changed_files)

    assert not report.ok
    assert report.failed[0][0] == case.name and report.failed[0][2] == case.code, report.failed
    assert (repo / GOOD_NAME).read_bytes() == GOOD, "all or nothing: the good file is not written either"
    assert _snapshot(target) == changed_to, "the changed file was overwritten"
    assert _files_outside(tmp_path, repo) == outside_before, "the write landed outside the repository"
    assert [p.name for p in repo.rglob("*") if "mailmigrate" in p.name] == []


def test_vanished_between_discovery_and_reading(tmp_path: Path) -> None:
    """A file listed by discovery and deleted before it is read: MM001, the others go on."""
    from mailmigrate.discovery import discover
    from mailmigrate.engine import RunOptions, analyse_files
    from mailmigrate.rules import load_ruleset

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / GOOD_NAME).write_bytes(GOOD)
    (repo / ".env").write_bytes(ENV)
    found = discover([repo], repo)
    (repo / ".env").unlink()
    result = analyse_files(found.files, load_ruleset(), RunOptions(token=TOKEN))
    assert [(f.path, f.code) for f in result.findings if f.code.startswith("MM0")] == [(".env", "MM001")]
    assert GOOD_NAME in {o.file.display for o in result.changed_files}
