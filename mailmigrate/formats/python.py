"""Python settings (Django and Flask settings modules, config classes, `app.config[...]`,
`app.config.update(...)`, NetBox's `EMAIL = {...}`, Django's `MAILERS`, `EmailBackend(...)`
keywords, email URLs): located with the standard library's `ast`, edited as text spans.

`ast` is C-fast and gives exact positions, so `check` can afford to look at every settings
module in a pre-commit hook; libcst (lossless, slower to import and parse) is used where a
rewrite has to be proven: the re-parse check of every changed file.

What a value is (`value_of`): a literal; a module constant defined earlier; an environment
lookup (`os.environ.get("X", "default")`, `os.getenv`, `os.environ["X"]`, django-environ
`env("X", default=...)` / `env.int(...)`, decouple `config("X", default=..., cast=...)`), possibly
wrapped in `int()`/`bool()`/`.lower() in [...]`/`== "True"`; or something computed, which is
reported and never guessed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from mailmigrate.document import Document
from mailmigrate.formats import Located
from mailmigrate.formats.pyreports import derived_from, misspelled
from mailmigrate.formats.pysource import (
    KIND,
    LITERAL_NAME,
    LITERAL_NUMBER,
    Lines,
    Module,
    Place,
    Scope,
    assignments,
    star_imports,
)
from mailmigrate.model import Configuration, Edit, FileInfo, Finding, Setting
from mailmigrate.rules import ANCHOR_ROLES, Family, Form, Ruleset

_TEMPLATE = re.compile(r"\{\{-?\s*[A-Za-z_][\w.]*\s*(\|[^}]*)?-?\}\}|\{%-?\s*(if|for|set|block|include|raw|macro|extends)\b")


class PythonHandler:
    kind = KIND

    def locate(self, doc: Document, file: FileInfo, rules: Ruleset) -> Located:
        located = Located()
        if file.path.as_posix().endswith("django/conf/global_settings.py"):
            return located  # the framework's own defaults: not the project's configuration
        template = _TEMPLATE.search(doc.text)
        if template:  # Jinja/cookiecutter: `{{ smtp_host }}` stands where the values go
            line = doc.text.count("\n", 0, template.start()) + 1
            located.findings.append(Finding("MM113", file.display, line, 1, "a template (Jinja/cookiecutter) source: its values are reported, never edited"))
            return located
        try:
            tree = ast.parse(doc.text)
        except (SyntaxError, ValueError) as exc:
            line = getattr(exc, "lineno", None) or 1
            located.findings.append(Finding("MM003", file.display, line, 1, f"Python syntax error: {getattr(exc, 'msg', exc)}"))
            return located
        module = Module(doc, tree, rules)
        located.sensitive = list(module.sensitive_values())
        for scope in module.scopes(rules):
            located.configurations.extend(_configurations(scope, module, file, rules))
            if scope.name == "module":
                located.partials = list(_partials(scope, module, file, rules))
        # An inherited value its own class migrates needs no override in the child.
        owned = {(c.family.name, s.start, s.end) for c in located.configurations for s in c.settings.values() if not s.inherited}
        for config in located.configurations:
            for setting in config.settings.values():
                setting.covered = setting.inherited and (config.family.name, setting.start, setting.end) in owned
        if any("url" in c.settings for c in located.configurations):
            # Saleor: EMAIL_HOST = email_config.get("EMAIL_HOST") read from a dj_email_url result;
            # the URL is the configuration, its unpacked keys are not another one.
            located.configurations = [
                c for c in located.configurations
                if "url" in c.settings or not any(s.opaque and not s.known and s.env_ref is None for s in c.settings.values())
            ]
        located.configurations.sort(key=lambda c: c.line)
        located.includes = list(star_imports(tree, file))
        located.findings.extend(misspelled(module, file, rules))
        located.findings.extend(derived_from(module, file, located.configurations))
        return located

    # -- writing -----------------------------------------------------------------------------

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit:
        if setting.quote == "raw":
            return Edit(setting.start, setting.end, value)
        if setting.quote == "code":  # a reference such as os.environ["MAILPACE_API_TOKEN"]
            return Edit(setting.start, setting.end, value)
        if setting.quote in (LITERAL_NAME, LITERAL_NUMBER):
            return Edit(setting.start, setting.end, python_literal(value))
        return Edit(setting.start, setting.end, _escape(value, setting.quote))

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> Edit:
        place = config.handler_data
        assert isinstance(place, Place)
        entries = [
            place.prefix.format(key=key) + (value if value.startswith("os.environ") else python_literal(value))
            for key, value in items
        ]
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

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        """`import os` when a new text uses os.environ and the module does not import os."""
        if not any("os.environ" in e.text for e in edits):
            return []
        tree = ast.parse(doc.text)
        for node in tree.body:
            if isinstance(node, ast.Import) and any(a.name == "os" and a.asname is None for a in node.names):
                return []
        # At the head of the module's first import block (where isort would put it); with no
        # imports, right before the first statement (after the docstring, `from __future__`
        # imports and the comment banner a configuration file opens with).
        lines = Lines(doc.text)
        for node in tree.body:
            docstring = node is tree.body[0] and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
            if docstring or future:
                continue
            at = lines.starts[node.lineno - 1]
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                return [Edit(at, at, f"import os{doc.newline}")]
            return [Edit(at, at, f"import os{doc.newline}{doc.newline}")]
        return [Edit(len(doc.text), len(doc.text), f"{'' if doc.text.endswith(chr(10)) or not doc.text else doc.newline}import os{doc.newline}")]

    def syntax_errors(self, text: str) -> list[str]:
        try:
            ast.parse(text)
        except (SyntaxError, ValueError) as exc:
            return [f"Python syntax error: {getattr(exc, 'msg', exc)}"]
        import libcst  # the lossless parser: a rewrite must round-trip exactly

        try:
            module = libcst.parse_module(text)
        except libcst.ParserSyntaxError:
            # No position in the message: the same problem in the old text cancels it out.
            return ["libcst cannot parse it"]
        return [] if module.code == text else ["libcst does not round-trip it"]


HANDLER = PythonHandler()


# --------------------------------------------------------------------------------------------
# Configurations


def _configurations(scope: Scope, module: Module, file: FileInfo, rules: Ruleset) -> list[Configuration]:
    candidates: list[tuple[int, int, int, Family, dict[str, str]]] = []
    for order, family in enumerate(rules.for_kind(KIND)):
        form = family.form(KIND)
        if not _form_fits(form, scope):
            continue
        matched = {k: r for k, r in form.keys.items() if k in scope.entries}
        if scope.kind == "url":
            matched = {"url": "url"} if "url" in form.roles else {}
        if not matched or not (set(matched) & scope.own):
            continue
        if form.needs_any and not any(k in scope.entries for k in form.needs_any):
            continue
        if not any(_is_anchor(family, role, module, scope.entries[key].value) for key, role in matched.items()):
            continue
        markers = sum(m in scope.entries for m in form.markers)
        candidates.append((len(matched) + markers, family.priority, -order, family, matched))
    candidates.sort(key=lambda c: (-c[0], -c[1], -c[2]))
    configs: list[Configuration] = []
    taken: set[str] = set()
    for _, _, _, family, matched in candidates:
        anchors = {k for k, r in matched.items() if r in ANCHOR_ROLES or r in family.switches}
        if anchors & taken:
            continue
        taken |= anchors
        settings: dict[str, Setting] = {}
        for key, role in matched.items():
            if role not in settings:
                settings[role] = module.setting(key, role, scope.entries[key].value)
                settings[role].inherited = key in scope.inherited
        host = settings.get("host")
        if scope.form_filter.startswith("call:") and host is not None and not host.known and host.env_ref is None:
            continue  # get_connection(host=settings.EMAIL_HOST): the settings module is the configuration
        config = Configuration(
            family=family,
            kind=KIND,
            file=file,
            scope=scope.name,
            prefix="",
            settings=settings,
            insert_at=0,
            line=min(s.line for s in settings.values()),
        )
        config.handler_data = scope.place or _statement_place(module, scope, matched)
        config.partial = scope.partial
        config.soft_credentials = scope.shared
        own_lines = [s.line for s in settings.values() if not s.inherited]
        config.line = min(own_lines or [config.line])
        configs.append(config)
    return configs


def _partials(scope: Scope, module: Module, file: FileInfo, rules: Ruleset) -> Iterator[Configuration]:
    """Each family's module-level settings, host or not: what `from .base import *` hands over."""
    for family in rules.for_kind(KIND):
        form = family.form(KIND)
        if form.container:
            continue
        matched = {k: r for k, r in form.keys.items() if k in scope.entries}
        settings = {r: module.setting(k, r, scope.entries[k].value) for k, r in matched.items()}
        if settings:
            config = Configuration(family, KIND, file, "module", "", settings, 0, min(s.line for s in settings.values()))
            config.handler_data = _statement_place(module, scope, matched)
            yield config


def _form_fits(form: Form, scope: Scope) -> bool:
    if scope.kind == "url":
        return "url_call" in form.container
    if not form.container:
        return scope.form_filter == "" and scope.kind in ("assignments", "mapping")
    kind, names = next(iter(form.container.items()))
    if kind == "url_call":
        return False
    if kind == "call":
        return scope.form_filter.startswith("call:") and scope.form_filter[5:] in names.split()
    return scope.form_filter == f"{kind}:{names}"


def _is_anchor(family: Family, role: str, module: Module, value: ast.expr) -> bool:
    if role in ANCHOR_ROLES:
        return True
    switch = family.switches.get(role)
    if switch is None or not switch.anchor:
        return False
    text = module.setting("", role, value).value
    return switch.is_ok(text) is False and not switch.is_inactive(text)


def _statement_place(module: Module, scope: Scope, matched: dict[str, str]) -> Place:
    own = [scope.entries[k].stmt for k in matched if k in scope.own]
    last = max(own, key=lambda n: n.end_lineno or 0)  # type: ignore[attr-defined]
    line = last.end_lineno or last.lineno  # type: ignore[attr-defined]
    indent = module.lines.indent_of(last.lineno)  # type: ignore[attr-defined]
    prefix = "{key} = "
    targets = list(assignments(last))
    if targets and isinstance(targets[0][0], ast.Subscript):
        quote = module.doc.text[module.lines.span(targets[0][0].slice)[0]]
        prefix = f"{ast.unparse(targets[0][0].value)}[{quote}{{key}}{quote}] = "
    offset = module.lines.line_end(line)
    needs_newline = offset == len(module.doc.text) and not module.doc.text.endswith("\n")
    return Place(offset, indent, "statement", prefix, lead=module.doc.newline if needs_newline else "")


def python_literal(value: str) -> str:
    """A value as Python source: numbers and booleans bare, everything else a string."""
    if value in ("True", "False", "None") or re.fullmatch(r"\d+", value):
        return value
    if value.lower() in ("true", "false"):
        return value.capitalize()
    return repr(value) if "'" in value and '"' not in value else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _escape(value: str, quote: str) -> str:
    text = value.replace("\\", "\\\\")
    if len(quote) == 1:
        text = text.replace(quote, "\\" + quote).replace("\n", "\\n")
    return text
