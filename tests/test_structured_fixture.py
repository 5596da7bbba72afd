"""Issue 5, "Proof": the structured-configs scenario (fixtures/structured-configs, ~28 realistic
files modelled on public projects: Spring, Sentry, Home Assistant, Mastodon's Helm chart,
Discourse, Symfony, Airflow, Grafana, Gitea, CTFd, lldap, Mattermost, Ghost, Vaultwarden,
Outline, a GitHub workflow, and files that must not change) is migrated by test_fixtures.py.
Here every migrated file is read back by its standard parser: it still parses, the MailPace
values are in place, and every value outside the SMTP keys equals the one before."""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

SCENARIO = Path(__file__).resolve().parent.parent / "fixtures" / "structured-configs"
# Keys an SMTP migration may change (host, port, credentials, TLS flags, presets).
SMTP_KEY = re.compile(
    r"(?i)(smtp|mail|host|server|port|user|login|pass|secure|tls|ssl|security|dsn|url|service|encryption|auth)[^.]*$"
)


def _flatten(value: Any, path: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else str(key), out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{path}.{index}", out)
    else:
        out[path] = value


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    out: dict[str, Any] = {}
    name = path.name
    if name.endswith((".yml", ".yaml")):
        yaml = YAML(typ="safe", pure=True)
        yaml.constructor.add_constructor("!secret", lambda loader, node: f"!secret {node.value}")
        yaml.constructor.add_constructor("!include", lambda loader, node: f"!include {node.value}")
        for index, document in enumerate(yaml.load_all(text)):
            _flatten(document, f"#{index}", out)
    elif name.endswith((".ini", ".cfg")):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        parser.read_string("[__top__]\n" + text)
        _flatten({s: dict(parser[s]) for s in parser.sections()}, "", out)
    elif name.endswith(".toml"):
        _flatten(tomllib.loads(text), "", out)
    elif name.endswith(".json"):
        _flatten(json.loads(text), "", out)
    elif name.endswith(".properties"):
        for line in text.splitlines():
            if line.strip() and not line.lstrip().startswith(("#", "!")) and "=" in line:
                key, _, value = line.partition("=")
                out[key.strip()] = value.strip()
    return out


STRUCTURED = sorted(
    p.relative_to(SCENARIO / "input").as_posix()
    for p in (SCENARIO / "input").rglob("*")
    if p.is_file() and p.suffix in (".yml", ".yaml", ".ini", ".cfg", ".toml", ".json", ".properties")
)


@pytest.mark.parametrize("rel", STRUCTURED)
def test_migrated_file_reads_back_with_only_smtp_values_changed(rel: str) -> None:
    before = _read(SCENARIO / "input" / rel)
    after = _read(SCENARIO / "expected" / rel)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))

    def smtp_value(key: str) -> bool:
        # compose's `- SMTP_HOST=...` list items: the variable name says what the item is
        item = str(after.get(key, before.get(key, "")))
        return bool(SMTP_KEY.search(key) or SMTP_KEY.search(item.partition("=")[0]))

    assert all(smtp_value(k) for k in changed), changed
    hosts = [k for k in changed if re.search(r"(?i)(host|server|address|dsn)", k + str(after.get(k, "")))]
    if hosts:  # a host moved: it moved to MailPace
        assert "smtp.mailpace.com" in (SCENARIO / "expected" / rel).read_text(encoding="utf-8")


def test_files_that_are_not_outgoing_smtp_stay_byte_identical() -> None:
    for rel in ("discourse/mail-receiver.yml", "ntfy/server.yml", "authelia/configuration.yml"):
        assert (SCENARIO / "input" / rel).read_bytes() == (SCENARIO / "expected" / rel).read_bytes(), rel
