"""Which files a run looks at, and what git says about each.

Inside git: tracked files, untracked files git does not ignore, and ignored env files (that is
where secrets live), also inside ignored folders. Outside git: a walk that skips VCS folders,
virtual environments, node_modules and build output. Files named on the command line are taken
as given (pre-commit passes names), but still classified by name: a file of no known kind is
not an error.

Git status decides where the token may be written, so it is never guessed: when git cannot read
a repository (not installed, "dubious ownership"), the run stops instead of treating tracked
files as secrets files. A symbolic link is treated as the file it points to, with that file's
git status, so a tracked file cannot receive the token through an ignored link.

What an interrupted `migrate --write` leaves beside its targets (a staged `.NAME.XXXXXXXX.mailmigrate`,
a `.NAME.mailmigrate-backup`) is never read as configuration, whatever its name looks like
(`..env.mailmigrate-backup` would pass for an env file): each one is reported (MM001) until a
person deletes it, tracked, untracked or ignored, found in a folder or named by pre-commit.
Such a file is not deleted here: a backup may be the only copy of the old text of a file git
ignores (its old credentials), and mailmigrate takes no lock, so it may belong to a run still
in progress. Untracked, it would be committed by `git add -A`, old credentials or token
included; reported, `check` (and the pre-commit hook) fails until it is gone.

Only names are looked at here; reading and the keyword pass happen in the engine.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mailmigrate.filekinds import holds_secrets, kind_of, kind_of_path
from mailmigrate.model import FileInfo

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "_darcs", "node_modules", "__pycache__", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".venv", "venv", ".eggs", "build", "dist",
    "target", "_build", ".next", ".nuxt", "bower_components", ".terraform", ".cache",
})

# The names mailmigrate/writer.py gives its files beside a target NAME: `.NAME.XXXXXXXX.mailmigrate`
# (tempfile.mkstemp's random part: no dots) holds the new text until it is renamed over NAME;
# `.NAME.mailmigrate-backup` holds the old text while the renames run.
TEMP_SUFFIX = ".mailmigrate"
BACKUP_SUFFIX = ".mailmigrate-backup"


def backup_name(name: str) -> str:
    return f".{name}{BACKUP_SUFFIX}"


def temp_prefix(name: str) -> str:
    return f".{name}."


def leftover_of(name: str) -> tuple[str, str] | None:
    """("backup" or "temporary", the target's name) when `name` is one of the writer's files."""
    if not name.startswith("."):
        return None
    if name.endswith(BACKUP_SUFFIX):
        target = name[1 : -len(BACKUP_SUFFIX)]
        return ("backup", target) if target else None
    if name.endswith(TEMP_SUFFIX):
        target, dot, random = name[1 : -len(TEMP_SUFFIX)].rpartition(".")
        return ("temporary", target) if dot and target and random else None
    return None


def _leftover_message(what: str, target: str) -> str:
    if what == "backup":
        return (
            f"left by an interrupted `mailmigrate migrate --write`: the text {target} had before that "
            f"run (old credentials, maybe). Check that {target} is whole, keep what you need, then "
            "delete this file; never commit it"
        )
    return (
        f"left by an interrupted `mailmigrate migrate --write`: a new text planned for {target} that "
        "was never put in place (it may hold the API token). Delete it; never commit it"
    )


# rel path (to the git root) → (tracked, ignored); None outside git
Status = Callable[[str], tuple[bool, bool]]


class UsageError(Exception):
    """A mistake in how mailmigrate was called, or a repository git cannot read (exit 2)."""


@dataclass
class Discovery:
    files: list[FileInfo] = field(default_factory=list)
    # (display path, message) for files found but not followed, reported as MM001
    refused: list[tuple[str, str]] = field(default_factory=list)
    # (display path, message) for a temporary or backup file an interrupted write left: MM008
    leftovers: list[tuple[str, str]] = field(default_factory=list)
    # Files named one by one (pre-commit passes only the staged ones): the env files of their
    # repositories, read for the variables they define so the verdict on a settings module
    # does not depend on whether its .env was staged with it. Never planned or written.
    context: list[FileInfo] = field(default_factory=list)


@dataclass(frozen=True)
class _GitView:
    """Paths relative to the git root, "/"-separated."""

    tracked: frozenset[str]
    untracked: frozenset[str]  # not ignored
    ignored_env: frozenset[str]  # ignored env files: the secrets files

    def status(self, rel: str) -> tuple[bool, bool]:
        return rel in self.tracked, rel in self.ignored_env


def discover(paths: Iterable[Path], cwd: Path | None = None) -> Discovery:
    cwd = (cwd or Path.cwd()).resolve()
    result = Discovery()
    seen: set[Path] = set()
    explicit: list[Path] = []
    found: list[FileInfo] = []
    for given in paths:
        path = given if given.is_absolute() else cwd / given
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{given}: no such file or directory")
        if path.is_dir():
            found.extend(_scan_directory(path.resolve(), cwd, result))
        else:
            explicit.append(path)
    found.extend(_classify_files(explicit, cwd, result))
    for info in found:  # a file reached twice (a link and its target, overlapping PATHs) once
        if info.path not in seen:
            seen.add(info.path)
            result.files.append(info)
    if explicit:
        roots = {root for root in (_git_root(p.resolve().parent) for p in explicit if p.exists()) if root is not None}
        scratch = Discovery()
        for root in sorted(roots):
            for info in _scan_directory(root, cwd, scratch):
                if info.kind == "env" and info.path not in seen:
                    seen.add(info.path)
                    result.context.append(info)
    result.refused = list(dict.fromkeys(result.refused))  # overlapping PATHs: each file once
    return result


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def _git(args: list[str], cwd: Path, stdin: str | None = None) -> str:
    """git's output; raises UsageError when git fails inside a repository."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, encoding="utf-8",
            errors="surrogateescape", check=False,
        )
    except OSError as exc:
        raise UsageError(f"{cwd}: cannot run git ({exc.strerror or exc})") from None
    # check-ignore exits 1 when nothing matched: that is an answer, not a failure.
    if done.returncode != 0 and not (args[0] == "check-ignore" and done.returncode == 1):
        raise UsageError(f"{cwd}: git cannot read this repository: {_first_line(done.stderr)}")
    return done.stdout


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0].removeprefix("fatal: ") if lines else "no message"


def _git_root(directory: Path) -> Path | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=directory, capture_output=True, text=True, check=False
        )
    except OSError:
        if any((parent / ".git").exists() for parent in (directory, *directory.parents)):
            raise UsageError(
                f"{directory} is inside a git repository but git is not installed: mailmigrate needs "
                "git to tell tracked files (which never get the token) from secrets files"
            ) from None
        return None
    if done.returncode == 0:
        return Path(done.stdout.strip()).resolve()
    if "not a git repository" in done.stderr:
        return None
    raise UsageError(f"{directory}: git cannot read this repository: {_first_line(done.stderr)}")


def _is_ignored(root: Path, directory: Path) -> bool:
    rel = directory.relative_to(root).as_posix() + "/"
    done = subprocess.run(["git", "check-ignore", "-q", rel], cwd=root, capture_output=True, check=False)
    return done.returncode == 0


def _git_view(root: Path, under: Path) -> _GitView:
    rel = under.relative_to(root).as_posix() if under != root else "."
    listed = _git(["ls-files", "-z", "-c", "-o", "--exclude-standard", "-t", "--", rel], root)
    ignored = _git(["ls-files", "-z", "-o", "-i", "--exclude-standard", "--directory", "--", rel], root)
    tracked: set[str] = set()
    untracked: set[str] = set()
    for entry in listed.split("\0"):
        if len(entry) > 2:
            (untracked if entry[0] == "?" else tracked).add(entry[2:])
    ignored_env: set[str] = set()
    for entry in filter(None, ignored.split("\0")):
        if not entry.endswith("/"):
            if holds_secrets(entry) or leftover_of(entry.rsplit("/", 1)[-1]) is not None:
                ignored_env.add(entry)  # a leftover is reported, never read
        elif entry.rstrip("/").rsplit("/", 1)[-1] not in SKIP_DIRS:
            # An ignored folder (`secrets/`) is listed whole: look inside it for env files.
            ignored_env.update(_env_files_under(root, entry))
    return _GitView(frozenset(tracked), frozenset(untracked - tracked), frozenset(ignored_env - tracked))


def _env_files_under(root: Path, folder: str) -> Iterator[str]:
    for here, dirs, files in os.walk(root / folder):
        dirs[:] = [d for d in dirs if _walkable(here, d)]
        for name in files:
            rel = Path(here, name).relative_to(root).as_posix()
            if holds_secrets(rel) or leftover_of(name) is not None:
                yield rel


def _walkable(parent: str, name: str) -> bool:
    return (
        name not in SKIP_DIRS
        and not name.endswith(".egg-info")
        and not os.path.exists(os.path.join(parent, name, "pyvenv.cfg"))
    )


def _scan_directory(directory: Path, cwd: Path, result: Discovery) -> Iterator[FileInfo]:
    root = _git_root(directory)
    if root is None:
        yield from _walk(directory, cwd, result)
        return
    if directory != root and _is_ignored(root, directory):
        # A folder git ignores (ls-files refuses to list below it): every file in it is
        # ignored, so its env files are secrets files.
        for walked in _walk(directory, cwd, result):
            yield FileInfo(walked.path, walked.display, walked.kind, tracked=False, ignored=True, in_git=True)
        return
    view = _git_view(root, directory)
    for rel in sorted(view.tracked | view.untracked | view.ignored_env):
        if _is_leftover(root / rel, cwd, result):
            continue
        kind = kind_of_path(rel)
        if kind is not None:
            info = _info(root / rel, cwd, kind, root, view.status, result, trusted=True)
            if info is not None:
                yield info


def _walk(directory: Path, cwd: Path, result: Discovery) -> Iterator[FileInfo]:
    # os.scandir gives file types without a stat per file; Paths are built only for files of a
    # kind we read (a standard library tree has 50k files, a few hundred of interest).
    prefix = str(cwd) + os.sep
    stack = [str(directory)]
    while stack:
        here = stack.pop()
        try:
            entries = list(os.scandir(here))  # order does not matter: results are sorted later
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if _walkable(here, entry.name):
                    stack.append(entry.path)
                continue
            if entry.name.startswith(".") and _is_leftover(Path(entry.path), cwd, result):
                continue
            kind = kind_of(entry.name)
            if kind is None and "/.envs/" in entry.path.replace(os.sep, "/") + "/":
                kind = kind_of_path(entry.path.replace(os.sep, "/"))
            if kind is None:
                continue
            if entry.is_symlink():
                info = _info(Path(entry.path), cwd, kind, directory, None, result)
                if info is not None:
                    yield info
            elif entry.is_file(follow_symlinks=False):
                shown = entry.path[len(prefix):] if entry.path.startswith(prefix) else entry.path
                yield FileInfo(Path(entry.path), shown.replace(os.sep, "/"), kind, tracked=False, ignored=False, in_git=False)


def _classify_files(files: list[Path], cwd: Path, result: Discovery) -> Iterator[FileInfo]:
    """Files named on the command line: git status asked for all of one repository at once."""
    by_root: dict[Path | None, list[tuple[Path, str, Path]]] = {}
    for path in files:
        if _is_leftover(path if path.is_absolute() else cwd / path, cwd, result):
            continue
        kind = kind_of_path(path.as_posix())
        if kind is None:
            continue
        real = _real_path(path, cwd, result)
        if real is not None:
            by_root.setdefault(_git_root(real.parent), []).append((path, kind, real))
    for root, entries in by_root.items():
        status: Status | None = None
        if root is not None:
            rels = [real.relative_to(root).as_posix() for _, _, real in entries if real.is_relative_to(root)]
            tracked = set(filter(None, _git(["ls-files", "-z", "-c", "--", *rels], root).split("\0")))
            ignored = set(filter(None, _git(["check-ignore", "-z", "--no-index", "--stdin"], root, "\0".join(rels)).split("\0")))
            status = lambda rel, t=tracked, i=ignored: (rel in t, rel in i and rel not in t)  # noqa: E731
        for path, kind, real in entries:  # the git root was found from the real path
            info = _describe(real, path, cwd, kind, root or real.parent, status, result)
            if info is not None:
                yield info


def _is_leftover(path: Path, cwd: Path, result: Discovery) -> bool:
    """A file an interrupted write left beside its target: reported, never read."""
    found = leftover_of(path.name)
    if found is None or not os.path.lexists(path):
        return False
    what, target = found
    result.leftovers.append((display_path(path, cwd), _leftover_message(what, display_path(path.parent / target, cwd))))
    return True


def _real_path(path: Path, cwd: Path, result: Discovery, root: Path | None = None, trusted: bool = False) -> Path | None:
    """The file a path stands for (a symlink's target), or None when it cannot be followed.
    `trusted`: the folders above it are known to be real (git listed it under a resolved root)."""
    absolute = path if path.is_absolute() else cwd / path
    if not trusted:
        absolute = absolute.parent.resolve() / absolute.name
    if not os.path.islink(absolute):
        return absolute if os.path.isfile(absolute) else None
    shown = display_path(absolute, cwd)
    try:
        target = absolute.resolve(strict=True)
    except FileNotFoundError:
        result.refused.append((shown, "is a symbolic link to a file that does not exist"))
        return None
    except (RuntimeError, OSError):
        result.refused.append((shown, "is a symbolic link loop"))
        return None
    if root is not None and not target.is_relative_to(root):
        result.refused.append((shown, "is a symbolic link to a file outside the repository; not followed"))
        return None
    return target if target.is_file() else None


def _info(
    path: Path, cwd: Path, kind: str, root: Path, status: Status | None, result: Discovery, trusted: bool = False
) -> FileInfo | None:
    real = _real_path(path, cwd, result, root, trusted)
    return None if real is None else _describe(real, path, cwd, kind, root, status, result)


def _describe(
    real: Path, path: Path, cwd: Path, kind: str, root: Path, status: Status | None, result: Discovery
) -> FileInfo | None:
    """A resolved file with what git says about it."""
    if status is None:
        return FileInfo(real, display_path(real, cwd), kind, tracked=False, ignored=False, in_git=False)
    if not real.is_relative_to(root):
        result.refused.append((display_path(path, cwd), "is outside the git repository it was named in"))
        return None
    tracked, ignored = status(real.relative_to(root).as_posix())
    return FileInfo(real, display_path(real, cwd), kind, tracked=tracked, ignored=ignored and not tracked, in_git=True)
