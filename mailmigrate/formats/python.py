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
from mailmigrate.formats import Located, pymessages, smtpclients
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
from mailmigrate.formats.pywrite import code_or_literal, escape, python_literal, render_items
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
        for scope in module.scopes(rules):
            located.configurations.extend(_configurations(scope, module, file, rules))
            if scope.name == "module":
                located.partials = list(_partials(scope, module, file, rules))
        if "smtplib" in doc.text or "SMTPHandler" in doc.text:
            located.configurations.extend(smtpclients.locate(module, file, rules))
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
        if located.configurations or located.partials:
            # Other credentials in the module (SECRET_KEY, DATABASES passwords): only a file
            # with a configuration is ever shown (diff context), so only then are they collected.
            located.sensitive = list(module.sensitive_values())
        located.includes = list(star_imports(tree, file))
        located.findings.extend(misspelled(module, file, rules))
        located.findings.extend(derived_from(module, file, located.configurations))
        located.messages = pymessages.locate(module)
        return located

    # -- writing -----------------------------------------------------------------------------

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit:
        if setting.quote == "raw":
            return Edit(setting.start, setting.end, value)
        if setting.quote == "code":  # a reference such as os.environ["MAILPACE_API_TOKEN"]
            return Edit(setting.start, setting.end, value)
        if setting.quote in (LITERAL_NAME, LITERAL_NUMBER):
            return Edit(setting.start, setting.end, python_literal(value))
        if setting.quote in smtpclients.STRUCTURAL:  # an SMTP class name, a starttls() line
            return smtpclients.render_part(setting, value)
        return Edit(setting.start, setting.end, escape(value, setting.quote))

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        place = config.handler_data
        if isinstance(place, smtpclients.ConnectionPlace):
            return smtpclients.connection_additions(doc, config, place, items)
        if isinstance(place, smtpclients.HandlerPlace):
            return smtpclients.handler_additions(doc, config, place, items)
        assert isinstance(place, Place)
        entries = [place.prefix.format(key=key) + code_or_literal(value) for key, value in items]
        return [render_items(doc, place, entries)]

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        """What the planned edits need besides themselves: `import os` for os.environ,
        `import smtplib` for smtplib.SMTP, a TLS context carried along a class switch."""
        needed = [name for name, used in (("os", "os.environ"), ("smtplib", "smtplib.")) if any(used in e.text for e in edits)]
        extra = smtpclients.context_moves(doc, edits)
        if not needed:
            return extra
        tree = ast.parse(doc.text)
        # `import os.path` binds `os` too
        imported = {a.name.split(".")[0] for node in tree.body if isinstance(node, ast.Import) for a in node.names if a.asname is None}
        lines = "".join(f"import {name}{doc.newline}" for name in needed if name not in imported)
        return extra + ([_import_edit(doc, tree, lines)] if lines else [])

    def syntax_errors(self, text: str) -> list[str]:
        try:
            # compile, not just parse: a repeated keyword argument only fails there
            compile(text, "<rewrite>", "exec", dont_inherit=True)
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
    if kind in ("url_call", "client"):
        return False  # email URLs and smtplib connections are scopes of their own
    if kind == "call":
        return scope.form_filter.startswith("call:") and scope.form_filter[5:] in names.split()
    return scope.form_filter == f"{kind}:{names}"


def _is_anchor(family: Family, role: str, module: Module, value: ast.expr) -> bool:
    if role in ANCHOR_ROLES:
        return True
    switch = family.switches.get(role)
    # Only a preset switch's value is worth reading (and reading an expression costs).
    return switch is not None and switch.anchor and family.is_anchor(role, module.setting("", role, value).value)


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


def _import_edit(doc: Document, tree: ast.Module, lines: str) -> Edit:
    """`lines` (import statements) at the head of the module's first import block, where isort
    would put them; with no imports, right before the first statement (after the docstring,
    `from __future__` imports and the comment banner a configuration file opens with)."""
    positions = Lines(doc.text)
    for node in tree.body:
        docstring = node is tree.body[0] and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        future = isinstance(node, ast.ImportFrom) and node.module == "__future__"
        if docstring or future:
            continue
        at = positions.starts[node.lineno - 1]
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return Edit(at, at, lines)
        return Edit(at, at, lines + doc.newline)
    lead = "" if doc.text.endswith("\n") or not doc.text else doc.newline
    return Edit(len(doc.text), len(doc.text), lead + lines)
