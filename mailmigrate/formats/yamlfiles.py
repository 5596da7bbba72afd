"""YAML files (Spring `application.yml`, Sentry `config.yml`, docker-compose, Helm values, GitHub
workflows, Discourse `app.yml`, Symfony `mailer.yaml`): located with ruamel.yaml's composer, edited
as text spans -- a file is never dumped again, so comments, quoting, key order, anchors and
indentation all survive.

Every scalar becomes a `Leaf` (its keys split on dots, so Spring's nested and flat spellings are
one path); families match them in `structured.py`. What an edit could not change alone is
reported instead of edited: a value shared through an anchor/alias, a block scalar, a multi-line
flow scalar. Files under a Helm `templates/` folder are Go templates: reported (MM113), never
edited. docker-compose's list form (`- SMTP_HOST=smtp.gmail.com`) is read as a mapping; the value
is the text after `=` (quotes there are part of the value, as compose reads it).

Commented-out settings (`# mail.port: 25`) are never uncommented, as in env files: a missing key
is added after its configuration's last key, in the mapping's own indentation.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from mailmigrate.document import Document
from mailmigrate.formats import Located
from mailmigrate.formats.structured import Leaf, ScopeRef, configurations, sensitive_texts, unreadable_scopes
from mailmigrate.model import RAW, Configuration, Edit, FileInfo, Finding, Setting
from mailmigrate.rules import Ruleset

KIND = "yaml"
OPAQUE = "opaque"
# A default may itself be a reference: ${MAIL_USERNAME:${MAILPACE_API_TOKEN}}
# Compose: ${VAR:-default} ${VAR-default} ${VAR:?error} ${VAR?error} ${VAR:+alt} ${VAR+alt};
# Spring: ${VAR:default}. Only `-` and Spring's `:` carry a default (what runs when VAR is unset).
_PLACEHOLDER = re.compile(
    r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_.]*)(?:(?P<sep>:-|-|:\?|\?|:\+|\+|:)(?P<default>(?:[^{}]|\$\{[^{}]*\})*))?\}"
)
_BARE_VARIABLE = re.compile(r"\$(?P<name>[A-Za-z_][A-Za-z0-9_]*)")  # compose's `$VAR`
_GITHUB_SECRET = re.compile(r"\$\{\{\s*secrets\.(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SYMFONY_ENV = re.compile(r"%env\((?:[a-z_]+:)*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\)%")
_ENV_ITEM = re.compile(r"(?P<key>[A-Za-z_][A-Za-z0-9_.]*)=")
_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_./@${}+-][^#:\n\r]*")


class YamlHandler:
    kind = KIND

    def locate(self, doc: Document, file: FileInfo, rules: Ruleset) -> Located:
        located = Located()
        if "templates" in file.path.parts[:-1] and "{{" in doc.text:
            line = doc.text.count("\n", 0, doc.text.index("{{")) + 1
            located.findings.append(Finding("MM113", file.display, line, 1, "a Helm template: its values are reported, never edited"))
            return located
        reader = _Reader(doc)
        try:
            documents = reader.documents_leaves()
        except _YamlError as exc:
            located.findings.append(Finding("MM003", file.display, exc.line, 1, exc.message))
            return located
        leaves = [leaf for document in documents for leaf in document]
        located.sensitive += sensitive_texts(doc, leaves)
        if _is_secrets_yaml(file):  # Home Assistant's secrets.yaml: `!secret name` points here
            located.definitions += [leaf.setting for leaf in leaves]
        # Each document of a multi-document file (`---`) is configured on its own.
        for index, document in enumerate(documents):
            located.configurations += configurations(document, KIND, file, rules, document=index)
            located.findings += unreadable_scopes(document, KIND, file, rules)
        for config in located.configurations:
            scope = config.handler_data
            assert isinstance(scope, ScopeRef)
            inside = [path for doc_index, path in reader.flow_paths if doc_index == scope.document]
            if any(scope.path[: len(path)] == path for path in inside):
                why = "the mapping is written in flow style ({...}): add it by hand"
                roles = {"host", "port", "user", "password", *config.family.encryption, *config.family.switches}
                config.cannot_add = {role: why for role in roles}
        return located

    # -- writing -----------------------------------------------------------------------------

    def render_value(self, doc: Document, setting: Setting, value: str) -> Edit:
        lead = " " if setting.start == setting.end and doc.text[setting.start - 1:setting.start] == ":" else ""
        if setting.quote == RAW:  # a placeholder's default
            return Edit(setting.start, setting.end, value)
        if setting.quote == "code":  # a reference: ${MAILPACE_API_TOKEN}, !secret mailpace_api_token
            return Edit(setting.start, setting.end, lead + _plain(value, flow=setting.handler_data == "flow"))
        if setting.quote == "env-item":  # `- KEY=value` in a compose list: the rest of the item
            return Edit(setting.start, setting.end, value)
        if setting.quote == "'":
            return Edit(setting.start, setting.end, value.replace("'", "''"))
        if setting.quote == '"':
            return Edit(setting.start, setting.end, _double(value))
        return Edit(setting.start, setting.end, lead + _plain(value, flow=setting.handler_data == "flow"))

    def render_additions(self, doc: Document, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        scope = config.handler_data
        assert isinstance(scope, ScopeRef)
        reader = _Reader(doc)
        if scope.env:
            return [reader.add_env(scope.path, config, items)]
        return reader.add_keys(scope, config, items)

    def extra_edits(self, doc: Document, edits: list[Edit]) -> list[Edit]:
        return []

    def syntax_errors(self, text: str) -> list[str]:
        try:
            _Reader(Document(text=text, bom=False, digest="")).documents_leaves()
        except _YamlError as exc:
            return [exc.message]
        return []


HANDLER = YamlHandler()


# --------------------------------------------------------------------------------------------
# Reading


class _YamlError(Exception):
    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class _Mapping:
    """A block mapping met while reading: where one more key goes."""

    path: tuple[str, ...]  # split on dots
    document: int
    node: object
    indent: str  # the indentation of its keys
    end: int  # offset just after its last entry's line
    flat: bool  # its keys are written with dots (Sentry's `mail.host:`)
    flow: bool
    bracketed: bool = False  # Spring map keys: "[mail.smtp.auth]": true


class _Reader:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.text = doc.text
        self.seen: dict[int, int] = {}  # id(node) -> times met: aliases share nodes
        self.mappings: list[_Mapping] = []
        self.document = 0  # the document being read
        self.walked: set[int] = set()
        self.flow_paths: set[tuple[int, tuple[str, ...]]] = set()  # {...} / [...] collections
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column, by bisection (a 5 MB file has a scalar on every line)."""
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def documents(self) -> list[object]:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        yaml = YAML(typ="safe", pure=True)
        try:
            return list(yaml.compose_all(self.text))
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            # ruamel quotes the offending text ("found undefined alias 'Secr3t'"): never shown.
            problem = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", str(exc.problem or "cannot parse"))
            raise _YamlError(line, f"YAML syntax error: {problem} (line {line})") from None
        except YAMLError as exc:
            raise _YamlError(1, f"YAML error: {type(exc).__name__}") from None
        except RecursionError:
            raise _YamlError(1, "YAML nested too deeply") from None

    def documents_leaves(self) -> list[list[Leaf]]:
        """The leaves of each document (`---` separates them; each is configured on its own)."""
        documents = self.documents()
        for node in documents:
            self._count(node)
        found: list[list[Leaf]] = []
        for index, node in enumerate(documents):
            self.document = index
            found.append(list(self._walk(node, (), ())) if node is not None else [])
        return found

    def leaves(self) -> Iterator[Leaf]:
        for document in self.documents_leaves():
            yield from document

    def _count(self, node: object, depth: int = 0) -> None:
        if depth > 200:
            raise _YamlError(1, "YAML nested too deeply")
        key = id(node)
        self.seen[key] = self.seen.get(key, 0) + 1
        if self.seen[key] > 1:
            return  # an alias: its content was counted once
        value = getattr(node, "value", None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    self._count(item[0], depth + 1)
                    self._count(item[1], depth + 1)
                else:
                    self._count(item, depth + 1)

    def _walk(
        self, node: object, path: tuple[str, ...], written: tuple[str, ...], key_end: int = -1, flow: bool = False
    ) -> Iterator[Leaf]:
        if id(node) in self.walked:
            return  # an alias of a collection already read (an alias bomb stays linear)
        kind = type(node).__name__
        if kind != "ScalarNode":
            self.walked.add(id(node))
        if getattr(node, "flow_style", False) and not flow:
            self.flow_paths.add((self.document, path))
        flow = flow or bool(getattr(node, "flow_style", False))
        if kind == "MappingNode":
            entries = node.value  # type: ignore[attr-defined]
            keys = [k for k, _ in entries]
            self.mappings.append(self._mapping(node, path, keys))
            seen_keys: set[str] = set()
            for key_node, _ in entries:
                name = str(getattr(key_node, "value", ""))
                if name in seen_keys and name != "<<":
                    line = self.line_col(key_node.start_mark.index)[0]
                    raise _YamlError(line, f"YAML key written twice in one mapping (line {line}): loaders disagree on which wins")
                seen_keys.add(name)
            for key_node, value_node in entries:
                if type(key_node).__name__ != "ScalarNode":
                    continue
                key = str(key_node.value)
                if key == "<<":
                    continue  # merge keys: the merged values belong to their anchor
                # Spring's map keys in brackets keep their dots: "[mail.smtp.auth]"
                bare = key[1:-1] if key.startswith("[") and key.endswith("]") else key
                yield from self._walk(value_node, path + tuple(bare.split(".")), written + (key,),
                                      key_node.end_mark.index, flow)
        elif kind == "SequenceNode":
            items = node.value  # type: ignore[attr-defined]
            as_env = items and all(
                type(i).__name__ == "ScalarNode" and _ENV_ITEM.match(str(i.value)) for i in items
            )
            for index, item in enumerate(items):
                if as_env:
                    leaf = self._env_item(item, path, written)
                    if leaf is not None:
                        yield leaf
                else:
                    yield from self._walk(item, path + (str(index),), written + (str(index),), -1, flow)
        elif kind == "ScalarNode":
            yield self._scalar(node, path, written, key_end, flow)

    def _mapping(self, node: object, path: tuple[str, ...], keys: list[object]) -> _Mapping:
        start = node.start_mark.index  # type: ignore[attr-defined]
        flow = bool(getattr(node, "flow_style", False)) or self.text[start:start + 1] == "{"
        if keys:
            first = keys[0]
            indent = self._column_text(first.start_mark.index)  # type: ignore[attr-defined]
        else:
            indent = ""
        flat = any("." in str(getattr(k, "value", "")) for k in keys)
        bracketed = any(str(getattr(k, "value", "")).startswith("[") for k in keys)
        # After the line of its last value (a block mapping's own end mark points at the next
        # token, which may be a line of the parent's).
        return _Mapping(path, self.document, node, indent, _line_start_after(self.text, _content_end(node)), flat, flow, bracketed)

    def _column_text(self, offset: int) -> str:
        line_start = self.text.rfind("\n", 0, offset) + 1
        head = self.text[line_start:offset]
        return " " * len(head) if head.strip(" -") == "" else ""

    def _scalar(self, node: object, path: tuple[str, ...], written: tuple[str, ...], key_end: int, flow: bool) -> Leaf:
        start = node.start_mark.index  # type: ignore[attr-defined]
        end = node.end_mark.index  # type: ignore[attr-defined]
        value = str(node.value)  # type: ignore[attr-defined]
        style = getattr(node, "style", None)
        tag = str(getattr(node, "tag", ""))
        if start == end and key_end >= 0:
            # `password:` with nothing after it: the value goes right after the colon (the
            # scalar's own mark points at the next token, maybe a line further down).
            colon = self.text.find(":", key_end)
            start = end = colon + 1 if colon >= 0 else start
        line, col = self.line_col(start)
        key = ".".join(written)
        raw = self.text[start:end]
        setting = Setting(key, "", value, start, end, line, col, quote="", outer=(start, end))
        setting.handler_data = "flow" if flow else None
        anchor = re.match(r"&[^\s]+\s+", raw)
        if self.seen.get(id(node), 0) > 1:
            return Leaf(path, _opaque(setting, "shared through a YAML anchor: an edit would change every alias"))
        if anchor is not None:  # `host: &h smtp.gmail.com` with no alias: the value follows the anchor
            start += anchor.end()
            raw = raw[anchor.end():]
            setting.start = start
            setting.outer = (start, end)
        if not tag.startswith("tag:yaml.org"):  # `!secret smtp_password`, `!ENV ${X}`
            inner = raw.split(None, 1)[1] if raw.startswith("!") and len(raw.split(None, 1)) > 1 else raw
            setting.start = end - len(inner)
            if tag == "!secret":
                setting.env_ref = value  # Home Assistant: defined in secrets.yaml
                setting.quote = OPAQUE
                return Leaf(path, setting)
            return Leaf(path, _opaque(setting, f"tagged {tag}"))
        if style in ("|", ">"):
            return Leaf(path, _opaque(setting, "a block scalar"))
        if "\n" in raw:
            return Leaf(path, _opaque(setting, "written over several lines"))
        if style in ("'", '"'):
            setting.start, setting.end, setting.quote = start + 1, end - 1, style
        self._references(setting)
        return Leaf(path, setting)

    def _env_item(self, node: object, path: tuple[str, ...], written: tuple[str, ...]) -> Leaf | None:
        """`- SMTP_HOST=smtp.gmail.com` in a compose `environment:` list."""
        value = str(node.value)  # type: ignore[attr-defined]
        match = _ENV_ITEM.match(value)
        if match is None:
            return None
        start = node.start_mark.index  # type: ignore[attr-defined]
        end = node.end_mark.index  # type: ignore[attr-defined]
        style = getattr(node, "style", None)
        raw = self.text[start:end]
        inner_start = start + (1 if style in ("'", '"') else 0)
        inner_end = end - (1 if style in ("'", '"') else 0)
        key = match.group("key")
        line, col = self.line_col(start)
        setting = Setting(".".join(written + (key,)), "", value[match.end():], inner_start + match.end(), inner_end,
                          line, col, quote="env-item", outer=(inner_start + match.end(), inner_end))
        if style in ("|", ">") or "\n" in raw or (style == '"' and "\\" in raw) or (style == "'" and "''" in raw):
            setting = _opaque(setting, "written in a form mailmigrate does not edit (a block or escaped item)")
        else:
            self._references(setting)
        return Leaf(path + (key,), setting)

    def _references(self, setting: Setting) -> None:
        """`${VAR}`, `${VAR:-default}` (compose), `${VAR:default}` (Spring), `${{ secrets.X }}`."""
        written = _PLACEHOLDER.fullmatch(setting.value.strip())
        if written is not None and written.group("sep") in (":+", "+"):
            _opaque(setting, "an alternative value `${VAR:+...}`")
            return
        if written is not None:
            setting.env_ref = written.group("name")
            if written.group("sep") in (":?", "?"):  # required: an error message, not a default
                return
            setting.env_default = written.group("default")
            found = _PLACEHOLDER.search(self.text, setting.start, setting.end)
            if found is not None and found.group("default") is not None:
                setting.default_span = (found.start("default"), found.end("default"))
                setting.default_outer = setting.default_span  # a credential there becomes a reference
                setting.default_quote = RAW
            return
        pointer = (
            _GITHUB_SECRET.fullmatch(setting.value.strip()) or _SYMFONY_ENV.fullmatch(setting.value.strip())
            or _BARE_VARIABLE.fullmatch(setting.value.strip())
        )
        if pointer is not None:  # a repository secret, Symfony's %env(MAILER_DSN)%
            setting.env_ref = pointer.group("name")

    # -- additions ---------------------------------------------------------------------------

    def add_keys(self, scope: ScopeRef, config: Configuration, items: list[tuple[str, str]]) -> list[Edit]:
        """New keys below the scope's mapping: nested under the deepest mapping that already
        exists on each key's path, or flat (`mail.use-tls:`) where the mapping writes them so."""
        list(self.leaves())
        path = scope.path
        nl = self.doc.newline
        step = _indent_step(self.text) or "  "
        holders: dict[int, tuple[_Mapping, dict[str, object]]] = {}  # by holder: a tree of new keys
        for key, value in items:
            target = path + tuple(key.split("."))
            holder = max(
                (m for m in self.mappings if m.document == scope.document and target[: len(m.path)] == m.path and not m.flow),
                key=lambda m: len(m.path), default=None,
            )
            if holder is None:
                raise ValueError(f"no mapping to add {key} to")
            rest = target[len(holder.path):]
            tree = holders.setdefault(id(holder), (holder, {}))[1]
            if holder.flat:
                tree[f'"[{".".join(rest)}]"' if holder.bracketed else ".".join(rest)] = value
                continue
            for part in rest[:-1]:
                branch = tree.setdefault(part, {})
                assert isinstance(branch, dict)
                tree = branch
            tree[rest[-1]] = value
        # Flat keys of the configuration's own mapping (Sentry's `mail.use-tls:` at the root) go
        # right after its last key, not at the end of a root mapping that holds unrelated keys
        # too; a nested flat mapping (`properties: {mail.smtp.auth: true}`) gets them at its end.
        last = _line_start_after(self.text, max(s.end for s in config.settings.values()))
        placed = sorted(
            ((last if holder.flat and len(holder.path) <= len(path) else holder.end), -len(holder.path),
             _render_tree(tree, holder.indent, step, nl))
            for holder, tree in holders.values()
        )
        # One edit per place; where two mappings end on one line, the deeper one's keys first
        # (they continue it), then the shallower one's.
        edits: list[Edit] = []
        for at in sorted({at for at, _, _ in placed}):
            lead = "" if at == 0 or self.text[at - 1] == "\n" else nl
            edits.append(Edit(at, at, lead + "".join(text for where, _, text in placed if where == at)))
        return edits

    def add_env(self, path: tuple[str, ...], config: Configuration, items: list[tuple[str, str]]) -> Edit:
        """New variables in a compose `environment:` mapping or list, after the last one."""
        last = max(config.settings.values(), key=lambda s: s.end)
        # Style and indentation from a sibling written on one line (not a block-scalar item).
        model = next((s for s in sorted(config.settings.values(), key=lambda s: -s.end) if s.quote != OPAQUE), last)
        line_start = self.text.rfind("\n", 0, model.start) + 1
        head = self.text[line_start:model.start]
        nl = self.doc.newline
        at = _line_start_after(self.text, last.end)
        lead = "" if self.text[at - 1:at] == "\n" else nl
        indent = head[: len(head) - len(head.lstrip(" "))]
        if head.lstrip().startswith("-"):
            quote = '"' if '"' in head else ""
            body = "".join(f"{indent}- {quote}{key}={value}{quote}{nl}" for key, value in items)
        else:
            body = "".join(f"{indent}{key}: {_plain(value)}{nl}" for key, value in items)
        return Edit(at, at, lead + body)


def _render_tree(tree: dict[str, object], indent: str, step: str, nl: str) -> str:
    """Nested new keys as block mappings: `properties:` / `  mail:` / ... / `enable: true`."""
    out = []
    for key, value in tree.items():
        if isinstance(value, dict):
            out.append(f"{indent}{key}:{nl}" + _render_tree(value, indent + step, step, nl))
        else:
            out.append(f"{indent}{key}: {_plain(str(value))}{nl}")
    return "".join(out)


def _content_end(node: object) -> int:
    """Where a node's last value ends (for a block mapping: its last scalar, not the next token)."""
    value = getattr(node, "value", None)
    if isinstance(value, list) and value:
        last = value[-1]
        if isinstance(last, tuple):
            key_node, value_node = last
            empty = getattr(value_node, "value", None) == "" and value_node.start_mark.index == value_node.end_mark.index
            # `existingSecret:` with nothing after it: its mark is the next token's
            return int(key_node.end_mark.index) if empty else _content_end(value_node)
        return _content_end(last)
    return int(node.end_mark.index)  # type: ignore[attr-defined]


def _opaque(setting: Setting, why: str) -> Setting:
    """A value that is reported, never edited -- not even replaced whole by a reference."""
    setting.quote, setting.opaque, setting.outer = OPAQUE, why, None
    return setting


def _line_start_after(text: str, offset: int) -> int:
    """The start of the line after the one holding offset-1 (the end of an entry)."""
    if offset > 0 and text[offset - 1] == "\n":
        return offset
    index = text.find("\n", offset)
    return len(text) if index < 0 else index + 1


def _indent_step(text: str) -> str:
    for match in re.finditer(r"^( +)\S", text, re.MULTILINE):
        return match.group(1)
    return ""


def _plain(value: str, *, flow: bool = False) -> str:
    """A value as a plain scalar when YAML reads it back as the same string, else double-quoted
    (inside `{...}`/`[...]` also when it holds a flow indicator)."""
    if value.startswith("!secret "):  # a Home Assistant reference is a tag, not text
        return value
    if flow and any(c in value for c in "{}[],"):
        return '"' + _double(value) + '"'
    if value and _PLAIN_SAFE.fullmatch(value) and value.strip() == value and not value.startswith(("-", "{", "!", "&", "*")):
        return value
    return '"' + _double(value) + '"'


def _double(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _is_secrets_yaml(file: FileInfo) -> bool:
    return file.path.name in ("secrets.yaml", "secrets.yml")
