"""TOML files (lldap's `lldap_config.toml`): located line by line, edited as text spans.

tomllib decides whether a file is TOML at all (its messages name the line and column, never a
value); a small line-based reader then finds where each value is written. It reads the common
subset the way TOML does: `[table]` and `[[array]]` headers (items of an array of tables by
index, as in every structured format), bare, quoted and dotted keys, basic and literal strings,
integers, floats, booleans and dates, comments (also after a value). A value keeps its kind when
rewritten: an integer stays an integer, a literal string stays literal when it can.

Multi-line strings, arrays and inline tables are read (their text is skipped exactly) but never
edited in place: a setting written that way is reported. A missing setting is added as a
`key = value` line after the last setting of its table, spaced and indented like that line;
commented-out settings (`#port=587`) are never uncommented.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from mailmigrate.document import Document
from mailmigrate.formats import Located
from mailmigrate.formats.structured import Leaf, ScopeRef, configurations, dotted, sensitive_texts, unreadable_scopes
from mailmigrate.model import RAW, Configuration, Edit, FileInfo, Finding, Setting
from mailmigrate.rules import Ruleset, parse_bool

KIND = "toml"

# Setting.quote of values written without quotes, and of values never edited in place.
INTEGER = "toml-integer"
FLOAT = "toml-float"
BOOLEAN = "toml-boolean"
DATETIME = "toml-datetime"
WHOLE = "toml-whole"  # multi-line string, array, inline table: only ever replaced whole

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_INTEGER = re.compile(r"[+-]?(?:0|[1-9](?:_?[0-9])*)")
_FLOAT = re.compile(r"[+-]?(?:0|[1-9](?:_?[0-9])*)(?:\.[0-9](?:_?[0-9])*)?(?:[eE][+-]?[0-9](?:_?[0-9])*)?")
_POSITION = re.compile(r"\s*\((?:at line (?P<line>\d+), column (?P<col>\d+)|at end of document)\)$")
_QUOTED_CHAR = re.compile(r" (?:'(?:\\.|[^'])*'|\"(?:\\.|[^\"])*\")$")


class TomlHandler:
    kind = KIND

    def locate(self, doc: Document, file: FileInfo, rules: Ruleset) -> Located:
        located = Located()
        problem = _problem(doc.text)
        if problem is not None:
            message, line, col = problem
            located.findings.append(Finding("MM003", file.display, line, col, message))
            return located
        leaves = [entry.leaf for entry in _Reader(doc).entries()]
        located.sensitive += sensitive_texts(doc, leaves)
        located.configurations = configurations(leaves, KIND, file, rules)
        located.findings += unreadable_scopes(leaves, KIND, file, rules)
        return located

    # -- writing -----------------------------------------------------------------------------

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit:
        if setting.quote == RAW:
            return Edit(setting.start, setting.end, value)
        if setting.quote in ("code", WHOLE):  # replaces the whole literal
            return Edit(setting.start, setting.end, _basic(value))
        if setting.quote == '"':
            return Edit(setting.start, setting.end, _basic(value)[1:-1])
        if setting.quote == "'":
            if _literal_ok(value):
                return Edit(setting.start, setting.end, value)
            return Edit(setting.start - 1, setting.end + 1, _basic(value))  # cannot stay literal
        like = {INTEGER: "integer", BOOLEAN: "boolean", FLOAT: "float"}.get(setting.quote, "string")
        return Edit(setting.start, setting.end, _typed(value, like, "\""))

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        scope = config.handler_data
        assert isinstance(scope, ScopeRef)
        reader = _Reader(doc)
        entries = reader.entries()
        path = scope.path
        # The table's own lines: written under a header the scope starts with (a dotted
        # `smtp.host = ...` under `[app]` counts; a sub-table `[smtp_options.tls]` does not).
        own = [
            e for e in entries
            if path[:len(e.table)] == e.table and len(e.table) <= len(path) and e.leaf.path[:len(path)] == path
        ]
        if own:
            last = max(own, key=lambda e: e.line_end)
            at, table, like = last.line_end, last.table, last
        else:
            header = next((h for h in reader.headers if h.path == path), None)
            if header is None:
                return []
            at, table, like = header.line_end, path, None
        indent, equals = ("", " = ") if like is None else (like.indent, like.equals)
        quote = _string_style(config)
        lines = []
        for key, value in items:
            parts = [key] if scope.env else key.split(".")
            name = ".".join(_key(part) for part in (*path[len(table):], *parts))
            kind = "string" if scope.env else _added_type(config, key)
            lines.append(f"{indent}{name}{equals}{_typed(value, kind, quote)}")
        newline = doc.newline
        if at > 0 and doc.text[at - 1] not in "\r\n":
            # the last line of a file without a final newline: the file still ends without one
            return [Edit(at, at, "".join(newline + line for line in lines))]
        return [Edit(at, at, "".join(line + newline for line in lines))]

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        return []

    def syntax_errors(self, text: str) -> list[str]:
        problem = _problem(text)
        return [] if problem is None else [problem[0]]


# --------------------------------------------------------------------------------------------
# Reading


def _problem(text: str) -> tuple[str, int, int] | None:
    """tomllib's complaint about `text` as (message, line, column), or None for valid TOML."""
    import tomllib

    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = _POSITION.search(message)
        line = col = 1
        if where is not None:
            message = message[: where.start()]
            if where.group("line"):
                line, col = int(where.group("line")), int(where.group("col"))
            else:
                line = text.count("\n") + 1
        # "Illegal character '\x01'": the character may be part of a secret
        message = _QUOTED_CHAR.sub("", message) if "character" in message else message
        return f"invalid TOML: {message}", line, col
    except RecursionError:
        return "invalid TOML: nested too deeply", 1, 1
    return None


def _decode(literal: str) -> object:
    import tomllib

    return tomllib.loads("v = " + literal)["v"]


@dataclass(frozen=True)
class _Header:
    path: tuple[str, ...]  # resolved: items of arrays of tables by index
    line_end: int  # offset after the header's line


@dataclass(frozen=True)
class _Entry:
    leaf: Leaf
    table: tuple[str, ...]  # the header it is written under (resolved)
    indent: str
    equals: str  # `=` with the spaces around it, as written
    line_end: int  # offset after the line where the value (and its comment) ends


class _Reader:
    """`key = value` lines and table headers of a text tomllib accepted."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.text = doc.text
        self.headers: list[_Header] = []
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def entries(self) -> list[_Entry]:
        text = self.text
        found: list[_Entry] = []
        table: tuple[str, ...] = ()
        arrays: dict[tuple[str, ...], int] = {}  # array of tables → items so far
        pos = 0
        while pos < len(text):
            line_start = pos
            pos = self.spaces(pos)
            char = text[pos:pos + 1]
            if char in ("", "\n", "\r", "#"):
                pos = self.line_end(pos)
                continue
            if char == "[":
                is_array = text.startswith("[[", pos)
                parts, pos = self.key(self.spaces(pos + (2 if is_array else 1)))
                pos = self.spaces(pos) + (2 if is_array else 1)
                table = self.resolve(parts[:-1], arrays) + (parts[-1],)
                if is_array:
                    arrays[table] = arrays.get(table, 0) + 1
                    table += (str(arrays[table] - 1),)
                elif table in arrays:
                    table += (str(arrays[table] - 1),)
                pos = self.line_end(pos)
                self.headers.append(_Header(table, pos))
                continue
            key_at = pos
            parts, equals_at = self.key(pos)
            pos = self.spaces(self.spaces(equals_at) + 1)
            setting, pos = self.value(pos, table + tuple(parts), key_at)
            indent = text[line_start:key_at]
            equals = text[equals_at:setting.outer[0] if setting.outer else setting.start]
            pos = self.line_end(pos)
            found.append(_Entry(Leaf(table + tuple(parts), setting), table, indent, equals, pos))
        return found

    @staticmethod
    def resolve(parts: list[str], arrays: dict[tuple[str, ...], int]) -> tuple[str, ...]:
        """`[fruits.physical]` after `[[fruits]]` belongs to the last fruit."""
        path: tuple[str, ...] = ()
        for part in parts:
            path += (part,)
            if path in arrays:
                path += (str(arrays[path] - 1),)
        return path

    def spaces(self, pos: int) -> int:
        text = self.text
        while pos < len(text) and text[pos] in " \t":
            pos += 1
        return pos

    def line_end(self, pos: int) -> int:
        """Offset after the newline ending the line at `pos` (past a trailing comment)."""
        index = self.text.find("\n", pos)
        return len(self.text) if index < 0 else index + 1

    def key(self, pos: int) -> tuple[list[str], int]:
        """A dotted key's parts, decoded, and the offset just after its last part."""
        text = self.text
        parts: list[str] = []
        while True:
            pos = self.spaces(pos)
            if text.startswith('"', pos):
                end = self.basic_end(pos)
                parts.append(str(_decode(text[pos:end])))
            elif text.startswith("'", pos):
                end = text.index("'", pos + 1) + 1
                parts.append(text[pos + 1:end - 1])
            else:
                match = _BARE_KEY.match(text, pos)
                assert match is not None, "tomllib accepted the file"
                end = match.end()
                parts.append(match.group(0))
            after = self.spaces(end)
            if not text.startswith(".", after):
                return parts, end
            pos = after + 1

    def basic_end(self, pos: int) -> int:
        """After the closing quote of the one-line basic string opening at `pos`."""
        text = self.text
        index = pos + 1
        while text[index] != '"':
            index += 2 if text[index] == "\\" else 1
        return index + 1

    def value(self, pos: int, path: tuple[str, ...], key_at: int) -> tuple[Setting, int]:
        text = self.text
        line = bisect.bisect_right(self.line_starts, key_at)
        col = key_at - self.line_starts[line - 1] + 1
        key = dotted(path)
        if text.startswith(('"""', "'''"), pos):
            end = self.multiline_end(pos)
            setting = Setting(key, "", str(_decode(text[pos:end])), pos, end, line, col, quote=WHOLE, outer=(pos, end))
            setting.opaque = "a multi-line string"
            return setting, end
        if text.startswith('"', pos):
            end = self.basic_end(pos)
            raw = text[pos + 1:end - 1]
            value = str(_decode(text[pos:end])) if "\\" in raw else raw
            return Setting(key, "", value, pos + 1, end - 1, line, col, quote='"', outer=(pos, end)), end
        if text.startswith("'", pos):
            end = text.index("'", pos + 1) + 1
            return Setting(key, "", text[pos + 1:end - 1], pos + 1, end - 1, line, col, quote="'", outer=(pos, end)), end
        if text[pos] in "[{":
            end = self.bracket_end(pos)
            setting = Setting(key, "", text[pos:end], pos, end, line, col, quote=WHOLE, outer=(pos, end), known=False)
            setting.opaque = "an array" if text[pos] == "[" else "an inline table"
            return setting, end
        stop = self.text.find("\n", pos)
        rest = text[pos: len(text) if stop < 0 else stop]
        raw = rest.split("#", 1)[0].rstrip()
        end = pos + len(raw)
        decoded = _decode(raw)
        if isinstance(decoded, bool):
            value, quote = ("true" if decoded else "false"), BOOLEAN
        elif isinstance(decoded, int):
            value, quote = str(decoded), INTEGER  # 0x24B, 5_87: the number the app reads
        elif isinstance(decoded, float):
            value, quote = raw, FLOAT
        else:
            value, quote = raw, DATETIME
        return Setting(key, "", value, pos, end, line, col, quote=quote, outer=(pos, end)), end

    def multiline_end(self, pos: int) -> int:
        text = self.text
        delimiter = text[pos:pos + 3]
        index = pos + 3
        while not text.startswith(delimiter, index):
            index += 2 if delimiter == '"""' and text[index] == "\\" else 1
        end = index + 3
        while end < len(text) and end < index + 5 and text[end] == delimiter[0]:
            end += 1  # up to two quotes just before the delimiter belong to the string
        return end

    def bracket_end(self, pos: int) -> int:
        """After the `]` or `}` closing the array or inline table opening at `pos`."""
        text = self.text
        depth = 0
        index = pos
        while True:
            char = text[index]
            if char in "[{":
                depth += 1
                index += 1
            elif char in "]}":
                depth -= 1
                index += 1
                if depth == 0:
                    return index
            elif text.startswith(('"""', "'''"), index):
                index = self.multiline_end(index)
            elif char == '"':
                index = self.basic_end(index)
            elif char == "'":
                index = text.index("'", index + 1) + 1
            elif char == "#":
                index = self.line_end(index)
            else:
                index += 1


# --------------------------------------------------------------------------------------------
# Writing


def _basic(value: str) -> str:
    """`value` as a TOML basic string, quotes included."""
    out = []
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _literal_ok(value: str) -> bool:
    """Can `value` be written as a literal string ('…': no escapes at all)?"""
    return "'" not in value and not any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in value)


def _typed(value: str, like: str, quote: str) -> str:
    """`value` as a TOML literal of the kind `like` when it can be one, else as a string."""
    stripped = value.strip()
    if like == "integer" and _INTEGER.fullmatch(stripped):
        return stripped
    if like == "float" and _FLOAT.fullmatch(stripped):
        return stripped
    if like == "boolean" and stripped and parse_bool(stripped) is not None:
        return "true" if parse_bool(stripped) else "false"
    if quote == "'" and _literal_ok(value):
        return f"'{value}'"
    return _basic(value)


def _key(part: str) -> str:
    return part if _BARE_KEY.fullmatch(part) else _basic(part)


def _string_style(config: Configuration) -> str:
    """Quote added strings like the configuration's other strings (a password says nothing)."""
    plain = [s for s in config.settings.values() if s.role not in ("user", "password") and s.quote in ('"', "'")]
    return max(plain, key=lambda s: s.end).quote if plain else '"'


def _added_type(config: Configuration, key: str) -> str:
    """The TOML type of a value the configuration lacks: a port is an integer, the family's
    true/false flags are booleans, everything else a string."""
    form = config.family.form(config.form_kind or config.kind)
    role = form.keys.get(key[len(config.prefix):]) if key.startswith(config.prefix) else None
    if role == "port":
        return "integer"
    spec = config.family.encryption.get(role or "")
    switch = config.family.switches.get(role or "")
    if (spec is not None and spec.type == "bool") or (switch is not None and switch.type == "bool"):
        return "boolean"
    return "string"



HANDLER = TomlHandler()
