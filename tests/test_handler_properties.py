"""Property tests for every format handler (issue 9), on generated realistic files.

For each format a generator writes a configuration of a family mailmigrate knows there (env and
Python: Django; YAML and .properties: Spring's `spring.mail.*`; INI: Airflow's and Grafana's
`[smtp]`; TOML: lldap's `[smtp_options]`; JSON: Mattermost's `EmailSettings`), with provider hosts
drawn from mailmigrate/providers.py, ports, TLS flags, quoting styles, comments, blank lines,
unrelated keys around and inside the configuration (also ones that look alike: LDAP's
`ConnectionSecurity`, `[ldaps_options] port`, `smtp_mail_from`), key order, LF/CRLF, with or
without a UTF-8 BOM and a final newline. Every generated line is marked as an SMTP key's line
or not. Then, running the real engine on the one file (`run_file`):

(a) only SMTP key lines change: every other line of the file is byte-identical (line ending
    included) and in order, every line the migration adds is an SMTP key's line, and the
    unrelated keys read the same values with the format's standard parser (python-dotenv,
    `ast.literal_eval` on assignments, ruamel.yaml, configparser, tomllib, json, a small
    `java.util.Properties.load`);
(b) the new text re-parses with that parser;
(c) a second run changes nothing;
(d) a file without SMTP settings (the same unrelated keys alone) is never changed and gets no
    finding;
(e) the BOM and the newline style of every line survive;
(f) and when the migration leaves nothing for a person, the configuration as the application
    reads it points at MailPace with a port and TLS mode that agree (465 implicit TLS; 25, 587,
    2525 STARTTLS) and its login switched on.

Budgets: `max_examples` keeps the module well under a minute in CI; MAILMIGRATE_PROPERTY_SCALE
multiplies them (e.g. 30 for a long local run). Known bugs are strict xfails at the end; the
properties reject exactly their signature (`known_bug`) so they keep checking everything else.
"""

from __future__ import annotations

import ast
import configparser
import io
import json
import os
import re
import tempfile
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, reject, settings
from hypothesis import strategies as st

from helpers import TOKEN, run_file
from mailmigrate.model import Status
from mailmigrate.providers import _PROVIDERS, MAILPACE_HOST

SCALE = float(os.environ.get("MAILMIGRATE_PROPERTY_SCALE", "1"))


def _budget(examples: int) -> settings:
    return settings(
        max_examples=max(1, int(examples * SCALE)), deadline=None, derandomize=SCALE == 1, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
    )


# --------------------------------------------------------------------------------------------
# Building blocks


@dataclass(frozen=True)
class Sample:
    """A generated file: its text (BOM included) and which lines (0-based, split at "\\n") hold
    an SMTP key."""

    text: str
    smtp_lines: frozenset[int] = frozenset()


@dataclass
class Lines:
    items: list[tuple[str, bool]] = field(default_factory=list)

    def add(self, text: str, smtp: bool = False) -> None:
        self.items.append((text, smtp))

    def extend(self, other: Lines) -> None:
        self.items += other.items


@st.composite
def finish(draw: st.DrawFn, lines: Lines) -> Sample:
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    final = draw(st.booleans())
    bom = draw(st.sampled_from(["", "", "\ufeff"]))
    body = newline.join(text for text, _ in lines.items) + (newline if final and lines.items else "")
    return Sample(bom + body, frozenset(i for i, (_, smtp) in enumerate(lines.items) if smtp))


def _host_case(host: str, upper: bool) -> str:
    return host.upper() if upper else host


# Provider hosts straight from providers.py's patterns (SendGrid, SES regions, Microsoft 365
# tenants ...), MailPace itself, its legacy name, an unknown relay, and local servers.
PROVIDER_HOSTS = st.sampled_from(_PROVIDERS).flatmap(
    lambda provider: st.from_regex(provider[1], fullmatch=True).filter(lambda h: re.fullmatch(r"[a-z0-9.-]+", h) is not None)
)
HOSTS = st.one_of(
    PROVIDER_HOSTS, PROVIDER_HOSTS,
    st.sampled_from([MAILPACE_HOST, "smtp.ohmysmtp.com", "mail.example.org", "localhost", "mailpit", "127.0.0.1"]),
).flatmap(lambda h: st.builds(_host_case, st.just(h), st.sampled_from([False, False, False, True])))
PORTS = st.sampled_from([25, 465, 587, 2525, 1025, 2587])
WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1, max_size=16)
SECRETS = st.one_of(WORDS, st.sampled_from(["SG.abc-def_ghi", "hunter2hunter2", "apikey", "p4ss.w0rd"]))
USERS = st.sampled_from(["apikey", "me@example.com", "postmaster@mg.example.com", "AKIAIOSFODNN7EXAMPLE", ""])
COMMENTS = st.sampled_from(["mail settings", "SMTP", "see the wiki", "EMAIL_HOST=smtp.gmail.com", "host = localhost", "TODO"])


def _split_lines(text: str) -> list[str]:
    """Lines split at "\\n" only, each with its ending."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def _flatten(data: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(data, dict):
        out: dict[tuple[str, ...], Any] = {}
        for key, value in data.items():
            out.update(_flatten(value, path + tuple(_key_parts(str(key)))))
        return out or {path: {}}
    if isinstance(data, list):
        return {k: v for i, item in enumerate(data) for k, v in _flatten(item, path + (str(i),)).items()} or {path: []}
    return {path: data}


def _key_parts(key: str) -> list[str]:
    """Spring's dotted and `[mail.smtp.auth]` keys are paths."""
    return [part for part in re.sub(r"\[([^\]]*)\]", r".\1", key).split(".") if part]


# --------------------------------------------------------------------------------------------
# env: Django's EMAIL_* keys (with the wrappers' prefixes)

DJANGO_KEYS = ["EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_TLS", "EMAIL_USE_SSL", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"]
ENV_PREFIXES = ["", "", "DJANGO_", "PAPERLESS_"]
ENV_SAFE = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/@%+,", max_size=20)
ENV_UNRELATED = {
    "DEBUG": st.sampled_from(["True", "False", "1", "0"]),
    "SECRET_KEY": ENV_SAFE,
    "DATABASE_URL": st.sampled_from(["postgres://app:s3cr3tpw@db:5432/app", "sqlite:///db.sqlite3"]),
    "ALLOWED_HOSTS": st.sampled_from(["example.com,www.example.com", "*", ""]),
    "TIME_ZONE": st.sampled_from(["UTC", "Europe/Paris"]),
    "DEFAULT_FROM_EMAIL": st.sampled_from(["noreply@example.com", "Shop <shop@example.com>"]),
    "REDIS_URL": st.sampled_from(["redis://redis:6379/0"]),
    "EMAIL_SUBJECT_PREFIX": st.sampled_from(["[Shop] ", "[Django]"]),
    "EMAIL_TIMEOUT": st.sampled_from(["10", "30"]),
    "CELERY_BROKER_URL": st.sampled_from(["amqp://guest:guest@rabbit//"]),
}


@st.composite
def _env_binding(draw: st.DrawFn, key: str, value: str) -> str:
    forbidden = {"'": "'", '"': '"\\$'}
    quote = draw(st.sampled_from(["", "'", '"']))
    if not quote and (value != value.strip() or any(c in value for c in " #'\"\\$")):
        quote = '"'
    if quote and any(c in value for c in forbidden[quote]):
        quote = ""
        value = re.sub(r"[\s#'\"\\$]", "", value)
    export = draw(st.sampled_from(["", "", "", "export "]))
    sep = draw(st.sampled_from(["=", "=", "=", " = "]))
    comment = draw(st.sampled_from(["", "", "", "  # note", " # mailmigrate test"]))
    if not quote and not value:
        comment = ""  # `KEY=  # note` reads as "# note" in python-dotenv
    return f"{export}{key}{sep}{quote}{value}{quote}{comment}"


def _env_unrelated(draw: st.DrawFn) -> list[tuple[str, str]]:
    keys = draw(st.lists(st.sampled_from(sorted(ENV_UNRELATED)), unique=True, max_size=6))
    return [(key, draw(ENV_UNRELATED[key])) for key in keys]


@st.composite
def _env_items(draw: st.DrawFn, with_smtp: bool) -> Lines:
    entries: list[tuple[str, bool]] = [(draw(_env_binding(k, v)), False) for k, v in _env_unrelated(draw)]
    if with_smtp:
        prefix = draw(st.sampled_from(ENV_PREFIXES))
        values = {
            "EMAIL_HOST": draw(HOSTS),
            "EMAIL_PORT": str(draw(PORTS)),
            "EMAIL_USE_TLS": draw(st.sampled_from(["True", "False", "true", "1"])),
            "EMAIL_USE_SSL": draw(st.sampled_from(["True", "False"])),
            "EMAIL_HOST_USER": draw(USERS),
            "EMAIL_HOST_PASSWORD": draw(SECRETS),
        }
        chosen = ["EMAIL_HOST"] + draw(st.lists(st.sampled_from(DJANGO_KEYS[1:]), unique=True))
        entries += [(draw(_env_binding(prefix + key, values[key])), True) for key in chosen]
        if draw(st.booleans()):  # a commented-out setting stays a comment
            entries.append((f"# {prefix}EMAIL_PORT=2525", False))
    entries += [("# " + draw(COMMENTS), False) for _ in range(draw(st.integers(0, 2)))]
    entries += [("", False) for _ in range(draw(st.integers(0, 2)))]
    lines = Lines()
    for text, smtp in draw(st.permutations(entries)):
        lines.add(text, smtp)
    return lines


def env_files(with_smtp: bool = True) -> st.SearchStrategy[Sample]:
    return _env_items(with_smtp).flatmap(finish)


def parse_env(body: str) -> dict[tuple[str, ...], Any]:
    from dotenv import dotenv_values
    from dotenv.parser import parse_stream

    errors = [b.original.string for b in parse_stream(io.StringIO(body, newline="")) if b.error]
    assert not errors, f"python-dotenv cannot read {errors!r}"
    return {(k,): v for k, v in dotenv_values(stream=io.StringIO(body, newline=""), interpolate=False).items()}


_ENV_SMTP_LINE = re.compile(r"\s*(?:export\s+)?(?:DJANGO_|PAPERLESS_)?(?:" + "|".join(DJANGO_KEYS) + r")\s*=")


def _env_smtp_path(path: tuple[str, ...]) -> bool:
    return re.sub(r"^(DJANGO_|PAPERLESS_)", "", path[0]) in DJANGO_KEYS


# --------------------------------------------------------------------------------------------
# python: a Django settings module

PY_UNRELATED = {
    "DEBUG": st.sampled_from(["True", "False", 'os.environ.get("DEBUG", "0") == "1"']),
    "SECRET_KEY": WORDS.map(repr),
    "ALLOWED_HOSTS": st.sampled_from(['["example.com", "www.example.com"]', "[]", '["*"]']),
    "TIME_ZONE": st.sampled_from(['"UTC"', "'Europe/Paris'"]),
    "LANGUAGE_CODE": st.sampled_from(['"en-us"']),
    "USE_TZ": st.sampled_from(["True"]),
    "EMAIL_SUBJECT_PREFIX": st.sampled_from(['"[Shop] "', "'[Django] '"]),
    "EMAIL_TIMEOUT": st.sampled_from(["10", "30"]),
    "STATIC_URL": st.sampled_from(['"/static/"']),
    "ADMINS": st.sampled_from(['[("Ops", "ops@example.com")]']),
}
PY_MARKERS = {  # Django's mail settings that are not SMTP keys: never edited
    "DEFAULT_FROM_EMAIL": st.sampled_from(['"noreply@example.com"', "'Shop <shop@example.com>'"]),
    "SERVER_EMAIL": st.sampled_from(['"server@example.com"']),
    "EMAIL_BACKEND": st.sampled_from(['"django.core.mail.backends.smtp.EmailBackend"']),
}
DATABASES = [
    "DATABASES = {",
    '    "default": {',
    '        "ENGINE": "django.db.backends.postgresql",',
    '        "NAME": "app",',
    '        "PASSWORD": os.environ.get("DB_PASSWORD", "dbsecret"),',
    "    }",
    "}",
]


@st.composite
def _py_value(draw: st.DrawFn, key: str, literal: Any) -> str:
    quote = draw(st.sampled_from(['"', "'"]))

    def text(value: str) -> str:
        return f"{quote}{value}{quote}"

    shape = draw(st.sampled_from(["literal", "literal", "get", "getenv", "item"]))
    if isinstance(literal, bool):
        if shape == "get":
            return f'os.environ.get({text(key)}, {text(str(literal))}) == {text("True")}'
        return str(literal)
    if isinstance(literal, int):
        if shape == "get":
            return f"int(os.environ.get({text(key)}, {literal}))"
        if shape == "getenv":
            return f"int(os.getenv({text(key)}, {text(str(literal))}))"
        return str(literal)
    if shape == "get":
        return f"os.environ.get({text(key)}, {text(literal)})"
    if shape == "getenv":
        return f"os.getenv({text(key)}, {text(literal)})"
    if shape == "item" and key in ("EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
        return f"os.environ[{text(key)}]"
    return text(literal)


@st.composite
def _py_items(draw: st.DrawFn, with_smtp: bool) -> Lines:
    entries: list[list[tuple[str, bool]]] = []
    keys = draw(st.lists(st.sampled_from(sorted(PY_UNRELATED)), unique=True, max_size=6))
    for key in keys:
        comment = draw(st.sampled_from(["", "", "  # note"]))
        entries.append([(f"{key} = {draw(PY_UNRELATED[key])}{comment}", False)])
    if draw(st.booleans()):
        entries.append([(line, False) for line in DATABASES])
    if with_smtp:
        for key in draw(st.lists(st.sampled_from(sorted(PY_MARKERS)), unique=True)):
            entries.append([(f"{key} = {draw(PY_MARKERS[key])}", False)])
        literals: dict[str, Any] = {
            "EMAIL_HOST": draw(HOSTS),
            "EMAIL_PORT": draw(PORTS),
            "EMAIL_USE_TLS": draw(st.booleans()),
            "EMAIL_USE_SSL": draw(st.booleans()),
            "EMAIL_HOST_USER": draw(USERS),
            "EMAIL_HOST_PASSWORD": draw(SECRETS),
        }
        chosen = ["EMAIL_HOST"] + draw(st.lists(st.sampled_from(DJANGO_KEYS[1:]), unique=True))
        for key in chosen:
            annotation = draw(st.sampled_from(["", "", ": str" if isinstance(literals[key], str) else ""]))
            comment = draw(st.sampled_from(["", "", "  # mail"]))
            entries.append([(f"{key}{annotation} = {draw(_py_value(key, literals[key]))}{comment}", True)])
        if draw(st.booleans()):
            entries.append([("# EMAIL_PORT = 2525", False)])
    entries += [[("# " + draw(COMMENTS), False)] for _ in range(draw(st.integers(0, 2)))]
    entries += [[("", False)] for _ in range(draw(st.integers(0, 2)))]
    lines = Lines()
    if draw(st.booleans()):
        lines.add('"""Django settings for shop."""')
    if draw(st.sampled_from([True, True, False])) or any("os." in t for e in entries for t, _ in e):
        lines.add("import os")
    if draw(st.booleans()):
        lines.add("from pathlib import Path")
        lines.add("")
        lines.add("BASE_DIR = Path(__file__).resolve().parent.parent")
    lines.add("")
    for entry in draw(st.permutations(entries)):
        for text, smtp in entry:
            lines.add(text, smtp)
    return lines


def python_files(with_smtp: bool = True) -> st.SearchStrategy[Sample]:
    return _py_items(with_smtp).flatmap(finish)


class Code(str):
    """A value computed by code (an environment lookup): compared as its source."""


def parse_python(body: str) -> dict[tuple[str, ...], Any]:
    found: dict[tuple[str, ...], Any] = {}
    for node in ast.parse(body).body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        try:
            read: Any = ast.literal_eval(value)
        except ValueError:
            read = Code(ast.unparse(value))  # a lookup: compared as the code it is
        for target in targets:
            if isinstance(target, ast.Name):
                found[(target.id,)] = read
    return found


# Added lines: a setting, and `import os` (with a blank line after it, isort's way, when the
# module's first statement is not an import).
_PY_SMTP_LINE = re.compile(r"\s*(?:" + "|".join(DJANGO_KEYS) + r")\b\s*(?::[^=]*)?=|import os\s*$|\s*$")


# --------------------------------------------------------------------------------------------
# YAML: Spring Boot's application.yml

SPRING_KEYS = {  # relative to spring.mail
    "host": "host", "port": "port", "username": "user", "password": "password", "protocol": "protocol",
    "properties.mail.smtp.auth": "auth", "properties.mail.smtp.starttls.enable": "starttls_enable",
    "properties.mail.smtp.starttls.required": "starttls_required", "properties.mail.smtp.ssl.enable": "ssl_enable",
}
SPRING_WORDS = {"spring", "mail", "host", "port", "username", "password", "protocol", "properties", "smtp", "auth",
                "starttls", "enable", "required", "ssl", "socketFactory", "class", "fallback"}


def _spring_smtp_path(path: tuple[str, ...]) -> bool:
    return path[:2] == ("spring", "mail") and ".".join(path[2:]) in SPRING_KEYS


@st.composite
def _spring_values(draw: st.DrawFn) -> list[tuple[str, Any, bool]]:
    """(key relative to spring.mail, value, is an SMTP key): SMTP keys and unrelated ones."""
    port = draw(PORTS)
    values: dict[str, Any] = {
        "host": draw(HOSTS), "port": port, "username": draw(USERS), "password": draw(SECRETS),
        "protocol": draw(st.sampled_from(["smtp", "smtps"])),
        "properties.mail.smtp.auth": draw(st.booleans()),
        "properties.mail.smtp.starttls.enable": draw(st.booleans()),
        "properties.mail.smtp.starttls.required": draw(st.booleans()),
        "properties.mail.smtp.ssl.enable": port == 465,
    }
    chosen = ["host"] + draw(st.lists(st.sampled_from([k for k in SPRING_KEYS if k != "host"]), unique=True))
    items = [(key, values[key], True) for key in chosen]
    others = {"default-encoding": "UTF-8", "test-connection": False, "properties.mail.smtp.connectiontimeout": 5000,
              "properties.mail.smtp.timeout": 3000}
    items += [(key, others[key], False) for key in draw(st.lists(st.sampled_from(sorted(others)), unique=True))]
    return draw(st.permutations(items))


@st.composite
def _yaml_scalar(draw: st.DrawFn, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return draw(st.sampled_from([str(value), str(value), f'"{value}"']))
    text = str(value)
    style = draw(st.sampled_from(["plain", "plain", "single", "double"]))
    if style == "plain" and (not text or text[0] in "-?:,[]{}#&*!|>'\"%@`" or text.lower() in ("true", "false", "null", "yes", "no", "on", "off")
                             or re.fullmatch(r"[-+]?[0-9._]+(e[-+]?[0-9]+)?", text.lower()) or ": " in text or " #" in text):
        style = "double"
    if style == "single":
        return "'" + text.replace("'", "''") + "'"
    if style == "double":
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


Tree = dict[str, Any]  # name -> Tree or ("leaf", rendered value, smtp)


def _insert(tree: Tree, parts: list[str], leaf: tuple[str, str, bool]) -> None:
    node = tree
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):  # pragma: no cover - generated keys never clash
            return
        node = child
    node[parts[-1]] = leaf


@st.composite
def _yaml_block(draw: st.DrawFn, tree: Tree, indent: str, level: int, lines: Lines) -> None:
    for name, child in tree.items():
        pad = indent * level
        if isinstance(child, dict):
            lines.add(f"{pad}{name}:" + draw(st.sampled_from(["", "", "  # section"])))
            draw(_yaml_block(child, indent, level + 1, lines))
        else:
            _, rendered, smtp = child
            comment = draw(st.sampled_from(["", "", "", "  # note"]))
            lines.add(f"{pad}{name}: {rendered}{comment}", smtp)
        if draw(st.integers(0, 9)) == 0:
            lines.add(draw(st.sampled_from(["", f"{pad}# {draw(COMMENTS)}"])))


@st.composite
def _yaml_items(draw: st.DrawFn, with_smtp: bool) -> Lines:
    indent = draw(st.sampled_from(["  ", "    "]))
    style = draw(st.sampled_from(["nested", "nested", "spring.mail", "flat"]))
    props = draw(st.sampled_from(["dotted", "nested", "bracket"]))
    top: Tree = {}
    unrelated = {
        "server.port": 8080, "spring.application.name": "shop", "spring.datasource.url": "jdbc:postgresql://db:5432/shop",
        "spring.datasource.password": "dbsecret", "logging.level.root": "INFO",
        "management.endpoints.web.exposure.include": "health,info",
    }
    keys = draw(st.lists(st.sampled_from(sorted(unrelated)), unique=True, max_size=5))
    for key in keys:
        _insert(top, key.split("."), ("leaf", draw(_yaml_scalar(unrelated[key])), False))
    if with_smtp:
        mail: Tree = {}
        for key, value, smtp in draw(_spring_values()):
            rendered = draw(_yaml_scalar(value))
            if key.startswith("properties."):
                rest = key[len("properties."):]
                if props == "dotted" and style != "flat":
                    _insert(mail, ["properties", rest], ("leaf", rendered, smtp))
                elif props == "bracket" and style != "flat":
                    _insert(mail, ["properties", f'"[{rest}]"'], ("leaf", rendered, smtp))
                else:
                    _insert(mail, ["properties", *rest.split(".")], ("leaf", rendered, smtp))
            else:
                _insert(mail, [key], ("leaf", rendered, smtp))
        if style == "nested":
            spring = top.setdefault("spring", {})
            spring["mail"] = mail
        elif style == "spring.mail":
            top["spring.mail"] = mail
        else:
            def flatten(tree: Tree, prefix: str) -> None:
                for name, child in tree.items():
                    if isinstance(child, dict):
                        flatten(child, f"{prefix}.{name}")
                    else:
                        top[f"{prefix}.{name}"] = child
            flatten(mail, "spring.mail")
    # Key order: the top-level keys and the keys inside each mapping, shuffled.
    def shuffle(tree: Tree) -> Tree:
        names = draw(st.permutations(list(tree)))
        return {name: shuffle(tree[name]) if isinstance(tree[name], dict) else tree[name] for name in names}

    lines = Lines()
    if draw(st.booleans()):
        lines.add("# application configuration")
    draw(_yaml_block(shuffle(top), indent, 0, lines))
    if not lines.items:
        lines.add("# empty")
    return lines


def yaml_files(with_smtp: bool = True) -> st.SearchStrategy[Sample]:
    return _yaml_items(with_smtp).flatmap(finish)


def parse_yaml(body: str) -> dict[tuple[str, ...], Any]:
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load(body)
    return _flatten(data) if data is not None else {}


def _yaml_smtp_line(line: str) -> bool:
    match = re.match(r"""\s*["']?([^:"']+)["']?\s*:""", line)
    return match is not None and all(part in SPRING_WORDS for part in _key_parts(match.group(1)))


# --------------------------------------------------------------------------------------------
# INI: Airflow's airflow.cfg and Grafana's grafana.ini

AIRFLOW_KEYS = ["smtp_host", "smtp_port", "smtp_user", "smtp_password", "smtp_starttls", "smtp_ssl"]
GRAFANA_KEYS = ["host", "user", "password", "startTLS_policy", "enabled"]


@st.composite
def _ini_sep(draw: st.DrawFn) -> str:
    return draw(st.sampled_from([" = ", " = ", "=", " : "]))


@st.composite
def _airflow_items(draw: st.DrawFn, with_smtp: bool) -> Lines:
    sep = draw(_ini_sep())
    sections: dict[str, list[tuple[str, bool]]] = {
        "core": [(f"dags_folder{sep}/opt/airflow/dags", False), (f"executor{sep}LocalExecutor", False),
                 (f"load_examples{sep}False", False)],
        "webserver": [(f"base_url{sep}http://localhost:8080", False), (f"web_server_port{sep}8080", False)],
        "email": [(f"email_backend{sep}airflow.utils.email.send_email_smtp", False), (f"email_conn_id{sep}smtp_default", False)],
    }
    smtp = [(f"smtp_mail_from{sep}airflow@example.com", False), (f"smtp_timeout{sep}30", False),
            (f"smtp_retry_limit{sep}5", False), ("# smtp_user =", False), ("; smtp_password =", False)]
    if with_smtp:
        values = {
            "smtp_host": draw(HOSTS), "smtp_port": str(draw(PORTS)), "smtp_user": draw(USERS), "smtp_password": draw(SECRETS),
            "smtp_starttls": draw(st.sampled_from(["True", "False"])), "smtp_ssl": draw(st.sampled_from(["True", "False"])),
        }
        chosen = ["smtp_host"] + draw(st.lists(st.sampled_from(AIRFLOW_KEYS[1:]), unique=True))
        smtp += [(f"{key}{sep}{values[key]}".rstrip(), True) for key in chosen]
    sections["smtp"] = smtp
    return draw(_ini_layout(sections))


@st.composite
def _grafana_items(draw: st.DrawFn, with_smtp: bool) -> Lines:
    sep = draw(_ini_sep())
    sections: dict[str, list[tuple[str, bool]]] = {
        "server": [(f"http_port{sep}3000", False), (f"domain{sep}grafana.example.com", False)],
        "database": [(f"type{sep}postgres", False), (f"host{sep}db:5432", False), (f"user{sep}grafana", False),
                     (f"password{sep}dbsecret", False)],
        "emails": [(f"welcome_email_on_sign_up{sep}false", False)],
    }
    smtp = [(f"from_address{sep}admin@grafana.example.com", False), (f"from_name{sep}Grafana", False),
            (f"skip_verify{sep}false", False), (f"ehlo_identity{sep}dashboard.example.com", False), (";cert_file =", False)]
    if with_smtp:
        host = f"{draw(HOSTS)}:{draw(PORTS)}"
        password = draw(SECRETS)
        values = {
            "host": draw(st.sampled_from([host, f'"{host}"'])),
            "user": draw(USERS),
            "password": draw(st.sampled_from([password, f'"""{password}"""', f"`{password}`"])),
            "startTLS_policy": draw(st.sampled_from(["MandatoryStartTLS", "OpportunisticStartTLS", "NoStartTLS", ""])),
            "enabled": draw(st.sampled_from(["true", "true", "false"])),
        }
        chosen = ["host", "enabled"] + draw(st.lists(st.sampled_from(["user", "password", "startTLS_policy"]), unique=True))
        comment = draw(st.sampled_from(["", "", " ; the relay", " # the relay"]))
        smtp += [(f"{key}{sep}{values[key]}".rstrip() + (comment if key == "host" else ""), True) for key in chosen]
    sections["smtp"] = smtp
    return draw(_ini_layout(sections))


@st.composite
def _ini_layout(draw: st.DrawFn, sections: dict[str, list[tuple[str, bool]]]) -> Lines:
    lines = Lines()
    if draw(st.booleans()):
        lines.add("# generated configuration")
    names = draw(st.permutations(sorted(sections)))
    for index, name in enumerate(names):
        if index and draw(st.booleans()):
            lines.add("")
        if draw(st.integers(0, 3)) == 0:
            lines.add(f"{draw(st.sampled_from(['#', ';']))} {draw(COMMENTS)}")
        lines.add(f"[{name}]")
        entries = list(sections[name])
        entries += [("", False) for _ in range(draw(st.integers(0, 1)))]
        entries += [(f"# {draw(COMMENTS)}", False) for _ in range(draw(st.integers(0, 1)))]
        for text, smtp in draw(st.permutations(entries)):
            lines.add(text, smtp)
    return lines


def airflow_files(with_smtp: bool = True) -> st.SearchStrategy[Sample]:
    return _airflow_items(with_smtp).flatmap(finish)


def grafana_files(with_smtp: bool = True) -> st.SearchStrategy[Sample]:
    return _grafana_items(with_smtp).flatmap(finish)


def parse_ini(body: str) -> dict[tuple[str, ...], Any]:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#", ";"), strict=True)
    parser.read_string(body)
    return {(section, key): value for section in parser.sections() for key, value in parser.items(section, raw=True)}


def _ini_smtp_path(keys: list[str]) -> Callable[[tuple[str, ...]], bool]:
    lowered = {k.lower() for k in keys}
    return lambda path: path[0].lower() == "smtp" and path[1].lower() in lowered


def _ini_smtp_line(keys: list[str]) -> Callable[[str], bool]:
    pattern = re.compile(r"\s*(?:" + "|".join(keys) + r")\s*[=:]", re.IGNORECASE)
    return lambda line: pattern.match(line) is not None


# --------------------------------------------------------------------------------------------
# TOML: lldap's lldap_config.toml

LLDAP_KEYS = ["server", "port", "user", "password", "smtp_encryption", "enable_password_reset"]


@st.composite
def _toml_string(draw: st.DrawFn, value: str) -> str:
    if "'" not in value and draw(st.booleans()):
        return f"'{value}'"
    return json.dumps(value, ensure_ascii=draw(st.booleans()))


@st.composite
def _toml_value(draw: st.DrawFn, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return draw(_toml_string(value))


@st.composite
def _toml_items(draw: st.DrawFn, with_smtp: bool) -> Lines:
    equals = draw(st.sampled_from([" = ", "=", "  =  "]))
    dotted = draw(st.booleans())

    def entry(key: str, value: Any, smtp: bool = False) -> tuple[str, bool]:
        comment = draw(st.sampled_from(["", "", "", "  # note"]))
        return f"{key}{equals}{draw(_toml_value(value))}{comment}", smtp

    top_values = {"ldap_port": 3890, "http_port": 17170, "http_url": "http://localhost", "jwt_secret": "REPLACE_WITH_RANDOM",
                  "ldap_base_dn": "dc=example,dc=com", "ldap_user_dn": "admin", "ldap_user_pass": "s3cret-admin",
                  "database_url": "sqlite:///data/users.db?mode=rwc", "key_seed": "RanD0m-s33d"}
    top = [entry(k, top_values[k]) for k in draw(st.lists(st.sampled_from(sorted(top_values)), unique=True, max_size=6))]
    smtp: list[tuple[str, bool]] = [entry("from", "LLDAP Admin <sender@example.com>"), entry("reply_to", "Do not reply <noreply@localhost>")]
    if with_smtp:
        values: dict[str, Any] = {
            "server": draw(HOSTS), "port": draw(PORTS), "user": draw(USERS), "password": draw(SECRETS),
            "smtp_encryption": draw(st.sampled_from(["TLS", "STARTTLS", "NONE"])),
            "enable_password_reset": draw(st.sampled_from([True, True, False])),
        }
        chosen = ["server"] + draw(st.lists(st.sampled_from(LLDAP_KEYS[1:]), unique=True))
        smtp += [entry(key, values[key], True) for key in chosen]
        smtp.append(("#port=587", False))
    smtp = draw(st.permutations(smtp))
    ldaps = [entry("enabled", True), entry("port", 6360), entry("cert_file", "/data/cert.pem")]
    lines = Lines()
    if draw(st.booleans()):
        lines.add("## Default configuration for lldap")
    for text, flag in draw(st.permutations(top)):
        lines.add(text, flag)
    if dotted:
        for text, flag in smtp:
            lines.add(text if text.startswith("#") else "smtp_options." + text, flag)
    tables = [("ldaps_options", ldaps)] + ([] if dotted else [("smtp_options", smtp)])
    for name, entries in draw(st.permutations(tables)):
        lines.add(draw(st.sampled_from(["", "", "# " + name])))
        lines.add(f"[{name}]")
        for text, flag in entries:
            lines.add(text, flag)
    return lines


def toml_files(with_smtp: bool = True) -> st.SearchStrategy[Sample]:
    return _toml_items(with_smtp).flatmap(finish)


def parse_toml(body: str) -> dict[tuple[str, ...], Any]:
    return _flatten(tomllib.loads(body))


def _toml_smtp_line(line: str) -> bool:
    return re.match(r"\s*(?:smtp_options\.)?(?:" + "|".join(LLDAP_KEYS) + r")\s*=", line) is not None


# --------------------------------------------------------------------------------------------
# JSON: Mattermost's config.json

MM_KEYS = ["SMTPServer", "SMTPPort", "SMTPUsername", "SMTPPassword", "ConnectionSecurity", "EnableSMTPAuth"]


def _json_lines(value: Any, indent: str, colon: str, ascii_only: bool, smtp: Callable[[tuple[str, ...]], bool]) -> Lines:
    """Pretty-printed JSON, one member per line, marking the lines of SMTP keys."""
    lines = Lines()

    def emit(node: Any, path: tuple[str, ...], level: int, head: str, tail: str) -> None:
        pad = indent * level
        if isinstance(node, dict) and node:
            lines.add(f"{pad}{head}{{")
            items = list(node.items())
            for index, (key, child) in enumerate(items):
                emit(child, path + (key,), level + 1, json.dumps(key, ensure_ascii=ascii_only) + colon,
                     "," if index < len(items) - 1 else "")
            lines.add(f"{pad}}}{tail}")
        else:
            lines.add(f"{pad}{head}{json.dumps(node, ensure_ascii=ascii_only)}{tail}", smtp(path))

    emit(value, (), 0, "", "")
    return lines


@st.composite
def _json_items(draw: st.DrawFn, with_smtp: bool) -> Lines:
    email: dict[str, Any] = {
        "EnableSignUpWithEmail": True, "SendEmailNotifications": True, "FeedbackName": draw(st.sampled_from(["", "Mattermost"])),
        "FeedbackEmail": "noreply@example.com", "ReplyToAddress": "", "SMTPServerTimeout": 10,
        "SkipServerCertificateVerification": False, "EmailBatchingInterval": 30, "LoginButtonColor": "#0000",
    }
    if with_smtp:
        port = draw(PORTS)
        values: dict[str, Any] = {
            "SMTPServer": draw(HOSTS), "SMTPPort": draw(st.sampled_from([str(port), str(port), port])),
            "SMTPUsername": draw(USERS), "SMTPPassword": draw(SECRETS),
            "ConnectionSecurity": draw(st.sampled_from(["", "TLS", "STARTTLS"])), "EnableSMTPAuth": draw(st.booleans()),
        }
        for key in ["SMTPServer"] + draw(st.lists(st.sampled_from(MM_KEYS[1:]), unique=True)):
            email[key] = values[key]
    email = {k: email[k] for k in draw(st.permutations(list(email)))}
    config: dict[str, Any] = {
        "ServiceSettings": {"SiteURL": "https://chat.example.com", "ListenAddress": ":8065", "ConnectionSecurity": ""},
        "TeamSettings": {"SiteName": draw(st.sampled_from(["Mattermost", "Équipe"])), "MaxUsersPerTeam": 50},
        "SqlSettings": {"DriverName": "postgres", "DataSource": "postgres://mmuser:mmpass@db:5432/mattermost?sslmode=disable"},
        "LdapSettings": {"Enable": False, "LdapServer": "", "LdapPort": 389, "ConnectionSecurity": "TLS"},
        "EmailSettings": email,
    }
    config = {k: config[k] for k in draw(st.permutations(list(config)))}
    indent = draw(st.sampled_from(["  ", "    ", "\t"]))
    colon = draw(st.sampled_from([": ", ": ", ":"]))
    return _json_lines(config, indent, colon, draw(st.booleans()), lambda p: p[:1] == ("EmailSettings",) and p[-1] in MM_KEYS)


def json_files(with_smtp: bool = True) -> st.SearchStrategy[Sample]:
    return _json_items(with_smtp).flatmap(finish)


def parse_json(body: str) -> dict[tuple[str, ...], Any]:
    return _flatten(json.loads(body))


def _json_smtp_line(line: str) -> bool:
    return re.match(r'\s*"(?:' + "|".join(MM_KEYS) + r')"\s*:', line) is not None


def _json_normalise(line: str) -> str:
    """A member that was last in its object gains a comma when a key is added after it."""
    return re.sub(r",(\r?\n?)$", r"\1", line)


# --------------------------------------------------------------------------------------------
# .properties: Spring Boot's application.properties


@st.composite
def _properties_items(draw: st.DrawFn, with_smtp: bool) -> Lines:
    sep = draw(st.sampled_from(["=", "=", " = ", ":", ": ", " "]))
    brackets = draw(st.booleans())
    entries: list[tuple[str, bool]] = []
    unrelated = {
        "server.port": "8080", "spring.application.name": "My Shop", "spring.datasource.url": "jdbc:postgresql://db:5432/app",
        "spring.datasource.password": "dbsecret", "logging.level.root": "INFO",
        "management.endpoints.web.exposure.include": "health,info", "app.greeting": "Grüße aus dem Shop",
    }
    for key in draw(st.lists(st.sampled_from(sorted(unrelated)), unique=True, max_size=6)):
        entries.append((f"{key}{sep}{unrelated[key]}", False))
    if with_smtp:
        for key, value, smtp in draw(_spring_values()):
            if isinstance(value, bool):
                value = "true" if value else "false"
            name = f"spring.mail.{key}"
            if brackets and key.startswith("properties."):
                name = f"spring.mail.properties[{key[len('properties.'):]}]"
            entries.append((f"{name}{sep}{value}".rstrip(" "), smtp))
        entries.append((draw(st.sampled_from(["#", "!", "# "])) + "spring.mail.port=2525", False))
    entries += [(draw(st.sampled_from(["# ", "! "])) + draw(COMMENTS), False) for _ in range(draw(st.integers(0, 2)))]
    entries += [("", False) for _ in range(draw(st.integers(0, 2)))]
    lines = Lines()
    for text, smtp in draw(st.permutations(entries)):
        lines.add(text, smtp)
    if not lines.items:
        lines.add("# empty")
    return lines


def properties_files(with_smtp: bool = True) -> st.SearchStrategy[Sample]:
    return _properties_items(with_smtp).flatmap(finish)


_UNICODE = re.compile(r"[0-9A-Fa-f]{4}")


def parse_properties(body: str) -> dict[tuple[str, ...], Any]:
    """java.util.Properties.load, for the text this module writes and mailmigrate writes back."""
    physical = re.split(r"\r\n|\r|\n", body)
    logical: list[str] = []
    index = 0
    while index < len(physical):
        line = physical[index].lstrip(" \t\f")
        index += 1
        if not line or line[0] in "#!":
            continue
        while (len(line) - len(line.rstrip("\\"))) % 2 == 1 and index < len(physical):
            line = line[:-1] + physical[index].lstrip(" \t\f")
            index += 1
        logical.append(line)
    found: dict[tuple[str, ...], Any] = {}
    for line in logical:
        pos = 0
        while pos < len(line) and line[pos] not in "=: \t\f":
            pos += 2 if line[pos] == "\\" else 1
        key = line[:pos]
        while pos < len(line) and line[pos] in " \t\f":
            pos += 1
        if pos < len(line) and line[pos] in "=:":
            pos += 1
            while pos < len(line) and line[pos] in " \t\f":
                pos += 1
        found[tuple(_key_parts(_unescape(key)))] = _unescape(line[pos:])
    return found


def _unescape(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            nxt = text[index + 1]
            if nxt == "u":
                digits = text[index + 2:index + 6]
                assert _UNICODE.fullmatch(digits), "malformed \\uxxxx encoding"
                out.append(chr(int(digits, 16)))
                index += 6
                continue
            out.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(nxt, nxt))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _properties_smtp_line(line: str) -> bool:
    match = re.match(r"\s*(spring\.mail\.[^=:\s]+)", line)
    return match is not None and ".".join(_key_parts(match.group(1))[2:]) in SPRING_KEYS


# --------------------------------------------------------------------------------------------
# The formats and the properties


@dataclass(frozen=True)
class Format:
    id: str
    name: str  # the file name: it picks the handler
    files: Callable[[bool], st.SearchStrategy[Sample]]  # with_smtp -> samples
    parse: Callable[[str], dict[tuple[str, ...], Any]]  # the standard reader, on the text without its BOM
    is_smtp_path: Callable[[tuple[str, ...]], bool]  # a key of the family (a parsed path)
    is_smtp_line: Callable[[str], bool]  # a line the migration may add
    # What is wrong with a migrated configuration as the application reads it (None: nothing,
    # or it does not point at MailPace): the host, the port and the TLS mode agree (465 implicit
    # TLS; 25, 587, 2525 STARTTLS), the login is on.
    consistent: Callable[[dict[tuple[str, ...], Any]], str | None]
    normalise: Callable[[str], str] = lambda line: line

    def __repr__(self) -> str:
        return self.id


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("true", "1", "yes", "on")


def _mode_error(port: int, implicit: bool, starttls: bool) -> str | None:
    if port == 465:
        return None if implicit and not starttls else f"port 465 without implicit TLS (implicit={implicit}, starttls={starttls})"
    if port in (25, 587, 2525):
        return None if starttls and not implicit else f"port {port} without STARTTLS (implicit={implicit}, starttls={starttls})"
    return f"port {port} is not a MailPace port"


def _is_mailpace(host: Any) -> bool:
    return host is not None and not isinstance(host, Code) and str(host).strip().lower().rstrip(".") == MAILPACE_HOST


def _django(prefixes: list[str]) -> Callable[[dict[tuple[str, ...], Any]], str | None]:
    def check(parsed: dict[tuple[str, ...], Any]) -> str | None:
        for prefix in prefixes:
            def get(key: str, default: Any = None) -> Any:
                return parsed.get((prefix + key,), default)

            if not _is_mailpace(get("EMAIL_HOST")):
                continue
            values = [get(k) for k in DJANGO_KEYS]
            if any(isinstance(v, Code) for v in values):
                return None  # read from the environment: what it holds is the deployment's
            return _mode_error(int(get("EMAIL_PORT", 25)), _truthy(get("EMAIL_USE_SSL")), _truthy(get("EMAIL_USE_TLS")))
        return None
    return check


def _spring(parsed: dict[tuple[str, ...], Any]) -> str | None:
    def get(key: str, default: Any = None) -> Any:
        return parsed.get(("spring", "mail", *key.split(".")), default)

    if not _is_mailpace(get("host")):
        return None
    if not _truthy(get("properties.mail.smtp.auth")):
        return "mail.smtp.auth is not true: JavaMail would not log in"
    implicit = str(get("protocol", "smtp")).strip() == "smtps" or _truthy(get("properties.mail.smtp.ssl.enable"))
    # JavaMail runs STARTTLS when it is enabled or required
    starttls = _truthy(get("properties.mail.smtp.starttls.enable")) or _truthy(get("properties.mail.smtp.starttls.required"))
    return _mode_error(int(get("port", 25)), implicit, starttls)


def _airflow(parsed: dict[tuple[str, ...], Any]) -> str | None:
    if not _is_mailpace(parsed.get(("smtp", "smtp_host"))):
        return None
    return _mode_error(int(parsed.get(("smtp", "smtp_port"), 25)), _truthy(parsed.get(("smtp", "smtp_ssl"), "False")),
                       _truthy(parsed.get(("smtp", "smtp_starttls"), "True")))


def _grafana(parsed: dict[tuple[str, ...], Any]) -> str | None:
    host, _, port = str(parsed.get(("smtp", "host"), "")).strip('"').rpartition(":")
    if not _is_mailpace(host) or not port.isdigit():
        return None
    policy = str(parsed.get(("smtp", "starttls_policy"), "")).strip('"')
    return _mode_error(int(port), int(port) == 465, int(port) != 465 and policy != "NoStartTLS")


def _lldap(parsed: dict[tuple[str, ...], Any]) -> str | None:
    if not _is_mailpace(parsed.get(("smtp_options", "server"))):
        return None
    encryption = str(parsed.get(("smtp_options", "smtp_encryption"), "TLS")).upper()
    return _mode_error(int(parsed.get(("smtp_options", "port"), 587)), encryption == "TLS", encryption == "STARTTLS")


def _mattermost(parsed: dict[tuple[str, ...], Any]) -> str | None:
    def get(key: str, default: Any = None) -> Any:
        return parsed.get(("EmailSettings", key), default)

    if not _is_mailpace(get("SMTPServer")):
        return None
    if get("EnableSMTPAuth") is not True:
        return "EnableSMTPAuth is not true: Mattermost would not log in"
    security = get("ConnectionSecurity", "")
    return _mode_error(int(get("SMTPPort", 10025)), security == "TLS", security == "STARTTLS")


FORMATS = [
    Format("env", ".env", env_files, parse_env, _env_smtp_path, lambda line: _ENV_SMTP_LINE.match(line) is not None,
           _django(["", "DJANGO_", "PAPERLESS_"])),
    Format("python", "settings.py", python_files, parse_python, lambda p: p[0] in DJANGO_KEYS,
           lambda line: _PY_SMTP_LINE.match(line) is not None, _django([""])),
    Format("yaml", "application.yml", yaml_files, parse_yaml, _spring_smtp_path, _yaml_smtp_line, _spring),
    Format("ini-airflow", "airflow.cfg", airflow_files, parse_ini, _ini_smtp_path(AIRFLOW_KEYS), _ini_smtp_line(AIRFLOW_KEYS),
           _airflow),
    Format("ini-grafana", "grafana.ini", grafana_files, parse_ini, _ini_smtp_path(GRAFANA_KEYS), _ini_smtp_line(GRAFANA_KEYS),
           _grafana),
    Format("toml", "lldap_config.toml", toml_files, parse_toml,
           lambda p: p[0] == "smtp_options" and p[-1] in LLDAP_KEYS, _toml_smtp_line, _lldap),
    Format("json", "config.json", json_files, parse_json, lambda p: p[0] == "EmailSettings" and p[-1] in MM_KEYS,
           _json_smtp_line, _mattermost, _json_normalise),
    Format("properties", "application.properties", properties_files, parse_properties, _spring_smtp_path,
           _properties_smtp_line, _spring),
]
FORMAT_PARAMS = [pytest.param(f, id=f.id) for f in FORMATS]


def _body(text: str) -> str:
    return text.removeprefix("\ufeff")


def assert_only_smtp_lines_changed(fmt: Format, sample: Sample, new: str) -> None:
    """(a) and (e): every line but the SMTP keys' is byte-identical and in order, added lines
    are SMTP keys' lines, the BOM and every line's ending are kept."""
    assert new.startswith("\ufeff") == sample.text.startswith("\ufeff"), "the BOM was added or lost"
    old_lines = _split_lines(_body(sample.text))
    new_lines = _split_lines(_body(new))
    kept = [fmt.normalise(line) for i, line in enumerate(old_lines) if i not in sample.smtp_lines]
    candidates = [fmt.normalise(line) for line in new_lines]
    # The file's last line without a newline gets one when lines are added after it.
    unterminated = kept[-1] if kept and old_lines and not old_lines[-1].endswith("\n") and len(old_lines) - 1 not in sample.smtp_lines else None
    leftover: list[str] = []
    last_added = False  # the new text's last line is one the migration added
    position = 0
    for line in candidates:
        if position < len(kept) and (line == kept[position] or (position == len(kept) - 1 and kept[position] == unterminated
                                                                 and line.rstrip("\r\n") == unterminated)):
            position += 1
            last_added = False
        else:
            leftover.append(line)
            last_added = True
    assert position == len(kept), f"a line that holds no SMTP key changed or moved: {kept[position]!r}"
    added = [line for line in leftover if not fmt.is_smtp_line(line)]
    assert not added, f"lines that are not SMTP keys appeared: {added!r}"
    # (e) the newline style of every line, the last one's included
    body = _body(sample.text)
    # (a file without a final newline gains one when keys are appended after its last line:
    # test_a_file_without_a_final_newline_keeps_it_when_keys_are_appended, a strict xfail)
    appended = last_added and len(new_lines) > len(old_lines)
    assert new.endswith("\n") == body.endswith("\n") or not body or appended, "the file gained or lost its final newline"
    if "\n" in body:
        newline = "\r\n" if "\r\n" in body else "\n"
        for line in new_lines:
            if line.endswith("\n"):
                assert line.endswith(newline) and "\r" not in line[: -len(newline)], f"newline style changed: {line!r}"
            else:
                assert "\r" not in line, f"stray CR: {line!r}"


def assert_unrelated_values_kept(fmt: Format, sample: Sample, new: str) -> dict[tuple[str, ...], Any]:
    """(a), (b): the new text parses, and every key that is not an SMTP key reads as before."""
    before = fmt.parse(_body(sample.text))
    after = fmt.parse(_body(new))  # (b): raises when the new text does not parse
    unrelated_before = {p: v for p, v in before.items() if not fmt.is_smtp_path(p)}
    unrelated_after = {p: v for p, v in after.items() if not fmt.is_smtp_path(p)}
    assert unrelated_after == unrelated_before
    return after


# --------------------------------------------------------------------------------------------
# Known bugs: each has a strict-xfail regression test below. The properties reject exactly
# their signature (so everything else keeps being checked); remove an entry once it is fixed.

_PROPERTIES_MAPPING = re.compile(r"(?m)^[ \t]+[\"']?properties[\"']?[ \t]*:[ \t]*(?:#.*)?\r?$")


def known_bug(fmt_id: str, text: str, error: BaseException) -> bool:
    """Spring YAML with keys to add both in `spring.mail` and inside its `properties:` mapping
    (test_yaml_additions_in_two_mappings_*): the engine raises ValueError("additions in several
    places"), or writes the nested keys under the wrong parent / a dotted key at the wrong place
    and the rewrite does not re-parse (MM005, a blocked run)."""
    message = str(error)
    if fmt_id == "yaml" and (
        "additions in several places" in message
        or ("does not re-parse" in message and _PROPERTIES_MAPPING.search(text) is not None)
    ):
        return True
    # Lone-CR (classic Mac) line endings: lines are added with "\n" where the file's lines end
    # in "\r"; libcst rejects the Python, YAML keys land at the wrong level (MM005, blocked):
    # tests/test_fuzz.py::test_lone_cr_line_endings_*.
    return fmt_id in ("python", "yaml") and re.search(r"\r(?!\n)", text) is not None and (
        "does not re-parse" in message or "not idempotent" in message
    )


def run_or_reject(fmt_id: str, tmp: Path, text: str, **kwargs: Any) -> tuple[str, Any]:
    try:
        return run_file(tmp, text, **kwargs)
    except (ValueError, AssertionError) as exc:
        if known_bug(fmt_id, text, exc):
            reject()
        raise


def _migrate_and_check(fmt: Format, sample: Sample, secrets_file: bool, port: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        new, result = run_or_reject(fmt.id, Path(tmp), sample.text, name=fmt.name, secrets_file=secrets_file, port=port)
        again, second = run_file(Path(tmp), new, name=fmt.name, secrets_file=secrets_file, port=port)
    assert again == new, "a second run changed the file again"  # (c)
    assert not second.changed_files
    assert_only_smtp_lines_changed(fmt, sample, new)
    parsed = assert_unrelated_values_kept(fmt, sample, new)
    if not secrets_file:
        assert TOKEN not in new, "a tracked file received the token"
    if result.plans and all(p.status is Status.MIGRATE for p in result.plans) and not [f for f in result.findings if not f.fixable]:
        # A migration with nothing left for a person: the result logs in to MailPace.
        problem = fmt.consistent(parsed)
        assert problem is None, problem


@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
@_budget(60)
@given(data=st.data(), port=st.sampled_from([None, None, 587, 465, 2525, 25]))
def test_migration_changes_only_smtp_lines_reparses_and_is_stable(fmt: Format, data: st.DataObject, port: int | None) -> None:
    sample = data.draw(fmt.files(True), label="sample")
    secrets_file = fmt.id == "env" and data.draw(st.booleans(), label="secrets_file")
    _migrate_and_check(fmt, sample, secrets_file, port)


@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
@_budget(30)
@given(data=st.data())
def test_files_without_smtp_settings_are_never_touched(fmt: Format, data: st.DataObject) -> None:
    sample = data.draw(fmt.files(False), label="sample")
    fmt.parse(_body(sample.text))  # the generated file is valid for its own reader
    with tempfile.TemporaryDirectory() as tmp:
        new, result = run_file(Path(tmp), sample.text, name=fmt.name, secrets_file=data.draw(st.booleans()))
    assert new == sample.text
    assert not result.plans
    assert not result.findings, [(f.code, f.message) for f in result.findings]


@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
def test_generators_reach_a_migration(fmt: Format) -> None:
    """The generated files are configurations mailmigrate recognises: some of them migrate."""

    def migrates(sample: Sample) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            new, result = run_file(Path(tmp), sample.text, name=fmt.name, secrets_file=False)
        return new != sample.text and any(p.status is Status.MIGRATE for p in result.plans)

    find(fmt.files(True), migrates, settings=settings(max_examples=300, database=None, deadline=None, phases=[Phase.generate]))


# --------------------------------------------------------------------------------------------
# Regressions these properties found: strict xfails until the code is fixed (then drop the
# marker, and the matching entry in `known_bug`).

SPRING_NESTED_PROPERTIES_FIRST = (
    "spring:\n  mail:\n    properties:\n      mail:\n        smtp:\n          auth: true\n    host: smtp.sendgrid.net\n"
)
SPRING_NESTED_PROPERTIES_LAST = (
    "spring:\n  mail:\n    host: smtp.sendgrid.net\n    properties:\n      mail:\n        smtp:\n          auth: false\n"
)
SPRING_DOTTED_PROPERTIES_FIRST = "spring:\n  mail:\n    properties:\n      mail.smtp.auth: true\n    host: smtp.sendgrid.net\n"


def _assert_spring_yaml_migrated(tmp_path: Path, before: str, port: int | None = None) -> None:
    new, result = run_file(tmp_path, before, name="application.yml", secrets_file=False, port=port)
    parsed = parse_yaml(new)
    assert _spring(parsed) is None
    assert parsed[("spring", "mail", "username")] == parsed[("spring", "mail", "password")] == "${MAILPACE_API_TOKEN}"
    again, _ = run_file(tmp_path, new, name="application.yml", secrets_file=False, port=port)
    assert again == new


def test_yaml_additions_in_two_mappings(tmp_path: Path) -> None:
    _assert_spring_yaml_migrated(tmp_path, SPRING_NESTED_PROPERTIES_FIRST)


def test_yaml_additions_in_two_mappings_ending_on_one_line_nest_correctly(tmp_path: Path) -> None:
    _assert_spring_yaml_migrated(tmp_path, SPRING_NESTED_PROPERTIES_LAST, port=587)


def test_yaml_dotted_properties_before_the_last_key_get_the_addition_in_their_mapping(tmp_path: Path) -> None:
    _assert_spring_yaml_migrated(tmp_path, SPRING_DOTTED_PROPERTIES_FIRST)


@pytest.mark.xfail(strict=True, reason=(
    "bug: Mattermost's SMTPPort is a string (Go *string) but an added or null SMTPPort is written as the "
    "number 587; Mattermost cannot load that config.json"))
@pytest.mark.parametrize("port", ["", '    "SMTPPort": null,\n'], ids=["missing", "null"])
def test_mattermost_port_is_written_as_a_string(tmp_path: Path, port: str) -> None:
    before = '{\n  "EmailSettings": {\n' + port + '    "SMTPServer": "smtp.sendgrid.net"\n  }\n}\n'
    new, _ = run_file(tmp_path, before, name="config.json", secrets_file=False)
    assert isinstance(json.loads(new)["EmailSettings"]["SMTPPort"], str), new


NO_FINAL_NEWLINE = [
    pytest.param(".env", "EMAIL_HOST=smtp.sendgrid.net"),
    pytest.param("settings.py", "EMAIL_HOST = 'smtp.sendgrid.net'"),
    pytest.param("application.yml", "spring:\n  mail:\n    host: smtp.sendgrid.net"),
    pytest.param("application.properties", "spring.mail.host=smtp.sendgrid.net"),
    pytest.param("grafana.ini", "[smtp]\nenabled = true\nhost = smtp.sendgrid.net:587"),
    pytest.param("lldap_config.toml", '[smtp_options]\nserver = "smtp.sendgrid.net"'),  # kept, as toml.py promises
    pytest.param("airflow.cfg", "[smtp]\nsmtp_host = smtp.office365.com\nsmtp_port = 465",
                 marks=pytest.mark.xfail(strict=True, reason="bug: final newline added (the addition is not at the end of the file)")),
]


@pytest.mark.parametrize(("name", "before"), NO_FINAL_NEWLINE)
def test_a_file_without_a_final_newline_keeps_it_when_keys_are_appended(tmp_path: Path, name: str, before: str) -> None:
    """Inconsistent across handlers: toml.py keeps a missing final newline when it appends keys
    after the last line; env, Python, YAML, .properties and INI give the file one."""
    new, _ = run_file(tmp_path, before, name=name, secrets_file=False)
    assert new != before and new.count("\n") > before.count("\n")  # keys were appended
    assert not new.endswith("\n"), new
