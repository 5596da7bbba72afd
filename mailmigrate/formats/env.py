"""Env files (`.env`, `.env.production`, `prod.env`, `.envrc`): locate with python-dotenv's
parser, edit value spans in place.

python-dotenv decides what each value *is* (its quoting and escape rules are the reference most
loaders follow); this module only finds where the value's text sits so an edit can replace
exactly that text, keeping `export`, the quoting style, spacing, inline comments and CRLF.
Commented-out settings (`# EMAIL_PORT=587`) are never uncommented: a missing setting is added as
a new line after the configuration's last setting.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace

from mailmigrate.document import Document
from mailmigrate.formats import Located
from mailmigrate.masking import SENSITIVE_KEY, url_credentials
from mailmigrate.model import RAW, Configuration, Edit, FileInfo, Finding, Setting
from mailmigrate.rules import Family, Ruleset

KIND = "env"

# The shape python-dotenv accepts for one binding (see dotenv/parser.py), to find the spans.
_BINDING = re.compile(
    r"""(?P<lead>\s*)
        (?P<export>export[^\S\r\n]+)?
        (?P<key>'[^']+'|"[^"]+"|[^=\#\s]+)
        (?P<sep>[^\S\r\n]*=[^\S\r\n]*)?
    """,
    re.VERBOSE,
)
_SINGLE = re.compile(r"'((?:\\'|[^'])*)'")
_DOUBLE = re.compile(r'"((?:\\"|[^"])*)"')
_UNQUOTED = re.compile(r"[^\r\n]*")
# python-dotenv (and most loaders) expand `${NAME}` and `${NAME:-default}` only: a bare
# `$word` is literal text (often the start of a password).
_REFERENCE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")
_NEEDS_QUOTES = re.compile(r"[\s#'\"\\]|^$")

NO_EQUALS = "="  # Setting.quote for a bare `KEY` line: writing a value adds the "="


@dataclass(frozen=True)
class _Candidate:
    family: Family
    prefix: str
    keys: dict[str, str]  # key → role
    score: int
    order: int


class EnvHandler:
    kind = KIND

    def locate(self, doc: Document, file: FileInfo, rules: Ruleset) -> Located:
        located = Located()
        settings: dict[str, Setting] = {}
        for setting, problem in self._bindings(doc):
            if problem is not None:
                # direnv's .envrc is a shell script: its other lines are commands, not mistakes.
                if file.path.name != ".envrc":
                    located.findings.append(Finding("MM003", file.display, setting.line, 1, problem))
                located.sensitive.append(doc.line_text(setting.line).strip())
                continue
            if SENSITIVE_KEY.search(setting.key) and setting.env_ref is None:
                located.sensitive += [setting.value, doc.text[setting.start:setting.end]]
            located.sensitive += url_credentials(setting.value)  # DATABASE_URL=postgres://u:pw@db
            if setting.key in settings:
                first = settings[setting.key]
                located.findings.append(
                    Finding(
                        "MM003", file.display, setting.line, setting.col,
                        f"{setting.key} is defined twice (lines {first.line} and {setting.line}); "
                        "loaders disagree on which one wins",
                    )
                )
            settings[setting.key] = setting
            located.definitions.append(setting)
        located.configurations = self._configurations(settings, doc, file, rules)
        return located

    def _bindings(self, doc: Document) -> list[tuple[Setting, str | None]]:
        from dotenv.parser import parse_stream

        found: list[tuple[Setting, str | None]] = []
        offset = 0
        for binding in parse_stream(io.StringIO(doc.text, newline="")):
            raw = binding.original.string
            start = offset
            offset += len(raw)
            if binding.error:
                line = doc.line_col(start + len(raw) - len(raw.lstrip()))[0]
                # The line's content is not shown: it may be a secret without its key.
                found.append((Setting("", "", "", start, start, line, 1), "not a `KEY=value` line; python-dotenv cannot read it"))
                continue
            if binding.key is None:
                continue  # blank line or comment
            setting = self._setting(doc, raw, start, binding.key, binding.value)
            if setting is not None:
                found.append((setting, None))
        return found

    def _setting(self, doc: Document, raw: str, start: int, key: str, value: str | None) -> Setting | None:
        match = _BINDING.match(raw)
        if match is None:
            return None
        key_start = start + match.start("key")
        line, col = doc.line_col(key_start)
        if match.group("sep") is None:  # `KEY` alone: python-dotenv reads None
            at = start + match.end("key")
            return Setting(key, "", "", at, at, line, col, quote=NO_EQUALS)
        value_at = match.end("sep")
        rest = raw[value_at:]
        quote = rest[:1] if rest[:1] in ("'", '"') else ""
        if quote:
            quoted = (_SINGLE if quote == "'" else _DOUBLE).match(rest)
            if quoted is None:
                return None
            span = (start + value_at + 1, start + value_at + quoted.end() - 1)
        else:
            text = _UNQUOTED.match(rest)
            body = re.sub(r"\s+#.*", "", text.group(0) if text else "").rstrip()
            span = (start + value_at, start + value_at + len(body))
        setting = Setting(key, "", value or "", span[0], span[1], line, col, quote=quote)
        if quote != "'":  # single quotes are literal: no interpolation
            ref = _REFERENCE.fullmatch((value or "").strip())
            written = _REFERENCE.search(doc.text, span[0], span[1])
            if ref and written:
                setting.env_ref = ref.group("name")
                setting.env_default = ref.group("default")
                if written.group("default") is not None:
                    setting.default_span = (written.start("default"), written.end("default"))
        return setting

    def _configurations(
        self, settings: dict[str, Setting], doc: Document, file: FileInfo, rules: Ruleset
    ) -> list[Configuration]:
        candidates: list[_Candidate] = []
        for order, family in enumerate(rules.for_kind(KIND)):
            form = family.form(KIND)
            for prefix in form.prefixes:
                matched = {prefix + k: r for k, r in form.keys.items() if prefix + k in settings}
                for key, role in matched.items():
                    if role == "url":
                        candidates.append(_Candidate(family, prefix, {key: role}, 1, order))
                rest = {k: r for k, r in matched.items() if r != "url"}
                if any(family.is_anchor(r, settings[k].value) for k, r in rest.items()):
                    markers = sum(prefix + m in settings for m in form.markers)
                    candidates.append(_Candidate(family, prefix, rest, len(rest) + markers, order))
        # Most keys (and identifying markers) first: SMTP_SECURITY makes a Vaultwarden file,
        # not a Nodemailer one; ties go to the family's priority.
        candidates.sort(key=lambda c: (-c.score, -c.family.priority, c.order))
        anchors_taken: set[str] = set()
        configs: list[Configuration] = []
        for candidate in candidates:
            # The anchor (host, URL, preset) belongs to one configuration; the other keys may be
            # shared by two apps reading one env file (Mastodon and Outline both read SMTP_PORT).
            anchors = {k for k, r in candidate.keys.items() if candidate.family.is_anchor(r, settings[k].value)}
            if not anchors - anchors_taken:
                continue
            anchors_taken |= anchors
            by_role: dict[str, Setting] = {}
            for key in sorted(candidate.keys, key=lambda k: settings[k].start):
                by_role.setdefault(candidate.keys[key], replace(settings[key], role=candidate.keys[key]))
            last = max(by_role.values(), key=lambda s: s.end)
            url_key = next((s.key for r, s in by_role.items() if r == "url"), None)
            configs.append(
                Configuration(
                    family=candidate.family,
                    kind=KIND,
                    file=file,
                    scope=url_key or (f"{candidate.prefix}* settings" if candidate.prefix else "file"),
                    prefix=candidate.prefix,
                    settings=by_role,
                    insert_at=_line_end(doc.text, last.end),
                    line=min(s.line for s in by_role.values()),
                )
            )
        configs.sort(key=lambda c: c.line)
        return configs

    # -- writing -----------------------------------------------------------------------------

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit:
        if setting.quote == RAW:  # the default inside `${VAR:-default}`: no quoting of its own
            return Edit(setting.start, setting.end, value)
        if setting.quote == NO_EQUALS:
            return Edit(setting.start, setting.end, "=" + _quoted(value, ""))
        if setting.quote == '"':
            return Edit(setting.start, setting.end, _escape_double(value))
        if setting.quote == "'" and "'" not in value and "\\" not in value:
            return Edit(setting.start, setting.end, value)
        if setting.quote == "'":  # cannot be written single-quoted: switch to double quotes
            return Edit(setting.start - 1, setting.end + 1, '"' + _escape_double(value) + '"')
        if not value and re.match(r"[^\S\r\n]+#", doc.text[setting.end:]):
            # `KEY=  # note` would read as the value "# note": an empty value needs quotes here.
            return Edit(setting.start, setting.end, '""')
        return Edit(setting.start, setting.end, _quoted(value, ""))

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        last = max(config.settings.values(), key=lambda s: s.end)
        line_start = doc.text.rfind("\n", 0, last.start) + 1
        style = _BINDING.match(doc.text, line_start)
        export = style.group("export") or "" if style else ""
        sep = (style.group("sep") or "=") if style else "="
        # Quote like the non-secret siblings (a quoted password says nothing about style).
        plain = [s for s in config.settings.values() if s.role not in ("user", "password")]
        quote = max(plain or [last], key=lambda s: s.end).quote
        quote = quote if quote in ("'", '"') else ""
        newline = doc.newline
        at = config.insert_at
        lead = "" if at == 0 or doc.text[at - 1] in "\r\n" else newline
        lines = "".join(f"{export}{key}{sep}{_quoted(value, quote)}{newline}" for key, value in items)
        return [Edit(at, at, lead + lines)]

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        return []

    def syntax_errors(self, text: str) -> list[str]:
        from dotenv.parser import parse_stream

        # Only the line's shape is named, never its content: an invalid line may hold a secret.
        return [
            f"invalid env line ({len(binding.original.string.strip())} characters)"
            for binding in parse_stream(io.StringIO(text, newline=""))
            if binding.error
        ]


def _line_end(text: str, offset: int) -> int:
    """Offset just after the newline ending the line that holds `offset`."""
    index = text.find("\n", offset)
    return len(text) if index < 0 else index + 1


def _escape_double(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _quoted(value: str, quote: str) -> str:
    """A value as written on a new or unquoted line: bare when that is unambiguous."""
    if quote == "'" and "'" not in value and "\\" not in value:
        return f"'{value}'"
    if quote == '"' or (value and _NEEDS_QUOTES.search(value)):
        return '"' + _escape_double(value) + '"'
    return value


HANDLER = EnvHandler()
