"""Inline suppression: a `mailmigrate: ignore` comment (every code) or
`mailmigrate: ignore[MM101, MM203]` (those codes) on a finding's line, in any format with
comments, or alone on the line just before it (a .properties value cannot carry a trailing
comment: `#` there is part of the value)."""

from __future__ import annotations

import re
from collections.abc import Callable

_IGNORE = re.compile(r"mailmigrate:\s*ignore(?:\[(?P<codes>[A-Z0-9,\s]+)\])?")


def ignores(line_text: str, code: str) -> bool:
    """Does this line's comment ask to leave findings of `code` alone?"""
    match = _IGNORE.search(line_text)
    return match is not None and (not match.group("codes") or code in re.split(r"[,\s]+", match.group("codes")))


_COMMENT_LINE = re.compile(r"\s*(#|;|!|//)")


def ignored_at(line_text: Callable[[int], str], line: int, code: str) -> bool:
    """Is `code` suppressed at `line`: by a comment on it, or by a comment line right above?"""
    if ignores(line_text(line), code):
        return True
    above = line_text(line - 1) if line > 1 else ""
    return bool(_COMMENT_LINE.match(above)) and ignores(above, code)
