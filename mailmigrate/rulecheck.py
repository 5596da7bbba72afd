"""Validation of one family rule file's data: every problem as "file: dotted.key: problem".

Kept apart from `rules.py` (which compiles and caches rules) because it only runs when a rule
file is new or changed: a warm start never imports it.
"""

from __future__ import annotations

import re
from typing import Any

from mailmigrate.model import Mode
from mailmigrate.rules import ANCHOR_ROLES, BASE_ROLES, CLIENTS, CONTAINERS, KINDS

_MODE_NAMES = tuple(m.value for m in Mode)
_FORM_FIELDS = (
    "keys", "prefixes", "markers", "secret_reference", "secret_fallback", "secret_note", "container", "needs_any",
    "scopes", "where", "env",
)

_FAMILY_FIELDS = {
    "family", "empty_values", "title", "description", "priority", "defaults", "booleans", "encryption",
    "switches", "url", "forms", "credentials", "port_mirrors",
}


def validate_family(label: str, data: Any) -> list[str]:
    """Every problem in one rule file's data, as "file: dotted.key: problem" lines."""
    errors: list[str] = []

    def err(key: str, problem: str) -> None:
        errors.append(f"{label}: {key}: {problem}")

    if not isinstance(data, dict):
        return [f"{label}: the file must be a mapping with 'family', 'title' and 'forms'"]
    for key in data:
        if key not in _FAMILY_FIELDS:
            err(str(key), f"unknown field (known: {', '.join(sorted(_FAMILY_FIELDS))})")
    for key in ("family", "title"):
        if not isinstance(data.get(key), str) or not data.get(key):
            err(key, "required, a non-empty string")
    if isinstance(data.get("family"), str) and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", data["family"]):
        err("family", "use lower-case letters, digits and dashes")
    if "priority" in data and not isinstance(data["priority"], int):
        err("priority", "must be an integer")
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        err("defaults", "must be a mapping")
    else:
        for key in defaults:
            if key not in ("port",):
                err(f"defaults.{key}", "unknown default (known: port)")
        port = defaults.get("port", 25)
        if not isinstance(port, int) or not 0 < port < 65536:
            err("defaults.port", "must be a port number")
    booleans = data.get("booleans", ["True", "False"])
    if not (isinstance(booleans, list) and len(booleans) == 2 and all(isinstance(b, str) for b in booleans)):
        err("booleans", "must be a list of two strings: how true and false are spelled")
    if "empty_values" in data and not _str_list(data["empty_values"]):
        err("empty_values", "must be a list of strings")
    if data.get("credentials", "required") not in ("required", "optional"):
        err("credentials", "must be 'required' or 'optional'")

    declared: set[str] = set()
    encryption = data.get("encryption", {})
    if not isinstance(encryption, dict):
        err("encryption", "must be a mapping")
        encryption = {}
    for key in encryption:
        if key not in ("default", "settings", "port_465_implicit", "modes"):
            err(f"encryption.{key}", "unknown field (known: default, modes, port_465_implicit, settings)")
    modes = encryption.get("modes", ["starttls"])
    if not _str_list(modes) or not modes or not set(modes) <= {"starttls", "implicit"}:
        err("encryption.modes", "must list the TLS modes the client supports: starttls, implicit")
    if encryption.get("default", "none") not in (*_MODE_NAMES, "auto"):
        err("encryption.default", f"must be one of {', '.join(_MODE_NAMES)}, auto")
    if not isinstance(encryption.get("port_465_implicit", False), bool):
        err("encryption.port_465_implicit", "must be true or false")
    settings = encryption.get("settings", {})
    if not isinstance(settings, dict):
        err("encryption.settings", "must be a mapping of setting name to its meaning")
        settings = {}
    for name, spec in settings.items():
        _validate_mode_setting(f"encryption.settings.{name}", spec, err)
        declared.add(str(name))

    switches = data.get("switches", {})
    if not isinstance(switches, dict):
        err("switches", "must be a mapping")
        switches = {}
    for name, spec in switches.items():
        _validate_switch(f"switches.{name}", spec, err)
        declared.add(str(name))
    mirrors = data.get("port_mirrors", [])
    if not _str_list(mirrors):
        err("port_mirrors", "must be a list of role names that repeat the port (socketFactory.port)")
    else:
        declared.update(mirrors)
    clash = declared & set(BASE_ROLES)
    for name in clash:
        err(f"encryption.settings.{name}", "this name is a built-in role")

    url = data.get("url")
    if url is not None:
        _validate_url(url, err)

    forms = data.get("forms")
    if not isinstance(forms, dict) or not forms:
        err("forms", "required: at least one form (for example 'env') with its keys")
        forms = {}
    known_roles = set(BASE_ROLES) | declared
    for kind, form in forms.items():
        where = f"forms.{kind}"
        if kind not in KINDS:
            err(where, f"unknown kind (known: {', '.join(KINDS)})")
            continue
        if not isinstance(form, dict):
            err(where, "must be a mapping with 'keys'")
            continue
        for key in form:
            if key not in _FORM_FIELDS:
                err(f"{where}.{key}", f"unknown field (known: {', '.join(_FORM_FIELDS)})")
        container = form.get("container", {})
        if not isinstance(container, dict) or len(container) > 1 or not all(
            k in CONTAINERS and isinstance(v, str) and v.strip() for k, v in container.items()
        ):
            err(f"{where}.container", f"must be one of {', '.join(CONTAINERS)} with a string of names")
        if container and kind != "python":
            err(f"{where}.container", "only python forms have containers")
        client = container.get("client") if isinstance(container, dict) else None
        if client is not None and client not in CLIENTS:
            err(f"{where}.container.client", f"unknown client (known: {', '.join(CLIENTS)})")
        for list_field in ("scopes",):
            if not _str_list(form.get(list_field, [])):
                err(f"{where}.{list_field}", "must be a list of dotted paths (`*` for any one key)")
        if not isinstance(form.get("where", {}), dict) or not all(isinstance(v, str) for v in form.get("where", {}).values()):
            err(f"{where}.where", "must map a key to the pattern its value must match")
        if not isinstance(form.get("env", False), bool):
            err(f"{where}.env", "must be true or false")
        if (form.get("scopes") or form.get("where") or form.get("env")) and kind in ("env", "python"):
            err(where, "scopes, where and env are for structured files (yaml, ini, toml, json, properties)")
        if form.get("env"):
            continue  # its keys are the env forms' keys
        keys = form.get("keys")
        if not isinstance(keys, dict) or not keys:
            err(f"{where}.keys", "required: a mapping of key name to role")
            continue
        roles_seen: set[str] = set()
        for key, role in keys.items():
            if not isinstance(key, str) or not key:
                err(f"{where}.keys", f"key names must be strings, got {key!r}")
            if role not in known_roles:
                err(f"{where}.keys.{key}", f"unknown role {role!r} (known: {', '.join(sorted(known_roles))})")
            roles_seen.add(str(role))
        if "url" in roles_seen and url is None:
            err(f"{where}.keys", "a key has the role 'url' but the family has no 'url' dialect")
        if not roles_seen & set(ANCHOR_ROLES):
            err(f"{where}.keys", "needs a key with role host, hostport or url")
        elif "url" not in roles_seen and not {"user", "password"} <= roles_seen:
            missing = " and ".join(r for r in ("user", "password") if r not in roles_seen)
            err(f"{where}.keys", f"needs a key with role {missing}: MailPace logs in with the API token as both")
        for list_field in ("prefixes", "markers", "needs_any"):
            value = form.get(list_field, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                err(f"{where}.{list_field}", "must be a list of strings")
        for ref_field in ("secret_reference", "secret_fallback"):
            ref = form.get(ref_field)
            if ref is not None and (not isinstance(ref, str) or ("{var}" not in ref and "{var_lower}" not in ref)):
                err(f"{where}.{ref_field}", "must be a string containing {var} (or {var_lower})")
    return errors


def _validate_mode_setting(where: str, spec: Any, err: Any) -> None:
    if not isinstance(spec, dict):
        err(where, "must be a mapping with a type and what each value means")
        return
    kind = spec.get("type")
    if kind not in ("bool", "enum"):
        err(f"{where}.type", "must be 'bool' or 'enum'")
        return
    if kind == "bool":
        allowed: tuple[str, ...] = ("type", "default", "when_true", "when_false", "starttls_only")
        for key in ("when_true", "when_false"):
            if spec.get(key) is not None and spec[key] not in _MODE_NAMES:
                err(f"{where}.{key}", f"must be one of {', '.join(_MODE_NAMES)} or null")
        if spec.get("default") is not None and not isinstance(spec["default"], bool):
            err(f"{where}.default", "must be true, false or null")
    else:
        allowed = ("type", "default", "auto", "neutral", "starttls_only", *_MODE_NAMES)
        for key in ("auto", "neutral", *_MODE_NAMES):
            if key in spec and not _str_list(spec[key]):
                err(f"{where}.{key}", "must be a list of spellings (the first one is written)")
        if spec.get("default") is not None and not isinstance(spec["default"], str):
            err(f"{where}.default", "must be a string or null")
    if not isinstance(spec.get("starttls_only", False), bool):
        err(f"{where}.starttls_only", "must be true or false")
    for key in spec:
        if key not in allowed:
            err(f"{where}.{key}", f"unknown field (known: {', '.join(allowed)})")


def _validate_switch(where: str, spec: Any, err: Any) -> None:
    if not isinstance(spec, dict):
        err(where, "must be a mapping with type, ok and write")
        return
    kind = spec.get("type")
    if kind not in ("bool", "enum"):
        err(f"{where}.type", "must be 'bool' or 'enum'")
        return
    for key in spec:
        if key not in ("type", "ok", "write", "inactive", "default", "anchor"):
            err(f"{where}.{key}", "unknown field (known: type, ok, write, inactive, default, anchor)")
    if not isinstance(spec.get("anchor", False), bool):
        err(f"{where}.anchor", "must be true or false")
    if kind == "bool":
        if not isinstance(spec.get("ok"), bool):
            err(f"{where}.ok", "must be true or false")
    else:
        if not _str_list(spec.get("ok")):
            err(f"{where}.ok", "must be a list of accepted spellings")
        if not isinstance(spec.get("write"), str):
            err(f"{where}.write", "required: the spelling to write")
    if "inactive" in spec and not _str_list(spec["inactive"]):
        err(f"{where}.inactive", "must be a list of spellings")


def _validate_url(url: Any, err: Any) -> None:
    if not isinstance(url, dict):
        err("url", "must be a mapping with 'scheme' and 'ports'")
        return
    for key in url:
        if key not in ("scheme", "ports", "query", "inactive", "provider_schemes"):
            err(f"url.{key}", "unknown field (known: scheme, ports, query, inactive, provider_schemes)")
    scheme = url.get("scheme")
    if not isinstance(scheme, dict):
        err("url.scheme", "required: spellings per mode")
    else:
        _validate_mode_setting("url.scheme", {"type": "enum", **scheme}, err)
    ports = url.get("ports", {})
    if not isinstance(ports, dict) or not all(isinstance(v, int) for v in ports.values()):
        err("url.ports", "must map scheme to default port")
    query = url.get("query", {})
    if not isinstance(query, dict):
        err("url.query", "must map a query parameter to its meaning")
    else:
        for name, spec in query.items():
            _validate_mode_setting(f"url.query.{name}", spec, err)
    if "inactive" in url and not _str_list(url["inactive"]):
        err("url.inactive", "must be a list of schemes")


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
