"""Unified diffs that `git apply` accepts: `diff --git` headers, CRLF kept inside lines, and
"\\ No newline at end of file" where a side ends without one."""

from __future__ import annotations

import difflib

_NO_EOL = "\\ No newline at end of file\n"


def unified_diff(path: str, old: str, new: str, context: int = 3) -> str:
    if old == new:
        return ""
    before = old.splitlines(keepends=True)
    after = new.splitlines(keepends=True)
    out = [f"diff --git a/{path} b/{path}\n"]
    for line in difflib.unified_diff(before, after, f"a/{path}", f"b/{path}", n=context):
        if line.startswith(("---", "+++", "@@")):
            out.append(line if line.endswith("\n") else line + "\n")
        elif line.endswith("\n"):
            out.append(line)
        else:  # the file's last line, without a newline
            out.append(line + "\n" + _NO_EOL)
    return "".join(out)


_COLOURS = (("diff --git", "\x1b[1m"), ("+++", "\x1b[1m"), ("---", "\x1b[1m"), ("@@", "\x1b[36m"), ("+", "\x1b[32m"), ("-", "\x1b[31m"))
_RESET = "\x1b[0m"


def colour(text: str) -> str:
    """A unified diff with ANSI colours, as git shows it on a terminal (headers bold, hunks
    cyan, added green, removed red). The line endings stay where they were."""
    out = []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        for prefix, code in _COLOURS:
            if body.startswith(prefix):
                out.append(f"{code}{body}{_RESET}{line[len(body):]}")
                break
        else:
            out.append(line)
    return "".join(out)
