"""What YAML, INI, TOML, JSON and .properties files have in common: a tree of keys.

Each structured handler reads its file into `Leaf`s: a key path (`("spring", "mail", "host")`,
`("smtp", "host")` for an INI section, `("mail.host",)` for Sentry's flat keys) and a `Setting`
whose span is the value's text. This module matches those leaves against the families' forms for
the file's kind and builds the configurations; the handlers only read and write their syntax.

Paths are compared as dotted strings, so Spring's nested `spring: mail: host:` and its flat
`spring.mail.host:` are the same key. A form says where its configurations sit (`scopes`: dotted
patterns, `*` for any one key or list item), which keys it uses relative to that scope, an
optional condition on sibling values (`where: {platform: smtp}`), or that the scope holds env
variables (`env: true`: docker-compose `environment:`, Discourse `env:`), which are matched with
every family's env form.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from mailmigrate.document import Document
from mailmigrate.formats import Located
from mailmigrate.masking import SENSITIVE_KEY, url_credentials
from mailmigrate.model import Configuration, FileInfo, Finding, Setting
from mailmigrate.rules import Family, Form, Ruleset


@dataclass
class Leaf:
    path: tuple[str, ...]  # keys as written; list items as their index ("0", "1")
    setting: Setting  # key: the dotted path as shown to the user


@dataclass(frozen=True)
class ScopeRef:
    """Configuration.handler_data of a structured configuration: where it sits."""

    path: tuple[str, ...]  # the scope's own path (its keys are relative to it)
    env: bool = False  # the scope holds env variables (compose `environment:`)
    document: int = 0  # which document of a multi-document YAML file


def dotted(path: Iterable[str]) -> str:
    return ".".join(path)


def sensitive_texts(doc: Document, leaves: Iterable[Leaf]) -> list[str]:
    """Values never printed, even as diff context: other credentials (`DB_PASSWORD`,
    `AtRestEncryptKey`, `jwt_secret`: the env-style key pattern on the last key, camel-case words
    split) as read and as written, and the passwords inside URLs."""
    found: list[str] = []
    for leaf in leaves:
        setting = leaf.setting
        last = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", leaf.path[-1] if leaf.path else setting.key)
        if setting.env_ref is None and setting.value and SENSITIVE_KEY.search(last):
            found += [setting.value, doc.text[setting.start:setting.end]]
        found += url_credentials(setting.value)  # "DataSource": "postgres://mm:pw@db"
    return found


def locate_lines(
    doc: Document, file: FileInfo, rules: Ruleset, kind: str, leaves: list[Leaf],
    problems: Iterable[tuple[int, str, str]], *, fold_case: bool = False,
) -> Located:
    """What a line-based reader (INI, .properties) found: its unreadable lines (MM003, their text
    masked since it may be a secret without its key), keys written twice, and -- only when every
    line could be read, as the application's own reader would refuse the file otherwise -- the
    configurations."""
    located = Located()
    unreadable = list(problems)
    for line, what, text in unreadable:
        located.findings.append(Finding("MM003", file.display, line, 1, what))
        located.sensitive.append(text.strip())
    located.findings += duplicate_keys(file, leaves, fold_case=fold_case)
    located.sensitive += sensitive_texts(doc, leaves)
    if not unreadable:
        located.configurations = configurations(leaves, kind, file, rules, fold_case=fold_case)
    return located


def unreadable_scopes(leaves: Iterable[Leaf], kind: str, file: FileInfo, rules: Ruleset) -> list[Finding]:
    """A value where a family's configuration would sit that cannot be read key by key (TOML's
    `smtp_options = { server = ... }` inline table): reported, so it is never passed in silence."""
    patterns = {scope for family in rules.for_kind(kind) for scope in family.form(kind).scopes}
    return [
        Finding("MM115", file.display, leaf.setting.line, leaf.setting.col,
                f"{leaf.setting.key} is {leaf.setting.opaque}: mailmigrate cannot read the SMTP settings in it; check them by hand")
        for leaf in leaves
        if leaf.setting.opaque and any(_matches(tuple(dotted(leaf.path).split(".")), p) for p in patterns if p)
    ]


def duplicate_keys(file: FileInfo, leaves: Iterable[Leaf], *, fold_case: bool = False) -> list[Finding]:
    """A key written twice where the format's reader keeps the last one (INI, .properties)."""
    seen: dict[tuple[str, ...], Setting] = {}
    findings: list[Finding] = []
    for leaf in leaves:
        path = tuple(part.lower() for part in leaf.path) if fold_case else leaf.path
        first = seen.get(path)
        setting = leaf.setting
        if first is not None:
            findings.append(Finding(
                "MM003", file.display, setting.line, setting.col,
                f"{setting.key} is set twice (lines {first.line} and {setting.line}); the last one counts",
            ))
        seen[path] = setting
    return findings


@dataclass(frozen=True)
class _Candidate:
    score: int
    priority: int
    order: int
    family: Family
    path: tuple[str, ...]  # the scope
    keys: dict[str, str]  # key relative to the scope -> role
    prefix: str = ""  # env variables: the env form's prefix (BULK_, PAPERLESS_)
    container: Form | None = None  # env variables: the form of the file that holds them


def configurations(
    leaves: Sequence[Leaf], kind: str, file: FileInfo, rules: Ruleset, *, fold_case: bool = False, document: int = 0
) -> list[Configuration]:
    """Every family configuration the leaves hold; a contested key goes to the best match (most
    keys, then the family's priority)."""
    def norm(text: str) -> str:
        return text.lower() if fold_case else text

    by_path = {norm(dotted(leaf.path)): leaf for leaf in leaves}
    prefixes = _scope_paths(leaves)
    candidates: list[_Candidate] = []
    for order, family in enumerate(rules.for_kind(kind)):
        form = family.form(kind)
        for scope in form.scopes or ("",):
            for path in prefixes:
                if not _matches(path, scope):
                    continue
                base = norm(dotted(path))
                if form.env:
                    candidates += _env_candidates(by_path, base, path, rules, form)
                    continue
                matched = {key: role for key, role in form.keys.items() if norm(_join(base, key)) in by_path}
                if any(family.is_anchor(role, by_path[norm(_join(base, key))].setting.value) for key, role in matched.items()) and _where(form, by_path, base, norm):
                    candidates.append(_Candidate(len(matched), family.priority, -order, family, path, matched))
    candidates.sort(key=lambda c: (-c.score, -c.priority, -c.order))
    taken: set[str] = set()
    configs: list[Configuration] = []
    for candidate in candidates:
        base = norm(dotted(candidate.path))
        full = {norm(_join(base, key)): role for key, role in candidate.keys.items()}
        anchors = {key for key, role in full.items() if candidate.family.is_anchor(role, by_path[key].setting.value)}
        if anchors & taken:
            continue
        taken |= anchors
        settings: dict[str, Setting] = {}
        for key in sorted(full, key=lambda k: by_path[k].setting.start):
            settings.setdefault(full[key], replace(by_path[key].setting, role=full[key]))
        config = Configuration(
            family=candidate.family, kind=kind, file=file, scope=dotted(candidate.path) or "file",
            prefix=candidate.prefix, settings=settings, insert_at=0, line=min(s.line for s in settings.values()),
        )
        config.handler_data = ScopeRef(candidate.path, candidate.container is not None, document)
        if candidate.container is not None:
            config.form_kind = "env"
            config.secret_reference = candidate.container.secret_reference
        configs.append(config)
    configs.sort(key=lambda c: c.line)
    return configs


def _env_candidates(
    by_path: dict[str, Leaf], base: str, path: tuple[str, ...], rules: Ruleset, container: Form
) -> list[_Candidate]:
    """Env-form matches among the variables directly under `base` (compose `environment:`)."""
    names = {key[len(base) + 1:] if base else key for key in by_path if not base or key.startswith(base + ".")}
    names = {name for name in names if "." not in name}
    found = []
    for order, family in enumerate(rules.for_kind("env")):
        form = family.form("env")
        for prefix in form.prefixes:
            present = {prefix + k: r for k, r in form.keys.items() if prefix + k in names}
            for key, role in present.items():
                if role == "url":
                    found.append(_Candidate(1, family.priority, -order, family, path, {key: role}, prefix, container))
            rest = {k: r for k, r in present.items() if r != "url"}
            if any(family.is_anchor(r, by_path[_join(base, k)].setting.value) for k, r in rest.items()):
                # Identifying keys count too: SMTP_FROM_EMAIL makes an Outline block, not Nodemailer.
                markers = sum(prefix + m in names for m in form.markers)
                found.append(_Candidate(len(rest) + markers, family.priority, -order, family, path, rest, prefix, container))
    return found


def _scope_paths(leaves: Sequence[Leaf]) -> list[tuple[str, ...]]:
    """Every proper prefix of every leaf path (the root included): where a scope can sit."""
    seen: dict[tuple[str, ...], None] = {(): None}
    for leaf in leaves:
        for end in range(1, len(leaf.path)):
            seen.setdefault(leaf.path[:end], None)
    return list(seen)


def _matches(path: tuple[str, ...], pattern: str) -> bool:
    if not pattern:
        return not path
    parts = pattern.split(".")
    return len(parts) == len(path) and all(fnmatch.fnmatchcase(p, q) for p, q in zip(path, parts))


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


def _where(form: Form, by_path: dict[str, Leaf], base: str, norm: Callable[[str], str]) -> bool:
    """The form's condition on sibling values (`platform: smtp`, `uses: dawidd6/action-send-mail@*`)."""
    for key, pattern in form.where.items():
        leaf = by_path.get(norm(_join(base, key)))
        if leaf is None or not fnmatch.fnmatchcase(leaf.setting.value.strip().lower(), pattern.lower()):
            return False
    return True
