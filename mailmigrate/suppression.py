"""Inline suppression: a `mailmigrate: ignore` comment (every code) or
`mailmigrate: ignore[MM101, MM203]` (those codes) on a line, in any format with comments."""

from __future__ import annotations

import re

_IGNORE = re.compile(r"mailmigrate:\s*ignore(?:\[(?P<codes>[A-Z0-9,\s]+)\])?")


def ignores(line_text: str, code: str) -> bool:
    """Does this line's comment ask to leave findings of `code` alone?"""
    match = _IGNORE.search(line_text)
    return match is not None and (not match.group("codes") or code in re.split(r"[,\s]+", match.group("codes")))
