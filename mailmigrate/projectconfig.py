"""Project configuration: `[tool.mailmigrate]` in pyproject.toml, or the same keys at the top of
a `mailmigrate.toml` (for repositories that are not Python projects).

Found by walking up from the directory the PATHs share (so pre-commit's file names, run from the
repository root, find the root's file); the first directory holding a `mailmigrate.toml` or a
pyproject.toml with a `[tool.mailmigrate]` table wins. Every key is validated; an error names the
file and the key, and the run stops (exit 2) before anything is read or written. Command-line
options win over the file.

```toml
[tool.mailmigrate]
exclude = ["legacy/**", "*.sample"]   # gitignore-style globs, relative to this file
port = 465                            # 25, 587, 2525 or 465
token-env = "MAILPACE_TOKEN"          # the variable rewritten files refer to
tags = ["transactional", "shop"]      # or "transactional, shop"
list-unsubscribe = true
include-local = false
ignore = ["MM205"]                    # codes never reported
extra-rules = ["ci/mailmigrate/acme-mailer.yaml"]   # more family rule files
```
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PYPROJECT = "pyproject.toml"
OWN_FILE = "mailmigrate.toml"
PORTS = (25, 587, 2525, 465)
VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # what compose, shells and Spring accept
KEYS = ("exclude", "port", "token-env", "tags", "list-unsubscribe", "include-local", "ignore", "extra-rules")


class ConfigError(Exception):
    """The project configuration is invalid: the message names the file and the key."""


@dataclass(frozen=True)
class ProjectConfig:
    source: Path | None = None  # the file the values came from
    exclude: tuple[str, ...] = ()
    port: int | None = None
    token_env: str | None = None
    tags: tuple[str, ...] = ()
    list_unsubscribe: bool = False
    include_local: bool = False
    ignore: frozenset[str] = frozenset()
    extra_rules: tuple[Path, ...] = ()

    def excluded(self) -> Callable[[Path], bool]:
        """Is a file excluded by the `exclude` globs (relative to the configuration file)?"""
        if not self.exclude or self.source is None:
            return lambda path: False
        root = self.source.parent.resolve()
        patterns = [glob_regex(g) for g in self.exclude]

        def test(path: Path) -> bool:
            try:
                relative = path.resolve().relative_to(root).as_posix()
            except ValueError:
                return False  # outside the project: not this file's to exclude
            return any(p.fullmatch(relative) for p in patterns)

        return test


def load(paths: Iterable[Path], cwd: Path) -> ProjectConfig:
    """The configuration that applies to `paths` (an empty one when there is none)."""
    found = find(_common_dir(paths, cwd))
    if found is None:
        return ProjectConfig()
    return parse(found)


def find(start: Path) -> Path | None:
    """The nearest configuration at or above `start`, not above the repository's root: a stray
    file in a home or workspace folder must not configure every repository below it."""
    for folder in (start, *start.parents):
        own = folder / OWN_FILE
        if own.is_file():
            return own
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _has_table(pyproject):
            return pyproject
        if (folder / ".git").exists():
            return None
    return None


def parse(path: Path) -> ProjectConfig:
    import tomllib

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.name == OWN_FILE:
        table, where = data, ""
    else:
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ConfigError(f"{path}: tool must be a table")
        table, where = tool.get("mailmigrate", {}), "[tool.mailmigrate] "
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: tool.mailmigrate must be a table")
    return _validate(path, where, table)


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A gitignore-style glob as a regex on "/"-separated relative paths: a pattern without a
    "/" matches a file or folder name at any depth, `**` any number of folders, and a match on a
    folder covers everything under it."""
    anchored = "/" in pattern.rstrip("/")
    body = pattern.strip("/")
    out = ""
    index = 0
    while index < len(body):
        if body.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif body.startswith("**", index):
            out, index = out + ".*", index + 2
        elif body[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif body[index] == "?":
            out, index = out + "[^/]", index + 1
        else:
            out, index = out + re.escape(body[index]), index + 1
    return re.compile(("" if anchored else "(?:.*/)?") + out + "(?:/.*)?")


# --------------------------------------------------------------------------------------------


def _validate(path: Path, where: str, table: dict[str, Any]) -> ProjectConfig:
    def fail(key: str, why: str) -> ConfigError:
        return ConfigError(f"{path}: {where}{key}: {why}")

    for key in table:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; the keys are {', '.join(KEYS)}"
            raise fail(key, f"unknown key{hint}")
    exclude = _strings(table.get("exclude", []), lambda why: fail("exclude", why))
    for glob in exclude:
        if glob.startswith(("!", "./", "../")) or "[" in glob or "\\" in glob:
            raise fail("exclude", f"{glob!r}: negation (!), character classes ([...]), backslashes and ./ or ../ are not "
                                  "supported; write paths relative to this file, with * ? ** and a trailing / for folders")
    port = table.get("port")
    if port is not None and (type(port) is not int or port not in PORTS):
        raise fail("port", f"must be one of {', '.join(map(str, PORTS))}, not {port!r}")
    token_env = table.get("token-env")
    if token_env is not None and (not isinstance(token_env, str) or not VARIABLE_NAME.fullmatch(token_env)):
        raise fail("token-env", f"must be a variable name, not {token_env!r}")
    tags = _tags(table.get("tags", ()), lambda why: fail("tags", why))
    flags = {}
    for key in ("list-unsubscribe", "include-local"):
        value = table.get(key, False)
        if not isinstance(value, bool):
            raise fail(key, f"must be true or false, not {value!r}")
        flags[key] = value
    ignore = _strings(table.get("ignore", []), lambda why: fail("ignore", why))
    if ignore:
        from mailmigrate.codes import BY_CODE

        unknown = [code for code in ignore if code not in BY_CODE]
    else:
        unknown = []
    if unknown:
        raise fail("ignore", f"no such code: {', '.join(unknown)} (see docs/codes.md)")
    extra = []
    for name in _strings(table.get("extra-rules", []), lambda why: fail("extra-rules", why)):
        rule_file = (path.parent / name).resolve()
        if not rule_file.is_file():
            raise fail("extra-rules", f"{name}: no such file (relative to {path.name})")
        extra.append(rule_file)
    return ProjectConfig(
        source=path, exclude=tuple(exclude), port=port, token_env=token_env, tags=tags,
        list_unsubscribe=flags["list-unsubscribe"], include_local=flags["include-local"],
        ignore=frozenset(ignore), extra_rules=tuple(extra),
    )


def _strings(value: object, fail: Callable[[str], ConfigError]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise fail(f"must be a list of non-empty strings, not {value!r}")
    return [v.strip() for v in value]


def _tags(value: object, fail: Callable[[str], ConfigError]) -> tuple[str, ...]:
    if value == ():
        return ()
    from mailmigrate.mailheaders import parse_tags_option

    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if any("," in v for v in value):
            raise fail("a tag may not hold a comma: MailPace splits X-MailPace-Tags on commas")
        value = ", ".join(value)
    if not isinstance(value, str):
        raise fail(f"must be a string (\"a, b\") or a list of strings, not {value!r}")
    try:
        return parse_tags_option(value)
    except ValueError as exc:
        raise fail(str(exc)) from None


def _has_table(pyproject: Path) -> bool:
    """Does this pyproject.toml hold a [tool.mailmigrate] table, however it is spelled
    (`[tool."mailmigrate"]`, `[tool]` + `mailmigrate = {...}`)? A cheap look first: most never
    name mailmigrate. A broken file is ours to report only when it clearly meant to configure us."""
    import tomllib

    try:
        raw = pyproject.read_bytes()
    except OSError:
        return False
    if b"mailmigrate" not in raw:
        return False
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return re.search(rb"^\s*\[\s*tool\s*\.\s*[\"']?mailmigrate\b", raw, re.M) is not None
    tool = data.get("tool")
    return isinstance(tool, dict) and "mailmigrate" in tool


def _common_dir(paths: Iterable[Path], cwd: Path) -> Path:
    folders = []
    for given in paths:
        path = given if given.is_absolute() else cwd / given
        folders.append(path if path.is_dir() else path.parent)
    if not folders:
        return cwd
    try:
        import os

        return Path(os.path.commonpath([str(f.resolve()) for f in folders]))
    except ValueError:
        return cwd
