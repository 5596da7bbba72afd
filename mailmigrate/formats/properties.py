"""Java `.properties` files (Spring Boot's `application.properties`): located line by line as
`java.util.Properties.load` reads them, edited as value spans; a file is never dumped again.

- `key=value`, `key = value`, `key: value` and `key value`; `#` and `!` start comment lines.
  There are no inline comments: everything after the separator is the value.
- A leaf's path is the key split on dots, so `spring.mail.host` is `("spring", "mail", "host")`
  and matches the same rules as YAML's nested `spring: mail: host:`. Spring's bracket notation
  `spring.mail.properties[mail.smtp.auth]` is the same path as the dotted one.
- A value continued over several lines (a trailing backslash) or written with backslash escapes
  is opaque: reported, not edited in place (a credential written with escapes is replaced whole
  by the token reference).
- Spring placeholders: `${NAME}` makes the value come from NAME (`env_ref`); in
  `${NAME:default}` the default is rewritten when nothing in the repository defines NAME. A
  default that is itself a placeholder (`${SMTP_PASSWORD:${MAILPACE_API_TOKEN}}`) is left alone.
  A value only partly built from placeholders is opaque.
- A key written twice is a finding (MM003); the last one counts, as in `Properties.load`.

Commented-out settings (`#spring.mail.port=587`) are never uncommented, as in env files: a key
the configuration needs is added as a new `prefix.key=value` line right after the
configuration's last line, with the separator that line uses and the file's line ending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailmigrate.document import Document
from mailmigrate.formats import Located
from mailmigrate.formats.ini import emptied_start
from mailmigrate.formats.structured import Leaf, ScopeRef, locate_lines
from mailmigrate.model import RAW, Configuration, Edit, FileInfo, Setting
from mailmigrate.rules import Ruleset

KIND = "properties"
OPAQUE = "opaque"
NO_SEPARATOR = "no-separator"  # Setting.quote of a bare `key` line: writing a value adds "="

_WHITESPACE = " \t\f"
_PLACEHOLDER = re.compile(r"\$\{(?P<name>[^:{}\s]+)(?::(?P<default>.*))?\}", re.DOTALL)
_BRACKETS = re.compile(r"\[([^\]]*)\]")
_BAD_UNICODE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?![0-9A-Fa-f]{4})")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


@dataclass
class _Entry:
    key: str
    indent: str
    sep: str  # as written, spaces included; "" for a bare `key`
    has_value: bool
    setting: Setting
    end: int  # offset just after the entry's last line (its newline included)


@dataclass
class _Scan:
    entries: list[_Entry] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, what, line text)


class PropertiesHandler:
    kind = KIND

    def locate(self, doc: Document, file: FileInfo, rules: Ruleset) -> Located:
        scan = _scan(doc.text)
        leaves = [Leaf(key_path(entry.key), entry.setting) for entry in scan.entries]
        return locate_lines(doc, file, rules, KIND, leaves, scan.problems)

    # -- writing -----------------------------------------------------------------------------

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit:
        if setting.quote == RAW:  # the default inside `${NAME:default}`
            return Edit(setting.start, setting.end, value)
        text = value if setting.quote == "code" else escape(value)  # "code": a reference, whole
        if setting.start == setting.end and text:
            before = doc.text[setting.start - 1:setting.start]
            if setting.quote == NO_SEPARATOR or (before and before not in "=:" + _WHITESPACE):
                text = "=" + text  # a bare `key` line: the value needs a separator
            elif before in "=:" and doc.text[setting.start - 2:setting.start - 1] in tuple(_WHITESPACE):
                text = " " + text  # `key =` with nothing after it: spaced like the `=`
        return Edit(emptied_start(doc.text, setting.start, setting.end, text), setting.end, text)

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        scope = config.handler_data
        assert isinstance(scope, ScopeRef)
        prefix = ".".join(scope.path)
        scan = _scan(doc.text)
        starts = {s.start for s in config.settings.values()}
        own = [e for e in scan.entries if e.setting.start in starts] or scan.entries
        last = max(own, key=lambda e: e.setting.start)
        styled = [e for e in own if e.has_value and e.sep]
        model = last if last.has_value and last.sep else min(
            styled, key=lambda e: abs(e.setting.start - last.setting.start), default=last
        )
        sep = model.sep if model.has_value else _completed(model.sep)
        newline = doc.newline
        lines = "".join(
            f"{last.indent}{prefix + '.' if prefix else ''}{key}{sep}{escape(value)}{newline}" for key, value in items
        )
        at = last.end
        lead = "" if at == 0 or doc.text[at - 1] in "\r\n" else newline
        return [Edit(at, at, lead + lines)]

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        return []

    def syntax_errors(self, text: str) -> list[str]:
        # Only the problem is named, never the line (it may hold a secret).
        return [what for _, what, _ in _scan(text).problems]


HANDLER = PropertiesHandler()


def key_path(key: str) -> tuple[str, ...]:
    """`spring.mail.properties[mail.smtp.auth]` → ("spring", "mail", "properties", "mail", "smtp", "auth")."""
    return tuple(_BRACKETS.sub(lambda m: "." + m.group(1), key).split("."))


# --------------------------------------------------------------------------------------------
# Reading


def _lines(text: str) -> list[tuple[int, int, int]]:
    """(start, end of content, start of the next line): `\\n`, `\\r\\n` and `\\r` end lines."""
    found = []
    for match in re.finditer(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text):
        content = match.group(0).rstrip("\r\n")
        found.append((match.start(), match.start() + len(content), match.end()))
    return found


def _continues(content: str) -> bool:
    """A line ending in an odd number of backslashes goes on on the next line."""
    return (len(content) - len(content.rstrip("\\"))) % 2 == 1


def _scan(text: str) -> _Scan:
    scan = _Scan()
    lines = _lines(text)
    numbers = []  # 1-based line numbers as Document.line_col counts them ("\n" only)
    running = 1
    for start, _, nxt in lines:
        numbers.append(running)
        running += text.count("\n", start, nxt)
    index = 0
    while index < len(lines):
        start, end, nxt = lines[index]
        content = text[start:end]
        body = content.lstrip(_WHITESPACE)
        first = index
        index += 1
        if not body or body[0] in "#!":
            continue  # a comment line never continues
        while _continues(text[lines[index - 1][0]:lines[index - 1][1]]) and index < len(lines):
            index += 1
        last = index - 1
        line = numbers[first]
        logical = text[start:lines[last][1]]
        if _BAD_UNICODE.search(logical):
            scan.problems.append((line, "a malformed \\uXXXX escape; Java cannot read the file", content))
            continue
        scan.entries.append(_entry(text, lines, first, last, line))
    return scan


def _entry(text: str, lines: list[tuple[int, int, int]], first: int, last: int, line: int) -> _Entry:
    start, end, _ = lines[first]
    content = text[start:end]
    indent = content[: len(content) - len(content.lstrip(_WHITESPACE))]
    position = len(indent)
    while position < len(content):
        char = content[position]
        if char == "\\":
            position += 2
            continue
        if char in "=:" or char in _WHITESPACE:
            break
        position += 1
    position = min(position, len(content))
    raw_key = content[len(indent):position]
    key = _unescape(raw_key[:-1] if first != last and position == len(content) and raw_key.endswith("\\") else raw_key)
    sep_end = position
    while sep_end < len(content) and content[sep_end] in _WHITESPACE:
        sep_end += 1
    if sep_end < len(content) and content[sep_end] in "=:":
        sep_end += 1
        while sep_end < len(content) and content[sep_end] in _WHITESPACE:
            sep_end += 1
    sep = content[position:sep_end]
    value_at = start + sep_end
    col = len(indent) + 1
    entry_end = lines[last][2]
    if first != last:
        value_end = lines[last][1]
        pieces = [content[sep_end:]] + [text[s:e].lstrip(_WHITESPACE) for s, e, _ in lines[first + 1:last + 1]]
        joined = "".join(p[:-1] if i < len(pieces) - 1 else p for i, p in enumerate(pieces))
        setting = Setting(key, "", _unescape(joined), value_at, value_end, line, col, quote=OPAQUE)
        setting.opaque = "continued over several lines"
        return _Entry(key, indent, sep, True, setting, entry_end)
    raw = content[sep_end:]
    value_end = start + len(content)
    quote = "" if sep else NO_SEPARATOR
    setting = Setting(key, "", raw, value_at, value_end, line, col, quote=quote, outer=(value_at, value_end))
    if "\\" in raw:
        setting.value = _unescape(raw)
        setting.quote, setting.opaque = OPAQUE, "written with backslash escapes"
    else:
        _placeholders(setting, text)
    return _Entry(key, indent, sep, bool(raw), setting, entry_end)


def _placeholders(setting: Setting, text: str) -> None:
    value = setting.value.strip()
    written = _PLACEHOLDER.fullmatch(value)
    default = written.group("default") if written is not None else None
    nested = default is not None and ("${" in default or "}" in default)
    if written is None or (nested and _PLACEHOLDER.fullmatch(default or "") is None):
        # `smtp.${DOMAIN}`, `${A}:${B}` (the greedy match would take `A}:${B` for a default)
        if "${" in value:
            setting.quote, setting.opaque, setting.outer = OPAQUE, "built from placeholders", None
            setting.known = False
        return
    setting.env_ref = written.group("name")
    if default is None or nested:
        return  # no default, or another placeholder: nothing literal to rewrite there
    setting.env_default = default
    offset = setting.start + (len(setting.value) - len(setting.value.lstrip()))
    at = offset + written.start("default")
    setting.default_span = (at, at + len(default))
    setting.default_quote = RAW
    setting.default_outer = setting.default_span  # no quotes: a reference replaces the default


def _unescape(raw: str) -> str:
    out = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            nxt = raw[index + 1]
            if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[index + 2:index + 6]):
                out.append(chr(int(raw[index + 2:index + 6], 16)))
                index += 6
                continue
            out.append(_ESCAPES.get(nxt, nxt))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Writing


def escape(value: str) -> str:
    """A value as Properties.load reads it back: backslashes, line breaks and leading spaces escaped."""
    text = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t").replace("\f", "\\f")
    stripped = text.lstrip(" ")
    return "\\ " * (len(text) - len(stripped)) + stripped


def _completed(sep: str) -> str:
    """`key =` with nothing after it: the separator with the space a value would get; a bare
    `key` gets `=`."""
    if not sep.strip():
        return sep or "="
    before = sep[: len(sep) - len(sep.lstrip(_WHITESPACE))]
    delimiter = sep.strip(_WHITESPACE)
    return f"{before}{delimiter}{' ' if before or delimiter == ':' else ''}"
