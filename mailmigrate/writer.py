"""Writes a run's new texts: atomically per file, all-or-nothing across the run.

Each new text goes to a temporary file beside its target (same file system, same mode),
written and fsynced, after every target is checked to be unchanged since it was read. Then,
file by file, the target is hard-linked (or, where the file system has no hard links,
atomically copied) to a backup beside it and the temporary is renamed over it; the folders are
fsynced; the backups are deleted. A file is therefore always wholly old or wholly new, whenever
the process dies: rename is atomic, and the new text is on disk before its rename is.

If anything fails before the last rename (a rename, a folder's fsync, Ctrl-C), every file
already replaced is renamed back from its backup, so a failed run leaves every file old. If
putting one back fails too, that file keeps its new text and its backup is kept (the only copy
of its old text), and the report says which files hold which text.

What a killed run leaves (`.NAME.XXXXXXXX.mailmigrate`, `.NAME.mailmigrate-backup`) is never
read as configuration and is reported by the next run (mailmigrate/discovery.py). A backup left
by an earlier run is replaced only when it holds exactly the target's current text (so nothing
is lost); otherwise nothing is written until a person has looked at it.

The folders are fsynced after the renames, before the backups go and before success is reported:
without it a power cut shortly after a run that said "Wrote 6 files" can bring back the old
directory entries, so some files old and others new (each whole: their data was fsynced first).
"""

from __future__ import annotations

import errno
import os
import posixpath
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mailmigrate.discovery import TEMP_SUFFIX, backup_name, temp_prefix
from mailmigrate.document import digest_of
from mailmigrate.engine import FileOutcome


@dataclass
class WriteReport:
    # Files that hold their new text. After a failed run: none, unless putting one back failed.
    written: list[str] = field(default_factory=list)
    # After a failed run: the files of the run that hold their old text.
    not_written: list[str] = field(default_factory=list)
    # (display path, reason, finding code): first what stopped the write, ending with which
    # files hold which text; then each file a failed restore left with its new text.
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass
class _Staged:
    outcome: FileOutcome
    target: Path  # the real file (a symlink's target)
    temp: Path  # its new text, fsynced
    old: bytes  # its text as read (and checked) just before staging
    backup: Path

    @property
    def shown(self) -> str:
        return self.outcome.file.display

    @property
    def backup_shown(self) -> str:
        head = posixpath.dirname(self.shown)
        return posixpath.join(head, self.backup.name) if head else self.backup.name


def write_all(outcomes: list[FileOutcome]) -> WriteReport:
    report = WriteReport()
    staged: list[_Staged] = []
    everyone = [o.file.display for o in outcomes]
    try:
        for outcome in outcomes:
            problem = _stage_one(outcome, staged)
            if problem is not None:
                _failed(report, outcome.file.display, problem[0], problem[1], everyone)
                return report
        _commit(staged, report, everyone)
        return report
    finally:
        for item in staged:
            _remove(item.temp)


def _stage_one(outcome: FileOutcome, staged: list[_Staged]) -> tuple[str, str] | None:
    """Stage one file's new text beside it; (reason, code) when it cannot be."""
    # Discovery gives the file a link points to, never the link: a link there now was put in
    # its place since (and could lead the write anywhere, outside the repository too).
    if outcome.file.path.is_symlink():
        return "changed on disk since it was read (it is a symbolic link now)", "MM004"
    target = outcome.file.path.resolve()
    if target != outcome.file.path and os.path.realpath(outcome.file.path.parent) != str(outcome.file.path.parent):
        # A folder above it became a link since discovery (which gives real paths): the write
        # would land wherever that link points, outside the repository too.
        return "changed on disk since it was read (a folder above it is a symbolic link now)", "MM004"
    try:
        current = target.read_bytes()
    except OSError as exc:
        return f"cannot read it again: {exc.strerror or exc}", "MM001"
    if digest_of(current) != outcome.doc.digest:
        return "changed on disk since it was read", "MM004"
    assert outcome.new_text is not None
    try:
        data = outcome.doc.encode(outcome.new_text)
    except UnicodeEncodeError:
        return f"the new values cannot be written in the file's encoding ({outcome.doc.encoding})", "MM002"
    backup = target.with_name(backup_name(target.name))
    if os.path.lexists(backup) and not _holds(backup, target, current):
        return (
            f"{backup.name} beside it was left by an interrupted run and holds another text: compare "
            "the two, keep what you need and delete the backup",
            "MM001",
        )
    try:
        temp = _stage(target, data)
    except OSError as exc:
        return f"cannot write beside it: {exc.strerror or exc}", "MM001"
    staged.append(_Staged(outcome, target, temp, current, backup))
    return None


def _holds(backup: Path, target: Path, data: bytes) -> bool:
    """The backup holds exactly `data`, the target's current text: replacing it loses nothing."""
    try:
        if backup.is_symlink():
            return False
        return os.path.samefile(backup, target) or backup.read_bytes() == data
    except OSError:
        return False


def _stage(target: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix=temp_prefix(target.name), suffix=TEMP_SUFFIX, dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        info = target.stat()
        os.chmod(temp, info.st_mode & 0o7777)
        try:
            os.chown(temp, info.st_uid, info.st_gid)
        except (OSError, AttributeError):
            pass  # not permitted for non-root users: the mode is what matters
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _commit(staged: list[_Staged], report: WriteReport, everyone: list[str]) -> None:
    backed_up: list[_Staged] = []
    replaced: list[_Staged] = []
    kept: set[Path] = set()  # backups that are the only copy of an old text
    step = "back it up"
    try:
        try:
            for item in staged:
                step = "back it up"
                _back_up(item)
                backed_up.append(item)
                step = "replace it"
                os.replace(item.temp, item.target)
                replaced.append(item)
            for directory in sorted({item.target.parent for item in staged}):
                try:
                    _fsync_directory(directory)
                except OSError as exc:
                    first = next(item for item in staged if item.target.parent == directory)
                    raise _DirectoryError(first, exc) from exc
        except BaseException as exc:
            if len(backed_up) > len(replaced) and not os.path.lexists(backed_up[-1].temp):
                replaced.append(backed_up[-1])  # interrupted just after its rename
            stuck = _restore(replaced)
            kept.update(item.backup for item, _ in stuck)
            if isinstance(exc, _DirectoryError):
                where = exc.item.shown
                cause = f"could not sync its folder to disk after the renames ({_why(exc.cause)})"
            elif isinstance(exc, OSError):
                where = staged[len(replaced)].shown if len(replaced) < len(staged) else staged[-1].shown
                cause = f"could not {step} ({_why(exc)})"
            else:
                raise  # Ctrl-C: every file was put back (or its backup kept); the CLI says so
            back = [item.shown for item in replaced if item.backup not in kept]
            if back:
                cause += f"; {', '.join(back)} had been replaced and {'was' if len(back) == 1 else 'were'} restored"
            report.written.extend(item.shown for item, _ in stuck)
            _failed(report, where, cause, "MM001", everyone)
            for item, error in stuck:
                report.failed.append((
                    item.shown,
                    f"holds its NEW text: putting the old one back failed ({_why(error)}); "
                    f"its old text is in {item.backup_shown}",
                    "MM001",
                ))
            return
    finally:
        for item in backed_up:
            if item.backup not in kept:
                _remove(item.backup)
    report.written.extend(item.shown for item in replaced)


class _DirectoryError(Exception):
    def __init__(self, item: _Staged, cause: OSError) -> None:
        super().__init__(str(cause))
        self.item = item
        self.cause = cause


def _back_up(item: _Staged) -> None:
    """The target's current text under its backup name: a hard link (no copy, no space needed
    to restore it) or, where the file system has none, a copy written like any new text."""
    item.backup.unlink(missing_ok=True)  # a leftover holding exactly this text (_holds)
    try:
        os.link(item.target, item.backup)
    except OSError:
        copy = _stage(item.target, item.old)
        try:
            os.replace(copy, item.backup)
        except BaseException:
            copy.unlink(missing_ok=True)
            raise


def _restore(replaced: list[_Staged]) -> list[tuple[_Staged, OSError]]:
    """Every replaced file renamed back from its backup, last first; the ones that stay new."""
    stuck: list[tuple[_Staged, OSError]] = []
    for item in reversed(replaced):
        try:
            os.replace(item.backup, item.target)
        except OSError as exc:
            stuck.append((item, exc))
    for directory in sorted({item.target.parent for item in replaced}):
        try:
            _fsync_directory(directory)
        except OSError:
            pass  # the renames back are done; durability is all a failure here could cost
    return list(reversed(stuck))


def _fsync_directory(directory: Path) -> None:
    """Make the renames in a folder durable. Where folders cannot be opened or synced (Windows,
    some network file systems) there is nothing more to do."""
    if os.name == "nt":
        return
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _failed(report: WriteReport, where: str, cause: str, code: str, everyone: list[str]) -> None:
    """The problem that stopped the run, ending with which files hold which text."""
    old = [shown for shown in everyone if shown not in report.written]
    report.not_written = old
    if not report.written:
        state = "nothing was written; " + ("left as it was: " if len(old) == 1 else "left as they were: ") + ", ".join(old)
    else:
        state = f"NOT all-or-nothing: new text in {', '.join(report.written)}; old text in {', '.join(old) or 'no file'}"
    report.failed.insert(0, (where, f"{cause}; {state}", code))


def _remove(path: Path) -> None:
    """Delete one of our files; one that cannot be is reported by the next run (discovery)."""
    try:
        path.unlink(missing_ok=True)
    except OSError:
        pass


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _count(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"
