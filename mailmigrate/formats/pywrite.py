"""How values and new items are spelled in Python source: literals, escapes, and items added
next to their siblings (statements, dict items, keyword arguments). Shared by the settings
handler and the smtplib one."""

from __future__ import annotations

import re

from mailmigrate.document import Document
from mailmigrate.formats.pysource import Place
from mailmigrate.model import Edit


def python_literal(value: str) -> str:
    """A value as Python source: numbers and booleans bare, everything else a string."""
    if value in ("True", "False", "None") or re.fullmatch(r"\d+", value):
        return value
    if value.lower() in ("true", "false"):
        return value.capitalize()
    return repr(value) if "'" in value and '"' not in value else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def code_or_literal(value: str) -> str:
    """A reference the planner wrote as code (os.environ[...]) stays code; a value is a literal."""
    return value if value.startswith("os.environ") else python_literal(value)


def escape(value: str, quote: str) -> str:
    """`value` as the inside of a string literal quoted with `quote`."""
    text = value.replace("\\", "\\\\")
    if len(quote) == 1:
        text = text.replace(quote, "\\" + quote).replace("\n", "\\n")
    return text


def render_items(doc: Document, place: Place, entries: list[str]) -> Edit:
    """One edit adding `entries` (already spelled: `KEY = value`, `"key": value`, `key=value`)."""
    nl, indent = doc.newline, place.indent
    if place.style == "statement":
        return Edit(place.offset, place.offset, place.lead + "".join(f"{indent}{e}{nl}" for e in entries))
    if place.mode == "own-line":  # last item ends its line with a comma: lines of our own
        return Edit(place.offset, place.offset, "".join(f"{indent}{e},{nl}" for e in entries))
    if place.mode == "comma-then-line":  # ... without a comma: add it, keep its comment there
        return Edit(place.offset, place.end, f",{place.rest}" + ",".join(f"{nl}{indent}{e}" for e in entries))
    if place.mode == "after-comma":  # one line, trailing comma: `{'a': 1, 'b': 2, }`
        return Edit(place.offset, place.offset, "".join(f" {e}," for e in entries))
    return Edit(place.offset, place.offset, "".join(f", {e}" for e in entries))
