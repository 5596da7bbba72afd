"""INI files (Airflow's `airflow.cfg`, `grafana.ini`, Gitea's `app.ini`, CTFd's `config.ini`):
located line by line, edited as value spans; a file is never dumped again.

The readers of these files differ (Python's configparser for Airflow and CTFd, go-ini for
Grafana and Gitea), so the scanner follows what they share and keeps to the safe side where they
disagree:

- `[section]` headers (dotted ones too: Gitea's `[email.incoming]` is a section of its own, not
  `incoming` inside `email`); `key = value`, `key=value`, `key: value`; keys before the first
  section have the path `(key,)`. Keys are compared case-insensitively.
- Full-line comments start with `;` or `#`. An inline comment after whitespace (` ; x`, ` # x`)
  is not part of the value span.
- Quoted values are edited inside their quotes: `"..."`, `'...'`, Gitea's backticks and
  Grafana's triple quotes (`password = \"\"\"p#ss\"\"\"`).
- A value continued on indented lines (configparser) or written over several lines inside
  triple quotes or backticks (go-ini) is opaque: reported, never edited. So is a value ending
  in a backslash, which go-ini continues on the next line.
- Grafana's `$__env{NAME}` and `${NAME}` make the value come from variable NAME (`env_ref`);
  `$__file{...}`/`$__vault{...}` and values only partly built from variables are opaque.
- A key written twice in one section is a finding (MM003); the last one counts, as in both
  readers.

Commented-out settings (`;host = localhost:25`, `# smtp_user =`) are never uncommented, as in
env files: a key the configuration needs is added as a new `key = value` line right after the
configuration's last setting (after its continuation lines), with that section's separator
(` = `, `=`, aligned `KEY     = value`), indentation and line ending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mailmigrate.document import Document
from mailmigrate.formats import Located
from mailmigrate.formats.structured import Leaf, ScopeRef, locate_lines
from mailmigrate.model import RAW, Configuration, Edit, FileInfo, Setting
from mailmigrate.rules import Ruleset

KIND = "ini"
OPAQUE = "opaque"
CODE = "code"  # Setting.quote the planner gives a reference replacing the whole literal

_SECTION = re.compile(r"[ \t]*\[(?P<name>[^\]\r\n]+)\][ \t]*(?:[#;].*)?")
_KEY = re.compile(r"(?P<indent>[ \t]*)(?P<key>[^=:\s\[#;][^=:]*?)(?P<sep>[ \t]*[=:][ \t]*)(?P<rest>.*)")
_INLINE_COMMENT = re.compile(r"[ \t]+[#;]")
_ENV_REF = re.compile(r"\$__env\{(?P<grafana>[^{}]+)\}|\$\{(?P<shell>[A-Za-z_][A-Za-z0-9_]*)\}")
_PROVIDER = re.compile(r"\$__(?P<provider>[a-z]+)\{[^{}]*\}")
_EXPANSION = re.compile(r"\$__[a-z]+\{|\$\{")
_QUOTES = ('"""', "`", '"', "'")


@dataclass
class _Entry:
    """One `key = value` line (and its continuation lines)."""

    section: tuple[str, ...]  # () before the first section header
    key: str
    indent: str
    sep: str  # the separator as written, its spaces included
    has_value: bool  # something follows the separator (else its trailing spaces are unknown)
    setting: Setting
    end: int  # offset just after the entry's last line (its newline included)
    indent_width: int = 0


@dataclass
class _Scan:
    entries: list[_Entry] = field(default_factory=list)
    problems: list[tuple[int, str, str]] = field(default_factory=list)  # (line, what, line text)


class IniHandler:
    kind = KIND

    def locate(self, doc: Document, file: FileInfo, rules: Ruleset) -> Located:
        scan = _scan(doc.text)
        leaves = [Leaf(entry.section + (entry.key,), entry.setting) for entry in scan.entries]
        return locate_lines(doc, file, rules, KIND, leaves, scan.problems, fold_case=True)

    # -- writing -----------------------------------------------------------------------------

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit:
        if setting.quote == RAW:
            return Edit(setting.start, setting.end, value)
        if setting.quote in _QUOTES:  # go-ini and configparser have no escapes inside quotes
            return Edit(setting.start, setting.end, value)
        # Unquoted, or a reference replacing the whole literal (quotes included).
        text = _lead(doc.text, setting.start, setting.end, value) + value
        if value and setting.start == setting.end and doc.text[setting.end:setting.end + 1] in ("#", ";"):
            text += " "  # `user = ; note`: the comment stays a comment
        return Edit(emptied_start(doc.text, setting.start, setting.end, value), setting.end, text)

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        scope = config.handler_data
        assert isinstance(scope, ScopeRef)
        scan = _scan(doc.text)
        starts = {s.start for s in config.settings.values()}
        section = [e for e in scan.entries if _fold(e.section) == _fold(scope.path)]
        own = [e for e in scan.entries if e.setting.start in starts] or section
        last = max(own, key=lambda e: e.setting.start)
        # The separator of the last setting, or of the nearest key in the section that shows
        # its spacing (an empty `user =` does not say whether a space follows the `=`).
        styled = [e for e in section if e.has_value]
        model = last if last.has_value else min(styled, key=lambda e: abs(e.setting.start - last.setting.start), default=last)
        sep = model.sep if model.has_value else _completed(model.sep)
        before, delimiter, after = _split_sep(sep)
        newline = doc.newline
        lines = []
        for key, value in items:
            pad = before
            if len(before) > 1:  # aligned `ENABLED        = true`: align the new key too
                pad = " " * max(1, len(model.key) + len(before) - len(key))
            lines.append(f"{last.indent}{key}{pad}{delimiter}{after}{value}{newline}")
        at = last.end
        lead = "" if at == 0 or doc.text[at - 1] in "\r\n" else newline
        return [Edit(at, at, lead + "".join(lines))]

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        return []

    def syntax_errors(self, text: str) -> list[str]:
        """What our scanner cannot read, and what Python's configparser rejects. Messages name
        the kind of problem and the line's length, never its content (it may be a secret), and
        no line numbers, so a problem the file already had is recognised after an edit."""
        import configparser

        errors = [f"{what.split(';')[0]} ({len(line.strip())} characters)" for _, what, line in _scan(text).problems]
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            # go-ini reads keys before the first section (Gitea's APP_NAME); configparser
            # needs a header for them.
            parser.read_string("[mailmigrate:top]\n" + text)
        except configparser.ParsingError as exc:
            errors += [f"configparser cannot read a line ({len(str(line)) - 2} characters)" for _, line in exc.errors]
        except configparser.Error as exc:
            errors.append(f"configparser cannot read the file ({type(exc).__name__})")
        return errors


HANDLER = IniHandler()


# --------------------------------------------------------------------------------------------
# Reading


def _lines(text: str) -> list[tuple[int, int, int]]:
    """(start, end of content, start of the next line) of every line; CRLF kept out of content."""
    found = []
    start = 0
    size = len(text)
    while start < size:
        newline = text.find("\n", start)
        nxt = size if newline < 0 else newline + 1
        end = nxt - 1 if newline >= 0 else size
        if end > start and text[end - 1] == "\r":
            end -= 1
        found.append((start, end, nxt))
        start = nxt
    return found


def _scan(text: str) -> _Scan:
    scan = _Scan()
    lines = _lines(text)
    section: tuple[str, ...] = ()
    current: _Entry | None = None  # the key continuation lines would belong to
    index = 0
    while index < len(lines):
        start, end, nxt = lines[index]
        content = text[start:end]
        stripped = content.strip()
        index += 1
        if not stripped or stripped[0] in "#;":
            continue  # configparser: blank lines and comments do not end a multi-line value
        indent = len(content) - len(content.lstrip())
        if current is not None and indent > current.indent_width:
            _continue(current, end, nxt, stripped)
            continue
        header = _SECTION.fullmatch(content)
        if header is not None:
            section = (header.group("name").strip(),)
            current = None
            continue
        match = _KEY.fullmatch(content)
        line = index  # lines are split at "\n" only, as Document.line_col counts them
        if match is None:
            scan.problems.append((line, "not a [section], `key = value` line or comment; INI readers reject or skip it", content))
            current = None
            continue
        entry, last_line = _entry(text, lines, index - 1, match, section)
        if entry is None:
            scan.problems.append((line, "a quoted value that is never closed; INI readers reject it", content))
            current = None
            continue
        index = last_line + 1
        scan.entries.append(entry)
        current = entry
    return scan


def _entry(
    text: str, lines: list[tuple[int, int, int]], index: int, match: re.Match[str], section: tuple[str, ...]
) -> tuple[_Entry | None, int]:
    start, _, nxt = lines[index]
    key = match.group("key").rstrip()
    key_at = start + match.start("key")
    line = index + 1
    col = key_at - start + 1
    rest = match.group("rest")
    at = start + match.start("rest")
    shown = ".".join(section + (key,))
    entry_end = nxt
    last_line = index
    quote = next((q for q in _QUOTES if rest.startswith(q)), "")
    setting: Setting
    if quote in ('"""', "`") and rest.find(quote, len(quote)) < 0:
        # go-ini: the value goes on over the next lines until the closing quote.
        close = text.find(quote, at + len(quote))
        if close < 0:
            return None, index
        inner = (at + len(quote), close)
        setting = Setting(shown, "", text[inner[0]:inner[1]], inner[0], inner[1], line, col, quote=OPAQUE)
        setting.opaque = "written over several lines"
        while last_line + 1 < len(lines) and lines[last_line][2] <= close:
            last_line += 1
        entry_end = lines[last_line][2]
    else:
        spaced = match.group("sep")[-1:] in (" ", "\t")
        inner_start, inner_end, quote = _value_span(rest, quote, spaced)
        value = rest[inner_start:inner_end]
        outer = (at, at + inner_end + len(quote)) if quote else (at + inner_start, at + inner_end)
        setting = Setting(shown, "", value, at + inner_start, at + inner_end, line, col, quote=quote, outer=outer)
        if not quote and value.endswith("\\"):
            setting.quote, setting.opaque, setting.outer = OPAQUE, "ends with a backslash, which continues it on the next line for go-ini", None
        else:
            _references(setting)
    entry = _Entry(
        section, key, match.group("indent"), match.group("sep"), bool(rest.strip()), setting, entry_end,
        indent_width=len(match.group("indent")),
    )
    return entry, last_line


def _value_span(rest: str, quote: str, spaced: bool) -> tuple[int, int, str]:
    """(start, end) of the value inside `rest` and its quote ("" when unquoted). `spaced`: the
    separator ends with a space, so a `;`/`#` right after it starts an inline comment."""
    if spaced and rest[:1] in ("#", ";"):
        return 0, 0, ""
    if quote in ('"""', "`"):  # go-ini takes everything up to the last closing quote
        return len(quote), rest.rfind(quote), quote
    if quote:
        close = rest.find(quote, 1)
        while close > 0:
            tail = rest[close + 1:]
            if not tail.strip() or _INLINE_COMMENT.match(tail):
                return 1, close, quote
            close = rest.find(quote, close + 1)
    comment = _INLINE_COMMENT.search(rest)
    body = (rest[: comment.start()] if comment else rest).rstrip()
    return 0, len(body), ""


def _continue(entry: _Entry, end: int, nxt: int, stripped: str) -> None:
    """An indented line after a key: configparser joins it to the value."""
    setting = entry.setting
    setting.value = setting.value + "\n" + stripped
    setting.quote, setting.opaque, setting.outer = OPAQUE, "continued on indented lines", None
    setting.env_ref = None
    setting.known = True
    setting.end = max(setting.end, end)
    entry.end = nxt


def _references(setting: Setting) -> None:
    """Grafana's `$__env{NAME}` and `${NAME}`; its other providers are opaque."""
    value = setting.value.strip()
    ref = _ENV_REF.fullmatch(value)
    if ref is not None:
        setting.env_ref = (ref.group("grafana") or ref.group("shell")).strip()
        return
    provider = _PROVIDER.fullmatch(value)
    if provider is not None:
        setting.quote, setting.opaque, setting.outer = OPAQUE, f"read through Grafana's $__{provider.group('provider')}{{...}}", None
        setting.known = False
    elif _EXPANSION.search(value):
        setting.quote, setting.opaque, setting.outer = OPAQUE, "built from environment variables", None
        setting.known = False


# --------------------------------------------------------------------------------------------
# Writing


def emptied_start(text: str, start: int, end: int, value: str) -> int:
    """Where an edit emptying a value at the end of its line starts: `user = secret` becomes
    `user =`, not `user = ` with a trailing space."""
    if value or start == end or text[end:end + 1] not in ("", "\r", "\n"):
        return start
    at = start
    while at > 0 and text[at - 1] in " \t":
        at -= 1
    return at if at < start and at > 0 and text[at - 1] in "=:" else start


def _lead(text: str, start: int, end: int, value: str) -> str:
    """A space before a value written after `key =` (nothing followed the `=`)."""
    if start != end or not value or start < 2:
        return ""
    return " " if text[start - 1] in "=:" and text[start - 2] in " \t" else ""


def _completed(sep: str) -> str:
    """`key =` with nothing after it: the separator with the space a value would get."""
    before, delimiter, _ = _split_sep(sep)
    return f"{before}{delimiter}{' ' if before or delimiter == ':' else ''}"


def _split_sep(sep: str) -> tuple[str, str, str]:
    at = next(i for i, c in enumerate(sep) if c in "=:")
    return sep[:at], sep[at], sep[at + 1:]


def _fold(path: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part.lower() for part in path)
