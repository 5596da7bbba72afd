"""smtplib connections and logging's SMTPHandler in Python code.

A connection is one `smtplib.SMTP(...)` / `SMTP_SSL(...)` / `LMTP(...)` call together with what
the code does to the object it returns: `.connect(host, port)`, `.starttls()`, `.login(user,
password)` (in the same function; for `self.server`, anywhere in the class). Its parts become
the settings of one configuration of the `smtplib` family (rules/smtplib.yaml): host and port
where they are written (the constant, not every use of it), the SMTP class and the starttls()
call as the encryption settings, the login arguments as the credentials. An `SMTPHandler(...)`
call is a configuration of the `logging-smtphandler` family: `mailhost`, `credentials`, `secure`.

What cannot be decided statically -- a class chosen at run time, a host that arrives as a
parameter, a starttls() under an `if`, a connection handed to other code -- is reported through
opaque settings (the planner then changes nothing), never guessed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from mailmigrate.document import Document
from mailmigrate.formats.pysource import (
    OPAQUE,
    Lines,
    Module,
    Place,
    argument,
    assignments,
    dotted_name,
    env_lookup,
    opened,
    short,
    whole_lines,
)
from mailmigrate.formats.pywrite import code_or_literal, render_items
from mailmigrate.model import RAW, Configuration, Edit, FileInfo, Setting
from mailmigrate.rules import Family, Ruleset

KIND = "python"
SMTP_CLASSES = ("SMTP", "SMTP_SSL", "LMTP")
CLASS_NAME = "smtp-class"  # Setting.quote of the SMTP class a call names: written as a name
CALL_LINE = "call-line"  # Setting.quote of a starttls() statement: removed when it must go
STRUCTURAL = (CLASS_NAME, CALL_LINE)
RUNTIME = "runtime"  # the class is chosen when the code runs: (SMTP_SSL if ssl else SMTP)(...)
_METHODS = frozenset({"connect", "starttls", "login", "ehlo", "helo", "sendmail", "send_message", "quit"})
_CONDITIONAL = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.ExceptHandler, ast.IfExp, ast.BoolOp, ast.Match)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


# --------------------------------------------------------------------------------------------
# What the module calls smtplib and SMTPHandler


@dataclass(frozen=True)
class ClientNames:
    """How a module refers to smtplib's classes and to SMTPHandler, after its imports."""

    smtplib_modules: frozenset[str]  # `import smtplib` / `import smtplib as s`
    smtplib_classes: Mapping[str, str]  # `from smtplib import SMTP_SSL as S`: {"S": "SMTP_SSL"}
    handler_modules: frozenset[str]  # logging.handlers, `from logging import handlers as h`
    handler_names: frozenset[str]  # `from logging.handlers import SMTPHandler`
    imported: Mapping[str, str]  # every `from X import name`: name -> X (for messages)

    def any(self) -> bool:
        return bool(self.smtplib_modules or self.smtplib_classes or self.handler_modules or self.handler_names)

    def smtp_class(self, func: ast.expr) -> str | None:
        """The smtplib class a call's callee names, RUNTIME for a choice made at run time."""
        if isinstance(func, ast.Name):
            return self.smtplib_classes.get(func.id)
        if isinstance(func, ast.Attribute) and func.attr in SMTP_CLASSES:
            return func.attr if dotted_name(func.value) in self.smtplib_modules else None
        if isinstance(func, ast.IfExp) and self.smtp_class(func.body) and self.smtp_class(func.orelse):
            return RUNTIME
        return None

    def is_handler(self, func: ast.expr) -> bool:
        if isinstance(func, ast.Name):
            return func.id in self.handler_names
        return isinstance(func, ast.Attribute) and func.attr == "SMTPHandler" and dotted_name(func.value) in self.handler_modules

    def spelling(self, cls: str) -> str:
        """How this module writes `cls`: its own imported name, else through the smtplib module
        (`import smtplib` is added by the handler when the module has no such import)."""
        for local, real in sorted(self.smtplib_classes.items()):
            if real == cls:
                return local
        module = sorted(self.smtplib_modules)[0] if self.smtplib_modules else "smtplib"
        return f"{module}.{cls}"


def client_names(tree: ast.Module) -> ClientNames:
    modules: set[str] = set()
    classes: dict[str, str] = {}
    handler_modules: set[str] = set()
    handler_names: set[str] = set()
    imported: dict[str, str] = {}
    for node in _statements(tree.body):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "smtplib":
                    modules.add(alias.asname or "smtplib")
                elif alias.name == "logging.handlers" and alias.asname:
                    handler_modules.add(alias.asname)
                elif alias.name in ("logging", "logging.handlers"):
                    handler_modules.add("logging.handlers")
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                local = alias.asname or alias.name
                imported[local] = node.module
                if node.module == "smtplib" and alias.name in SMTP_CLASSES:
                    classes[local] = alias.name
                elif node.module == "smtplib" and alias.name == "*":
                    classes.update({c: c for c in SMTP_CLASSES})
                elif node.module == "logging" and alias.name == "handlers":
                    handler_modules.add(local)
                elif node.module == "logging.handlers" and alias.name in ("SMTPHandler", "*"):
                    handler_names.add(alias.asname or "SMTPHandler")
    return ClientNames(frozenset(modules), classes, frozenset(handler_modules), frozenset(handler_names), imported)


# --------------------------------------------------------------------------------------------
# Where a connection's missing parts go


@dataclass
class ConnectionPlace:
    """Where the parts a connection lacks are written."""

    var: str  # the connection object's name: server, self.smtp
    indent: str
    newline: str
    connect_at: int  # start of the line after the connection is made: starttls() goes there
    login_at: int  # where a login() goes when starttls() is already called
    lead: str = ""  # a newline first, when the file's last line has none
    port_at: int | None = None  # after the host argument: a missing port goes there
    port_keyword: bool = False  # the host is passed as host=...: so is the port
    context: str | None = None  # SMTP_SSL(context=...): carried to starttls(context=...)


def connection_additions(doc: Document, config: Configuration, place: ConnectionPlace, items: list[tuple[str, str]]) -> list[Edit]:
    keys = config.family.form(KIND).keys
    values = {keys[key]: value for key, value in items}
    edits: list[Edit] = []
    if "port" in values and place.port_at is not None:
        port = values["port"]
        edits.append(Edit(place.port_at, place.port_at, f", port={port}" if place.port_keyword else f", {port}"))
    lines: list[str] = []
    if "starttls" in values:
        lines.append(f"{place.var}.starttls({'context=' + place.context if place.context else ''})")
    if "user" in values or "password" in values:
        user = code_or_literal(values.get("user", values.get("password", "")))
        password = code_or_literal(values.get("password", values.get("user", "")))
        lines.append(f"{place.var}.login({user}, {password})")
    if lines:
        at = place.connect_at if "starttls" in values else place.login_at
        edits.append(Edit(at, at, place.lead + "".join(f"{place.indent}{line}{place.newline}" for line in lines)))
    return edits


@dataclass
class HandlerPlace(Place):
    """Where SMTPHandler's missing arguments go: appended, or in place of a `None` it passes."""

    replace_none: dict[str, tuple[int, int]] = field(default_factory=dict)


def handler_additions(doc: Document, config: Configuration, place: HandlerPlace, items: list[tuple[str, str]]) -> list[Edit]:
    """`credentials=(user, password)`, `secure=()`: the arguments SMTPHandler lacks."""
    keys = config.family.form(KIND).keys
    values = {keys[key]: value for key, value in items}
    appended: list[str] = []
    edits: list[Edit] = []
    if "user" in values or "password" in values:
        user = code_or_literal(values.get("user", values.get("password", "")))
        password = code_or_literal(values.get("password", values.get("user", "")))
        if "credentials" in place.replace_none:
            start, end = place.replace_none["credentials"]
            edits.append(Edit(start, end, f"({user}, {password})"))
        else:
            appended.append(f"credentials=({user}, {password})")
    if "secure" in values:
        appended.append(f"secure={values['secure']}")
    if appended:
        edits.append(render_items(doc, place, appended))
    return edits


def render_part(setting: Setting, value: str) -> Edit:
    """A structural part: the SMTP class a call names, or a starttls() line (removed)."""
    if setting.quote == CLASS_NAME:
        spellings = setting.handler_data
        assert isinstance(spellings, dict)
        return Edit(setting.start, setting.end, spellings[value.lower()])
    return Edit(setting.start, setting.end, "")  # CALL_LINE: only ever removed


# --------------------------------------------------------------------------------------------
# Locating


def locate(module: Module, file: FileInfo, rules: Ruleset) -> list[Configuration]:
    families = {
        family.form(KIND).container["client"]: family
        for family in rules.for_kind(KIND)
        if "client" in family.form(KIND).container
    }
    names = client_names(module.tree)
    if not families or not names.any():
        return []
    reader = _Reader(module, file, names)
    found: list[Configuration] = []
    for call in reader.calls:
        cls = reader.smtp_class(call)
        if cls is not None and "smtplib" in families:
            config = reader.connection(call, cls, families["smtplib"])
        elif names.is_handler(call.func) and "SMTPHandler" in families:
            config = reader.handler(call, families["SMTPHandler"])
        else:
            continue
        if config is not None:
            found.append(config)
    return found


class _Reader:
    """One module's calls, with the parent links and names a connection is read through."""

    def __init__(self, module: Module, file: FileInfo, names: ClientNames) -> None:
        self.module = module
        self.file = file
        self.names = names
        self.lines: Lines = module.lines
        self.text = module.doc.text
        # One walk: parent links, the calls, every read of a name or `self.x` (how a connection
        # object is used, in order) and every environment lookup (which variables are shared).
        self.parents: dict[ast.AST, ast.AST] = {}
        self.calls: list[ast.Call] = []
        self.uses: dict[str, list[ast.AST]] = {}
        # Names assigned an smtplib class (`klass = smtplib.SMTP_SSL if ssl else smtplib.SMTP`):
        # only calls through these are looked up further.
        self.class_vars: set[str] = set()
        for node in ast.walk(module.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[child] = node
            if isinstance(node, ast.Call):
                self.calls.append(node)
            elif isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
                name = dotted_name(node)
                if name:
                    self.uses.setdefault(name, []).append(node)
            elif isinstance(node, ast.Assign) and names.smtp_class(node.value):
                self.class_vars.update(dotted_name(target) for target in node.targets)
        self.calls.sort(key=_position)
        self.constructors = [c for c in self.calls if names.smtp_class(c.func)]  # smtplib.SMTP(...) and the like
        self._env_reads: dict[str, list[ast.AST]] | None = None  # computed when a login needs it
        self._assigned: dict[int, tuple[dict[str, list[ast.expr]], set[str]]] = {}
        self._local_names: dict[tuple[int, int], dict[str, ast.expr]] = {}
        for uses in self.uses.values():
            uses.sort(key=_position)
        # Module-level names assigned more than once (in if/else branches): which value a
        # connection gets is decided when the code runs.
        self.assigned_at: dict[str, list[int]] = {}
        for node in opened(module.tree.body):
            for target, _ in assignments(node):
                if isinstance(target, ast.Name):
                    self.assigned_at.setdefault(target.id, []).append(node.lineno)
        self.functions = {
            node.name: node for node in module.tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        }

    def smtp_class(self, call: ast.Call) -> str | None:
        """The smtplib class a call makes, also through a variable holding the class
        (`klass = smtplib.SMTP_SSL if USE_SSL else smtplib.SMTP; klass(host)`: RUNTIME)."""
        cls = self.names.smtp_class(call.func)
        if cls is not None or not isinstance(call.func, ast.Name) or call.func.id not in self.class_vars:
            return cls
        names = self.local_names(self.function_of(call), None)
        bound = names.get(call.func.id) or self.module.constants.get(call.func.id)
        return self.names.smtp_class(bound) if bound is not None else None

    # -- structure -----------------------------------------------------------------------------

    def ancestors(self, node: ast.AST) -> Iterator[ast.AST]:
        while node in self.parents:
            node = self.parents[node]
            yield node

    def statement_of(self, node: ast.AST) -> ast.stmt:
        for parent in [node, *self.ancestors(node)]:
            if isinstance(parent, ast.stmt):
                return parent
        raise ValueError("a call outside any statement")

    def function_of(self, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        for parent in self.ancestors(node):
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
                return parent
            if isinstance(parent, ast.Lambda):
                return None
        return None

    def class_of(self, node: ast.AST) -> ast.ClassDef | None:
        return next((p for p in self.ancestors(node) if isinstance(p, ast.ClassDef)), None)

    def local_names(self, function: ast.FunctionDef | ast.AsyncFunctionDef | None, cls: ast.ClassDef | None) -> dict[str, ast.expr]:
        """Variables of the function, and `self.x` attributes of the class, assigned exactly
        once: `host = "smtp.gmail.com"` before `smtplib.SMTP(host, 587)` is where to edit."""
        key = (id(function), id(cls))
        if key not in self._local_names:
            self._local_names[key] = self._assigned_once(function, cls)
        return self._local_names[key]

    def _assigned_once(self, function: ast.FunctionDef | ast.AsyncFunctionDef | None, cls: ast.ClassDef | None) -> dict[str, ast.expr]:
        assigned: dict[str, list[ast.expr]] = {}
        varying: set[str] = set()
        for owner, attributes in ((function, False), (cls, True)):
            if owner is not None:
                found, varies = self._assignments_in(owner, attributes)
                for name, values in found.items():
                    assigned.setdefault(name, []).extend(values)
                varying |= varies
        return {name: values[0] for name, values in assigned.items() if len(values) == 1 and name not in varying}

    def _assignments_in(self, owner: ast.AST, attributes: bool) -> tuple[dict[str, list[ast.expr]], set[str]]:
        """Plain names (or, for a class, `self.x` attributes) assigned in `owner`, and those a
        loop, a with-statement, `+=` or `:=` binds (they vary). Walked once per owner."""
        key = id(owner) * 2 + attributes
        if key not in self._assigned:
            assigned: dict[str, list[ast.expr]] = {}
            varying: set[str] = set()
            for node in ast.walk(owner):
                if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        name = dotted_name(target)
                        if name and (name.startswith("self.") if attributes else "." not in name):
                            assigned.setdefault(name, []).append(node.value)
                elif isinstance(node, (ast.AugAssign, ast.For, ast.With, ast.NamedExpr)):
                    varying.update(_bound_names(node))
            self._assigned[key] = (assigned, varying)
        return self._assigned[key]

    @property
    def env_reads(self) -> dict[str, list[ast.AST]]:
        """Where each environment variable is read (which credentials other code reads too)."""
        if self._env_reads is None:
            self._env_reads = {}
            for node in self.calls + [n for n in ast.walk(self.module.tree) if isinstance(n, ast.Subscript)]:
                lookup = env_lookup(node)
                if lookup is not None:
                    self._env_reads.setdefault(lookup.name, []).append(node)
        return self._env_reads

    # -- values ----------------------------------------------------------------------------------

    def value(self, key: str, role: str, expr: ast.expr, names: dict[str, ast.expr], function: ast.AST | None) -> Setting:
        reason = self._unknowable(expr, names, function)
        if reason is not None:
            start, end = self.lines.span(expr)
            return Setting(key, role, "", start, end, expr.lineno, expr.col_offset + 1, quote=OPAQUE,
                           opaque=reason, known=False, outer=(start, end))
        return self.module.setting(key, role, expr, names=names)

    def _unknowable(self, expr: ast.expr, names: dict[str, ast.expr], function: ast.AST | None) -> str | None:
        """Why a name's value cannot be read here: a parameter, or an import from elsewhere."""
        name = dotted_name(expr) if isinstance(expr, (ast.Name, ast.Attribute)) else ""
        if not name or name in names:
            return None
        if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and name in _parameters(function):
            return f"the parameter `{name}` of {function.name}()"
        if name in self.names.imported and name not in self.module.constants:
            return f"`{name}`, imported from {self.names.imported[name]}"
        lines = self.assigned_at.get(name, [])
        if len(lines) > 1 and isinstance(expr, ast.Name):  # `if prod: HOST = ... else: HOST = ...`
            return f"`{name}`, assigned on lines {', '.join(map(str, lines))}"
        return None

    def credential(
        self, key: str, role: str, expr: ast.expr, holder: ast.AST, names: dict[str, ast.expr], function: ast.AST | None
    ) -> Setting:
        """A login argument. When the value it reads is also read elsewhere (SENDER is the login
        user and the From address), the argument itself is replaced, never the shared value."""
        found = self.value(key, role, expr, names, function)
        if found.opaque and not found.known and found.env_ref is None:
            # A parameter, config["user"], a name from elsewhere: the old provider's value,
            # whatever it is; the token reference takes its place in the call.
            start, end = self.lines.span(expr)
            return replace(found, start=start, end=end, outer=(start, end))
        if not self._shared(expr, names, self._closure(holder, names)):
            return found
        start, end = self.lines.span(expr)
        return replace(found, start=start, end=end, outer=(start, end), shared=True)

    def _closure(self, holder: ast.AST, names: dict[str, ast.expr]) -> set[ast.AST]:
        """The nodes of `holder` (a login call, a credentials tuple) and of the constants it
        reads, transitively: reads there are the credentials' own, not "other code"."""
        seen: set[ast.AST] = set()
        todo = [holder]
        while todo:
            for node in ast.walk(todo.pop()):
                if node in seen:
                    continue
                seen.add(node)
                name = dotted_name(node) if isinstance(node, (ast.Name, ast.Attribute)) else ""
                bound = names.get(name) or (self.module.constants.get(name) if isinstance(node, ast.Name) else None)
                if bound is not None and bound not in seen:
                    todo.append(bound)
        return seen

    def _shared(self, expr: ast.expr, names: dict[str, ast.expr], inside: set[ast.AST], depth: int = 0) -> bool:
        """Is the value `expr` reads also read outside `inside` (the login call, the
        credentials tuple)? Followed through constants to the environment variable."""
        if depth > 5:
            return False
        name = dotted_name(expr) if isinstance(expr, (ast.Name, ast.Attribute)) else ""
        if name:
            if any(node not in inside for node in self.uses.get(name, ())):
                return True
            bound = names.get(name) or (self.module.constants.get(name) if isinstance(expr, ast.Name) else None)
            return bound is not None and self._shared(bound, names, inside, depth + 1)
        lookup = env_lookup(expr)
        return lookup is not None and any(
            node not in inside and not (set(self.ancestors(node)) & inside) for node in self.env_reads.get(lookup.name, ())
        )

    # -- smtplib -------------------------------------------------------------------------------

    def connection(self, call: ast.Call, cls: str, family: Family) -> Configuration | None:
        form = family.form(KIND)
        key = form.primary_key
        function = self.function_of(call)
        owner = self.class_of(call)
        names = self.local_names(function, owner)
        stmt = self.statement_of(call)
        var, place, unknown_use = self._binding(call, stmt)
        methods, escapes = self._methods(var, call, function, owner) if var else ({}, "")
        unknown_use = unknown_use or escapes
        connect = methods.get("connect")
        host_expr, port_expr, via = argument(call, 0, "host"), argument(call, 1, "port"), call
        if (host_expr is None or _is_empty_string(host_expr)) and connect is not None:
            host_expr, port_expr, via = argument(connect, 0, "host"), argument(connect, 1, "port"), connect
            place = self._after(self.statement_of(connect)) if place is not None else None
        unpacked = next((ast.unparse(a) for a in [*via.args, *via.keywords] if isinstance(a, ast.Starred) or (isinstance(a, ast.keyword) and a.arg is None)), None)
        if host_expr is None and unpacked is not None:  # smtplib.SMTP(**CFG): report, do not guess
            start, end = self.lines.span(via)
            host = Setting(key("host"), "host", "", start, end, via.lineno, via.col_offset + 1, quote=OPAQUE,
                           opaque=f"passed as `{short(unpacked)}`", known=False)
            config = Configuration(family, KIND, self.file, f"{_label(call)} line {call.lineno}", "", {"host": host}, 0, call.lineno)
            config.handler_data = None
            return config
        if host_expr is None:
            return None  # SMTP() connected somewhere this module does not show
        if var and isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and var in _parameters(function):
            unknown_use = unknown_use or f"callers of {function.name}() may pass their own `{var}`"
        runtime = f"by `{short(ast.unparse(call.func))}`"
        rival = self._rival(call, var) if var else None
        if rival is not None:  # `if ssl: s = SMTP_SSL(...) else: s = SMTP(...)`
            cls, runtime = RUNTIME, f"(`{var}` is another connection on line {rival.lineno})"
        settings: dict[str, Setting] = {}
        host = self.value(key("host"), "host", host_expr, names, function)
        if port_expr is None and host.known and host.env_ref is None and host.value.count(":") == 1:
            host.role, host.key = "hostport", key("hostport")  # smtplib.SMTP("smtp.mailgun.org:587")
        settings[host.role] = host
        if port_expr is not None:
            settings["port"] = self.value(key("port"), "port", port_expr, names, function)
        settings.update(self._class_settings(call, cls, family, runtime))
        config = Configuration(
            family=family, kind=KIND, file=self.file, scope=f"{_label(call)} line {call.lineno}",
            prefix="", settings=settings, insert_at=0, line=call.lineno,
        )
        config.default_port = {"SMTP_SSL": 465, "LMTP": 2003}.get(cls, 25)
        if cls == RUNTIME:
            return config  # nothing else matters: it cannot be planned
        start, end = self.lines.span(call)
        starttls, login = methods.get("starttls"), methods.get("login")
        if unknown_use and starttls is None and cls != "SMTP_SSL":
            # `return smtplib.SMTP(...)`, `helper.send(server)`: whether it upgrades is decided
            # in code this module does not show.
            settings["starttls"] = Setting(key("starttls"), "starttls", "", start, end, call.lineno, call.col_offset + 1,
                                           quote=OPAQUE, opaque=f"decided outside this code ({unknown_use})", known=False)
        if unknown_use:
            config.partial = True  # its login() may be there too: a missing one is a follow-up
        if starttls is not None:
            settings["starttls"] = self._starttls(starttls, call, form.primary_key("starttls"))
            if login is not None and self.function_of(login) is self.function_of(starttls) and _position(login) < _position(starttls):
                settings["starttls"] = replace(settings["starttls"], quote=OPAQUE, known=False, value="",
                                               opaque=f"called after login() (line {login.lineno}): MailPace refuses a login before it")
        unpacked_login = login is not None and any(
            isinstance(a, ast.Starred) for a in login.args) or login is not None and any(k.arg is None for k in login.keywords)
        if login is not None and unpacked_login:
            shown = short(ast.unparse(login))
            for role in ("user", "password"):
                ls, le = self.lines.span(login)
                settings[role] = Setting(key(role), role, "", ls, le, login.lineno, login.col_offset + 1, quote=OPAQUE,
                                         opaque=f"passed as `{shown}`", known=False)
        elif login is not None:
            user, password = argument(login, 0, "user"), argument(login, 1, "password")
            if user is not None:
                settings["user"] = self.credential(key("user"), "user", user, login, names, function)
            if password is not None:
                settings["password"] = self.credential(key("password"), "password", password, login, names, function)
        if place is None or var is None:
            why = f"`{ast.unparse(call.func)}(...)` has no line of its own to add it after"
            config.cannot_add = {role: why for role in ("starttls", "user", "password")}
            place = ConnectionPlace("", "", "", 0, 0)
        else:
            place.var = var
            if login is not None and self.function_of(login) is function and _position(login) < (self.lines_of(place.connect_at), 0):
                config.cannot_add["starttls"] = "login() comes before the line it would go on"
            if starttls is not None:  # login() goes after it
                after = self._after(self.statement_of(starttls))
                if after is not None:
                    place.login_at = after.connect_at
                else:
                    why = "starttls() shares its line with other code: login() has no line to go on"
                    config.cannot_add.update({"user": why, "password": why})
        host_end = self.lines.span(host_expr)[1]
        place.port_at = host_end
        place.port_keyword = any(k.value is host_expr for k in via.keywords)
        context = next((k.value for k in call.keywords if k.arg == "context"), None)
        place.context = ast.unparse(context) if context is not None and cls == "SMTP_SSL" else None
        config.handler_data = place
        return config

    def _rival(self, call: ast.Call, var: str) -> ast.Call | None:
        """Another connection bound to the same name in another branch (if/else, try/except):
        which one the code after them uses is decided when it runs."""
        if not var:
            return None
        mine = self.statement_of(call)
        my_body = _body_holding(mine, self.parents.get(mine))
        for other in self.constructors:
            parent = self.parents.get(other)
            if other is call or not isinstance(parent, ast.Assign):
                continue
            if any(dotted_name(t) == var for t in parent.targets) and self.function_of(other) is self.function_of(call):
                if _body_holding(parent, self.parents.get(parent)) is not my_body:
                    return other
        return None

    def lines_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def _class_settings(self, call: ast.Call, cls: str, family: Family, runtime: str = "") -> dict[str, Setting]:
        start, end = self.lines.span(call.func)
        line, col = call.func.lineno, call.func.col_offset + 1
        key = family.form(KIND).primary_key("smtp_class")
        if cls == RUNTIME:
            return {"smtp_class": Setting(key, "smtp_class", "", start, end, line, col, quote=OPAQUE,
                                          opaque=f"chosen at run time {runtime}", known=False)}
        # by lower-cased class name: rule spellings are compared without case
        spellings = {c.lower(): self.names.spelling(c) for c in SMTP_CLASSES}
        spellings[cls.lower()] = self.text[start:end]
        setting = Setting(key, "smtp_class", cls, start, end, line, col, quote=CLASS_NAME, handler_data=spellings)
        if cls == "SMTP_SSL" and any(k.arg in ("keyfile", "certfile") for k in call.keywords):
            setting.opaque = "SMTP_SSL with keyfile/certfile (removed in Python 3.12)"
        parts = {"smtp_class": setting}
        if "protocol" in family.switches:
            parts["protocol"] = Setting(family.form(KIND).primary_key("protocol"), "protocol", cls, start, end, line, col,
                                        quote=OPAQUE, opaque="the SMTP class")
        return parts

    def _starttls(self, starttls: ast.Call, constructor: ast.Call, key: str) -> Setting:
        stmt = self.statement_of(starttls)
        line, col = starttls.lineno, starttls.col_offset + 1
        start, end = self.lines.span(starttls)
        around = set(self.ancestors(constructor))
        for parent in self.ancestors(starttls):
            if parent in around or isinstance(parent, _FUNCTIONS):
                break  # up to where the connection is made (or the function it is handed to)
            if isinstance(parent, _CONDITIONAL):
                test = getattr(parent, "test", None)
                shown = f" `{short(ast.unparse(test))}`" if isinstance(test, ast.expr) else ""
                return Setting(key, "starttls", "", start, end, line, col, quote=OPAQUE,
                               opaque=f"called only under a condition{shown} (line {getattr(parent, 'lineno', line)})", known=False)
        span = self._line_span(stmt)
        body = _body_holding(stmt, self.parents.get(stmt))
        if isinstance(stmt, ast.Expr) and stmt.value is starttls and span is not None and body is not None and len(body) > 1:
            return Setting(key, "starttls", "True", span[0], span[1], line, col, quote=CALL_LINE)
        # Used as a value, or alone in its block: it stays (and cannot be removed by the tool).
        return Setting(key, "starttls", "True", start, end, line, col, quote=OPAQUE,
                       opaque="called where removing its line would break the code around it")

    def _binding(self, call: ast.Call, stmt: ast.stmt) -> tuple[str | None, ConnectionPlace | None, str]:
        """(name of the connection, where its missing lines go, how it escapes when unknown)."""
        parent = self.parents.get(call)
        if isinstance(parent, ast.withitem) and parent.optional_vars is not None:
            var = dotted_name(parent.optional_vars)
            with_node = self.parents[parent]
            assert isinstance(with_node, (ast.With, ast.AsyncWith))
            first = with_node.body[0]
            if first.lineno == with_node.lineno or not var:
                return var or None, None, "" if var else "the connection is used by the with block"
            at = self.lines.starts[first.lineno - 1]
            nl = self.module.doc.newline
            return var, ConnectionPlace(var, self.lines.indent_of(first.lineno), nl, at, at), ""
        if isinstance(parent, (ast.Assign, ast.AnnAssign)) and parent.value is call:
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            var = dotted_name(targets[0]) if len(targets) == 1 else ""
            if var:
                return var, self._after(stmt), ""
            return None, None, f"the connection is stored in `{short(ast.unparse(targets[0]))}`"
        if isinstance(parent, ast.Attribute):
            return None, None, ""  # smtplib.SMTP(host).sendmail(...): the chain is all there is
        if isinstance(parent, ast.Return):
            function = self.function_of(call)
            return None, None, f"the connection is returned to the caller of {function.name}()" if function else "the connection is handed to other code"
        return None, None, "the connection is handed to other code"

    def _after(self, stmt: ast.stmt) -> ConnectionPlace | None:
        """The start of the line after `stmt`, if nothing else shares its last line."""
        end_line = stmt.end_lineno or stmt.lineno
        end = self.lines.offset(end_line, stmt.end_col_offset or 0)
        line_end = self.lines.line_end(end_line)
        if not re.fullmatch(r"[ \t]*(#[^\n]*)?\r?\n?", self.text[end:line_end]):
            return None  # `s = SMTP(h); s.login(...)`: a line of our own would come too late
        lead = "" if self.text.endswith("\n") or line_end < len(self.text) else self.module.doc.newline
        indent = self.lines.indent_of(stmt.lineno)
        return ConnectionPlace("", indent, self.module.doc.newline, line_end, line_end, lead=lead)

    def _line_span(self, stmt: ast.stmt) -> tuple[int, int] | None:
        return whole_lines(self.text, self.lines, stmt)

    def _methods(
        self, var: str, call: ast.Call, function: ast.AST | None, owner: ast.ClassDef | None
    ) -> tuple[dict[str, ast.Call], str]:
        """The first call of each method on the connection after it is made (up to the next
        connection bound to the same name), following it into functions of this module it is
        passed to (`deliver(smtp, msg)`); and, when it is also handed to code this module does
        not show, a description of that code (its starttls() and login() cannot be known)."""
        region: ast.AST = owner if var.startswith("self.") and owner is not None else function or self.module.tree
        after = _position(call)
        until: tuple[int, int] | None = None
        for other in self.constructors:
            parent = self.parents.get(other)
            if _position(other) > after and isinstance(parent, ast.Assign):
                if any(dotted_name(t) == var for t in parent.targets) and _inside(other, region, self):
                    until = _position(other)
                    break
        found: dict[str, ast.Call] = {}
        escapes = ""
        for node in self.uses.get(var, ()):
            position = _position(node)
            if position <= after or (until is not None and position >= until) or not _inside(node, region, self):
                continue
            parent = self.parents.get(node)
            if isinstance(parent, ast.Attribute):
                grand = self.parents.get(parent)
                if isinstance(grand, ast.Call) and grand.func is parent and parent.attr in _METHODS:
                    found.setdefault(parent.attr, grand)
                continue  # server._host = HOST, server.sock: attribute use, not a hand-over
            if isinstance(parent, ast.withitem):
                continue  # `with server:` / `with smtplib.SMTP(...) as server`
            handed = self._handed_to(parent, node)
            if handed is None:
                escapes = escapes or f"the connection is handed to `{short(ast.unparse(parent or node))}` (line {position[0]})"
                continue
            for name, inner in self._methods_in(*handed).items():
                found.setdefault(name, inner)
        return found, "" if {"starttls", "login"} <= set(found) else escapes

    def _handed_to(self, parent: ast.AST | None, node: ast.AST) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, str] | None:
        """`deliver(smtp, msg)` where deliver is a function of this module: (deliver, its
        parameter that receives the connection)."""
        if not (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name)):
            return None
        function = self.functions.get(parent.func.id)
        if function is None:
            return None
        params = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
        for index, passed in enumerate(parent.args):
            if passed is node and index < len(params):
                return function, params[index]
        for keyword in parent.keywords:
            if keyword.value is node and keyword.arg in _parameters(function):
                return function, keyword.arg
        return None

    def _methods_in(self, function: ast.FunctionDef | ast.AsyncFunctionDef, param: str) -> dict[str, ast.Call]:
        found: dict[str, ast.Call] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _METHODS:
                if dotted_name(node.func.value) == param:
                    found.setdefault(node.func.attr, node)
        return dict(sorted(found.items(), key=lambda item: _position(item[1])))

    # -- logging.handlers.SMTPHandler ----------------------------------------------------------

    def handler(self, call: ast.Call, family: Family) -> Configuration | None:
        key = family.form(KIND).primary_key
        mailhost = argument(call, 0, "mailhost")
        if mailhost is None:
            return None
        function = self.function_of(call)
        names = self.local_names(function, self.class_of(call))
        settings: dict[str, Setting] = {}
        cannot_add: dict[str, str] = {}
        pair = self._tuple(mailhost, names)
        if pair is not None and len(pair) == 2:
            settings["host"] = self.value(key("host"), "host", pair[0], names, function)
            settings["port"] = self.value(key("port"), "port", pair[1], names, function)
        else:
            settings["host"] = self.value(key("host"), "host", mailhost, names, function)
            cannot_add["port"] = "mailhost is a host name alone (port 25): write it as (host, port) for another port"
        credentials = argument(call, 4, "credentials")
        partial = False
        replace_none: dict[str, tuple[int, int]] = {}
        if credentials is not None and _is_none(credentials):  # credentials=None: replaced in place
            replace_none["credentials"] = self.lines.span(credentials)
        if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
            why = "the call passes arguments with * or **: they may hold it"
            cannot_add.update({"secure": why, "user": why, "password": why})
        if credentials is not None and not _is_none(credentials):
            creds = self._tuple(credentials, names)
            if creds is not None and len(creds) == 2:
                settings["user"] = self.credential(key("user"), "user", creds[0], credentials, names, function)
                settings["password"] = self.credential(key("password"), "password", creds[1], credentials, names, function)
            else:
                partial = True  # computed credentials: only a follow-up can say what they must be
        secure = argument(call, 5, "secure")
        if secure is not None:
            start, end = self.lines.span(secure)
            line, col = secure.lineno, secure.col_offset + 1
            if _is_none(secure):
                settings["secure"] = Setting(key("secure"), "secure", "None", start, end, line, col, quote=RAW)
            elif isinstance(secure, ast.Tuple):
                settings["secure"] = Setting(key("secure"), "secure", "()", start, end, line, col, quote=OPAQUE, opaque="a tuple")
            else:
                settings["secure"] = self.value(key("secure"), "secure", secure, names, function)
        config = Configuration(
            family=family, kind=KIND, file=self.file, scope=f"{_label(call)} line {call.lineno}",
            prefix="", settings=settings, insert_at=0, line=call.lineno,
        )
        config.partial = partial
        config.cannot_add = cannot_add
        arguments: list[ast.AST] = [*call.args, *call.keywords]
        last = max(arguments, key=_position)
        last_value = last.value if isinstance(last, ast.keyword) else last
        assert isinstance(last_value, ast.expr)
        place = self.module.item_place(call, arguments[0], last_value, "{key}=")
        config.handler_data = HandlerPlace(**vars(place), replace_none=replace_none)
        return config

    def _tuple(self, expr: ast.expr, names: dict[str, ast.expr]) -> list[ast.expr] | None:
        """The items of a tuple or list written here or in the constant a name refers to."""
        for _ in range(5):
            if isinstance(expr, (ast.Tuple, ast.List)):
                return list(expr.elts)
            name = dotted_name(expr) if isinstance(expr, (ast.Name, ast.Attribute)) else ""
            bound = names.get(name) if name else None
            if bound is None and isinstance(expr, ast.Name):
                bound = self.module.constants.get(expr.id)
            if bound is None:
                return None
            expr = bound
        return None


# --------------------------------------------------------------------------------------------
# Context moves: SMTP_SSL(context=...) <-> SMTP + starttls(context=...)


def context_moves(doc: Document, edits: list[Edit]) -> list[Edit]:
    """Edits that carry the TLS context along when a connection changes class: SMTP() takes no
    context, and dropping one would silently stop verifying the server's certificate."""
    if not any(e.text.endswith(SMTP_CLASSES) for e in edits):
        return []
    tree = ast.parse(doc.text)
    names = client_names(tree)
    lines = Lines(doc.text)
    by_span = {(e.start, e.end): e for e in edits}
    removed = {(e.start, e.end) for e in edits if e.text == ""}
    calls = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Call)), key=_position)
    moves: list[Edit] = []
    for call in calls:
        cls = names.smtp_class(call.func)
        edit = by_span.get(lines.span(call.func))
        if cls not in ("SMTP", "SMTP_SSL") or edit is None:
            continue
        if cls == "SMTP_SSL" and not edit.text.endswith("SMTP_SSL"):
            keyword = next((k for k in call.keywords if k.arg == "context"), None)
            if keyword is not None:
                moves.append(_remove_argument(doc.text, lines, call, keyword))
        elif cls == "SMTP" and edit.text.endswith("SMTP_SSL"):
            # The starttls(context=...) line this switch removes: its context moves into the call.
            for other in calls:
                func = other.func
                if (
                    _position(other) > _position(call) and isinstance(func, ast.Attribute) and func.attr == "starttls"
                    and any(lines.starts[other.lineno - 1] == s for s, _ in removed)
                ):
                    # starttls(keyfile=None, certfile=None, context=None)
                    context = next((k.value for k in other.keywords if k.arg == "context"), other.args[2] if len(other.args) > 2 else None)
                    if context is not None:
                        at = lines.span(max([*call.args, *(k.value for k in call.keywords)], key=_position))[1] if (call.args or call.keywords) else lines.span(call)[1] - 1
                        moves.append(Edit(at, at, f"{', ' if call.args or call.keywords else ''}context={ast.unparse(context)}"))
                    break
    return moves


def _remove_argument(text: str, lines: Lines, call: ast.Call, keyword: ast.keyword) -> Edit:
    arguments = sorted([*call.args, *call.keywords], key=_position)
    index = arguments.index(keyword)
    start = lines.offset(keyword.lineno, keyword.col_offset)
    end = lines.span(keyword.value)[1]
    if index > 0:  # from the end of the argument before it: `, context=ctx`
        before = arguments[index - 1]
        start = lines.span(before.value if isinstance(before, ast.keyword) else before)[1]
    else:  # the first argument: `context=ctx, ` up to the next one
        rest = re.match(r"[ \t]*,[ \t]*", text[end:])
        end += rest.end() if rest else 0
    return Edit(start, end, "")


# --------------------------------------------------------------------------------------------
# Small helpers


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones included, without walking expressions (imports live here)."""
    for node in body:
        yield node
        for field_name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(node, field_name, None)
            if isinstance(inner, list):
                yield from _statements([n for n in inner if isinstance(n, ast.stmt)])
                for holder in inner:  # except handlers and match cases hold statements too
                    if isinstance(holder, (ast.ExceptHandler, ast.match_case)):
                        yield from _statements(holder.body)


def _position(node: ast.AST) -> tuple[int, int]:
    return node.lineno, node.col_offset  # type: ignore[attr-defined]


def _is_empty_string(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value == ""


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, (args.vararg, args.kwarg))]
    return {a.arg for a in every}


def _bound_names(node: ast.AST) -> Iterator[str]:
    """Names a loop, with-statement, augmented assignment or walrus binds (they vary)."""
    targets: list[ast.AST] = []
    if isinstance(node, (ast.AugAssign, ast.For)):
        targets = [node.target]
    elif isinstance(node, ast.NamedExpr):
        targets = [node.target]
    elif isinstance(node, ast.With):
        targets = [item.optional_vars for item in node.items if item.optional_vars is not None]
    for target in targets:
        for inner in ast.walk(target):
            name = dotted_name(inner) if isinstance(inner, (ast.Name, ast.Attribute)) else ""
            if name:
                yield name


def _inside(node: ast.AST, region: ast.AST, reader: _Reader) -> bool:
    return region is reader.module.tree or any(parent is region for parent in reader.ancestors(node))


def _body_holding(stmt: ast.stmt, parent: ast.AST | None) -> list[ast.stmt] | None:
    for name in ("body", "orelse", "finalbody"):
        body = getattr(parent, name, None)
        if isinstance(body, list) and stmt in body:
            return body
    return None


def _label(call: ast.Call) -> str:
    """`smtplib.SMTP(...)`; a computed callee keeps its parentheses: `(A if x else B)(...)`."""
    func = ast.unparse(call.func)
    return f"{func}(...)" if isinstance(call.func, (ast.Name, ast.Attribute)) else f"({short(func)})(...)"




__all__ = [
    "CLASS_NAME", "CALL_LINE", "STRUCTURAL", "ClientNames", "ConnectionPlace", "client_names",
    "HandlerPlace", "connection_additions", "context_moves", "handler_additions", "locate", "render_part",
]
