"""Format handlers: one module per file format, registered here explicitly.

A handler locates settings with its format's parser and writes values back as text edits. It
never decides *what* to write (that is the planner's job), only *how* it is spelled in place.
Handlers are imported lazily: a pre-commit run that only touches a `.env` never imports libcst.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from mailmigrate.document import Document
from mailmigrate.model import Configuration, Edit, FileInfo, Finding, Setting
from mailmigrate.rules import Ruleset

if TYPE_CHECKING:
    from mailmigrate.formats.pymessages import Messages


@dataclass
class Located:
    """What a handler found in one file."""

    configurations: list[Configuration] = field(default_factory=list)
    # Every variable the file defines (env files): lets values that come from the environment
    # be followed to where they are written.
    definitions: list[Setting] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    # Values that must never be printed even as diff context: other credentials in the file
    # (DB_PASSWORD, APP_KEY) and lines the parser could not read (they may be bare secrets).
    sensitive: list[str] = field(default_factory=list)
    # Files whose settings this one takes over (`from .base import *` in a split Django settings
    # package): their module-level settings count here unless this file sets them itself.
    includes: list[Path] = field(default_factory=list)
    partials: list[Configuration] = field(default_factory=list)  # module settings without a host
    # Python: the mail messages the code builds and the headers it gives them (tagging).
    messages: Messages | None = None


class FormatHandler(Protocol):
    kind: str

    def locate(self, doc: Document, file: FileInfo, rules: Ruleset) -> Located: ...

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit: ...

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        """The edits adding every (key, value) a configuration lacks, next to its siblings
        (usually one; a smtplib connection may need a port argument and a starttls() line)."""
        ...

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        """Edits the planned ones need (an `import os` for os.environ), or none."""
        ...

    def syntax_errors(self, text: str) -> list[str]:
        """Every parse problem in `text`, as short descriptions that never quote values."""
        ...


# kind → module defining `HANDLER`
_REGISTRY: dict[str, str] = {
    "env": "mailmigrate.formats.env",
    "python": "mailmigrate.formats.python",
    "yaml": "mailmigrate.formats.yamlfiles",
    "ini": "mailmigrate.formats.ini",
    "toml": "mailmigrate.formats.toml",
    "json": "mailmigrate.formats.jsonfiles",
    "properties": "mailmigrate.formats.properties",
}
_LOADED: dict[str, FormatHandler] = {}


def handler_for(kind: str) -> FormatHandler:
    if kind not in _LOADED:
        module = importlib.import_module(_REGISTRY[kind])
        _LOADED[kind] = module.HANDLER
    return _LOADED[kind]
