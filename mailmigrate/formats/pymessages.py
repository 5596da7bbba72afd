"""Where Python code builds mail messages, and the headers it gives them: read with `ast`,
written back as text spans. The tagging planner (mailmigrate.tagging) decides what changes;
this module knows where each header is written and how an edit is spelled there.

A message is:
- Django's `EmailMessage` / `EmailMultiAlternatives` (and flask-mailman's copies): `headers=`
  (keyword or 8th positional), then `msg.extra_headers["K"] = v` / `.update({...})`;
- Flask-Mail's `Message`: `extra_headers=` (keyword or 12th positional), or a later
  `msg.extra_headers = {...}`;
- `email.message.EmailMessage` / `Message`, `MIMEText`, `MIMEMultipart` bound to a name in a
  module that talks smtplib: `msg["K"] = v` and `msg.add_header("K", v)` after it. A MIME
  object attached to another one is a part, not a message.

A headers dict named by a variable is followed to its literal when that variable is assigned
once (in the function, or at module level); anything else computed is reported, not guessed.
Header names anywhere else (a constant dict, a helper's `headers[...] = ...`) are *strays*:
reported so `check` still sees them, never edited.
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mailmigrate.document import Document
from mailmigrate.formats.pysource import Lines, Module, Place, argument, dotted_name, short, string, whole_lines
from mailmigrate.formats.pywrite import escape, render_items
from mailmigrate.mailheaders import is_header_name, meaning_of, mentions_headers
from mailmigrate.model import Edit



@dataclass(frozen=True)
class _Constructor:
    """A framework's message class: what it is called, and where its headers dict goes."""

    label: str  # "Django EmailMessage"
    keyword: str  # headers / extra_headers
    position: int  # its index among positional arguments; -1: it differs between versions
    safe_positional: int = 99  # positional arguments that mean the same in every version


def _constructors() -> dict[str, _Constructor]:
    table: dict[str, _Constructor] = {}
    for package, label in (("django.core.mail", "Django"), ("django.core.mail.message", "Django"),
                           ("flask_mailman", "flask-mailman"), ("flask_mailman.message", "flask-mailman")):
        for cls in ("EmailMessage", "EmailMultiAlternatives"):
            # EmailMessage(subject, body, from_email, to, bcc, connection, attachments, headers, ...)
            table[f"{package}.{cls}"] = _Constructor(f"{label} {cls}", "headers", 7)
    # Message(subject, recipients, body, html, ...): 0.10 put `alts` fifth, moving extra_headers
    # from the 12th place to the 13th; past `html` a positional argument is version-dependent.
    table["flask_mail.Message"] = _Constructor("Flask-Mail Message", "extra_headers", -1, safe_positional=4)
    # Message(subject, sender, recipients, body, html, cc, bcc, extra_headers, ...)
    for module in ("pyramid_mailer.message", "pyramid_mailer"):
        table[f"{module}.Message"] = _Constructor("pyramid_mailer Message", "extra_headers", 7)
    return table


_CONSTRUCTORS = _constructors()
_EMAIL_OBJECTS = frozenset({
    "email.message.EmailMessage", "email.message.Message",
    "email.mime.text.MIMEText", "email.mime.multipart.MIMEMultipart",
})
# Calls that send mail but take no headers: tagging them needs an EmailMessage instead.
UNTAGGABLE = {
    f"{package}.{name}": name
    for package in ("django.core.mail", "flask_mailman")
    for name in ("send_mail", "send_mass_mail", "mail_admins", "mail_managers")
}
# Modules that may build a message this module reads name one of these (the cheap pass, --tags).
_FRAMEWORK_WORDS = (b"django.core", b"flask_mail", b"flask_mailman", b"pyramid_mailer")


def may_build_messages(data: bytes) -> bool:
    return any(w in data for w in _FRAMEWORK_WORDS) or (b"smtplib" in data and b"email" in data)


_STRING_START = re.compile(r"[rRbBuUfF]{0,2}('''|\"\"\"|'|\")")
_ALONE_AFTER = re.compile(r"[ \t]*(#[^\n]*)?\r?\n?")


@dataclass
class HeaderDict:
    """A dict literal of headers: entries can be removed from it and added to it."""

    node: ast.Dict
    place: Place | None  # where one more item goes (None: the dict is empty)
    starts: list[int] = field(default_factory=list)  # where each item begins (its key, or `**`)
    ends: list[int] = field(default_factory=list)  # where each item's value ends


def _header_dict(lines: Lines, node: ast.Dict, place: Place | None) -> HeaderDict:
    starts = [lines.span(k)[0] if k is not None else lines.span(v)[0] - 2 for k, v in zip(node.keys, node.values)]
    return HeaderDict(node, place, starts, [lines.span(v)[1] for v in node.values])


@dataclass
class HeaderEntry:
    """One header as the code sets it: a dict item or a statement."""

    name: str  # as written
    line: int
    col: int
    key_span: tuple[int, int]  # the name's whole literal, quotes included
    value_span: tuple[int, int]  # the value expression
    value: str | None  # the value when it is a string literal; None when computed
    value_code: str  # the value's source text, for messages
    quote: str  # the name literal's quote
    value_quote: str = '"'  # the value literal's quote, when it is a string
    holder: HeaderDict | None = None  # a dict item: its dict
    index: int = 0  # a dict item: its position in the dict
    statement: tuple[int, int] | None = None  # a statement alone on its lines: those lines
    is_statement: bool = False
    # X-SMTPAPI / X-MSYS-API written as json.dumps({...}): that literal and what it holds.
    json_dict: HeaderDict | None = None
    json_value: dict[object, object] | None = None
    # Set inside an if/for/try block below the message's own: whether a message carries it
    # depends on the path taken, so it is never moved or merged.
    nested: bool = False


@dataclass
class Adder:
    """How a header is added to a message that lacks it."""

    style: str  # "item" (into a dict), "replace" (an empty dict or None becomes a dict),
    #             "argument" (a headers= keyword into the call), "statement" (a msg[...] line)
    offset: int
    end: int = 0
    place: Place | None = None  # "item" and "argument" with arguments to follow
    text: str = ""  # "argument": the keyword; "statement": the message's name
    indent: str = ""
    lead: str = ""  # "statement": a newline first, when the file's last line has none


@dataclass
class MessageSite:
    api: str  # "Django EmailMessage", "Flask-Mail Message", "MIMEText"
    line: int
    col: int
    entries: list[HeaderEntry] = field(default_factory=list)
    adder: Adder | None = None
    blocked: str | None = None  # why its headers cannot be read or added to
    quote: str = '"'  # how the module quotes strings here
    lines: set[int] = field(default_factory=set)  # where a suppression comment applies
    # email.message objects: a repeated header is sent twice; a dict keeps only the last value.
    repeatable: bool = False


@dataclass
class Stray:
    """A header name set outside any message this module reads."""

    name: str
    line: int
    col: int


@dataclass
class Untaggable:
    name: str  # send_mail, mail_admins, ...
    line: int
    col: int


@dataclass
class Messages:
    sites: list[MessageSite] = field(default_factory=list)
    strays: list[Stray] = field(default_factory=list)
    untaggable: list[Untaggable] = field(default_factory=list)


# A module builds messages this module reads only if it imports a mail framework, or the email
# package together with smtplib.
_FRAMEWORK_IMPORT = re.compile(r"^[ \t]*(?:from|import)[ \t]+(?:django\.core|flask_mail|flask_mailman|pyramid_mailer)\b", re.M)
_EMAIL_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+email\b|import[ \t]+[\w., \t]*\bemail\b)", re.M)
_SMTPLIB_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+(?:aio)?smtplib\b|import[ \t]+[\w., \t]*\b(?:aio)?smtplib\b)", re.M)


def locate(module: Module) -> Messages | None:
    """The messages a module builds and the header names it sets elsewhere; None when it can
    hold neither (most modules: the text decides before any tree is walked)."""
    text = module.doc.text
    builds = _FRAMEWORK_IMPORT.search(text) is not None or (
        _EMAIL_IMPORT.search(text) is not None and _SMTPLIB_IMPORT.search(text) is not None
    )
    if builds:
        return _Reader(module).read()
    if mentions_headers(text.encode("utf-8", "replace")):
        return Messages(strays=list(_Reader(module).strays()))
    return None


# --------------------------------------------------------------------------------------------
# Reading


_PART_METHODS = frozenset({"attach", "set_payload", "add_attachment", "add_related", "add_alternative", "attach_alternative"})
_SENDS = frozenset({"send_message", "sendmail", "send"})
_RENDERS = frozenset({"as_string", "as_bytes"})
_ADDRESSING = frozenset({"subject", "from", "to", "cc", "bcc"})  # a MIME part never has these


@dataclass
class _Scope:
    """What one module, function, class body or lambda does, read in one pass."""

    node: ast.AST
    nodes: list[ast.AST]
    bindings: dict[str, list[ast.stmt]]
    about: dict[str, list[ast.stmt]]  # statements acting on a name (`msg[...] = `, `msg.x(...)`, `del msg[...]`)
    parts: set[str]  # names handed to attach()/set_payload(): MIME parts
    listed: set[str]  # names inside a list/tuple/set literal
    sent: set[str]  # names handed to send_message()/sendmail() or rendered with as_string()
    params: set[str]  # the function's (or lambda's) parameters


class _Reader:
    def __init__(self, module: Module) -> None:
        self.module = module
        self.text = module.doc.text
        self.lines: Lines = module.lines
        self.tree = module.tree
        self.handled: set[ast.AST] = set()  # name literals of entries that belong to a site
        self.seen_dicts: set[int] = set()
        self.branch_notes: dict[tuple[int, str], str | None] = {}

    @functools.cached_property
    def names(self) -> dict[str, str]:
        return _imported(self.tree)

    @functools.cached_property
    def sends_smtp(self) -> bool:
        return any(q.split(".")[0] in ("smtplib", "aiosmtplib") for q in self.names.values())

    @functools.cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        return self._index[0]

    @functools.cached_property
    def blocks(self) -> dict[int, int]:
        """id(statement) → id(the statement list holding it): which block a line is in."""
        return self._index[1]

    @functools.cached_property
    def _index(self) -> tuple[dict[ast.AST, ast.AST], dict[int, int]]:
        """One walk of the tree for every node's parent and every statement's block."""
        parents: dict[ast.AST, ast.AST] = {}
        blocks: dict[int, int] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
            for name in ("body", "orelse", "finalbody"):
                body = getattr(node, name, None)
                if isinstance(body, list):
                    for statement in body:
                        blocks[id(statement)] = id(body)
        return parents, blocks

    @functools.cached_property
    def module_scope(self) -> _Scope:
        return _scope_facts(self.tree)

    def read(self) -> Messages:
        found = Messages()
        scopes = [self.tree, *(n for n in ast.walk(self.tree) if isinstance(n, _SCOPES))]
        for node in scopes:
            scope = self.module_scope if node is self.tree else _scope_facts(node)
            for call in scope.nodes:
                if not isinstance(call, ast.Call):
                    continue
                qualified = self.qualified(call.func)
                if qualified in UNTAGGABLE:
                    found.untaggable.append(Untaggable(UNTAGGABLE[qualified], call.lineno, call.col_offset + 1))
                    continue
                site: MessageSite | None = None
                if qualified in _CONSTRUCTORS:
                    site = self.framework_message(call, _CONSTRUCTORS[qualified], scope)
                elif qualified in _EMAIL_OBJECTS and self.sends_smtp:
                    site = self.email_object(call, qualified, scope)
                if site is not None:
                    found.sites.append(site)
        found.strays = list(self.strays())
        found.sites.sort(key=lambda s: (s.line, s.col))
        return found

    # -- names

    def qualified(self, func: ast.expr) -> str:
        """`EmailMessage` → django.core.mail.EmailMessage, by this module's imports."""
        dotted = dotted_name(func)
        if not dotted:
            return ""
        head, _, rest = dotted.partition(".")
        base = self.names.get(head)
        if base is None:
            return ""
        return f"{base}.{rest}" if rest else base

    def binding_of(self, call: ast.Call) -> tuple[str, ast.stmt] | None:
        parent = self.parents.get(call)
        if isinstance(parent, ast.Assign) and parent.value is call and len(parent.targets) == 1:
            target = parent.targets[0]
            if isinstance(target, ast.Name):
                return target.id, parent
        if isinstance(parent, ast.AnnAssign) and parent.value is call and isinstance(parent.target, ast.Name):
            return parent.target.id, parent
        return None

    def branched(self, var: str, scope: _Scope) -> str | None:
        """Why the messages bound to `var` cannot be told apart: made in different blocks (an
        if/else, a try/except) with header lines after them that apply to whichever ran."""
        key = (id(scope), var)
        if key not in self.branch_notes:
            self.branch_notes[key] = self._branched(var, scope)
        return self.branch_notes[key]

    def _branched(self, var: str, scope: _Scope) -> str | None:
        bindings = scope.bindings.get(var, [])
        if len(bindings) < 2:
            return None  # one message: lines in other blocks are handled entry by entry (nested)
        latest: ast.stmt | None = None
        pending = iter(bindings)  # in source order, as the statements are
        upcoming = next(pending, None)
        for statement in scope.about.get(var, []):
            while upcoming is not None and (upcoming.lineno, upcoming.col_offset) < (statement.lineno, statement.col_offset):
                latest, upcoming = upcoming, next(pending, None)
            if latest is not None and self.block_of(latest) != self.block_of(statement):
                lines = ", ".join(str(b.lineno) for b in bindings)
                return f"`{var}` is made in different blocks (lines {lines}) and set up after them (line {statement.lineno})"
        return None

    def statements_of(self, var: str, stmt: ast.stmt, scope: _Scope) -> list[ast.stmt]:
        """Statements acting on `var` after `stmt`, up to its next binding."""
        start = (stmt.end_lineno or stmt.lineno, stmt.end_col_offset or 0)
        later = [b for b in scope.bindings.get(var, []) if (b.lineno, b.col_offset) > start]
        stop = min(((b.lineno, b.col_offset) for b in later), default=(1 << 30, 0))
        return [n for n in scope.about.get(var, []) if start < (n.lineno, n.col_offset) < stop]

    def untracked_change(self, stmt: ast.stmt, known: bool) -> str | None:
        """A statement that changes a header mailmigrate cares about in a way it does not follow
        (`msg.replace_header("X-PM-Tag", ...)`, `del msg["X-PM-Tag"]`, `.pop(...)`)."""
        if known:
            return None
        for node in ast.walk(stmt):
            name = string(node)
            if name is not None and is_header_name(name) and (meaning_of(name) is not None or name.lower() == "x-list-unsubscribe"):
                return f"{name} is changed on line {stmt.lineno} in a way mailmigrate does not follow"
        return None

    # -- Django and Flask-Mail

    def framework_message(self, call: ast.Call, constructor: _Constructor, scope: _Scope) -> MessageSite | None:
        keyword, position = constructor.keyword, constructor.position
        site = MessageSite(constructor.label, call.lineno, call.col_offset + 1, quote=self.quote_near(call))
        site.lines = set(range(call.lineno, (call.end_lineno or call.lineno) + 1))
        value = argument(call, position, keyword) if position >= 0 else next((k.value for k in call.keywords if k.arg == keyword), None)
        starred = any(isinstance(a, ast.Starred) for a in call.args) and value is None
        spread = next((k for k in call.keywords if k.arg is None), None)
        if position < 0 and len(call.args) > constructor.safe_positional:
            site.blocked = (f"its positional arguments after the {constructor.safe_positional}th mean different "
                            f"things in different {constructor.label.split()[0]} versions")
        elif value is None and (spread is not None or starred):
            what = ast.unparse(spread.value) if spread is not None else "*args"
            site.blocked = f"the call passes {'**' if spread is not None else ''}{short(what)}: its {keyword} cannot be read"
        elif value is None:
            site.adder = self.argument_adder(call, keyword)
        elif isinstance(value, ast.Constant) and value.value is None:
            site.adder = Adder("replace", *self.lines.span(value))
        else:
            literal = self.dict_literal(value, call, scope)
            if literal is None:
                site.blocked = f"its {keyword} come from `{short(ast.unparse(value))}`"
            elif id(literal) in self.seen_dicts:
                return None  # one headers dict shared by several messages: read once
            else:
                self.seen_dicts.add(id(literal))
                site.blocked = self.read_dict(literal, site)
        binding = self.binding_of(call)
        if binding is not None:
            var, stmt = binding
            later = self.statements_of(var, stmt, scope)
            for statement in later:
                known = self.framework_statement(statement, var, site, nested=self.block_of(statement) != self.block_of(stmt))
                site.blocked = site.blocked or self.untracked_change(statement, known)
            site.blocked = site.blocked or self.branched(var, scope)
        return site

    def framework_statement(self, stmt: ast.stmt, var: str, site: MessageSite, nested: bool) -> bool:
        """`msg.extra_headers["K"] = v`, `msg.extra_headers.update({...})`, `msg.extra_headers = {...}`;
        False for any other statement on `msg`."""
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target = stmt.targets[0]
            if isinstance(target, ast.Subscript) and _is_attribute(target.value, var, "extra_headers"):
                self.statement_entry(stmt, target.slice, stmt.value, site, nested)
                return True
            if _is_attribute(target, var, "extra_headers"):
                site.lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
                if nested:
                    site.blocked = f"its extra_headers are replaced inside a block (line {stmt.lineno})"
                elif isinstance(stmt.value, ast.Dict):
                    self.seen_dicts.add(id(stmt.value))
                    site.entries = []  # the assignment replaces whatever the constructor set
                    site.adder = None
                    site.blocked = self.read_dict(stmt.value, site)
                else:
                    site.blocked = f"its extra_headers come from `{short(ast.unparse(stmt.value))}`"
                return True
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            func = call.func
            if (isinstance(func, ast.Attribute) and func.attr == "update" and _is_attribute(func.value, var, "extra_headers")
                    and len(call.args) == 1 and isinstance(call.args[0], ast.Dict)):
                site.lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
                blocked = self.read_dict(call.args[0], site, add_here=False, nested=nested)
                site.blocked = site.blocked or blocked
                return True
        return False

    # -- email.message objects sent through smtplib

    def email_object(self, call: ast.Call, qualified: str, scope: _Scope) -> MessageSite | None:
        """A MIME object is a message when the code sends it (or renders it for sendmail) or
        addresses it (Subject, From, To); never when it is attached to another one."""
        binding = self.binding_of(call)
        if binding is None:
            return None  # `msg.attach(MIMEText(...))`: a part; `return MIMEText(...)`: not set up here
        var, stmt = binding
        if var in scope.parts:
            return None
        later = self.statements_of(var, stmt, scope)
        addressed = any(_header_set(s, var) in _ADDRESSING for s in later)
        if not (var in scope.sent or addressed) or (var in scope.listed and not addressed):
            return None  # a part built for another message, or something this module does not send
        site = MessageSite(qualified.rsplit(".", 1)[1], call.lineno, call.col_offset + 1, quote=self.quote_near(call), repeatable=True)
        site.lines = set(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
        last = stmt
        for statement in later:
            nested = self.block_of(statement) != self.block_of(stmt)
            known = False
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                target = statement.targets[0]
                if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == var:
                    self.statement_entry(statement, target.slice, statement.value, site, nested)
                    known = True
            elif isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
                inner = statement.value
                if (isinstance(inner.func, ast.Attribute) and inner.func.attr == "add_header"
                        and isinstance(inner.func.value, ast.Name) and inner.func.value.id == var and len(inner.args) >= 2):
                    self.statement_entry(statement, inner.args[0], inner.args[1], site, nested)
                    known = True
            if known and not nested:
                last = statement
            site.blocked = site.blocked or self.untracked_change(statement, known)
        site.blocked = site.blocked or self.branched(var, scope)
        site.adder = self.statement_adder(stmt, last, var)
        return site

    # -- entries

    def read_dict(self, node: ast.Dict, site: MessageSite, add_here: bool = True, nested: bool = False) -> str | None:
        """The dict's header entries into `site`; the reason it cannot be read, if any."""
        holder = _header_dict(self.lines, node, None)
        if node.keys:
            first, last = node.keys[0], node.values[-1]
            if first is not None:
                quote = self.quote_of(first) if isinstance(first, ast.Constant) else site.quote
                holder.place = self.module.item_place(node, first, last, f"{quote}{{key}}{quote}: ")
        if add_here:
            span = self.lines.span(node)
            if holder.place is not None:
                site.adder = Adder("item", 0, place=holder.place)
            elif "#" not in self.text[span[0]:span[1]]:  # `{}`; never over a comment in `{  # none yet\n}`
                site.adder = Adder("replace", *span)
            else:
                site.adder = None
        site.lines.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        blocked: str | None = None
        for index, (key, value) in enumerate(zip(node.keys, node.values)):
            if key is None:
                blocked = blocked or f"the headers dict unpacks `**{short(ast.unparse(value))}`"
                continue
            name = string(key)
            if name is None:
                blocked = blocked or f"the headers dict has a computed key `{short(ast.unparse(key))}`"
                continue
            entry = self.entry(name, key, value)
            entry.holder, entry.index, entry.nested = holder, index, nested
            site.entries.append(entry)
        return blocked

    def statement_entry(self, stmt: ast.stmt, key: ast.expr, value: ast.expr, site: MessageSite, nested: bool = False) -> None:
        name = string(key)
        site.lines.update(range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1))
        if name is None:
            return
        entry = self.entry(name, key, value)
        entry.is_statement = True
        entry.nested = nested
        entry.statement = whole_lines(self.text, self.lines, stmt)
        site.entries.append(entry)

    def entry(self, name: str, key: ast.expr, value: ast.expr) -> HeaderEntry:
        self.handled.add(key)
        text = string(value)
        entry = HeaderEntry(
            name=name, line=key.lineno, col=key.col_offset + 1,
            key_span=self.lines.span(key), value_span=self.lines.span(value),
            value=text, value_code=ast.unparse(value), quote=self.quote_of(key) if isinstance(key, ast.Constant) else '"',
            value_quote=self.quote_of(value) if text is not None else '"',
        )
        if text is None and isinstance(value, ast.Call) and dotted_name(value.func) in ("json.dumps", "dumps") and value.args:
            literal = value.args[0]
            if isinstance(literal, ast.Dict) and len(value.args) == 1 and not value.keywords:
                entry.json_value = _json_keys(literal)
                if entry.json_value is not None and literal.keys and literal.keys[0] is not None:
                    place = self.module.item_place(literal, literal.keys[0], literal.values[-1], '"{key}": ')
                    entry.json_dict = _header_dict(self.lines, literal, place)
        return entry

    # -- places

    def argument_adder(self, call: ast.Call, keyword: str) -> Adder:
        arguments: list[ast.expr | ast.keyword] = sorted([*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset))
        if not arguments:  # right after the parenthesis, before anything written inside it
            opening = self.text.index("(", self.lines.span(call.func)[1])
            return Adder("argument", opening + 1, text=keyword)
        last = arguments[-1]
        last_value: ast.expr = last.value if isinstance(last, ast.keyword) else last
        place = self.module.item_place(call, arguments[0], last_value, "{key}=")
        return Adder("argument", place.offset, place=place, text=keyword)

    def statement_adder(self, binding: ast.stmt, stmt: ast.stmt, var: str) -> Adder | None:
        """A `msg["X-MailPace-Tags"] = ...` line after `stmt`, at its indentation: only where
        the message is made and set up on lines of their own (never after `if x: msg = ...`)."""
        if whole_lines(self.text, self.lines, binding) is None:
            return None
        span = whole_lines(self.text, self.lines, stmt)
        if span is None:
            return None
        line_end = span[1]
        lead = "" if self.text.endswith("\n") or line_end < len(self.text) else self.module.doc.newline
        return Adder("statement", line_end, text=var, indent=self.lines.indent_of(stmt.lineno), lead=lead)

    def block_of(self, stmt: ast.stmt) -> int:
        return self.blocks.get(id(stmt), 0)

    def dict_literal(self, value: ast.expr, call: ast.Call, scope: _Scope) -> ast.Dict | None:
        """The dict literal `value` is: itself, or a name assigned a dict once (in the function,
        else at module level). A parameter or a comprehension's variable is not followed."""
        if isinstance(value, ast.Dict):
            return value
        if not isinstance(value, ast.Name) or value.id in scope.params or self.comprehension_binds(call, value.id):
            return None
        candidates = scope.bindings.get(value.id, [])
        if not candidates and scope is not self.module_scope:
            candidates = self.module_scope.bindings.get(value.id, [])
        if len(candidates) == 1:
            assigned = candidates[0]
            if isinstance(assigned, (ast.Assign, ast.AnnAssign)) and isinstance(assigned.value, ast.Dict):
                return assigned.value
        return None

    def comprehension_binds(self, node: ast.AST, name: str) -> bool:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
            if isinstance(current, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                if any(name in _bound_names(g.target) for g in current.generators):
                    return True
            current = self.parents.get(current)
        return False

    def quote_of(self, node: ast.expr) -> str:
        start, end = self.lines.span(node)
        match = _STRING_START.match(self.text, start, end)
        return match.group(1)[0] if match else '"'

    def quote_near(self, call: ast.Call) -> str:
        """The quote of the first string literal among the call's arguments (the subject)."""
        for node in [*call.args, *(k.value for k in call.keywords)]:
            if string(node) is not None:
                return self.quote_of(node)
        return '"'

    # -- strays

    def strays(self) -> Iterator[Stray]:
        """Header names set where no message is read: keys of a headers dict (one assigned to,
        passed as, returned by or updating something named like headers), subscript
        assignments, add_header/replace_header arguments. A lookup table or a test's expected
        value is not a header being set."""
        for node in ast.walk(self.tree):
            keys: list[ast.expr] = []
            if isinstance(node, ast.Dict) and self.holds_headers(node):
                keys = [k for k in node.keys if k is not None]
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
                keys = [node.slice]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ("add_header", "replace_header", "__setitem__") and node.args):
                keys = [node.args[0]]
            for key in keys:
                name = string(key)
                if name is not None and key not in self.handled and is_header_name(name) and meaning_of(name) is not None:
                    yield Stray(name, key.lineno, key.col_offset + 1)

    def holds_headers(self, node: ast.Dict) -> bool:
        parent = self.parents.get(node)
        if isinstance(parent, ast.Call) and node in parent.args and dotted_name(parent.func) in ("json.dumps", "dumps"):
            return False  # the X-SMTPAPI object inside a header's value
        if isinstance(parent, (ast.Assign, ast.AnnAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            return any("header" in dotted_name(_subscripted(t)).lower() for t in targets)
        if isinstance(parent, ast.keyword):
            return parent.arg is not None and "header" in parent.arg.lower()
        if isinstance(parent, ast.Return):
            function = self.parents.get(parent)
            while function is not None and not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = self.parents.get(function)
            return function is not None and "header" in function.name.lower()
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr == "update":
            return "header" in dotted_name(parent.func.value).lower()
        return False


def _subscripted(node: ast.expr) -> ast.expr:
    return node.value if isinstance(node, ast.Subscript) else node


# --------------------------------------------------------------------------------------------
# Writing: how an edit decided by the tagging planner is spelled


def literal(value: str, quote: str) -> str:
    return f"{quote}{escape(value, quote)}{quote}"


def render_addition(doc: Document, site: MessageSite, name: str, value: str) -> Edit:
    adder = site.adder
    assert adder is not None
    q = site.quote
    item = f"{literal(name, q)}: {literal(value, q)}"
    if adder.style == "statement":
        line = f"{adder.indent}{adder.text}[{literal(name, q)}] = {literal(value, q)}{doc.newline}"
        return Edit(adder.offset, adder.offset, adder.lead + line)
    if adder.style == "replace":
        return Edit(adder.offset, adder.end, "{" + item + "}")
    if adder.style == "argument":
        argument = f"{adder.text}={{{item}}}"
        if adder.place is None:
            return Edit(adder.offset, adder.offset, argument)
        return render_items(doc, adder.place, [argument])
    assert adder.place is not None
    return render_items(doc, adder.place, [item])


def render_replacement(entry: HeaderEntry, name: str, value: str) -> list[Edit]:
    """The entry becomes `name: value`, in its own quotes."""
    return [Edit(*entry.key_span, literal(name, entry.quote)), Edit(*entry.value_span, literal(value, entry.quote))]


def render_value(entry: HeaderEntry, value: str) -> Edit:
    return Edit(*entry.value_span, literal(value, entry.quote))


def render_rename(entry: HeaderEntry, name: str) -> Edit:
    return Edit(*entry.key_span, literal(name, entry.quote))


def render_removals(text: str, entries: list[HeaderEntry]) -> list[Edit] | None:
    """Edits removing every entry; None when one cannot be removed cleanly (a statement
    sharing its line with another)."""
    edits: list[Edit] = []
    by_dict: dict[int, tuple[HeaderDict, set[int]]] = {}
    for entry in entries:
        if entry.is_statement:
            if entry.statement is None:
                return None
            edits.append(Edit(*entry.statement, ""))
        else:
            assert entry.holder is not None
            by_dict.setdefault(id(entry.holder.node), (entry.holder, set()))[1].add(entry.index)
    for holder, removed in by_dict.values():
        edits += remove_items(text, holder, removed)
    return edits


def remove_items(text: str, holder: HeaderDict, removed: set[int]) -> list[Edit]:
    """Edits dropping the items at `removed` from a dict literal, keeping the others' layout:
    whole lines where items sit one per line, else the item and its comma."""
    count = len(holder.starts)
    edits: list[Edit] = []
    index = 0
    while index < count:
        if index not in removed:
            index += 1
            continue
        first = index
        while index + 1 < count and index + 1 in removed:
            index += 1
        edits.append(_remove_run(text, holder.starts, holder.ends, first, index))
        index += 1
    return edits


def _remove_run(text: str, starts: list[int], ends: list[int], first: int, last: int) -> Edit:
    count = len(starts)
    line_start = text.rfind("\n", 0, starts[first]) + 1
    end = ends[last]
    comma = re.match(r"[ \t]*,", text[end:])
    after = end + (comma.end() if comma else 0)
    line_end = text.find("\n", after)
    line_end = len(text) if line_end < 0 else line_end + 1
    begins_line = not text[line_start:starts[first]].strip()
    next_on_later_line = last + 1 == count or text.rfind("\n", 0, starts[last + 1]) >= line_end - 1
    if begins_line and next_on_later_line and _REST.fullmatch(text[after:line_end]):
        # Whole lines. At the end of a dict without a trailing comma, the item before keeps
        # its comma, which Python accepts.
        return Edit(line_start, line_end, "")
    if last + 1 < count:
        return Edit(starts[first], starts[last + 1], "")  # `"a": 1, ` up to the next item
    if first > 0 and not begins_line:
        return Edit(ends[first - 1], after, "")  # `, "z": 26` after the item before
    return Edit(starts[first], after, "")  # from the run's own line (the line before keeps its comment)


_REST = re.compile(r"[ \t]*(#[^\n]*)?\r?\n?")


def render_json_without(entry: HeaderEntry, value: dict[object, object], keys: list[str], text: str) -> list[Edit]:
    """The JSON header without its tag keys (the other keys stay for a person to judge)."""
    import json

    if entry.json_dict is not None:
        holder = entry.json_dict
        removed = {i for i, k in enumerate(holder.node.keys) if string(k) in keys}
        return remove_items(text, holder, removed)
    kept = {k: v for k, v in value.items() if k not in keys}
    original = entry.value or ""
    # Written back in the author's spacing, without escaping what was not escaped.
    separators = (", " if re.search(r",\s", original) else ",", ": " if re.search(r":\s", original) else ":")
    dumped = json.dumps(kept, separators=separators, ensure_ascii=original.isascii() and "\\u" in original)
    return [Edit(*entry.value_span, literal(dumped, entry.value_quote))]


# --------------------------------------------------------------------------------------------
# Small helpers


def _imported(tree: ast.Module) -> dict[str, str]:
    """Local name → what it is: `from django.core.mail import EmailMessage as E` gives
    E → django.core.mail.EmailMessage; `import email.mime.text` gives email → email."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if alias.name != "*":
                    names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    # A class or function the module defines itself shadows an import of the same name.
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.pop(node.name, None)
    return names


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a module, function, class body or lambda in source order, without the
    functions, classes and lambdas inside it (they are scopes of their own)."""
    body = getattr(scope, "body", [])
    stack: list[ast.AST] = list(reversed(body if isinstance(body, list) else [body]))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, _SCOPES):
            continue
        stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _scope_facts(scope: ast.AST) -> _Scope:
    nodes = list(_own_nodes(scope))
    facts = _Scope(scope, nodes, _bindings(nodes), {}, set(), set(), set(), set())
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        args = scope.args
        facts.params = {a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, *filter(None, (args.vararg, args.kwarg)))}
    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete, ast.Expr)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.value if isinstance(node, ast.Expr) else node.target]
            for target in targets:
                root = _root_name(target)
                if root is not None and not isinstance(target, ast.Name):
                    facts.about.setdefault(root, []).append(node)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            passed = {n.id for a in [*node.args, *(k.value for k in node.keywords)] for n in ast.walk(a) if isinstance(n, ast.Name)}
            if method in _PART_METHODS:
                facts.parts |= passed
            elif method in _SENDS:
                facts.sent |= passed
            elif method in _RENDERS and isinstance(node.func.value, ast.Name):
                facts.sent.add(node.func.value.id)
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            facts.listed |= {e.id for e in node.elts if isinstance(e, ast.Name)}
    for name, statements in facts.about.items():
        facts.about[name] = sorted(set(statements), key=lambda n: (n.lineno, n.col_offset))
    return facts


def _root_name(node: ast.expr) -> str | None:
    """`msg` of `msg["To"]`, `msg.extra_headers["K"]`, `msg.add_header(...)`."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _header_set(stmt: ast.stmt, var: str) -> str:
    """The lower-cased header name a `msg["Name"] = ...` / `msg.add_header("Name", ...)` sets."""
    key: ast.expr | None = None
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Subscript):
        key = stmt.targets[0].slice
    elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call) and stmt.value.args:
        key = stmt.value.args[0] if getattr(stmt.value.func, "attr", "") == "add_header" else None
    return (string(key) or "").lower()


def _bound_names(target: ast.expr) -> set[str]:
    return set(_bound(target))


def _bindings(nodes: Iterator[ast.AST] | list[ast.AST]) -> dict[str, list[ast.stmt]]:
    """Name → the statements that bind it (`msg = ...`, `for msg in ...`, `with ... as msg`);
    `msg["To"] = ...` sets a header, it does not rebind `msg`."""
    found: dict[str, list[ast.stmt]] = {}
    for node in nodes:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.For, ast.AsyncFor)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        for target in targets:
            for name in _bound(target):
                found.setdefault(name, []).append(node)  # type: ignore[arg-type]
    return found


def _bound(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, (ast.Tuple, ast.List)):
        for element in target.elts:
            yield from _bound(element)
    elif isinstance(target, ast.Starred):
        yield from _bound(target.value)


def _json_keys(node: ast.Dict) -> dict[object, object] | None:
    """What `json.dumps({...})` holds, as far as a literal shows it: every key must be a
    string; a value that is not a literal (`"metadata": {"id": order.id}`) reads as a
    placeholder, which only matters if that key holds tags (then it is reported)."""
    data: dict[object, object] = {}
    for key, value in zip(node.keys, node.values):
        name = string(key)
        if name is None:
            return None
        try:
            data[name] = ast.literal_eval(value)
        except ValueError:
            data[name] = _Computed(ast.unparse(value))
    return data


@dataclass(frozen=True)
class _Computed:
    code: str


def _is_attribute(node: ast.expr, var: str, attr: str) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == attr and isinstance(node.value, ast.Name) and node.value.id == var


