"""Rule files: validated up front with every error named by file and key; compiled and cached."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailmigrate.rules import RuleError, default_rules_dir, load_ruleset

GOOD = """\
family: demo
title: Demo
defaults: {port: 25}
encryption:
  default: none
  settings:
    use_tls: {type: bool, when_true: starttls, default: false}
forms:
  env:
    keys:
      DEMO_HOST: host
      DEMO_USE_TLS: use_tls
      DEMO_USER: user
      DEMO_PASSWORD: password
"""


def _load(tmp_path: Path, **files: str) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    load_ruleset(tmp_path)


def test_shipped_rules_are_valid() -> None:
    rules = load_ruleset()
    names = {f.name for f in rules.families}
    assert {"django", "laravel", "mastodon", "spring", "grafana", "symfony-mailer"} <= names
    assert len(list(default_rules_dir().glob("*.yaml"))) == len(rules.families)


def test_one_file_per_family_and_every_env_key_is_found_by_the_keyword_pass() -> None:
    rules = load_ruleset()
    pattern = rules.keyword_pattern("env")
    for family in rules.for_kind("env"):
        form = family.form("env")
        for prefix in form.prefixes:
            for key in form.keys:
                assert pattern.search((prefix + key).encode()), (family.name, prefix + key)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(GOOD.replace("DEMO_HOST: host", "DEMO_HOST: hots"), "bad.yaml: forms.env.keys.DEMO_HOST: unknown role 'hots'", id="unknown-role"),
        pytest.param(GOOD + "colour: blue\n", "bad.yaml: colour: unknown field", id="unknown-field"),
        pytest.param(GOOD.replace("when_true: starttls", "when_true: startls"), "bad.yaml: encryption.settings.use_tls.when_true: must be one of", id="bad-mode"),
        pytest.param(GOOD.replace("default: none", "default: sometimes"), "bad.yaml: encryption.default: must be one of", id="bad-default-mode"),
        pytest.param("family: demo\ntitle: Demo\n", "bad.yaml: forms: required", id="no-forms"),
        pytest.param(GOOD.replace("env:", "xml:"), "bad.yaml: forms.xml: unknown kind", id="unknown-kind"),
        pytest.param(GOOD.replace("port: 25", "port: 99999"), "bad.yaml: defaults.port: must be a port number", id="bad-port"),
        pytest.param(GOOD.replace("      DEMO_HOST: host\n", ""), "bad.yaml: forms.env.keys: needs a key with role host, hostport or url", id="no-anchor"),
        pytest.param("family: [unclosed\n", "bad.yaml: not valid YAML", id="invalid-yaml"),
        pytest.param("- a list\n", "bad.yaml: the file must be a mapping", id="not-a-mapping"),
        pytest.param(GOOD.replace("family: demo", "family: Demo Family"), "bad.yaml: family: use lower-case", id="bad-name"),
    ],
)
def test_errors_name_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(RuleError) as caught:
        _load(tmp_path, **{"bad.yaml": text})
    assert any(line.startswith(expected) for line in caught.value.errors), caught.value.errors


def test_every_error_of_every_file_is_collected(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        _load(
            tmp_path,
            **{
                "a.yaml": GOOD.replace("DEMO_HOST: host", "DEMO_HOST: nope") + "extra: 1\n",
                "b.yaml": "family: b\n",
            },
        )
    errors = caught.value.errors
    assert any(e.startswith("a.yaml: forms.env.keys.DEMO_HOST") for e in errors)
    assert any(e.startswith("a.yaml: extra") for e in errors)
    assert any(e.startswith("b.yaml: title") for e in errors)
    assert any(e.startswith("b.yaml: forms") for e in errors)


def test_a_form_without_credential_keys_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="needs a key with role user and password"):
        _load(tmp_path, **{"a.yaml": GOOD.replace("      DEMO_USER: user\n      DEMO_PASSWORD: password\n", "")})


def test_duplicate_family_names(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="already defined in a.yaml"):
        _load(tmp_path, **{"a.yaml": GOOD, "b.yaml": GOOD})


def test_cache_is_keyed_on_content(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    monkeypatch.setenv("MAILMIGRATE_CACHE_DIR", str(tmp_path / "cache"))
    (rules_dir / "demo.yaml").write_text(GOOD)
    first = load_ruleset(rules_dir)
    assert list((tmp_path / "cache").glob("rules-*.json"))
    assert load_ruleset(rules_dir) == first
    # An edited rule file is validated again, never served stale from the cache.
    (rules_dir / "demo.yaml").write_text(GOOD.replace("DEMO_HOST: host", "DEMO_HOST: hots"))
    with pytest.raises(RuleError):
        load_ruleset(rules_dir)


def test_unwritable_cache_only_costs_speed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MAILMIGRATE_CACHE_DIR", str(blocker / "cache"))
    assert load_ruleset().families
