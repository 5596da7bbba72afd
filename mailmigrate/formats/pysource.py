"""Python source as mailmigrate reads it: positions (ast's UTF-8 columns as character offsets),
scopes where settings sit (module, if/else branches, classes with their bases, app.config,
mappings and calls), and what a value expression is (literal, module constant, environment
lookup, or computed). Read-only: nothing here writes.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mailmigrate.document import Document
from mailmigrate.masking import SENSITIVE_KEY, url_credentials
from mailmigrate.model import FileInfo, Setting
from mailmigrate.rules import Ruleset

LITERAL_NAME = "name"  # Setting.quote of True/False/None
LITERAL_NUMBER = "number"  # Setting.quote of an int literal
OPAQUE = "opaque"  # Setting.quote of a computed value: never edited
_STRING = re.compile(r"(?P<prefix>[rRbBuU]{0,2})(?P<quote>'''|\"\"\"|'|\")", re.DOTALL)
_ENV_FUNCS = frozenset({"getenv", "get", "env", "config", "str", "int", "bool", "float", "list", "json"})
KIND = "python"


# --------------------------------------------------------------------------------------------
# Positions


class Lines:
    """ast counts columns in UTF-8 bytes; edits count characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        # Python ends a line at \r\n, \n or a lone \r (old Mac files): ast's line numbers count all three.
        self.starts = [0] + [m.end() for m in re.finditer("\r\n|\r|\n", text)]

    def offset(self, lineno: int, byte_col: int) -> int:
        start = self.starts[lineno - 1]
        end = self.starts[lineno] if lineno < len(self.starts) else len(self.text)
        line = self.text[start:end]
        return start + len(line.encode("utf-8")[:byte_col].decode("utf-8", "ignore"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),  # type: ignore[attr-defined]
        )

    def line_end(self, lineno: int) -> int:
        return self.starts[lineno] if lineno < len(self.starts) else len(self.text)

    def indent_of(self, lineno: int) -> str:
        start = self.starts[lineno - 1]
        line = self.text[start:self.line_end(lineno)]
        return line[: len(line) - len(line.lstrip(" \t"))]


# --------------------------------------------------------------------------------------------
# Scopes: where a family's keys can sit


@dataclass
class Entry:
    key: str
    value: ast.expr
    stmt: ast.AST  # the statement (or dict item / keyword) holding it


@dataclass
class Place:
    """Where and how a missing key is added."""

    offset: int
    indent: str
    style: str  # "statement" (KEY = value lines) or "item" (dict items, keyword arguments)
    prefix: str  # "{key} = ", 'app.config["{key}"] = ', '"{key}": ', "{key}="
    mode: str = "inline"  # items: "own-line", "comma-then-line", "after-comma", "inline"
    end: int = 0  # items, "comma-then-line": end of the replaced rest of the line
    rest: str = ""  # that rest (a comment), written back after the new comma
    lead: str = ""  # statements: a newline first, when the file's last line has none


@dataclass
class Scope:
    kind: str  # "assignments" (module, class, app.config) or "mapping" (dict, keywords) or "url"
    name: str
    entries: dict[str, Entry] = field(default_factory=dict)
    own: set[str] = field(default_factory=set)  # keys the scope itself defines (not inherited)
    inherited: set[str] = field(default_factory=set)  # keys from a base class: overridden, not edited
    partial: bool = False  # app.config[...] / .update(...) / get_connection(...): part of a config
    shared: bool = False  # a class other classes derive from
    place: Place | None = None
    form_filter: str = ""  # container text a family's form must name ("variable:EMAIL", "call:EmailBackend")


class Module:
    def __init__(self, doc: Document, tree: ast.Module, rules: Ruleset) -> None:
        self.doc = doc
        self.tree = tree
        self.lines = Lines(doc.text)
        # One walk of the tree for the calls and assignments anywhere in it (app.config inside
        # create_app(), get_connection(...) in a view) -- skipped when the text cannot hold any.
        self.calls: list[ast.Call] = []
        self.assigns: list[ast.stmt] = []
        if any(word in doc.text for word in _walk_words(rules)):
            for node in ast.walk(tree):
                if isinstance(node, ast.Call):
                    self.calls.append(node)
                elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                    self.assigns.append(node)
        self.constants: dict[str, ast.expr] = {}  # module-level NAME = <expr>, last wins
        for node in opened(tree.body):
            for target, value in assignments(node):
                if isinstance(target, ast.Name):
                    self.constants[target.id] = value

    def scopes(self, rules: Ruleset) -> Iterator[Scope]:
        # A script that talks smtplib itself keeps its constants for smtplib (issue 4's
        # handler), not for a framework: EMAIL_HOST there is not Django's setting.
        smtplib_script = any(
            isinstance(n, ast.Import) and any(a.name == "smtplib" for a in n.names)
            or isinstance(n, ast.ImportFrom) and n.module == "smtplib"
            for n in ast.walk(self.tree) if isinstance(n, (ast.Import, ast.ImportFrom))
        )
        if not smtplib_script:
            yield from self._module_scopes("module", self.tree.body, {})
        classes = {n.name: n for n in self.tree.body if isinstance(n, ast.ClassDef)}
        bases = {b.id for c in classes.values() for b in c.bases if isinstance(b, ast.Name)}
        for cls in classes.values():
            scope = self._statements(f"class {cls.name}", flat(cls.body))
            scope.own = set(scope.entries)
            scope.shared = cls.name in bases
            # Inherited settings (class StagingConfig(ProductionConfig(Config))) come from the
            # bases defined in this module, nearest first, the whole chain.
            for key, entry in self._inherited(cls, classes, set()).items():
                if key not in scope.entries:
                    scope.entries[key] = entry
                    scope.inherited.add(key)
            yield scope
        yield from self._config_subscripts()
        yield from self._config_calls()
        yield from self._containers(rules)

    def _inherited(self, cls: ast.ClassDef, classes: dict[str, ast.ClassDef], seen: set[str]) -> dict[str, Entry]:
        entries: dict[str, Entry] = {}
        for base in cls.bases:  # left to right, like the MRO for single chains
            if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
                seen.add(base.id)
                parent = classes[base.id]
                own = self._statements("", flat(parent.body)).entries
                for key, entry in {**self._inherited(parent, classes, seen), **own}.items():
                    entries.setdefault(key, entry)
        return entries

    def _module_scopes(self, name: str, body: list[ast.stmt], before: dict[str, Entry]) -> Iterator[Scope]:
        """The module's own assignments, and one scope per `if`/`else` branch that sets keys:
        `if not DEBUG:` SendGrid / `else:` mailpit are two configurations, not one. A branch
        also sees what was assigned before it."""
        scope = Scope("assignments", name)
        branches: list[tuple[str, list[ast.stmt], dict[str, Entry]]] = []
        for node in flat(body):
            if isinstance(node, ast.If):
                seen = {**before, **scope.entries}
                test = ast.unparse(node.test)
                test = test if len(test) <= 30 else test[:27] + "..."
                branches.append((f"{name}, if {test} (line {node.lineno})", node.body, seen))
                if node.orelse:
                    branches.append((f"{name}, else of line {node.lineno}", node.orelse, seen))
                continue
            for target, value in assignments(node):
                if isinstance(target, ast.Name):
                    scope.entries[target.id] = Entry(target.id, value, node)
        scope.own = set(scope.entries)
        scope.entries = {**before, **scope.entries}
        yield scope
        for label, branch, seen in branches:
            yield from self._module_scopes(label, branch, seen)

    def _statements(self, name: str, body: list[ast.stmt]) -> Scope:
        scope = Scope("assignments", name)
        for node in body:
            for target, value in assignments(node):
                if isinstance(target, ast.Name):
                    scope.entries[target.id] = Entry(target.id, value, node)
        scope.own = set(scope.entries)
        return scope

    def _config_subscripts(self) -> Iterator[Scope]:
        """`app.config["MAIL_SERVER"] = ...`, grouped per config object and per function:
        create_app() and create_test_app() configure two different apps."""
        groups: dict[tuple[str, str], Scope] = {}
        for where, node in _assignments_by_function(self.tree):
            for target, value in assignments(node):
                if isinstance(target, ast.Subscript) and _is_config(target.value):
                    key = string(target.slice)
                    if key is not None:
                        owner = ast.unparse(target.value)
                        label = owner if where == "module" else f"{owner} in {where}"
                        scope = groups.setdefault((owner, where), Scope("assignments", label, partial=True))
                        scope.entries[key] = Entry(key, value, node)
        for scope in groups.values():
            scope.own = set(scope.entries)
            yield scope

    def sensitive_values(self) -> Iterator[str]:
        """String literals assigned to credential-looking names or dict keys (SECRET_KEY,
        DATABASES[...]["PASSWORD"]): never printed, even as diff context."""
        for node in ast.walk(self.tree):
            pairs: list[tuple[str | None, ast.expr]] = []
            if isinstance(node, ast.Dict):
                pairs = [(string(k), v) for k, v in zip(node.keys, node.values)]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                pairs = [(dotted_name(t) or string(getattr(t, "slice", None)), v) for t, v in assignments(node)]
            elif isinstance(node, ast.keyword):
                pairs = [(node.arg, node.value)]
            for name, value in pairs:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield from url_credentials(value.value)
                if name and SENSITIVE_KEY.search(name) and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    start, end = self.lines.span(value)
                    yield value.value
                    yield self.doc.text[start:end]

    def _config_calls(self) -> Iterator[Scope]:
        """`app.config.update(MAIL_SERVER=...)`, `.update({...})`, `.update(dict(...))`,
        `.from_mapping(...)`: one scope per call."""
        for node in self.calls:
            if (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in ("update", "from_mapping")
                and _is_config(node.func.value)
            ):
                scope = self._mapping(node, f"{ast.unparse(node.func)}(...) line {node.lineno}")
                if scope is not None:
                    scope.partial = True
                    yield scope

    def _containers(self, rules: Ruleset) -> Iterator[Scope]:
        wanted: dict[str, set[str]] = {}
        for family in rules.for_kind(KIND):
            for kind, names in family.form(KIND).container.items():
                wanted.setdefault(kind, set()).update(names.split())
        for name in wanted.get("variable", ()):
            value = self.constants.get(name)
            if isinstance(value, ast.Dict):
                scope = self._mapping(value, name)
                if scope is not None:
                    scope.form_filter = f"variable:{name}"
                    yield scope
        for path in wanted.get("path", ()):
            root, *rest = path.split(".")
            value = self.constants.get(root)
            for found, label in _walk_path(value, rest, root):
                scope = self._mapping(found, label)
                if scope is not None:
                    scope.form_filter = f"path:{path}"
                    yield scope
        calls = wanted.get("call", set())
        url_calls = wanted.get("url_call", set())
        for node in self.calls:
            dotted = dotted_name(node.func)
            short = dotted.rsplit(".", 1)[-1] if dotted else ""
            if short in calls and node.keywords:
                scope = self._mapping(node, f"{dotted}(...) line {node.lineno}")
                if scope is not None:
                    scope.form_filter = f"call:{short}"
                    scope.partial = True  # Django falls back to settings for what is not passed
                    yield scope
            elif dotted and (dotted in url_calls or short in url_calls):
                scope = self._url_call(node, dotted)
                if scope is not None:
                    scope.form_filter = "url_call"
                    yield scope

    def _mapping(self, node: ast.Call | ast.Dict, name: str) -> Scope | None:
        """Entries of a dict literal, of keyword arguments, or of a call's dict argument."""
        scope = Scope("mapping", name)
        items: list[tuple[ast.AST, str, ast.expr]] = []  # (holder, key, value)
        container: ast.AST = node
        if isinstance(node, ast.Dict):
            for key_node, value_node in zip(node.keys, node.values):
                text = string(key_node) if key_node is not None else None
                if text is not None and key_node is not None:
                    items.append((key_node, text, value_node))
            style = "dict"
        else:
            for keyword in node.keywords:
                if keyword.arg is not None:
                    items.append((keyword, keyword.arg, keyword.value))
            style = "kwargs"
            if not items and node.args and isinstance(node.args[0], (ast.Dict, ast.Call)):
                inner = node.args[0]
                return self._mapping(inner, name) if not isinstance(inner, ast.Call) or dotted_name(inner.func) == "dict" else None
        if not items:
            return None
        for holder, key, value in items:
            scope.entries[key] = Entry(key, value, holder)
        scope.own = set(scope.entries)
        quote = "'" if isinstance(items[0][0], ast.Constant) and self.doc.text[self.lines.span(items[0][0])[0]] == "'" else '"'
        prefix = f"{quote}{{key}}{quote}: " if style == "dict" else "{key}="
        scope.place = self.item_place(container, items[0][0], items[-1][2], prefix)
        return scope

    def item_place(self, container: ast.AST, first: ast.AST, last: ast.expr, prefix: str) -> Place:
        """Where one more item goes after `last` in a dict or an argument list: on a line of
        its own when the items are one per line (keeping a trailing comma and comment), else
        inline after a comma."""
        first_line = first.lineno  # type: ignore[attr-defined]
        multiline = first_line != container.lineno  # type: ignore[attr-defined]
        after = self.lines.offset(last.end_lineno, last.end_col_offset)  # type: ignore[arg-type]
        line_end = self.lines.line_end(last.end_lineno)  # type: ignore[arg-type]
        eol = len(self.doc.text[:line_end].rstrip("\r\n"))
        rest = self.doc.text[after:eol]
        comma = re.match(r"[ \t]*,", rest)
        tail = rest[comma.end():] if comma else rest
        place = Place(offset=after, indent="", style="item", prefix=prefix)
        if multiline and re.fullmatch(r"[ \t]*(#.*)?", tail) and line_end > eol:
            place.indent = self.lines.indent_of(first_line)
            if comma:
                place.mode, place.offset = "own-line", line_end
            else:
                place.mode, place.end, place.rest = "comma-then-line", eol, rest
        elif comma:
            place.mode, place.offset = "after-comma", after + comma.end()
        return place

    def _url_call(self, node: ast.Call, dotted: str) -> Scope | None:
        """env.email_url("EMAIL_URL", default=...), dj_email_url.parse(<value>), dj_email_url.config(default=...)."""
        scope = Scope("url", f"{dotted}(...)")
        default = next((k.value for k in node.keywords if k.arg == "default"), None)
        if dotted.endswith(".parse") and node.args:
            scope.entries["url"] = Entry("url", node.args[0], node)
        else:
            var = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg in ("var", "env")), None)
            name = string(var) if var is not None else "EMAIL_URL"
            if name is None:
                return None
            fake = ast.Call(
                func=ast.Attribute(value=ast.Name("os"), attr="getenv"),
                args=[ast.Constant(name)] + ([default] if default is not None else []),
                keywords=[],
            )
            ast.copy_location(fake, node)
            scope.entries["url"] = Entry("url", fake, node)
        scope.own = {"url"}
        return scope

    # -- values -------------------------------------------------------------------------------

    def setting(
        self, key: str, role: str, value: ast.expr, depth: int = 0, names: Mapping[str, ast.expr] | None = None
    ) -> Setting:
        """What a value expression is, as a Setting with the span an edit would replace.
        `names`: variables of the enclosing function (or `self.x` attributes of a class) that
        are assigned once, looked up before the module's constants."""
        line, col = value.lineno, value.col_offset + 1
        if isinstance(value, ast.Constant) and isinstance(value.value, (str, bool, int)) or (
            isinstance(value, ast.Constant) and value.value is None
        ):
            return self._literal(key, role, value)
        name = dotted_name(value) if isinstance(value, (ast.Name, ast.Attribute)) else ""
        bound = names.get(name) if names and name else None
        if bound is None and isinstance(value, ast.Name):
            bound = self.constants.get(value.id)
        if bound is not None and bound is not value and depth < 5:
            # A constant used here (EMAIL_HOST = SMTP_SERVER): its definition is edited.
            found = self.setting(key, role, bound, depth + 1, names)
            found.line, found.col = line, col
            return found
        lookup = env_lookup(value)
        if lookup is not None and lookup.inverted:
            start, end = self.lines.span(value)
            return Setting(key, role, "", start, end, line, col, quote=OPAQUE, opaque="an inverted comparison", known=False)
        if lookup is not None:
            name, default = lookup.name, lookup.default
            setting = Setting(key, role, "", *self.lines.span(value), line, col, quote=OPAQUE, env_ref=name, outer=self.lines.span(value))
            setting.true_words, setting.fold_case = lookup.true_words, lookup.fold_case
            if default is not None:
                inner = self.setting(key, role, default, depth + 1, names)
                if inner.quote != OPAQUE and inner.env_ref is None:
                    setting.env_default = inner.value
                    setting.default_span = (inner.start, inner.end)
                    setting.default_quote = inner.quote
                    setting.default_outer = inner.outer
            return setting
        start, end = self.lines.span(value)
        shown = ast.unparse(value)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        return Setting(key, role, "", start, end, line, col, quote=OPAQUE, opaque=f"computed by `{shown}`", known=False)

    def _literal(self, key: str, role: str, node: ast.Constant) -> Setting:
        start, end = self.lines.span(node)
        line, col = node.lineno, node.col_offset + 1
        raw = self.doc.text[start:end]
        if isinstance(node.value, bool) or node.value is None:
            text = "" if node.value is None else str(node.value)
            return Setting(key, role, text, start, end, line, col, quote=LITERAL_NAME, outer=(start, end))
        if isinstance(node.value, int):
            return Setting(key, role, str(node.value), start, end, line, col, quote=LITERAL_NUMBER, outer=(start, end))
        match = _STRING.match(raw)
        # Implicit concatenation ("a" "b") or an escape we would have to re-create: not editable.
        why = "written in a form mailmigrate does not edit (concatenated or bytes)"
        if match is None or "b" in match.group("prefix").lower() or not raw.endswith(match.group("quote")):
            return Setting(key, role, str(node.value), start, end, line, col, quote=OPAQUE, outer=(start, end), opaque=why)
        inner_start, inner_end = start + match.end(), end - len(match.group("quote"))
        inner = raw[match.end(): len(raw) - len(match.group("quote"))]
        if inner != node.value and "r" not in match.group("prefix").lower():
            return Setting(key, role, str(node.value), start, end, line, col, quote=OPAQUE, outer=(start, end), opaque=why)
        return Setting(key, role, str(node.value), inner_start, inner_end, line, col, quote=match.group("quote"), outer=(start, end))


def _walk_words(rules: Ruleset) -> set[str]:
    """Words without which no call or nested assignment of interest can be in a module:
    `.config` (app.config[...] / .update(...)) and the call containers' names."""
    words = {".config"}
    for family in rules.for_kind(KIND):
        for kind, names in family.form(KIND).container.items():
            if kind in ("call", "url_call"):
                words.update(name.rsplit(".", 1)[-1] for name in names.split())
    return words


def opened(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements with `if` and `try` blocks opened: where module constants may be defined."""
    out: list[ast.stmt] = []
    for node in flat(body):
        out += opened(node.body) + opened(node.orelse) if isinstance(node, ast.If) else [node]
    return out


def flat(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements of a body with `try` blocks opened (settings often sit in them); `if` blocks
    stay whole (module branches are scopes of their own, see _module_scopes)."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.Try):
            out += flat(node.body) + flat(node.orelse) + flat(node.finalbody)
        else:
            out.append(node)
    return out


def assignments(node: ast.AST) -> Iterator[tuple[ast.expr, ast.expr]]:
    """(target, value) pairs; `A = B = "x"` gives both targets the same value."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            yield target, node.value
    elif isinstance(node, ast.AnnAssign) and node.value is not None:
        yield node.target, node.value


def _assignments_by_function(tree: ast.Module) -> Iterator[tuple[str, ast.stmt]]:
    """Every assignment statement, with the function it is in ("module" at the top)."""

    def visit(body: list[ast.stmt], where: str) -> Iterator[tuple[str, ast.stmt]]:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield from visit(node.body, f"{node.name}() (line {node.lineno})")
            elif isinstance(node, ast.ClassDef):
                yield from visit(node.body, where)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                yield where, node
            else:
                for field_name in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(node, field_name, None)
                    if isinstance(inner, list):
                        yield from visit([n for n in inner if isinstance(n, ast.stmt)] + [
                            stmt for h in inner if isinstance(h, ast.ExceptHandler) for stmt in h.body
                        ], where)

    yield from visit(tree.body, "module")


def short(code: str) -> str:
    """Source code quoted in a finding: one line, at most 40 characters."""
    code = " ".join(code.split())
    return code if len(code) <= 40 else code[:37] + "..."


def argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    """A call's argument by keyword, or by position when no `*args` comes before it."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: index + 1]):
        return call.args[index]
    return None


_REST_OF_LINE = re.compile(r"[ \t]*(#[^\n]*)?\r?\n?")


def whole_lines(text: str, lines: Lines, stmt: ast.stmt) -> tuple[int, int] | None:
    """The span of a statement's whole lines, newline included, when it has them to itself
    (nothing but a comment shares them): what removing the statement removes."""
    start = lines.starts[stmt.lineno - 1]
    if text[start:lines.offset(stmt.lineno, stmt.col_offset)].strip():
        return None
    end_line = stmt.end_lineno or stmt.lineno
    end = lines.offset(end_line, stmt.end_col_offset or 0)
    line_end = lines.line_end(end_line)
    if not _REST_OF_LINE.fullmatch(text[end:line_end]):
        return None
    return start, line_end


def _is_config(node: ast.expr) -> bool:
    """`app.config`, `self.app.config`, `current_app.config`, `flask_app.config`."""
    return isinstance(node, ast.Attribute) and node.attr == "config"


def string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def dotted_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted_name(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    return ""


def _walk_path(value: ast.expr | None, rest: list[str], label: str) -> Iterator[tuple[ast.Dict, str]]:
    if not isinstance(value, ast.Dict):
        return
    if not rest:
        yield value, label
        return
    head, *tail = rest
    for key, item in zip(value.keys, value.values):
        text = string(key)
        if text is not None and (head == "*" or text == head):
            yield from _walk_path(item, tail, f"{label}[{text!r}]")


@dataclass(frozen=True)
class Lookup:
    name: str  # the environment variable
    default: ast.expr | None
    true_words: tuple[str, ...] | None = None  # read through `== "True"` / `in (...)`
    fold_case: bool = False  # through .lower()/.upper()
    inverted: bool = False  # `!= "true"`, `not in (...)`: not followed


def env_lookup(node: ast.expr) -> Lookup | None:
    """An environment lookup, through int()/bool()/.lower()/comparisons."""
    true_words: tuple[str, ...] | None = None
    inverted = fold = False
    while True:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("int", "bool", "str", "float") and node.args:
            node = node.args[0]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("lower", "upper", "strip") and not node.args:
            fold |= node.func.attr in ("lower", "upper")
            node = node.func.value
        elif isinstance(node, ast.Compare) and len(node.ops) == 1:
            op, right = node.ops[0], node.comparators[0]
            if isinstance(op, (ast.Eq, ast.NotEq)) and string(right) is not None:
                true_words = (str(string(right)),)
            elif isinstance(op, (ast.In, ast.NotIn)) and isinstance(right, (ast.List, ast.Tuple, ast.Set)):
                true_words = tuple(w for w in (string(e) for e in right.elts) if w is not None)
            inverted = isinstance(op, (ast.NotEq, ast.NotIn))
            node = node.left
        else:
            break
    if isinstance(node, ast.Subscript) and dotted_name(node.value) in ("os.environ", "environ"):
        name = string(node.slice)
        return Lookup(name, None, true_words, fold, inverted) if name else None
    if not isinstance(node, ast.Call) or not node.args:
        return None
    dotted = dotted_name(node.func)
    name = string(node.args[0])
    if name is None:
        return None
    default = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "default"), None)
    parts = dotted.split(".")
    if dotted in ("os.environ.get", "environ.get", "os.getenv", "getenv") or (
        # django-environ env("X") / env.str("X"), python-decouple config("X")
        parts[0] in ("env", "config") and (len(parts) == 1 or parts[-1] in _ENV_FUNCS)
    ) or (
        # a project's own thin helper: Healthchecks' envint("EMAIL_PORT", "587"), envbool(...)
        len(parts) == 1 and re.fullmatch(r"(get_?)?env_?(str|int|bool|float|var)?", parts[0]) is not None
    ):
        return Lookup(name, default, true_words, fold, inverted)
    return None


def star_imports(tree: ast.Module, file: FileInfo) -> Iterator[Path]:
    """Files a module takes everything from: `from .base import *`, `from mysite.settings.base import *`."""
    for node in tree.body:
        if not (isinstance(node, ast.ImportFrom) and node.module and any(a.name == "*" for a in node.names)):
            continue
        parts = node.module.split(".")
        if node.level:
            bases = [file.path.parents[node.level - 1]] if node.level <= len(file.path.parents) else []
        else:
            bases = list(file.path.parents)  # an absolute module path: try from each folder up
        for base in bases:
            for candidate in (base.joinpath(*parts).with_suffix(".py"), base.joinpath(*parts, "__init__.py")):
                if candidate.is_file():
                    yield candidate
                    break
            else:
                continue
            break
