"""YAML configurations (issue 5): Spring, Sentry, docker-compose, Mastodon's Helm values, GitHub
workflows, Discourse, Symfony, Home Assistant. No-op cases first, then rewrites; after each
rewrite the new text is loaded by a standard YAML loader and every value outside the SMTP keys
must equal the old one, and a second run must change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from helpers import TOKEN, assert_migrates, assert_noop, make_repo, run_file
from ruamel.yaml import YAML

from mailmigrate.engine import RunOptions, analyse
from mailmigrate.model import Mode
from mailmigrate.rules import load_ruleset


def _flat(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}.{index}")
        else:
            out[path] = value

    yaml = YAML(typ="safe", pure=True)
    yaml.constructor.add_constructor("!secret", lambda loader, node: f"!secret {node.value}")
    for index, document in enumerate(yaml.load_all(text)):
        walk(document, f"#{index}")
    return out


def _assert_only_smtp_changed(before: str, after: str, smtp_keys: set[str]) -> None:
    old, new = _flat(before), _flat(after)
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    assert all(any(k.endswith(s) for s in smtp_keys) for k in changed), sorted(changed)


NOOPS = {
    "compose-mailpit": (
        "docker-compose.yml",
        "services:\n  app:\n    environment:\n      EMAIL_HOST: mailpit\n      EMAIL_PORT: 1025\n  mailpit:\n    image: axllent/mailpit\n",
    ),
    "compose-already-mailpace": (
        "compose.yaml",
        "services:\n  vw:\n    environment:\n      SMTP_HOST: smtp.mailpace.com\n      SMTP_PORT: 587\n      SMTP_SECURITY: starttls\n"
        "      SMTP_USERNAME: ${MAILPACE_API_TOKEN}\n      SMTP_PASSWORD: ${MAILPACE_API_TOKEN}\n",
    ),
    "spring-without-mail": "application.yml",
    "ha-other-platform": (
        "configuration.yaml",
        "notify:\n  - platform: pushbullet\n    name: pb\n    api_key: !secret pb_key\n",
    ),
    "workflow-other-action": (
        "ci.yml",
        "jobs:\n  a:\n    steps:\n      - uses: some/other-mail-action@v1\n        with:\n          server_address: smtp.gmail.com\n",
    ),
    "helm-template-is-reported": (
        "templates/configmap.yaml",
        "data:\n  SMTP_SERVER: {{ .Values.mastodon.smtp.server | quote }}\n",
    ),
    "a-yaml-that-only-mentions-mail": ("mkdocs.yml", "site_name: Mail docs\nnav:\n  - SMTP: smtp.md\n"),
}
NOOPS["spring-without-mail"] = ("application.yml", "spring:\n  datasource:\n    url: jdbc:postgresql://db/app\n    password: dbpw\nserver:\n  port: 8080\n")


@pytest.mark.parametrize(("name", "before"), list(NOOPS.values()), ids=list(NOOPS))
def test_left_alone(tmp_path: Path, name: str, before: str) -> None:
    (tmp_path / "templates").mkdir()
    result = assert_noop(tmp_path, before, name=name, secrets_file=False)
    assert not [f for f in result.findings if f.fixable]


FIXES = {
    "compose-mapping-and-list-forms": (
        "docker-compose.yml",
        "services:\n  vaultwarden:\n    environment:\n      SMTP_HOST: smtp.gmail.com  # Gmail\n      SMTP_PORT: 587\n"
        "      SMTP_SECURITY: starttls\n      SMTP_USERNAME: me@gmail.com\n      SMTP_PASSWORD: \"app-pw\"\n"
        "  outline:\n    environment:\n      - SMTP_HOST=smtp.sendgrid.net\n      - SMTP_PORT=465\n      - SMTP_USERNAME=apikey\n"
        "      - \"SMTP_PASSWORD=SG.x\"\n      - SMTP_FROM_EMAIL=wiki@example.com\n  db:\n    environment:\n      POSTGRES_PASSWORD: dbpw\n",
        "services:\n  vaultwarden:\n    environment:\n      SMTP_HOST: smtp.mailpace.com  # Gmail\n      SMTP_PORT: 587\n"
        "      SMTP_SECURITY: starttls\n      SMTP_USERNAME: ${MAILPACE_API_TOKEN}\n      SMTP_PASSWORD: ${MAILPACE_API_TOKEN}\n"
        "  outline:\n    environment:\n      - SMTP_HOST=smtp.mailpace.com\n      - SMTP_PORT=465\n      - SMTP_USERNAME=${MAILPACE_API_TOKEN}\n"
        "      - \"SMTP_PASSWORD=${MAILPACE_API_TOKEN}\"\n      - SMTP_FROM_EMAIL=wiki@example.com\n  db:\n    environment:\n      POSTGRES_PASSWORD: dbpw\n",
        {"SMTP_HOST", "SMTP_USERNAME", "SMTP_PASSWORD", "environment.0", "environment.2", "environment.3"},
    ),
    "sentry-flat-keys": (
        "config.yml",
        "mail.backend: 'smtp'  # Use dummy to disable\nmail.host: 'smtp.gmail.com'\nmail.port: 587\nmail.username: 'sentry@example.com'\n"
        "mail.password: 'hunter2'\nmail.use-tls: false\n# mail.use-ssl: false\nmail.from: 'sentry@example.com'\nsystem.secret-key: 'x'\n",
        "mail.backend: 'smtp'  # Use dummy to disable\nmail.host: 'smtp.mailpace.com'\nmail.port: 587\nmail.username: ''\n"
        "mail.password: ''\nmail.use-tls: true\n# mail.use-ssl: false\nmail.from: 'sentry@example.com'\nsystem.secret-key: 'x'\n",
        {"mail.host", "mail.username", "mail.password", "mail.use-tls"},
    ),
    "sentry-missing-tls-flag-added-flat": (
        "config.yml",
        "mail.host: smtp.gmail.com\nmail.port: 587\n",
        "mail.host: smtp.mailpace.com\nmail.port: 587\nmail.use-tls: true\n",
        {"mail.host", "mail.use-tls"},
    ),
    "mastodon-helm-main-and-bulk": (
        "values.yaml",
        "mastodon:\n  smtp:\n    auth_method: plain\n    enable_starttls: 'auto'\n    port: 587\n    server: smtp.mailgun.org\n    tls: false\n"
        "    login: postmaster@mg.example.com\n    password:\n    bulk:\n      enabled: true\n      server: smtp.sendgrid.net\n"
        "      port: 465\n      tls: true\n",
        "mastodon:\n  smtp:\n    auth_method: plain\n    enable_starttls: 'auto'\n    port: 587\n    server: smtp.mailpace.com\n    tls: false\n"
        "    login: \"\"\n    password:\n    bulk:\n      enabled: true\n      server: smtp.mailpace.com\n"
        "      port: 465\n      tls: true\n      enable_starttls: never\n",
        {"server", "login", "enable_starttls"},
    ),
    "workflow-send-mail": (
        "notify.yml",
        "jobs:\n  mail:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - uses: dawidd6/action-send-mail@v3\n        with:\n          server_address: smtp.gmail.com\n          server_port: 587\n"
        "          username: ci@example.com\n          password: ${{secrets.MAIL_PASSWORD}}\n          to: team@example.com\n",
        "jobs:\n  mail:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n"
        "      - uses: dawidd6/action-send-mail@v3\n        with:\n          server_address: smtp.mailpace.com\n          server_port: 587\n"
        "          username: ${{ secrets.MAILPACE_API_TOKEN }}\n          password: ${{secrets.MAIL_PASSWORD}}\n          to: team@example.com\n",
        {"server_address", "username"},
    ),
    "home-assistant-secret": (
        "configuration.yaml",
        "notify:\n  - name: mail\n    platform: smtp\n    server: smtp.gmail.com\n    port: 465\n    encryption: tls\n"
        "    username: john@gmail.com\n    password: hunter2\n    sender: john@gmail.com\n    recipient:\n      - james@gmail.com\n",
        "notify:\n  - name: mail\n    platform: smtp\n    server: smtp.mailpace.com\n    port: 465\n    encryption: tls\n"
        "    username: !secret mailpace_api_token\n    password: !secret mailpace_api_token\n    sender: john@gmail.com\n    recipient:\n      - james@gmail.com\n",
        {"server", "username", "password"},
    ),
    "symfony-dsn": (
        "mailer.yaml",
        "framework:\n    mailer:\n        dsn: 'smtp://apikey:SG.key@smtp.sendgrid.net:587'\n",
        "framework:\n    mailer:\n        dsn: 'smtp://smtp.mailpace.com:587'\n",
        {"dsn"},
    ),
    "crlf-compose": (
        "docker-compose.yml",
        "services:\r\n  app:\r\n    environment:\r\n      EMAIL_HOST: smtp.gmail.com\r\n      EMAIL_PORT: 587\r\n      EMAIL_USE_TLS: 'True'\r\n",
        "services:\r\n  app:\r\n    environment:\r\n      EMAIL_HOST: smtp.mailpace.com\r\n      EMAIL_PORT: 587\r\n      EMAIL_USE_TLS: 'True'\r\n"
        "      EMAIL_HOST_USER: ${MAILPACE_API_TOKEN}\r\n      EMAIL_HOST_PASSWORD: ${MAILPACE_API_TOKEN}\r\n",
        {"EMAIL_HOST", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"},
    ),
}


@pytest.mark.parametrize(("name", "before", "after", "smtp_keys"), list(FIXES.values()), ids=list(FIXES))
def test_rewritten(tmp_path: Path, name: str, before: str, after: str, smtp_keys: set[str]) -> None:
    assert_migrates(tmp_path, before, after, name=name, secrets_file=False)
    _assert_only_smtp_changed(before, after, smtp_keys)


def test_compose_values_from_the_env_file_beside_it(tmp_path: Path) -> None:
    """`${SMTP_HOST}` in compose is edited where .env defines it; the ignored .env gets the token."""
    compose = (
        "services:\n  outline:\n    environment:\n      - SMTP_HOST=${SMTP_HOST}\n      - SMTP_PORT=465\n"
        "      - SMTP_USERNAME=${SMTP_USERNAME}\n      - SMTP_PASSWORD=${SMTP_PASSWORD}\n      - SMTP_FROM_EMAIL=wiki@example.com\n"
    )
    repo = make_repo(tmp_path / "r", {"docker-compose.yml": compose, ".gitignore": ".env\n"},
                     {".env": "SMTP_HOST=smtp.sendgrid.net\nSMTP_USERNAME=apikey\nSMTP_PASSWORD=SG.secret\n"})
    result = analyse([repo], load_ruleset(), RunOptions(token=TOKEN), repo)
    changed = {o.file.path.name: o.new_text for o in result.files if o.new_text is not None}
    assert changed == {".env": f"SMTP_HOST=smtp.mailpace.com\nSMTP_USERNAME={TOKEN}\nSMTP_PASSWORD={TOKEN}\n"}


REPORTS = {
    "anchor-shared-value": (
        "docker-compose.yml",
        "x-mail: &mail smtp.gmail.com\nservices:\n  a:\n    environment:\n      EMAIL_HOST: *mail\n      EMAIL_PORT: 587\n",
        "MM115", "shared through a YAML anchor",
    ),
    "block-scalar-host": (
        "docker-compose.yml",
        "services:\n  a:\n    environment:\n      EMAIL_HOST: |\n        smtp.gmail.com\n      EMAIL_PORT: 587\n",
        "MM115", "a block scalar",
    ),
    "syntax-error": ("docker-compose.yml", "services:\n  smtp: [\n    b\n", "MM003", "YAML syntax error"),
}


@pytest.mark.parametrize(("name", "before", "code", "words"), list(REPORTS.values()), ids=list(REPORTS))
def test_reported_not_edited(tmp_path: Path, name: str, before: str, code: str, words: str) -> None:
    new, result = run_file(tmp_path, before, name=name, secrets_file=False)
    assert new == before
    assert any(f.code == code and words in f.message for f in result.findings), [(f.code, f.message) for f in result.findings]


def test_multi_document_yaml_has_a_configuration_per_document(tmp_path: Path) -> None:
    text = (
        "services:\n  a:\n    environment:\n      EMAIL_HOST: smtp.gmail.com\n      EMAIL_PORT: 587\n      EMAIL_USE_TLS: 'True'\n---\n"
        "services:\n  a:\n    environment:\n      EMAIL_HOST: localhost\n      EMAIL_PORT: 1025\n"
    )
    new, result = run_file(tmp_path, text, name="compose.yaml", secrets_file=False)
    assert [p.status.value for p in result.plans] == ["migrate", "local"]
    assert new.count("smtp.mailpace.com") == 1 and "localhost" in new


def test_home_assistant_secrets_yaml_receives_the_token(tmp_path: Path) -> None:
    """`password: !secret gmail_password` is followed to the ignored secrets.yaml (found although
    git ignores it, read although it names no SMTP word), which gets the token itself."""
    config = (
        "notify:\n  - name: mail\n    platform: smtp\n    server: smtp.gmail.com\n    port: 587\n"
        "    username: !secret gmail_user\n    password: !secret gmail_password\n    sender: me@example.com\n"
    )
    repo = make_repo(tmp_path / "r", {"configuration.yaml": config, ".gitignore": "secrets.yaml\n"},
                     {"secrets.yaml": "gmail_user: me@gmail.com\ngmail_password: \"app-pw\"\nlatitude: 52.1\n"})
    result = analyse([repo], load_ruleset(), RunOptions(token=TOKEN), repo)
    changed = {o.file.path.name: o.new_text for o in result.files if o.new_text is not None}
    assert changed["secrets.yaml"] == f"gmail_user: {TOKEN}\ngmail_password: \"{TOKEN}\"\nlatitude: 52.1\n"
    assert "server: smtp.mailpace.com" in changed["configuration.yaml"]
    assert "!secret gmail_password" in changed["configuration.yaml"]


SPRING_CASES = {
    "placeholder-defaults-and-nested-additions": (
        "spring:\n  mail:\n    host: ${MAIL_HOST:smtp.sendgrid.net}\n    port: ${MAIL_PORT:587}\n    username: ${MAIL_USERNAME:apikey}\n"
        "    password: ${MAIL_PASSWORD}\n  datasource:\n    password: ${DB_PASSWORD:postgres}\n",
        "spring:\n  mail:\n    host: ${MAIL_HOST:smtp.mailpace.com}\n    port: ${MAIL_PORT:587}\n    username: ${MAIL_USERNAME:${MAILPACE_API_TOKEN}}\n"
        "    password: ${MAIL_PASSWORD}\n    properties:\n      mail:\n        smtp:\n          starttls:\n            enable: true\n"
        "          auth: true\n  datasource:\n    password: ${DB_PASSWORD:postgres}\n",
    ),
    "flat-keys-stay-flat": (
        "spring.mail.host: smtp.sendgrid.net\nspring.mail.port: 465\nspring.mail.username: apikey\nspring.mail.password: SG.key\n"
        "spring.mail.properties.mail.smtp.ssl.enable: true\n",
        "spring.mail.host: smtp.mailpace.com\nspring.mail.port: 465\nspring.mail.username: ${MAILPACE_API_TOKEN}\n"
        "spring.mail.password: ${MAILPACE_API_TOKEN}\nspring.mail.properties.mail.smtp.ssl.enable: true\n"
        "spring.mail.properties.mail.smtp.auth: true\n",
    ),
    "bracketed-map-keys": (
        "spring:\n  mail:\n    host: email-smtp.eu-west-1.amazonaws.com\n    port: 2587\n    username: ${SES_USER}\n    password: ${SES_PASS}\n"
        "    properties:\n      \"[mail.smtp.auth]\": true\n      \"[mail.smtp.starttls.enable]\": true\n",
        "spring:\n  mail:\n    host: smtp.mailpace.com\n    port: 587\n    username: ${SES_USER}\n    password: ${SES_PASS}\n"
        "    properties:\n      \"[mail.smtp.auth]\": true\n      \"[mail.smtp.starttls.enable]\": true\n",
    ),
}


@pytest.mark.parametrize(("before", "after"), list(SPRING_CASES.values()), ids=list(SPRING_CASES))
def test_spring_application_yml(tmp_path: Path, before: str, after: str) -> None:
    assert_migrates(tmp_path, before, after, name="application.yml", secrets_file=False)


def test_vaultwarden_legacy_keys_keep_implicit_tls(tmp_path: Path) -> None:
    before = (
        "services:\n  vw:\n    environment:\n      - SMTP_HOST=smtp.mailgun.org\n      - SMTP_PORT=465\n      - SMTP_SSL=true\n"
        "      - SMTP_EXPLICIT_TLS=true\n      - SMTP_USERNAME=${SMTP_USERNAME}\n      - SMTP_PASSWORD=${SMTP_PASSWORD}\n"
    )
    new, result = run_file(tmp_path, before, name="docker-compose.yml", secrets_file=False)
    assert [p.target for p in result.plans] == [(465, Mode.IMPLICIT)]
    assert "SMTP_PORT=465" in new and "SMTP_HOST=smtp.mailpace.com" in new


# --------------------------------------------------------------------------------------------
# Review regressions: each was a corrupted, blocked or silent result
# --------------------------------------------------------------------------------------------

REGRESSIONS = {
    "block-scalar-env-item-left-alone": (
        "docker-compose.yml",
        "services:\n  a:\n    environment:\n      - SMTP_HOST=smtp.gmail.com\n      - SMTP_FROM=x@y.z\n      - >-\n        SMTP_PASSWORD=Block-Secret-22\n    image: x\n",
        None,
    ),
    "compose-required-variable-stays-a-reference": (
        "docker-compose.yml",
        "services:\n  a:\n    environment:\n      SMTP_HOST: ${SMTP_HOST:?set SMTP_HOST}\n      SMTP_PORT: 587\n      SMTP_PASSWORD: $SMTP_PASSWORD\n      SMTP_FROM_EMAIL: a@b.c\n",
        None,
    ),
    "empty-credentials-get-a-space": (
        "docker-compose.yml",
        "services:\n  vw:\n    environment:\n      SMTP_HOST: smtp.gmail.com\n      SMTP_SECURITY: starttls\n      SMTP_USERNAME:\n      SMTP_PASSWORD:\n",
        "services:\n  vw:\n    environment:\n      SMTP_HOST: smtp.mailpace.com\n      SMTP_SECURITY: starttls\n"
        "      SMTP_USERNAME: ${MAILPACE_API_TOKEN}\n      SMTP_PASSWORD: ${MAILPACE_API_TOKEN}\n",
    ),
    "empty-last-key-additions-stay-in-their-mapping": (
        "application.yml",
        "spring:\n  mail:\n    host: smtp.gmail.com\n    port: 587\n    test-connection:\n  jpa:\n    open-in-view: false\n",
        "spring:\n  mail:\n    host: smtp.mailpace.com\n    port: 587\n    test-connection:\n    properties:\n      mail:\n        smtp:\n"
        "          starttls:\n            enable: true\n          auth: true\n    username: ${MAILPACE_API_TOKEN}\n"
        "    password: ${MAILPACE_API_TOKEN}\n  jpa:\n    open-in-view: false\n",
    ),
    "flow-mapping-reference-is-quoted": (
        "docker-compose.yml",
        "services:\n  vw:\n    environment: {SMTP_HOST: smtp.gmail.com, SMTP_PORT: 587, SMTP_SECURITY: starttls, SMTP_USERNAME: me, SMTP_PASSWORD: pw}\n",
        "services:\n  vw:\n    environment: {SMTP_HOST: smtp.mailpace.com, SMTP_PORT: 587, SMTP_SECURITY: starttls, "
        "SMTP_USERNAME: \"${MAILPACE_API_TOKEN}\", SMTP_PASSWORD: \"${MAILPACE_API_TOKEN}\"}\n",
    ),
    "anchor-without-alias-is-edited-after-the-anchor": (
        "config.yml",
        "mail.host: &h smtp.gmail.com\nmail.port: 587\nmail.use-tls: true\n",
        "mail.host: &h smtp.mailpace.com\nmail.port: 587\nmail.use-tls: true\n",
    ),
    "utf8-bom-yaml-is-read": (
        "config.yml",
        "\ufeffmail.host: smtp.gmail.com\nmail.port: 587\nmail.use-tls: true\n",
        "\ufeffmail.host: smtp.mailpace.com\nmail.port: 587\nmail.use-tls: true\n",
    ),
}


@pytest.mark.parametrize(("name", "before", "after"), list(REGRESSIONS.values()), ids=list(REGRESSIONS))
def test_review_regressions(tmp_path: Path, name: str, before: str, after: str | None) -> None:
    if after is None:
        new, result = run_file(tmp_path, before, name=name, secrets_file=False)
        _flat(new)  # still YAML
        if "Block-Secret-22" in before:  # the block item is never touched; what to do is said
            assert "      - >-\n        SMTP_PASSWORD=Block-Secret-22\n" in new
            assert any("SMTP_PASSWORD" in f for p in result.plans for f in p.followups)
        else:  # references stay references: the variables are set in deployment
            assert "${SMTP_HOST:?set SMTP_HOST}" in new and "SMTP_PASSWORD: $SMTP_PASSWORD" in new
    else:
        assert_migrates(tmp_path, before, after, name=name, secrets_file=False)


def test_flow_mapping_that_needs_a_key_is_reported(tmp_path: Path) -> None:
    before = "services:\n  vw:\n    environment: {SMTP_HOST: smtp.gmail.com, SMTP_PORT: 587}\n"
    new, result = run_file(tmp_path, before, name="docker-compose.yml", secrets_file=False)
    assert new == before
    assert any("flow style" in f.message for f in result.findings)


def test_alias_bomb_is_read_in_linear_time(tmp_path: Path) -> None:
    """Each alias of a collection is walked once: ten levels of ten-fold aliases stay small."""
    lines = ["spring:", "  mail:", "    host: smtp.gmail.com", 'a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    _, result = run_file(tmp_path, "\n".join(lines) + "\n", name="application.yml", secrets_file=False)
    assert [p.configuration.family.name for p in result.plans] == ["spring"]


def test_syntax_errors_never_quote_the_file(tmp_path: Path) -> None:
    _, result = run_file(tmp_path, "spring:\n  mail:\n    host: smtp.gmail.com\n    password: *Secr3tPw9\n",
                         name="application.yml", secrets_file=False)
    messages = [f.message for f in result.findings if f.code == "MM003"]
    assert messages and all("Secr3tPw9" not in m for m in messages)


def test_duplicate_keys_are_reported(tmp_path: Path) -> None:
    before = "spring:\n  mail:\n    host: localhost\n    host: smtp.gmail.com\n"
    new, result = run_file(tmp_path, before, name="application.yml", secrets_file=False)
    assert new == before and any(f.code == "MM003" and "twice" in f.message for f in result.findings)


def test_vaultwarden_legacy_migration_passes_check_afterwards(tmp_path: Path) -> None:
    before = "SMTP_HOST=smtp.mailgun.org\nSMTP_PORT=465\nSMTP_SSL=true\nSMTP_EXPLICIT_TLS=true\nSMTP_USERNAME=u\nSMTP_PASSWORD=p\nSMTP_FROM=v@example.com\n"
    new, result = run_file(tmp_path, before, name=".env")
    again, second = run_file(tmp_path, new, name=".env")
    assert again == new and not second.findings, [(f.code, f.message) for f in second.findings]


SOCKET_FACTORY = (
    "spring:\n  mail:\n    host: email-smtp.eu-west-1.amazonaws.com\n    port: 2465\n    username: ${SES_USER}\n    password: ${SES_PASS}\n"
    "    properties:\n      mail:\n        smtp:\n          auth: true\n          ssl:\n            enable: true\n"
    "          socketFactory:\n            port: 2465\n            class: javax.net.ssl.SSLSocketFactory\n"
)


def test_spring_socket_factory_follows_the_port(tmp_path: Path) -> None:
    """JavaMail's socketFactory.port repeats the port: left at 2465 it would dial MailPace there."""
    after = SOCKET_FACTORY.replace("email-smtp.eu-west-1.amazonaws.com", "smtp.mailpace.com").replace("2465", "465")
    assert_migrates(tmp_path, SOCKET_FACTORY, after, name="application.yml", secrets_file=False)


def test_spring_socket_factory_switched_off_for_starttls(tmp_path: Path) -> None:
    """--port 587: the SSL socket factory becomes the plain one, ssl.enable false, STARTTLS on."""
    new, _ = run_file(tmp_path, SOCKET_FACTORY, name="application.yml", secrets_file=False, port=587)
    values = _flat(new)
    assert values["#0.spring.mail.port"] == 587
    assert values["#0.spring.mail.properties.mail.smtp.socketFactory.port"] == 587
    assert values["#0.spring.mail.properties.mail.smtp.socketFactory.class"] == "javax.net.SocketFactory"
    assert values["#0.spring.mail.properties.mail.smtp.ssl.enable"] is False
    assert values["#0.spring.mail.properties.mail.smtp.starttls.enable"] is True


def test_action_send_mail_connection_url(tmp_path: Path) -> None:
    """`smtp+starttls://` is the action's implicit TLS on 465; the credentials become the secret."""
    before = (
        "jobs:\n  mail:\n    steps:\n      - uses: dawidd6/action-send-mail@v3\n        with:\n"
        "          connection_url: smtp+starttls://user:pa55word@smtp.gmail.com:465\n"
    )
    after = before.replace(
        "smtp+starttls://user:pa55word@smtp.gmail.com:465",
        '"smtp+starttls://${{ secrets.MAILPACE_API_TOKEN }}:${{ secrets.MAILPACE_API_TOKEN }}@smtp.mailpace.com:465"',
    )
    result = assert_migrates(tmp_path, before, after, name="mail.yml", secrets_file=False)
    assert any(f.code == "MM201" for f in result.findings)


def test_flat_keys_are_added_after_the_configurations_last_key(tmp_path: Path) -> None:
    before = "mail.host: smtp.gmail.com\nmail.port: 587\nsystem.secret-key: x\nredis.clusters: {}\n"
    after = "mail.host: smtp.mailpace.com\nmail.port: 587\nmail.use-tls: true\nsystem.secret-key: x\nredis.clusters: {}\n"
    assert_migrates(tmp_path, before, after, name="config.yml", secrets_file=False)


def test_sender_that_is_the_username_secret_is_reported(tmp_path: Path) -> None:
    """Home Assistant's `sender: !secret gmx_username` is the username's secret: once that holds
    the token, the token would be the From address (MM202, a person picks an address)."""
    before = (
        "notify:\n  - platform: smtp\n    server: mail.gmx.net\n    port: 465\n    encryption: tls\n"
        "    sender: !secret gmx_username\n    username: !secret gmx_username\n    password: !secret gmx_password\n"
    )
    _, result = run_file(tmp_path, before, name="configuration.yaml", secrets_file=False)
    assert [(f.code, f.fixable) for f in result.findings if f.code == "MM202"] == [("MM202", False)]


def test_a_tracked_secrets_yaml_gets_empty_credentials_not_nested_references(tmp_path: Path) -> None:
    """Home Assistant's secrets.yaml holds values; `!secret` cannot nest. Tracked by git, it
    never receives the token: its SMTP credentials are emptied with a follow-up, and the run
    stays idempotent (it once wrote `smtp_password: !secret mailpace_api_token` there)."""
    from helpers import make_repo, rules

    from mailmigrate.engine import RunOptions, analyse

    repo = make_repo(tmp_path / "ha", {
        "configuration.yaml": "notify:\n  - name: mail\n    platform: smtp\n    server: smtp.gmail.com\n    port: 587\n"
        "    encryption: starttls\n    username: !secret smtp_username\n    password: !secret smtp_password\n"
        "    sender: home@example.com\n    recipient: a@example.com\n",
        "secrets.yaml": 'smtp_username: "home@gmail.com"\nsmtp_password: "abcd efgh ijkl mnop"\nmqtt_password: "mq77"\n',
    })
    result = analyse([repo], rules(), RunOptions(token="tok-0123456789"))
    assert not result.blocked, [f.message for f in result.findings if f.code == "MM005"]
    texts = {o.file.path.name: o.new_text for o in result.files if o.changed}
    assert texts["secrets.yaml"] == 'smtp_username: ""\nsmtp_password: ""\nmqtt_password: "mq77"\n'
    assert "username: !secret smtp_username" in texts["configuration.yaml"]
    assert any("smtp_password" in f for f in result.followups)
