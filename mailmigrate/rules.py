"""Family rules: loaded from `rules/*.yaml`, validated up front, compiled into frozen dataclasses.

A family file says which keys a framework uses and what each one means (its role), how the
family spells booleans and encryption modes, what a URL scheme means, the defaults the framework
applies to missing keys, and where the family applies (the forms it is written in). Adding a
family is adding a file. Every error in every rule file is collected and reported with file and
key before anything is processed.

Validated rule data is cached as JSON keyed by a hash of the rule files' bytes: parsing ~30 YAML
files with a pure-Python parser on every pre-commit run would cost more than the rest of `check`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mailmigrate import __version__
from mailmigrate.model import Mode

SCHEMA_VERSION = 4
KINDS = ("env", "python", "yaml", "ini", "toml", "json", "properties")  # formats a form may target
CONTAINERS = ("variable", "path", "call", "url_call", "client")  # where a python form's keys live
# Python clients located by code rather than by key names (formats/smtpclients.py): the
# container value of a `client` form names one of these.
CLIENTS = ("smtplib", "SMTPHandler")
# `sender`: the From address, read only to report one that is the SMTP username (MM202).
BASE_ROLES = ("host", "port", "hostport", "user", "password", "url", "sender")
ANCHOR_ROLES = ("host", "hostport", "url")  # a configuration exists where one of these is set
CREDENTIAL_ROLES = ("user", "password")

TRUE_WORDS = frozenset({"true", "1", "yes", "on", "t", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", "f", "n", ""})
# Spelling pairs: a file keeps its own spelling when a flag flips (Healthchecks accepts only
# True/False; a `true` there stops the app).
BOOLEAN_PAIRS: tuple[tuple[str, str], ...] = (
    ("True", "False"),
    ("true", "false"),
    ("TRUE", "FALSE"),
    ("1", "0"),
    ("yes", "no"),
    ("Yes", "No"),
    ("YES", "NO"),
    ("on", "off"),
    ("On", "Off"),
    ("ON", "OFF"),
    ("y", "n"),
    ("t", "f"),
)


class RuleError(Exception):
    """One or more rule files are invalid. `errors` holds one "file: key: problem" line each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def parse_bool(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    return None


def spell_bool(value: bool, like: str | None, fallback: tuple[str, str]) -> str:
    """Spell `value` the way `like` (an existing boolean in the same file) is spelled."""
    if like is not None:
        for pair in BOOLEAN_PAIRS:
            if like in pair:
                return pair[0] if value else pair[1]
    return fallback[0] if value else fallback[1]


@dataclass(frozen=True)
class ModeSetting:
    """A key (or URL part) whose value says something about how the session is encrypted.

    Each value *indicates* a mode or nothing. The configuration's mode is then: implicit TLS if
    anything indicates it, else STARTTLS if anything does, else "none" if anything does, else the
    family's default. That "strongest indication wins" reading matches how the frameworks behave:
    Spring goes implicit with `protocol: smtps` *or* `ssl.enable: true`; Nodemailer's
    `secure: false` says nothing (it still upgrades with STARTTLS); Mastodon's
    `SMTP_ENABLE_STARTTLS=auto` leaves the decision to the other keys.

    bool: `when_true`/`when_false` give the indication of each value.
    enum: spellings per mode; `auto` spellings mean "the port decides" (465: implicit, else
    STARTTLS); `neutral` spellings indicate nothing. The first spelling of a list is written.
    """

    name: str
    type: str  # "bool" or "enum"
    when_true: Mode | None = None
    when_false: Mode | None = None
    spellings: Mapping[Mode, tuple[str, ...]] = field(default_factory=dict)
    auto: tuple[str, ...] = ()
    neutral: tuple[str, ...] = ()
    default: str | bool | None = None  # what the framework assumes when the key is missing
    # The key only switches STARTTLS (Mastodon's SMTP_ENABLE_STARTTLS): its "no STARTTLS" is
    # right beside implicit TLS set by another key, and the value written for implicit TLS.
    starttls_only: bool = False

    def indication(self, value: str | bool | None, port: int | None) -> Mode | None | Unknown:
        """The mode `value` indicates, None for no indication, UNKNOWN when not understood."""
        if value is None:
            if self.default is None:
                return None
            value = self.default
        if self.type == "bool":
            flag = value if isinstance(value, bool) else parse_bool(value)
            if flag is None:
                return UNKNOWN
            return self.when_true if flag else self.when_false
        text = str(value).strip().lower()
        if text in _lower(self.auto):
            return Mode.IMPLICIT if port == 465 else Mode.STARTTLS
        if text in _lower(self.neutral):
            return None
        for mode, spelled in self.spellings.items():
            if text in _lower(spelled):
                return mode
        return UNKNOWN

    def compatible(self, indication: Mode | None | Unknown, target: Mode) -> bool:
        if self.starttls_only and target is Mode.IMPLICIT:
            return indication is Mode.NONE  # "auto" beside implicit TLS is refused too
        return indication is None or indication == target

    def value_for(self, target: Mode, *, must_indicate: bool) -> str | bool | None:
        """A value compatible with `target` (indicating it when `must_indicate`); None if none."""
        if self.starttls_only and target is Mode.IMPLICIT and not must_indicate:
            # Implicit TLS with STARTTLS also on is refused by some clients (Ruby's mail gem):
            # write "no STARTTLS".
            if self.type == "bool":
                return next((f for f in (False, True) if (self.when_true if f else self.when_false) is Mode.NONE), False)
            if self.spellings.get(Mode.NONE):
                return self.spellings[Mode.NONE][0]
        if self.type == "bool":
            for flag in (True, False):
                said = self.when_true if flag else self.when_false
                if said == target:
                    return flag
            if must_indicate:
                return None
            for flag in (False, True):
                if (self.when_true if flag else self.when_false) is None:
                    return flag
            return None
        if self.spellings.get(target):
            return self.spellings[target][0]
        if self.auto:
            return self.auto[0]
        if not must_indicate and self.neutral:
            return self.neutral[0]
        return None


class Unknown:
    """A value the family's rule does not know (a typo, a template placeholder)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


def _lower(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(i.lower() for i in items)


@dataclass(frozen=True)
class Switch:
    """A key that must hold one of `ok` for SMTP mail with login to work (MAIL_MAILER=smtp,
    SMTP_AUTH=true); a value in `inactive` means the app does not send over SMTP at all."""

    name: str
    type: str  # "bool" or "enum"
    ok: tuple[str, ...] | bool
    write: str | bool
    inactive: tuple[str, ...] = ()
    default: str | bool | None = None
    anchor: bool = False  # a non-SMTP value makes a configuration even without a host (presets)

    def is_ok(self, value: str | None) -> bool | None:
        """True/False; None when the key is missing and the framework default is unknown."""
        if value is None:
            if self.default is None:
                return None
            value = str(self.default).lower() if isinstance(self.default, bool) else self.default
        if self.type == "bool":
            return parse_bool(value) is self.ok
        assert isinstance(self.ok, tuple)
        return value.strip().lower() in _lower(self.ok)

    def is_inactive(self, value: str | None) -> bool:
        if value is None:
            return False
        if self.type == "bool":
            flag = parse_bool(value)
            return flag is not None and any(parse_bool(v) is flag for v in self.inactive)
        return value.strip().lower() in _lower(self.inactive)


@dataclass(frozen=True)
class UrlDialect:
    """What a family's SMTP URL means: scheme → mode, scheme → default port, query flags."""

    scheme: ModeSetting
    ports: Mapping[str, int]
    query: Mapping[str, ModeSetting]
    inactive: tuple[str, ...]  # schemes that do not send over SMTP (console://, null://)
    provider_schemes: bool  # `sendgrid+smtp://` style (Symfony): the part before + names a provider

    def split_scheme(self, scheme: str) -> tuple[str | None, str]:
        """`sendgrid+smtp` → ("sendgrid", "smtp") when provider schemes apply."""
        lowered = scheme.lower()
        if self.provider_schemes and "+" in lowered:
            head, _, tail = lowered.partition("+")
            if head not in ("smtp", "smtps"):
                return head, tail
        return None, lowered


@dataclass(frozen=True)
class Form:
    """Where a family applies: a file kind and the keys it uses there."""

    kind: str
    keys: Mapping[str, str]  # key → role
    prefixes: tuple[str, ...] = ("",)
    markers: tuple[str, ...] = ()  # keys that identify the family without having a role
    secret_reference: str | None = None  # e.g. "${{ secrets.{var} }}"; None: no syntax for it
    # The same reference where the variable may be unset without breaking the app (a value the
    # tool adds, a lookup's default): os.environ.get("{var}", "") rather than a KeyError.
    secret_fallback: str | None = None
    # What a person must do for the reference to work, when it is not "set the variable"
    # (Home Assistant: add `mailpace_api_token:` to secrets.yaml).
    secret_note: str | None = None
    # Python: where the keys live when not as assignments / config keys. One of
    # {"variable": "EMAIL"} (a dict assigned to EMAIL), {"path": "MAILERS.*.OPTIONS"} (nested
    # dicts), {"call": "EmailBackend get_connection"} (keyword arguments), {"url_call": ...},
    # {"client": "smtplib"} (connections located by formats/smtpclients.py; the keys are then
    # the names messages use for each part: "login() user", "starttls()").
    container: Mapping[str, str] = field(default_factory=dict)
    needs_any: tuple[str, ...] = ()  # keys of which one must be present (SMTP_HOST alone is too common)
    # Structured files (yaml, ini, toml, json, properties): where configurations sit (dotted
    # patterns, `*` = any one key), a condition on sibling values, and whether the scope holds
    # env variables matched with every family's env form (compose `environment:`).
    scopes: tuple[str, ...] = ()
    where: Mapping[str, str] = field(default_factory=dict)
    env: bool = False

    def primary_key(self, role: str) -> str:
        for key, key_role in self.keys.items():
            if key_role == role:
                return key
        raise KeyError(role)

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(self.keys.values())


@dataclass(frozen=True)
class Family:
    name: str
    title: str
    source: str  # the rule file, for messages
    priority: int
    default_port: int
    encryption_default: Mode | None  # None: the port decides (465 implicit, else STARTTLS)
    port_465_implicit: bool  # the client goes implicit on 465 whatever its other keys say
    encryption: Mapping[str, ModeSetting]
    switches: Mapping[str, Switch]
    url: UrlDialect | None
    forms: Mapping[str, Form]
    booleans: tuple[str, str]  # spelling for keys the tool adds when the file shows none
    empty_values: tuple[str, ...]  # words the family reads as "not set" (Laravel's `null`)
    credentials_required: bool  # the family logs in (user and password) when it sends
    # The encryption modes the client can use at all (logging's SMTPHandler has no implicit TLS).
    modes: frozenset[Mode] = frozenset({Mode.STARTTLS, Mode.IMPLICIT, Mode.NONE})
    # Roles that repeat the port and must follow it (JavaMail's socketFactory.port).
    port_mirrors: tuple[str, ...] = ()

    def form(self, kind: str) -> Form:
        return self.forms[kind]

    def is_anchor(self, role: str, value: str) -> bool:
        """Does a key with this role and value make a configuration? A host or URL does, and so
        does a provider preset that stands for the host (`SMTP_SERVICE=SendGrid`,
        `MAIL_MAILER=mailgun`, Ghost's `"service": "Mailgun"`)."""
        if role in ANCHOR_ROLES:
            return True
        switch = self.switches.get(role)
        return switch is not None and switch.anchor and switch.is_ok(value) is False and not switch.is_inactive(value)


@dataclass(frozen=True)
class Ruleset:
    families: tuple[Family, ...]

    def for_kind(self, kind: str) -> tuple[Family, ...]:
        return tuple(f for f in self.families if kind in f.forms)

    def keyword_pattern(self, kind: str) -> re.Pattern[bytes]:
        """A cheap pre-filter: a file must mention one of these words to be parsed.

        Env files: "smtp" and "mail" cover nearly every key (EMAIL_HOST, GF_SMTP_HOST,
        mail__options__host); a key that contains neither is added on its own. A short pattern
        compiles in microseconds where one alternative per key would cost more than the rest of
        a one-file run. Python: the exact setting and container names, case-sensitive, so that
        a source tree full of the word "mail" (Django's own) is not parsed file by file."""
        if kind != "python":
            words = {"smtp", "mail"}
            # Structured files: their scopes are named smtp/mail/email (spring.mail, [smtp],
            # EmailSettings, smtp_options); relative keys such as `host` say nothing alone.
            for family in self.for_kind(kind) if kind == "env" else ():
                form = family.form(kind)
                for key in (prefix + key for prefix in form.prefixes for key in form.keys):
                    if not any(word in key.lower() for word in ("smtp", "mail")):
                        words.add(key)
            return re.compile("|".join(sorted(map(re.escape, words))).encode(), re.IGNORECASE)
        words = set()
        for family in self.for_kind(kind):
            form = family.form(kind)
            if form.container:
                # EMAIL, MAILERS.*.OPTIONS, dj_email_url.parse: the first dotted part is the
                # word the file must contain (a module or variable name, never "parse").
                words.update(name.split(".")[0] for names in form.container.values() for name in names.split())
            else:
                words.update(form.keys)
        return re.compile(rb"\b(?:" + "|".join(sorted(map(re.escape, words))).encode() + rb")\b")

    def keyword_filter(self, kind: str, also: Callable[[bytes], bool] | None = None) -> Callable[[bytes], bool]:
        """Does a file mention one of this kind's keywords? Substring tests only: `in` runs at
        memchr speed where a regex of alternatives does not (on the standard library's 15k
        modules: 0.3 s against 2.3 s). First a handful of short needles every key contains
        (MAIL, SMTP, mail), then the exact words, only for the files that passed. Python files
        that pass the first test may also be wanted for `also` (they set mail headers)."""
        pattern = self.keyword_pattern(kind)
        if kind == "yaml":
            # YAML files mention mail everywhere (mkdocs, CI, data); a composer pass costs ~5 ms
            # a file. Parse only those with a key where a YAML form's configuration can sit.
            heads = self._yaml_heads()
            return lambda data: pattern.search(data) is not None and heads.search(data.removeprefix(b"\xef\xbb\xbf")) is not None
        if kind != "python":
            return lambda data: pattern.search(data) is not None
        words = tuple(w for w in re.findall(rb"[A-Za-z_][A-Za-z0-9_]*", pattern.pattern) if w not in (b"b", b"B"))
        needles: set[bytes] = set()
        for word in words:
            if b"MAIL" in word or b"SMTP" in word:
                needles.add(b"MAIL" if b"MAIL" in word else b"SMTP")
            elif b"smtp" in word:
                # smtplib: a module that makes a connection names SMTP, SMTP_SSL or SMTPHandler
                # (LMTP alone is left alone anyway); one needle fewer to scan every file for.
                needles.add(b"SMTP")
            else:
                # EmailBackend, email_url, dj_email_url contain "mail"; a module calling
                # get_connection(...) imports it from django.core.mail: "mail" again.
                needles.add(b"mail")
        short = tuple(sorted(needles, key=len))
        # Last, the whole-word regex, on the few files that got this far (EMAIL_RE is not EMAIL).
        # `also` (mail headers) is asked only of files that name mail at all.
        extra = also or (lambda data: False)
        return lambda data: any(n in data for n in short) and (
            (any(w in data for w in words) and pattern.search(data) is not None) or extra(data)
        )


    def _yaml_heads(self) -> re.Pattern[bytes]:
        """Lines where a YAML form's scope begins: its first literal key at the top level
        (`spring:`, `mastodon:`, `mail.host:`) or, after a wildcard, as a nested key
        (`    environment:`), and the values its `where` condition names."""
        alternatives: set[bytes] = set()
        for family in self.for_kind("yaml"):
            form = family.form("yaml")
            for scope in form.scopes or ("",):
                parts = scope.split(".") if scope else [key.split(".")[0] for key in form.keys]
                if scope and "*" in parts[0]:
                    literal = next((part for part in parts if "*" not in part), None)
                    if literal is not None:
                        alternatives.add(rb"^[ \t-]*" + re.escape(literal.encode()) + rb"[ \t]*:")
                    continue
                for head in parts if not scope else parts[:1]:
                    alternatives.add(rb"^[\"']?" + re.escape(head.encode()) + rb"[\"']?[ \t]*[:.]")
            for key, value in form.where.items():
                literal = value.split("*")[0].rstrip("@")
                alternatives.add(re.escape(key.encode()) + rb"[ \t]*:[ \t]*[\"']?" + re.escape(literal.encode()))
        return re.compile(b"|".join(sorted(alternatives)), re.MULTILINE)


# --------------------------------------------------------------------------------------------
# Loading and validation


def default_rules_dir() -> Path:
    """Inside an installed wheel the rules sit in the package; in a checkout, beside it."""
    packaged = Path(__file__).resolve().parent / "rules"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "rules"


def load_ruleset(rules_dir: Path | None = None, extra_files: Iterable[Path] = ()) -> Ruleset:
    """Load, validate and compile every rule file. Raises RuleError naming every problem."""
    rules_dir = rules_dir or default_rules_dir()
    extra_files = tuple(extra_files)
    paths = sorted(rules_dir.glob("*.yaml")) + list(extra_files)
    if not paths:
        raise RuleError([f"{rules_dir}: no rule files found"])
    blobs: list[tuple[Path, bytes]] = []
    errors: list[str] = []
    for path in paths:
        try:
            blobs.append((path, path.read_bytes()))
        except OSError as exc:
            errors.append(f"{path}: cannot read: {exc.strerror or exc}")
    if errors:
        raise RuleError(errors)
    raw = _cached_raw(blobs)
    if raw is None:
        raw = _parse_and_validate(blobs, frozenset(extra_files))
        _store_cache(blobs, raw)
    return Ruleset(tuple(_compile(name, data) for name, data in raw))


def _cache_key(blobs: list[tuple[Path, bytes]]) -> str:
    digest = hashlib.sha256(f"{__version__}/{SCHEMA_VERSION}".encode())
    for path, blob in blobs:
        digest.update(path.name.encode() + b"\0" + blob + b"\0")
    return digest.hexdigest()[:32]


def _cache_dir() -> Path:
    configured = os.environ.get("MAILMIGRATE_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mailmigrate"


def _cached_raw(blobs: list[tuple[Path, bytes]]) -> list[tuple[str, dict[str, Any]]] | None:
    try:
        text = (_cache_dir() / f"rules-{_cache_key(blobs)}.json").read_text("utf-8")
        data = json.loads(text)
        return [(str(name), dict(body)) for name, body in data]
    except (OSError, ValueError, TypeError):
        return None


def _store_cache(blobs: list[tuple[Path, bytes]], raw: list[tuple[str, dict[str, Any]]]) -> None:
    # A cache we cannot write (read-only home in CI) only costs speed.
    try:
        directory = _cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"rules-{_cache_key(blobs)}.json"
        temp = target.with_suffix(f".{os.getpid()}.tmp")
        temp.write_text(json.dumps(raw), "utf-8")
        os.replace(temp, target)
    except OSError:
        pass


def _parse_and_validate(blobs: list[tuple[Path, bytes]], extra: frozenset[Path] = frozenset()) -> list[tuple[str, dict[str, Any]]]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    from mailmigrate.rulecheck import validate_family

    yaml = YAML(typ="safe", pure=True)
    errors: list[str] = []
    result: list[tuple[str, dict[str, Any]]] = []
    seen: dict[str, str] = {}
    for path, blob in blobs:
        label = str(path) if path in extra else path.name  # a project's own rule file by its path
        try:
            data = yaml.load(blob.decode("utf-8"))
        except (YAMLError, UnicodeDecodeError) as exc:
            errors.append(f"{label}: not valid YAML: {str(exc).splitlines()[0]}")
            continue
        file_errors = validate_family(label, data)
        if not file_errors:
            name = data["family"]
            if name in seen:
                file_errors.append(f"{label}: family: '{name}' is already defined in {seen[name]}")
            seen[name] = label
        errors.extend(file_errors)
        if not file_errors:
            result.append((label, data))
    if errors:
        raise RuleError(errors)
    return result


def _mode_setting(name: str, spec: Mapping[str, Any]) -> ModeSetting:
    def mode(value: Any) -> Mode | None:
        return None if value is None else Mode(value)

    return ModeSetting(
        name=name,
        type=spec.get("type", "enum"),
        when_true=mode(spec.get("when_true")),
        when_false=mode(spec.get("when_false")),
        spellings={m: tuple(spec[m.value]) for m in Mode if spec.get(m.value)},
        auto=tuple(spec.get("auto", [])),  # as written: the first one is what gets written
        neutral=tuple(spec.get("neutral", [])),
        default=spec.get("default"),
        starttls_only=bool(spec.get("starttls_only", False)),
    )


def _default_mode(value: str) -> Mode | None:
    return None if value == "auto" else Mode(value)


def _compile(label: str, data: Mapping[str, Any]) -> Family:
    encryption = data.get("encryption", {})
    url = data.get("url")
    dialect = None
    if url is not None:
        dialect = UrlDialect(
            scheme=_mode_setting("scheme", {"type": "enum", **url["scheme"]}),
            ports={k.lower(): v for k, v in url.get("ports", {}).items()},
            query={k: _mode_setting(k, v) for k, v in url.get("query", {}).items()},
            inactive=_lower(url.get("inactive", [])),
            provider_schemes=bool(url.get("provider_schemes", False)),
        )
    switches = {
        name: Switch(
            name=name,
            type=spec["type"],
            ok=spec["ok"] if isinstance(spec["ok"], bool) else tuple(spec["ok"]),
            write=spec.get("write", spec["ok"]),
            inactive=tuple(spec.get("inactive", [])),
            default=spec.get("default"),
            anchor=bool(spec.get("anchor", False)),
        )
        for name, spec in data.get("switches", {}).items()
    }
    forms = {
        kind: Form(
            kind=kind,
            keys=dict(form.get("keys", {})),
            prefixes=tuple(form.get("prefixes", [""])),
            markers=tuple(form.get("markers", [])),
            secret_reference=form.get("secret_reference"),
            secret_fallback=form.get("secret_fallback"),
            secret_note=form.get("secret_note"),
            container=dict(form.get("container", {})),
            needs_any=tuple(form.get("needs_any", [])),
            scopes=tuple(form.get("scopes", [])),
            where=dict(form.get("where", {})),
            env=bool(form.get("env", False)),
        )
        for kind, form in data["forms"].items()
    }
    booleans = data.get("booleans", ["True", "False"])
    return Family(
        name=data["family"],
        title=data["title"],
        source=label,
        priority=data.get("priority", 0),
        default_port=data.get("defaults", {}).get("port", 25),
        encryption_default=_default_mode(encryption.get("default", "none")),
        port_465_implicit=bool(encryption.get("port_465_implicit", False)),
        encryption={n: _mode_setting(n, s) for n, s in encryption.get("settings", {}).items()},
        switches=switches,
        url=dialect,
        forms=forms,
        booleans=(booleans[0], booleans[1]),
        empty_values=_lower(data.get("empty_values", [])),
        credentials_required=data.get("credentials", "required") == "required",
        modes=frozenset(Mode(m) for m in encryption.get("modes", ["starttls", "implicit", "none"])) | {Mode.NONE},
        port_mirrors=tuple(data.get("port_mirrors", [])),
    )
