"""JSON configuration files (Mattermost `config.json`, Ghost `config.production.json`): located
with a small scanner that records where every value is written, edited as text spans.

`json.loads` decides whether a file is JSON at all (its messages name the line and column, never
a value); the scanner then only finds spans, so a rewrite changes the bytes of the values it sets
and nothing else: indentation, key order, escapes elsewhere, CRLF and the final newline stay.
Every scalar is a `Leaf` (array items by index); a value keeps its JSON type when rewritten:
Mattermost's `"SMTPPort": "587"` stays a string, Ghost's `"port": 465` a number, flags stay
`true`/`false`. String escapes are decoded exactly and written back escaped.

Files JSON does not accept (comments -- JSONC --, trailing commas, duplicate keys, NaN) are
reported as MM003 and left alone: loaders disagree on them, and a rewrite could not be re-checked.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field

from mailmigrate.document import Document
from mailmigrate.formats import Located
from mailmigrate.formats.structured import Leaf, ScopeRef, configurations, dotted, sensitive_texts, unreadable_scopes
from mailmigrate.model import RAW, Configuration, Edit, FileInfo, Finding, Setting
from mailmigrate.rules import Ruleset, parse_bool

KIND = "json"

# Setting.quote of values written without quotes: a rewrite keeps the JSON type.
NUMBER = "json-number"
BOOLEAN = "json-boolean"
NULL = "json-null"

_WHITESPACE = " \t\n\r"
_SPACES = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.DOTALL)
_MAX_DEPTH = 200


class JsonHandler:
    kind = KIND

    def locate(self, doc: Document, file: FileInfo, rules: Ruleset) -> Located:
        located = Located()
        root, problems = _read(doc.text)
        for problem in problems:
            line, col = doc.line_col(problem.offset)
            located.findings.append(Finding("MM003", file.display, line, col, problem.message))
        if root is None or problems:
            return located
        leaves = _leaves(doc, root, (), _Lines(doc.text))
        located.sensitive += sensitive_texts(doc, leaves)
        located.configurations = configurations(leaves, KIND, file, rules)
        located.findings += unreadable_scopes(leaves, KIND, file, rules)
        return located

    # -- writing -----------------------------------------------------------------------------

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit:
        if setting.quote == RAW:
            return Edit(setting.start, setting.end, value)
        if setting.quote == "code":  # a reference replacing the whole literal: JSON has only strings
            return Edit(setting.start, setting.end, _string(value))
        if setting.quote == '"':
            return Edit(setting.start, setting.end, _string(value)[1:-1])
        like = {NUMBER: "number", BOOLEAN: "boolean"}.get(setting.quote, "string")
        if setting.quote == NULL:
            if not value:
                return Edit(setting.start, setting.end, "null")  # "not set" stays as it was written
            like = _role_type(setting.role)
        return Edit(setting.start, setting.end, _literal(value, like))

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        scope = config.handler_data
        assert isinstance(scope, ScopeRef)
        root, problems = _read(doc.text)
        if root is None or problems:
            return []
        top = _find(root, scope.path)
        if top is None or top.kind != "object":
            return []
        layout = _Layout(doc)
        # For each existing object that receives members: what goes into it, in order, as a
        # tree (Ghost's "auth.user" and "auth.pass" into one new "auth" object).
        targets: dict[int, tuple[_Node, dict[str, object]]] = {}
        for key, value in items:
            parts = [key] if scope.env else key.split(".")
            node = top
            while len(parts) > 1:
                member = node.member(parts[0])
                if member is None:
                    break
                if member.value.kind != "object":
                    parts = []  # "auth" is not an object: nothing can go inside it
                    break
                node = member.value
                parts = parts[1:]
            if not parts or node.member(parts[0]) is not None and len(parts) == 1:
                continue  # already there (or unreachable): adding would duplicate a key
            tree = targets.setdefault(node.start, (node, {}))[1]
            for part in parts[:-1]:
                child = tree.setdefault(part, {})
                assert isinstance(child, dict)
                tree = child
            tree[parts[-1]] = _literal(value, "string" if scope.env else _added_type(config, key))
        return [layout.insert(node, tree) for node, tree in targets.values()]

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        return []

    def syntax_errors(self, text: str) -> list[str]:
        _, problems = _read(text)
        return [problem.message for problem in problems]


# --------------------------------------------------------------------------------------------
# Reading


@dataclass
class _Member:
    key: str
    key_start: int  # the opening quote of the key
    key_end: int  # after its closing quote
    value: _Node


@dataclass
class _Node:
    kind: str  # object, array, string, number, true, false, null
    start: int  # the literal, quotes and brackets included
    end: int
    members: list[_Member] = field(default_factory=list)
    items: list[_Node] = field(default_factory=list)

    def member(self, key: str) -> _Member | None:
        return next((m for m in self.members if m.key == key), None)


@dataclass(frozen=True)
class _Problem:
    offset: int
    message: str  # never quotes a value


class _Invalid(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.problem = _Problem(offset, message)


def _read(text: str) -> tuple[_Node | None, list[_Problem]]:
    """The value tree with its spans, or the problems that make the file unusable."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        return None, [_Problem(exc.pos, _decode_message(text, exc))]
    except RecursionError:
        return None, [_Problem(0, "invalid JSON: nested too deeply")]
    scanner = _Scanner(text)
    try:
        root = scanner.document()
    except _Invalid as exc:
        return None, [exc.problem]
    return root, scanner.duplicates


def _decode_message(text: str, exc: json.JSONDecodeError) -> str:
    at = text[exc.pos:exc.pos + 2]
    if at.startswith(("//", "/*", "#")):
        return "invalid JSON: comments are not allowed (JSONC is not supported)"
    before = text[:exc.pos].rstrip(_WHITESPACE)
    if at[:1] in ("}", "]") and before.endswith(","):
        return "invalid JSON: a trailing comma is not allowed"
    return f"invalid JSON: {exc.msg}"


class _Scanner:
    """Spans of a text json.loads accepted (NaN and Infinity, which it also accepts, are not JSON)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.duplicates: list[_Problem] = []

    def document(self) -> _Node:
        node, end = self.value(self.skip(0), (), 0)
        if self.skip(end) != len(self.text):
            raise _Invalid(self.skip(end), "invalid JSON: extra data after the value")
        return node

    def skip(self, pos: int) -> int:
        match = _SPACES.match(self.text, pos)
        return match.end() if match else pos

    def value(self, pos: int, path: tuple[str, ...], depth: int) -> tuple[_Node, int]:
        if depth > _MAX_DEPTH:
            raise _Invalid(pos, "invalid JSON: nested too deeply")
        text = self.text
        char = text[pos:pos + 1]
        if char == "{":
            return self.object(pos, path, depth)
        if char == "[":
            return self.array(pos, path, depth)
        if char == '"':
            end = self.string_end(pos)
            return _Node("string", pos, end), end
        for word in ("true", "false", "null"):
            if text.startswith(word, pos):
                return _Node(word, pos, pos + len(word)), pos + len(word)
        number = _NUMBER.match(text, pos)
        if number is None:  # json.loads also takes NaN and Infinity; JSON (and Go, and Node) do not
            raise _Invalid(pos, "invalid JSON: NaN and Infinity are not JSON values")
        return _Node("number", pos, number.end()), number.end()

    def string_end(self, pos: int) -> int:
        match = _STRING.match(self.text, pos)
        if match is None:
            raise _Invalid(pos, "invalid JSON: unterminated string")
        return match.end()

    def object(self, pos: int, path: tuple[str, ...], depth: int) -> tuple[_Node, int]:
        node = _Node("object", pos, pos)
        seen: set[str] = set()
        pos = self.skip(pos + 1)
        if self.text.startswith("}", pos):
            node.end = pos + 1
            return node, node.end
        while True:
            key_end = self.string_end(pos)
            raw = self.text[pos + 1:key_end - 1]
            key = str(json.loads(self.text[pos:key_end])) if "\\" in raw else raw
            if key in seen:
                self.duplicates.append(_Problem(pos, f"invalid JSON: key {dotted(path + (key,))!r} appears twice in one object; loaders disagree on which one counts"))
            seen.add(key)
            colon = self.skip(key_end)
            value, end = self.value(self.skip(colon + 1), path + (key,), depth + 1)
            node.members.append(_Member(key, pos, key_end, value))
            pos = self.skip(end)
            if self.text.startswith("}", pos):
                node.end = pos + 1
                return node, node.end
            pos = self.skip(pos + 1)  # the comma

    def array(self, pos: int, path: tuple[str, ...], depth: int) -> tuple[_Node, int]:
        node = _Node("array", pos, pos)
        pos = self.skip(pos + 1)
        if self.text.startswith("]", pos):
            node.end = pos + 1
            return node, node.end
        while True:
            item, end = self.value(pos, path + (str(len(node.items)),), depth + 1)
            node.items.append(item)
            pos = self.skip(end)
            if self.text.startswith("]", pos):
                node.end = pos + 1
                return node, node.end
            pos = self.skip(pos + 1)


class _Lines:
    """Line and column of offsets, without counting newlines from the start each time."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset)
        return line, offset - self.starts[line - 1] + 1


def _leaves(doc: Document, node: _Node, path: tuple[str, ...], lines: _Lines, at: int | None = None) -> list[Leaf]:
    """Every scalar under `node`; `at` is where its key is written (its own start for items)."""
    if node.kind == "object":
        return [leaf for m in node.members for leaf in _leaves(doc, m.value, path + (m.key,), lines, m.key_start)]
    if node.kind == "array":
        return [leaf for i, item in enumerate(node.items) for leaf in _leaves(doc, item, path + (str(i),), lines)]
    line, col = lines.line_col(node.start if at is None else at)
    raw = doc.text[node.start:node.end]
    key = dotted(path)
    if node.kind == "string":
        value = str(json.loads(raw)) if "\\" in raw else raw[1:-1]
        setting = Setting(key, "", value, node.start + 1, node.end - 1, line, col, quote='"', outer=(node.start, node.end))
        if any("\ud800" <= char <= "\udfff" for char in value):
            setting.opaque = "a string with an unpaired \\u escape"
    else:
        quote = {"number": NUMBER, "null": NULL}.get(node.kind, BOOLEAN)
        value = "" if node.kind == "null" else raw
        setting = Setting(key, "", value, node.start, node.end, line, col, quote=quote, outer=(node.start, node.end))
    return [Leaf(path, setting)]


def _find(node: _Node, path: tuple[str, ...]) -> _Node | None:
    for part in path:
        if node.kind == "object":
            member = node.member(part)
            if member is None:
                return None
            node = member.value
        elif node.kind == "array" and part.isascii() and part.isdigit() and len(part) < 10 and int(part) < len(node.items):
            node = node.items[int(part)]
        else:
            return None
    return node


# --------------------------------------------------------------------------------------------
# Writing


def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _literal(value: str, like: str) -> str:
    """`value` as a JSON literal of the type `like` when it can be one, else as a string."""
    if like == "number" and _NUMBER.fullmatch(value.strip()):
        return value.strip()
    if like == "boolean" and value.strip().lower() in ("true", "false"):
        return value.strip().lower()
    if like == "boolean" and parse_bool(value) is not None and value.strip():
        return "true" if parse_bool(value) else "false"
    return _string(value)


def _role_type(role: str) -> str:
    return "number" if role == "port" else "string"


def _added_type(config: Configuration, key: str) -> str:
    """The JSON type of a value the configuration lacks: ports are numbers (Ghost's nodemailer
    takes both), the family's true/false flags are booleans, everything else a string."""
    form = config.family.form(config.form_kind or config.kind)
    role = form.keys.get(key[len(config.prefix):]) if key.startswith(config.prefix) else None
    if role is None:
        return "string"
    spec = config.family.encryption.get(role)
    switch = config.family.switches.get(role)
    if (spec is not None and spec.type == "bool") or (switch is not None and switch.type == "bool"):
        return "boolean"
    return _role_type(role)


class _Layout:
    """How the file is laid out: its newline, its indentation unit, one line per member or not."""

    def __init__(self, doc: Document) -> None:
        self.text = doc.text
        self.newline = doc.newline
        indents = [m.group(1) for m in re.finditer(r"(?m)^([ \t]+)\S", self.text)]
        if any(i.startswith("\t") for i in indents):
            self.unit = "\t"
        else:
            widths = [len(i) for i in indents if i.strip(" ") == ""]
            self.unit = " " * min(widths) if widths else "  "

    def line_indent(self, offset: int) -> str:
        start = self.text.rfind("\n", 0, offset) + 1
        match = re.match(r"[ \t]*", self.text[start:])
        return match.group(0) if match else ""

    def insert(self, node: _Node, tree: dict[str, object]) -> Edit:
        text = self.text
        multiline = "\n" in text[node.start:node.end] or (not node.members and "\n" in text)
        outer = self.line_indent(node.start)
        if node.members:
            last = node.members[-1]
            on_own_line = text[text.rfind("\n", 0, last.key_start) + 1:last.key_start].strip() == ""
            indent = self.line_indent(last.key_start) if on_own_line else outer + self.unit
            if indent.startswith(outer) and len(indent) > len(outer):
                unit = indent[len(outer):]
            else:
                unit = self.unit
            colon = text[last.key_end:last.value.start]
            between = ", "
            if len(node.members) > 1:
                previous = node.members[-2]
                between = text[previous.value.end:last.key_start]
            if multiline:
                body = self.members(tree, indent, unit, colon, True)
                return Edit(last.value.end, last.value.end, "," + self.newline + body)
            body = self.members(tree, "", unit, colon, False, between)
            return Edit(last.value.end, last.value.end, between + body)
        colon = ": " if multiline else ":"
        if multiline:
            indent = outer + self.unit
            body = self.members(tree, indent, self.unit, colon, True)
            return Edit(node.start + 1, node.end - 1, self.newline + body + self.newline + outer)
        return Edit(node.start + 1, node.end - 1, self.members(tree, "", self.unit, colon, False))

    def members(
        self, tree: dict[str, object], indent: str, unit: str, colon: str, multiline: bool, between: str = ", "
    ) -> str:
        rendered = []
        for key, value in tree.items():
            if isinstance(value, dict):
                if multiline:
                    inner = self.members(value, indent + unit, unit, colon, True)
                    literal = "{" + self.newline + inner + self.newline + indent + "}"
                else:
                    literal = "{" + self.members(value, "", unit, colon, False, between) + "}"
            else:
                literal = str(value)
            rendered.append(indent + _string(key) + colon + literal)
        return ("," + self.newline).join(rendered) if multiline else between.join(rendered)



HANDLER = JsonHandler()
