"""Writes a run's new texts: atomically per file, all-or-nothing across the run.

Each new text goes to a temporary file beside its target (same file system, same mode), then
every target is checked to be unchanged since it was read, then the temporaries are renamed
over the targets. If a rename fails half-way, the files already replaced are restored from
hard-link (or copied) backups, so every file ends up wholly old or wholly new.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mailmigrate.document import digest_of
from mailmigrate.engine import FileOutcome


@dataclass
class WriteReport:
    written: list[str] = field(default_factory=list)
    # (display path, reason, finding code) of the problem that stopped the write
    failed: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def write_all(outcomes: list[FileOutcome]) -> WriteReport:
    report = WriteReport()
    staged: list[tuple[FileOutcome, Path, Path]] = []  # outcome, real target, temporary
    try:
        for outcome in outcomes:
            target = outcome.file.path.resolve()  # a symlink stays a symlink: write its target
            try:
                current = target.read_bytes()
            except OSError as exc:
                report.failed.append((outcome.file.display, f"cannot read it again: {exc.strerror or exc}", "MM001"))
                return report
            if digest_of(current) != outcome.doc.digest:
                report.failed.append((outcome.file.display, "changed on disk since it was read; nothing was written", "MM004"))
                return report
            assert outcome.new_text is not None
            try:
                data = outcome.doc.encode(outcome.new_text)
            except UnicodeEncodeError:
                why = f"the new values cannot be written in the file's encoding ({outcome.doc.encoding})"
                report.failed.append((outcome.file.display, why, "MM002"))
                return report
            try:
                staged.append((outcome, target, _stage(target, data)))
            except OSError as exc:
                report.failed.append((outcome.file.display, f"cannot write beside it: {exc.strerror or exc}", "MM001"))
                return report
        _commit(staged, report)
        return report
    finally:
        for _, _, temp in staged:
            temp.unlink(missing_ok=True)


def _stage(target: Path, data: bytes) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".mailmigrate", dir=target.parent)
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


def _commit(staged: list[tuple[FileOutcome, Path, Path]], report: WriteReport) -> None:
    backups: list[tuple[Path, Path]] = []  # target, backup
    done: list[tuple[FileOutcome, Path]] = []
    try:
        for outcome, target, temp in staged:
            backup = target.with_name(f".{target.name}.mailmigrate-backup")
            backup.unlink(missing_ok=True)
            try:
                os.link(target, backup)
            except OSError:
                shutil.copy2(target, backup)
            backups.append((target, backup))
            os.replace(temp, target)
            done.append((outcome, target))
    except OSError as exc:
        failed_at = staged[len(done)][0].file.display
        for target, backup in backups[: len(done)]:
            os.replace(backup, target)
        report.failed.append((failed_at, f"could not replace it ({exc.strerror or exc}); every file was restored", "MM001"))
        return
    finally:
        for _, backup in backups:
            backup.unlink(missing_ok=True)
    report.written.extend(outcome.file.display for outcome, _ in done)
