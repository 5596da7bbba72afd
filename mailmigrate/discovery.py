"""Which files a run looks at, and what git says about each.

Inside git: tracked files, untracked files git does not ignore, and ignored env files (that is
where secrets live). Outside git: a walk that skips VCS folders, virtual environments,
node_modules and build output. Files named on the command line are taken as given (pre-commit
passes names), but still classified by name: a file of no known kind is not an error.

Only names are looked at here; reading and the keyword pass happen in the engine.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mailmigrate.filekinds import kind_of
from mailmigrate.model import FileInfo

SKIP_DIRS = frozenset({
    ".git", ".hg", ".svn", ".bzr", "_darcs", "node_modules", "__pycache__", ".tox", ".nox",
    ".mypy_cache", ".pytest_cache", ".ruff_cache", ".venv", "venv", ".eggs", "build", "dist",
    "target", "_build", ".next", ".nuxt", "bower_components", ".terraform", ".cache",
})


class UsageError(Exception):
    """A mistake in how mailmigrate was called (exit 2)."""


@dataclass
class Discovery:
    files: list[FileInfo] = field(default_factory=list)
    # (display path, message) for files found but not followed, reported as MM001
    refused: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _GitView:
    """Paths relative to the git root, "/"-separated."""

    tracked: frozenset[str]
    untracked: frozenset[str]  # not ignored
    ignored_env: frozenset[str]  # ignored env files: the secrets files


def discover(paths: Iterable[Path], cwd: Path | None = None) -> Discovery:
    cwd = (cwd or Path.cwd()).resolve()
    result = Discovery()
    seen: set[Path] = set()
    explicit: list[Path] = []
    for given in paths:
        path = (cwd / given) if not given.is_absolute() else given
        if not path.exists() and not path.is_symlink():
            raise UsageError(f"{given}: no such file or directory")
        if path.is_dir():
            for info in _scan_directory(path.resolve(), cwd, result):
                if info.path not in seen:
                    seen.add(info.path)
                    result.files.append(info)
        else:
            explicit.append(path)
    for info in _classify_files(explicit, cwd, result):
        if info.path not in seen:
            seen.add(info.path)
            result.files.append(info)
    return result


def display_path(path: Path, cwd: Path) -> str:
    try:
        return path.relative_to(cwd).as_posix()
    except ValueError:
        return str(path)


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, encoding="utf-8",
            errors="surrogateescape", check=False,
        )
    except OSError:  # git not installed: behave as outside git
        return None
    return done.stdout if done.returncode == 0 else None


def _git_root(directory: Path) -> Path | None:
    out = _git(["rev-parse", "--show-toplevel"], directory)
    return Path(out.strip()).resolve() if out else None


def _git_view(root: Path, under: Path) -> _GitView | None:
    rel = under.relative_to(root).as_posix() if under != root else "."
    listed = _git(["ls-files", "-z", "-c", "-o", "--exclude-standard", "-t", "--", rel], root)
    ignored = _git(["ls-files", "-z", "-o", "-i", "--exclude-standard", "--directory", "--", rel], root)
    if listed is None or ignored is None:
        return None
    tracked: set[str] = set()
    untracked: set[str] = set()
    for entry in listed.split("\0"):
        if len(entry) > 2:
            (untracked if entry[0] == "?" else tracked).add(entry[2:])
    ignored_env: set[str] = set()
    for entry in filter(None, ignored.split("\0")):
        if not entry.endswith("/"):
            if kind_of(entry.rsplit("/", 1)[-1]) == "env":
                ignored_env.add(entry)
        elif entry.rstrip("/").rsplit("/", 1)[-1] not in SKIP_DIRS:
            # An ignored folder (`secrets/`) is listed whole: look inside it for env files.
            ignored_env.update(_env_files_under(root, entry))
    return _GitView(frozenset(tracked), frozenset(untracked - tracked), frozenset(ignored_env - tracked))


def _env_files_under(root: Path, folder: str) -> Iterator[str]:
    for here, dirs, files in os.walk(root / folder):
        dirs[:] = [d for d in dirs if _walkable(here, d)]
        for name in files:
            if kind_of(name) == "env":
                yield Path(here, name).relative_to(root).as_posix()


def _walkable(parent: str, name: str) -> bool:
    return (
        name not in SKIP_DIRS
        and not name.endswith(".egg-info")
        and not os.path.exists(os.path.join(parent, name, "pyvenv.cfg"))
    )


def _scan_directory(directory: Path, cwd: Path, result: Discovery) -> Iterator[FileInfo]:
    root = _git_root(directory)
    view = _git_view(root, directory) if root else None
    if root is None or view is None:
        yield from _walk(directory, cwd, result)
        return
    for rel in sorted(view.tracked | view.untracked | view.ignored_env):
        kind = kind_of(rel.rsplit("/", 1)[-1])
        if kind is None:
            continue
        info = _info(
            root / rel, cwd, kind, tracked=rel in view.tracked, ignored=rel in view.ignored_env,
            in_git=True, root=root, result=result,
        )
        if info is not None:
            yield info


def _walk(directory: Path, cwd: Path, result: Discovery) -> Iterator[FileInfo]:
    for here, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if _walkable(here, d))
        for name in sorted(files):
            kind = kind_of(name)
            if kind is None:
                continue
            info = _info(Path(here, name), cwd, kind, tracked=False, ignored=False, in_git=False, root=directory, result=result)
            if info is not None:
                yield info


def _classify_files(files: list[Path], cwd: Path, result: Discovery) -> Iterator[FileInfo]:
    by_root: dict[Path | None, list[Path]] = {}
    for path in files:
        if kind_of(path.name) is None:
            continue
        by_root.setdefault(_git_root(path.parent.resolve()), []).append(path)
    for root, paths in by_root.items():
        tracked: set[str] = set()
        ignored: set[str] = set()
        if root is not None:
            rels = [_relative(p, root) for p in paths]
            tracked = set(filter(None, (_git(["ls-files", "-z", "-c", "--", *rels], root) or "").split("\0")))
            checked = subprocess.run(
                ["git", "check-ignore", "-z", "--no-index", "--stdin"], cwd=root, input="\0".join(rels),
                capture_output=True, text=True, check=False,
            )
            ignored = set(filter(None, checked.stdout.split("\0")))
        for path, rel in zip(paths, [_relative(p, root) for p in paths] if root else [None] * len(paths)):
            kind = kind_of(path.name)
            assert kind is not None
            info = _info(
                path, cwd, kind, tracked=rel in tracked, ignored=rel in ignored and rel not in tracked,
                in_git=root is not None, root=root or path.parent.resolve(), result=result,
            )
            if info is not None:
                yield info


def _relative(path: Path, root: Path) -> str:
    absolute = path if path.is_absolute() else path.resolve()
    try:
        return absolute.parent.resolve().joinpath(absolute.name).relative_to(root).as_posix()
    except ValueError:
        return absolute.as_posix()


def _info(
    path: Path, cwd: Path, kind: str, *, tracked: bool, ignored: bool, in_git: bool, root: Path, result: Discovery
) -> FileInfo | None:
    absolute = path.parent.resolve() / path.name
    display = display_path(absolute, cwd)
    if absolute.is_symlink():
        target = absolute.resolve()
        if not target.is_relative_to(root) or not target.is_file():
            result.refused.append((display, "is a symbolic link to something outside the repository; not followed"))
            return None
    elif not absolute.is_file():
        return None
    return FileInfo(absolute, display, kind, tracked, ignored, in_git)
