"""Env files, family by family: no-op cases first, then fixes (pyupgrade's table style).

Each fix case also checks the two-cycle rule: planning again on the result changes nothing.
Files are secrets files (git-ignored `.env`) unless the case says `tracked`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import TOKEN, assert_migrates, assert_noop

T = TOKEN

NOOP = [
    pytest.param("EMAIL_HOST=localhost\nEMAIL_PORT=1025\n", {}, id="django-localhost"),
    pytest.param("MAIL_MAILER=smtp\nMAIL_HOST=mailpit\nMAIL_PORT=1025\nMAIL_USERNAME=null\nMAIL_PASSWORD=null\n", {}, id="laravel-mailpit"),
    pytest.param("SMTP_SERVER=mailhog\nSMTP_PORT=1025\n", {}, id="mastodon-mailhog"),
    pytest.param("SMTP_HOST=maildev_1\nSMTP_PORT=1025\n", {}, id="nodemailer-maildev-service"),
    pytest.param(
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\nEMAIL_USE_TLS=True\n",
        {}, id="django-already-mailpace",
    ),
    pytest.param(
        "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n",
        {"secrets_file": False, "name": ".env.example"}, id="template-already-mailpace",
    ),
    pytest.param(
        "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=465\nEMAIL_USE_SSL=True\nEMAIL_HOST_USER=your-api-token\nEMAIL_HOST_PASSWORD=<api token>\n",
        {"secrets_file": False, "name": ".env.sample"}, id="template-placeholders",
    ),
    pytest.param("DB_PASSWORD=hunter22\nREDIS_URL=redis://:pw@redis:6379/0\nSECRET_KEY=abc\n", {}, id="no-smtp-at-all"),
    pytest.param("SMTPD_PORT=25\nSMTPD_LISTEN=0.0.0.0\nIMAP_HOST=imap.gmail.com\n", {}, id="inbound-and-imap"),
    pytest.param("# EMAIL_HOST=smtp.gmail.com\n# EMAIL_PORT=587\n", {}, id="commented-out"),
    pytest.param("MAIL_MAILER=log\nMAIL_HOST=smtp.mailgun.org\nMAIL_PORT=587\n", {}, id="laravel-log-mailer"),
    pytest.param("MAILER_DSN=null://null\n", {}, id="symfony-null-dsn"),
    pytest.param("EMAIL_URL=consolemail://\n", {}, id="django-console-url"),
    pytest.param("GF_SMTP_ENABLED=false\nGF_SMTP_HOST=smtp.gmail.com:587\n", {}, id="grafana-disabled"),
    pytest.param("EMAIL_HOST=smtp.gmail.com  # mailmigrate: ignore[MM101]\nEMAIL_PORT=587\n", {}, id="suppressed"),
    pytest.param("EMAIL_HOST=smtp.gmail.com  # mailmigrate: ignore\nEMAIL_PORT=587\n", {}, id="suppressed-all-codes"),
    pytest.param("MAIL_HOST=127.0.0.1\nMAIL_PORT=2525\n", {}, id="laravel-loopback-placeholder"),
    pytest.param("SMTP_HOST=[::1]\nSMTP_PORT=1025\n", {"include_local": True}, id="include-local-is-only-localhost-and-127"),
    pytest.param("EMAIL_HOST=localhost\nEMAIL_PORT=1025\n", {"include_local": True}, id="include-local-leaves-a-catcher-port"),
    pytest.param(
        f"use nix\nlayout python3\nexport SMTP_HOST=smtp.mailpace.com\nexport SMTP_PORT=587\nexport SMTP_USER={T}\nexport SMTP_PASS={T}\n",
        {"name": ".envrc"}, id="direnv-shell-lines",
    ),
    pytest.param("MAILER_DSN=mailpace+api://token@default\n", {}, id="symfony-mailpace-bridge"),
]


@pytest.mark.parametrize(("before", "options"), NOOP)
def test_noop(tmp_path: Path, before: str, options: dict[str, object]) -> None:
    assert_noop(tmp_path, before, **options)


FIXES = [
    pytest.param(
        "# Mail\nEMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_HOST_USER=apikey\n"
        'EMAIL_HOST_PASSWORD="SG.aaaa.bbbb"  # rotated 2024\nDB_PASSWORD=dbsecret\n',
        f"# Mail\nEMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_HOST_USER={T}\n"
        f'EMAIL_HOST_PASSWORD="{T}"  # rotated 2024\nEMAIL_USE_TLS=True\nDB_PASSWORD=dbsecret\n',
        {}, id="django-sendgrid-adds-use-tls",
    ),
    pytest.param(
        "EMAIL_HOST=smtp.sendgrid.net\r\nEMAIL_PORT=587\r\nEMAIL_USE_TLS=True\r\nEMAIL_HOST_USER=apikey\r\nEMAIL_HOST_PASSWORD=SG.x.y\r\n",
        f"EMAIL_HOST=smtp.mailpace.com\r\nEMAIL_PORT=587\r\nEMAIL_USE_TLS=True\r\nEMAIL_HOST_USER={T}\r\nEMAIL_HOST_PASSWORD={T}\r\n",
        {}, id="django-crlf",
    ),
    pytest.param(
        "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD=SG.real.key\n",
        "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\nEMAIL_USE_TLS=True\n",
        {"secrets_file": False, "name": ".env.example"}, id="django-tracked-template-never-gets-token",
    ),
    pytest.param(
        "EMAIL_HOST=\nEMAIL_PORT=587\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n",
        "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\nEMAIL_USE_TLS=True\n",
        {"secrets_file": False, "name": ".env.example"}, id="empty-host-template-filled-in",
    ),
    pytest.param(
        "PAPERLESS_EMAIL_HOST=smtp.gmail.com\nPAPERLESS_EMAIL_PORT=465\nPAPERLESS_EMAIL_HOST_USER=me@gmail.com\n"
        "PAPERLESS_EMAIL_HOST_PASSWORD=abcd efgh ijkl\nPAPERLESS_EMAIL_USE_SSL=true\n",
        f"PAPERLESS_EMAIL_HOST=smtp.mailpace.com\nPAPERLESS_EMAIL_PORT=465\nPAPERLESS_EMAIL_HOST_USER={T}\n"
        f"PAPERLESS_EMAIL_HOST_PASSWORD={T}\nPAPERLESS_EMAIL_USE_SSL=true\n",
        {}, id="paperless-prefix-implicit-stays-465",
    ),
    pytest.param(
        "EMAIL_HOST=smtp.mailgun.org\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_USE_SSL=True\n"
        f"EMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n",
        "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_USE_SSL=False\n"
        f"EMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n",
        {}, id="django-both-flags-port-decides",
    ),
    pytest.param(
        "EMAIL_HOST=email-smtp.eu-west-1.amazonaws.com\nEMAIL_PORT=2587\nEMAIL_USE_TLS=True\n",
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n",
        {}, id="ses-port-2587-and-missing-credentials",
    ),
    pytest.param(
        "EMAIL_HOST=mail.example.org\nEMAIL_PORT=25\n",
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=25\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n",
        {}, id="no-tls-on-25-becomes-starttls-on-25",
    ),
    pytest.param(
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n",
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=465\nEMAIL_USE_TLS=False\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\nEMAIL_USE_SSL=True\n",
        {"port": 465}, id="forced-port-465-switches-flags",
    ),
    pytest.param(
        "EMAIL_HOST=smtp.ohmysmtp.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=old\nEMAIL_HOST_PASSWORD=old\n",
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n",
        {}, id="legacy-ohmysmtp-host-and-token-rotation",
    ),
    pytest.param(
        "export EMAIL_HOST='smtp.sendgrid.net' # prod relay\nexport EMAIL_PORT='587'\nexport EMAIL_HOST_USER='apikey'\nexport EMAIL_HOST_PASSWORD='SG.k'\n",
        f"export EMAIL_HOST='smtp.mailpace.com' # prod relay\nexport EMAIL_PORT='587'\nexport EMAIL_HOST_USER='{T}'\nexport EMAIL_HOST_PASSWORD='{T}'\nexport EMAIL_USE_TLS='True'\n",
        {"name": ".envrc"}, id="export-and-single-quotes-kept",
    ),
    pytest.param(
        "EMAIL_HOST = smtp.sendgrid.net\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n",
        f"EMAIL_HOST = smtp.mailpace.com\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_HOST_USER = {T}\nEMAIL_HOST_PASSWORD = {T}\n",
        {}, id="spaces-around-equals-kept",
    ),
    pytest.param(
        "SMTP_RELAY=smtp.sendgrid.net\nEMAIL_HOST=${SMTP_RELAY}\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n"
        f"EMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n",
        "SMTP_RELAY=smtp.mailpace.com\nEMAIL_HOST=${SMTP_RELAY}\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n"
        f"EMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n",
        {}, id="value-from-variable-edited-where-defined",
    ),
    # Laravel
    pytest.param(
        "APP_NAME=Shop\nMAIL_MAILER=smtp\nMAIL_HOST=smtp.sendgrid.net\nMAIL_PORT=587\nMAIL_USERNAME=apikey\n"
        'MAIL_PASSWORD=SG.x\nMAIL_ENCRYPTION=tls\nMAIL_FROM_ADDRESS="hello@example.com"\nMAIL_FROM_NAME="${APP_NAME}"\n',
        f"APP_NAME=Shop\nMAIL_MAILER=smtp\nMAIL_HOST=smtp.mailpace.com\nMAIL_PORT=587\nMAIL_USERNAME={T}\n"
        f'MAIL_PASSWORD={T}\nMAIL_ENCRYPTION=tls\nMAIL_FROM_ADDRESS="hello@example.com"\nMAIL_FROM_NAME="${{APP_NAME}}"\n',
        {}, id="laravel-sendgrid",
    ),
    pytest.param(
        "MAIL_MAILER=mailgun\nMAIL_HOST=smtp.mailgun.org\nMAIL_PORT=587\nMAIL_USERNAME=null\nMAIL_PASSWORD=null\nMAIL_ENCRYPTION=null\n",
        f"MAIL_MAILER=smtp\nMAIL_HOST=smtp.mailpace.com\nMAIL_PORT=587\nMAIL_USERNAME={T}\nMAIL_PASSWORD={T}\nMAIL_ENCRYPTION=tls\n",
        {}, id="laravel-api-mailer-and-null-words",
    ),
    pytest.param(
        "MAIL_MAILER=smtp\nMAIL_SCHEME=null\nMAIL_HOST=smtp.postmarkapp.com\nMAIL_PORT=2525\nMAIL_USERNAME=pm-token\nMAIL_PASSWORD=pm-token\n",
        "MAIL_MAILER=smtp\nMAIL_SCHEME=null\nMAIL_HOST=smtp.mailpace.com\nMAIL_PORT=2525\nMAIL_USERNAME=\nMAIL_PASSWORD=\n",
        {"secrets_file": False}, id="laravel11-scheme-null-port-decides-tracked",
    ),
    # Mastodon: two configurations in one file
    pytest.param(
        "LOCAL_DOMAIN=example.social\nSMTP_SERVER=smtp.mailgun.org\nSMTP_PORT=587\nSMTP_LOGIN=postmaster@mg.example.social\n"
        "SMTP_PASSWORD=mg-pass-1\nSMTP_AUTH_METHOD=plain\nSMTP_ENABLE_STARTTLS=auto\nSMTP_FROM_ADDRESS=notifications@example.social\n"
        "BULK_SMTP_SERVER=smtp.sparkpostmail.com\nBULK_SMTP_PORT=2525\nBULK_SMTP_LOGIN=SMTP_Injection\nBULK_SMTP_PASSWORD=sp-key\n",
        f"LOCAL_DOMAIN=example.social\nSMTP_SERVER=smtp.mailpace.com\nSMTP_PORT=587\nSMTP_LOGIN={T}\n"
        f"SMTP_PASSWORD={T}\nSMTP_AUTH_METHOD=plain\nSMTP_ENABLE_STARTTLS=auto\nSMTP_FROM_ADDRESS=notifications@example.social\n"
        f"BULK_SMTP_SERVER=smtp.mailpace.com\nBULK_SMTP_PORT=2525\nBULK_SMTP_LOGIN={T}\nBULK_SMTP_PASSWORD={T}\n",
        {"name": ".env.production"}, id="mastodon-main-and-bulk",
    ),
    pytest.param(
        "SMTP_SERVER=smtp.gmail.com\nSMTP_PORT=465\nSMTP_TLS=true\nSMTP_LOGIN=a@b.c\nSMTP_PASSWORD=app\nSMTP_AUTH_METHOD=none\n",
        f"SMTP_SERVER=smtp.mailpace.com\nSMTP_PORT=465\nSMTP_TLS=true\nSMTP_LOGIN={T}\nSMTP_PASSWORD={T}\nSMTP_AUTH_METHOD=plain\n"
        "SMTP_ENABLE_STARTTLS=never\n",
        {"name": ".env.production"}, id="mastodon-implicit-and-auth-none",
    ),
    pytest.param(
        "SMTP_SERVER=email-smtp.eu-west-1.amazonaws.com\nSMTP_PORT=465\nSMTP_ENABLE_STARTTLS=never\nSMTP_TLS=true\nSMTP_LOGIN=AKIA\nSMTP_PASSWORD=ses\n",
        f"SMTP_SERVER=smtp.mailpace.com\nSMTP_PORT=465\nSMTP_ENABLE_STARTTLS=never\nSMTP_TLS=true\nSMTP_LOGIN={T}\nSMTP_PASSWORD={T}\n",
        {"name": ".env.production"}, id="mastodon-tls-with-starttls-never-is-consistent",
    ),
    pytest.param(
        "SMTP_SERVER=smtp.example.net\nSMTP_PORT=587\nSMTP_ENABLE_STARTTLS=never\nSMTP_LOGIN=x\nSMTP_PASSWORD=y\nSMTP_FROM_ADDRESS=a@b\n",
        f"SMTP_SERVER=smtp.mailpace.com\nSMTP_PORT=587\nSMTP_ENABLE_STARTTLS=always\nSMTP_LOGIN={T}\nSMTP_PASSWORD={T}\nSMTP_FROM_ADDRESS=a@b\n",
        {"name": ".env.production"}, id="mastodon-starttls-never",
    ),
    # Discourse
    pytest.param(
        "DISCOURSE_SMTP_ADDRESS=smtp.mailgun.org\nDISCOURSE_SMTP_PORT=587\nDISCOURSE_SMTP_USER_NAME=postmaster@mg.example.com\n"
        "DISCOURSE_SMTP_PASSWORD=key-1\nDISCOURSE_SMTP_DOMAIN=example.com\n",
        f"DISCOURSE_SMTP_ADDRESS=smtp.mailpace.com\nDISCOURSE_SMTP_PORT=587\nDISCOURSE_SMTP_USER_NAME={T}\n"
        f"DISCOURSE_SMTP_PASSWORD={T}\nDISCOURSE_SMTP_DOMAIN=example.com\n",
        {}, id="discourse-starttls-default-on",
    ),
    # Ghost / Nodemailer family
    pytest.param(
        "mail__transport=SMTP\nmail__options__service=Mailgun\nmail__options__host=smtp.mailgun.org\nmail__options__port=465\n"
        "mail__options__secure=true\nmail__options__auth__user=postmaster@mg.example.com\nmail__options__auth__pass=key\n",
        "mail__transport=SMTP\nmail__options__service=\nmail__options__host=smtp.mailpace.com\nmail__options__port=465\n"
        f"mail__options__secure=true\nmail__options__auth__user={T}\nmail__options__auth__pass={T}\n",
        {}, id="ghost-service-preset-cleared",
    ),
    pytest.param(
        "mail__options__host=smtp.sendgrid.net\nmail__options__port=587\nmail__options__auth__user=apikey\nmail__options__auth__pass=SG\n",
        "mail__options__host=smtp.mailpace.com\nmail__options__port=587\nmail__options__auth__user=\nmail__options__auth__pass=\n"
        "mail__transport=SMTP\n",
        {"secrets_file": False}, id="ghost-missing-transport-added-tracked",
    ),
    pytest.param(
        "SMTP_HOST=smtp.postmarkapp.com\nSMTP_PORT=587\nSMTP_USER=pm-server-token\nSMTP_PASS=pm-server-token\n",
        f"SMTP_HOST=smtp.mailpace.com\nSMTP_PORT=587\nSMTP_USER={T}\nSMTP_PASS={T}\n",
        {}, id="nodemailer-postmark",
    ),
    pytest.param(
        "SMTP_HOST=smtp.sendgrid.net\nSMTP_PORT=587\nSMTP_USERNAME=apikey\nSMTP_PASSWORD=SG.k\nSMTP_SECURE=false\n"
        "SMTP_FROM_EMAIL=hello@example.com\n",
        f"SMTP_HOST=smtp.mailpace.com\nSMTP_PORT=587\nSMTP_USERNAME={T}\nSMTP_PASSWORD={T}\nSMTP_SECURE=false\n"
        "SMTP_FROM_EMAIL=hello@example.com\n",
        {}, id="outline-explicit-starttls",
    ),
    pytest.param(
        "SMTP_HOST=smtp.sendgrid.net\nSMTP_PORT=465\nSMTP_USERNAME=apikey\nSMTP_PASSWORD=SG.k\nSMTP_FROM_EMAIL=hello@example.com\n",
        f"SMTP_HOST=smtp.mailpace.com\nSMTP_PORT=465\nSMTP_USERNAME={T}\nSMTP_PASSWORD={T}\nSMTP_FROM_EMAIL=hello@example.com\n",
        {}, id="outline-secure-defaults-true",
    ),
    pytest.param(
        "SMTP_HOST=smtp.gmail.com\nSMTP_FROM=vault@example.com\nSMTP_PORT=465\nSMTP_SECURITY=force_tls\nSMTP_USERNAME=me@gmail.com\nSMTP_PASSWORD=app\n",
        f"SMTP_HOST=smtp.mailpace.com\nSMTP_FROM=vault@example.com\nSMTP_PORT=465\nSMTP_SECURITY=force_tls\nSMTP_USERNAME={T}\nSMTP_PASSWORD={T}\n",
        {}, id="vaultwarden-force-tls",
    ),
    pytest.param(
        "SMTP_HOST=smtp.office365.com\nSMTP_PORT=587\nSMTP_SECURITY=off\nSMTP_USERNAME=a@b.c\nSMTP_PASSWORD=p4ss\nSMTP_FROM=a@b.c\n",
        f"SMTP_HOST=smtp.mailpace.com\nSMTP_PORT=587\nSMTP_SECURITY=starttls\nSMTP_USERNAME={T}\nSMTP_PASSWORD={T}\nSMTP_FROM=a@b.c\n",
        {}, id="vaultwarden-security-off",
    ),
    pytest.param(
        "MAILER_EMAIL=plausible@example.com\nSMTP_HOST_ADDR=smtp.eu.mailgun.org\nSMTP_HOST_PORT=587\nSMTP_USER_NAME=postmaster@mg\n"
        "SMTP_USER_PWD=k\nSMTP_HOST_SSL_ENABLED=false\n",
        f"MAILER_EMAIL=plausible@example.com\nSMTP_HOST_ADDR=smtp.mailpace.com\nSMTP_HOST_PORT=587\nSMTP_USER_NAME={T}\n"
        f"SMTP_USER_PWD={T}\nSMTP_HOST_SSL_ENABLED=false\n",
        {}, id="plausible",
    ),
    pytest.param(
        "AIRFLOW__SMTP__SMTP_HOST=smtp.gmail.com\nAIRFLOW__SMTP__SMTP_PORT=587\nAIRFLOW__SMTP__SMTP_USER=a@b.c\n"
        "AIRFLOW__SMTP__SMTP_PASSWORD=app\nAIRFLOW__SMTP__SMTP_MAIL_FROM=a@b.c\n",
        f"AIRFLOW__SMTP__SMTP_HOST=smtp.mailpace.com\nAIRFLOW__SMTP__SMTP_PORT=587\nAIRFLOW__SMTP__SMTP_USER={T}\n"
        f"AIRFLOW__SMTP__SMTP_PASSWORD={T}\nAIRFLOW__SMTP__SMTP_MAIL_FROM=a@b.c\n",
        {}, id="airflow-starttls-default-on",
    ),
    pytest.param(
        "AIRFLOW_CONN_SMTP_DEFAULT=smtp://apikey:SG.k@smtp.sendgrid.net:587?disable_ssl=true\n",
        f"AIRFLOW_CONN_SMTP_DEFAULT=smtp://{T}:{T}@smtp.mailpace.com:587?disable_ssl=true\n",
        {}, id="airflow-connection-uri",
    ),
    pytest.param(
        "AIRFLOW_CONN_SMTP_DEFAULT=smtp://apikey:SG.k@smtp.sendgrid.net:587\n",
        f"AIRFLOW_CONN_SMTP_DEFAULT=smtp://{T}:{T}@smtp.mailpace.com:465\n",
        {}, id="airflow-connection-ssl-by-default-goes-465",
    ),
    pytest.param(
        "GF_SMTP_ENABLED=true\nGF_SMTP_HOST=smtp.sendgrid.net:587\nGF_SMTP_USER=apikey\nGF_SMTP_PASSWORD=\"SG.#k\"\n",
        f"GF_SMTP_ENABLED=true\nGF_SMTP_HOST=smtp.mailpace.com:587\nGF_SMTP_USER={T}\nGF_SMTP_PASSWORD=\"{T}\"\n",
        {}, id="grafana-hostport",
    ),
    pytest.param(
        "GITEA__mailer__ENABLED=true\nGITEA__mailer__PROTOCOL=smtps\nGITEA__mailer__SMTP_ADDR=smtp.gmail.com\nGITEA__mailer__SMTP_PORT=465\n"
        "GITEA__mailer__USER=git@example.com\nGITEA__mailer__PASSWD=app\nGITEA__mailer__FROM=git@example.com\n",
        "GITEA__mailer__ENABLED=true\nGITEA__mailer__PROTOCOL=smtps\nGITEA__mailer__SMTP_ADDR=smtp.mailpace.com\nGITEA__mailer__SMTP_PORT=465\n"
        f"GITEA__mailer__USER={T}\nGITEA__mailer__PASSWD={T}\nGITEA__mailer__FROM=git@example.com\n",
        {}, id="gitea-smtps",
    ),
    pytest.param(
        "SPRING_MAIL_HOST=email-smtp.eu-west-1.amazonaws.com\nSPRING_MAIL_PORT=587\nSPRING_MAIL_USERNAME=AKIA\nSPRING_MAIL_PASSWORD=ses\n"
        "SPRING_MAIL_PROPERTIES_MAIL_SMTP_STARTTLS_ENABLE=true\n",
        f"SPRING_MAIL_HOST=smtp.mailpace.com\nSPRING_MAIL_PORT=587\nSPRING_MAIL_USERNAME={T}\nSPRING_MAIL_PASSWORD={T}\n"
        "SPRING_MAIL_PROPERTIES_MAIL_SMTP_STARTTLS_ENABLE=true\nSPRING_MAIL_PROPERTIES_MAIL_SMTP_AUTH=true\n",
        {}, id="spring-adds-smtp-auth",
    ),
    pytest.param(
        "LLDAP_SMTP_OPTIONS__ENABLE_PASSWORD_RESET=true\nLLDAP_SMTP_OPTIONS__SERVER=smtp.gmail.com\nLLDAP_SMTP_OPTIONS__PORT=587\n"
        "LLDAP_SMTP_OPTIONS__SMTP_ENCRYPTION=STARTTLS\nLLDAP_SMTP_OPTIONS__USER=a@b.c\nLLDAP_SMTP_OPTIONS__PASSWORD=app\n",
        "LLDAP_SMTP_OPTIONS__ENABLE_PASSWORD_RESET=true\nLLDAP_SMTP_OPTIONS__SERVER=smtp.mailpace.com\nLLDAP_SMTP_OPTIONS__PORT=587\n"
        f"LLDAP_SMTP_OPTIONS__SMTP_ENCRYPTION=STARTTLS\nLLDAP_SMTP_OPTIONS__USER={T}\nLLDAP_SMTP_OPTIONS__PASSWORD={T}\n",
        {}, id="lldap-starttls",
    ),
    pytest.param(
        "LLDAP_SMTP_OPTIONS__SERVER=smtp.gmail.com\nLLDAP_SMTP_OPTIONS__PORT=587\nLLDAP_SMTP_OPTIONS__USER=a\nLLDAP_SMTP_OPTIONS__PASSWORD=b\n",
        "LLDAP_SMTP_OPTIONS__SERVER=smtp.mailpace.com\nLLDAP_SMTP_OPTIONS__PORT=465\n"
        f"LLDAP_SMTP_OPTIONS__USER={T}\nLLDAP_SMTP_OPTIONS__PASSWORD={T}\n",
        {}, id="lldap-default-tls-is-implicit",
    ),
    pytest.param(
        "MM_EMAILSETTINGS_SMTPSERVER=smtp.office365.com\nMM_EMAILSETTINGS_SMTPPORT=587\nMM_EMAILSETTINGS_CONNECTIONSECURITY=STARTTLS\n"
        "MM_EMAILSETTINGS_ENABLESMTPAUTH=true\nMM_EMAILSETTINGS_SMTPUSERNAME=a@b.c\nMM_EMAILSETTINGS_SMTPPASSWORD=p\n",
        "MM_EMAILSETTINGS_SMTPSERVER=smtp.mailpace.com\nMM_EMAILSETTINGS_SMTPPORT=587\nMM_EMAILSETTINGS_CONNECTIONSECURITY=STARTTLS\n"
        f"MM_EMAILSETTINGS_ENABLESMTPAUTH=true\nMM_EMAILSETTINGS_SMTPUSERNAME={T}\nMM_EMAILSETTINGS_SMTPPASSWORD={T}\n",
        {}, id="mattermost",
    ),
    pytest.param(
        "FLASK_MAIL_SERVER=smtp.gmail.com\nFLASK_MAIL_PORT=587\nFLASK_MAIL_USE_TLS=true\nFLASK_MAIL_USERNAME=a@b.c\nFLASK_MAIL_PASSWORD=p\n",
        f"FLASK_MAIL_SERVER=smtp.mailpace.com\nFLASK_MAIL_PORT=587\nFLASK_MAIL_USE_TLS=true\nFLASK_MAIL_USERNAME={T}\nFLASK_MAIL_PASSWORD={T}\n",
        {}, id="flask-from-prefixed-env",
    ),
    pytest.param(
        "REDASH_MAIL_SERVER=smtp.gmail.com\nREDASH_MAIL_PORT=587\nREDASH_MAIL_USE_TLS=true\nREDASH_MAIL_USERNAME=a@b.c\nREDASH_MAIL_PASSWORD=p\n",
        f"REDASH_MAIL_SERVER=smtp.mailpace.com\nREDASH_MAIL_PORT=587\nREDASH_MAIL_USE_TLS=true\nREDASH_MAIL_USERNAME={T}\nREDASH_MAIL_PASSWORD={T}\n",
        {}, id="redash-prefix",
    ),
    pytest.param(
        "EMAIL_SERVER=smtp.gmail.com\nEMAIL_PORT=465\nEMAIL_USERNAME=netbox@example.com\nEMAIL_PASSWORD=app\nEMAIL_USE_SSL=true\n"
        "EMAIL_USE_TLS=false\nEMAIL_FROM=netbox@example.com\n",
        f"EMAIL_SERVER=smtp.mailpace.com\nEMAIL_PORT=465\nEMAIL_USERNAME={T}\nEMAIL_PASSWORD={T}\nEMAIL_USE_SSL=true\n"
        "EMAIL_USE_TLS=false\nEMAIL_FROM=netbox@example.com\n",
        {}, id="netbox-docker",
    ),
    pytest.param(
        "MAIL_SERVER=smtp.gmail.com\nMAIL_PORT=587\nMAIL_USEAUTH=false\nMAIL_USERNAME=a@b.c\nMAIL_PASSWORD=p\nMAIL_TLS=true\n",
        f"MAIL_SERVER=smtp.mailpace.com\nMAIL_PORT=587\nMAIL_USEAUTH=true\nMAIL_USERNAME={T}\nMAIL_PASSWORD={T}\nMAIL_TLS=true\n",
        {}, id="ctfd-useauth-switched-on",
    ),
    pytest.param(
        "MAIL_SERVER=smtp.googlemail.com\nMAIL_PORT=587\nMAIL_USE_TLS=1\nMAIL_USERNAME=a@b.c\nMAIL_PASSWORD=p\n",
        f"MAIL_SERVER=smtp.mailpace.com\nMAIL_PORT=587\nMAIL_USE_TLS=1\nMAIL_USERNAME={T}\nMAIL_PASSWORD={T}\n",
        {}, id="flask-mail-bool-as-1",
    ),
    pytest.param(
        "MAIL_SERVER=smtp.googlemail.com\nMAIL_PORT=465\nMAIL_USE_SSL=on\nMAIL_USERNAME=a@b.c\nMAIL_PASSWORD=p\n",
        f"MAIL_SERVER=smtp.mailpace.com\nMAIL_PORT=587\nMAIL_USE_SSL=off\nMAIL_USERNAME={T}\nMAIL_PASSWORD={T}\nMAIL_USE_TLS=on\n",
        {"port": 587}, id="flask-mail-forced-587-keeps-on-off-spelling",
    ),
    # URLs and DSNs
    pytest.param(
        "EMAIL_URL=smtp+tls://apikey:SG.k@smtp.sendgrid.net:587\nUSER_EMAIL_URL=smtp://u:p%40ss@smtp.mailgun.org\n",
        f"EMAIL_URL=smtp+tls://{T}:{T}@smtp.mailpace.com:587\nUSER_EMAIL_URL=smtps://{T}:{T}@smtp.mailpace.com:25\n",
        {}, id="saleor-two-email-urls",
    ),
    pytest.param(
        "EMAIL_URL=smtp://u:p@smtp.mailgun.org:465?ssl=True\n",
        f"EMAIL_URL=smtp://{T}:{T}@smtp.mailpace.com:465?ssl=True\n",
        {}, id="dj-email-url-ssl-query",
    ),
    pytest.param(
        "MAILER_DSN=sendgrid+smtp://SG.key@default\n",
        f"MAILER_DSN=smtp://{T}:{T}@smtp.mailpace.com:587\n",
        {"name": ".env.local"}, id="symfony-provider-bridge",
    ),
    pytest.param(
        "###> symfony/mailer ###\nMAILER_DSN=smtp://user:pass@smtp.mailgun.org:587\n###< symfony/mailer ###\n",
        "###> symfony/mailer ###\nMAILER_DSN=smtp://smtp.mailpace.com:587\n###< symfony/mailer ###\n",
        {"secrets_file": False}, id="symfony-tracked-dsn-loses-credentials",
    ),
    # Values from variables: edited where they are defined, or in their `${VAR:-default}`.
    pytest.param(
        "EMAIL_HOST=${SMTP_HOST:-smtp.sendgrid.net}\nEMAIL_PORT=${SMTP_PORT:-587}\nEMAIL_HOST_USER=apikey\n"
        "EMAIL_HOST_PASSWORD=SG.secret123\nEMAIL_USE_TLS=True\n",
        "EMAIL_HOST=${SMTP_HOST:-smtp.mailpace.com}\nEMAIL_PORT=${SMTP_PORT:-587}\n"
        f"EMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\nEMAIL_USE_TLS=True\n",
        {}, id="default-of-undefined-variable-rewritten",
    ),
    pytest.param(
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=${{SMTP_PORT:-465}}\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\nEMAIL_USE_SSL=True\n",
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=${{SMTP_PORT:-587}}\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\nEMAIL_USE_SSL=False\n"
        "EMAIL_USE_TLS=True\n",
        {"port": 587}, id="forced-port-in-a-default",
    ),
    pytest.param(
        "EMAIL_HOST=${EMAIL_HOST:-smtp.sendgrid.net}\nEMAIL_PORT=${EMAIL_PORT:-587}\n",
        "EMAIL_HOST=${EMAIL_HOST:-smtp.mailpace.com}\nEMAIL_PORT=${EMAIL_PORT:-587}\nEMAIL_USE_TLS=True\n",
        {"secrets_file": False, "name": ".env.example"}, id="compose-self-reference-idiom",
    ),
    pytest.param(
        "EMAIL_HOST=smtp.gmail.com\nEMAIL_PORT=587\nEMAIL_HOST_USER=me@gmail.com\nEMAIL_HOST_PASSWORD=$xKq9TzPw\nEMAIL_USE_TLS=True\n",
        f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\nEMAIL_USE_TLS=True\n",
        {}, id="bare-dollar-is-literal-not-a-variable",
    ),
    pytest.param(
        "EMAIL_HOST=\nEMAIL_PORT=\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n",
        "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\nEMAIL_USE_TLS=True\n",
        {"secrets_file": False, "name": ".env.example"}, id="empty-template-gets-port-587",
    ),
    pytest.param(
        "MAIL_SERVER=smtp.googlemail.com\nMAIL_PORT=587\nMAIL_USERNAME=me@gmail.com\nMAIL_PASSWORD=gmailapppw\n",
        f"MAIL_SERVER=smtp.mailpace.com\nMAIL_PORT=587\nMAIL_USERNAME={T}\nMAIL_PASSWORD={T}\nMAIL_USE_TLS=True\n",
        {}, id="flask-not-ctfd-on-a-tie",
    ),
    # Presets instead of a host
    pytest.param(
        "mail__transport=SMTP\nmail__options__service=Mailgun\nmail__options__auth__user=pm@mg.example.com\nmail__options__auth__pass=key\n",
        f"mail__transport=SMTP\nmail__options__service=\nmail__options__auth__user={T}\nmail__options__auth__pass={T}\n"
        "mail__options__host=smtp.mailpace.com\n",
        {}, id="ghost-preset-only",
    ),
    pytest.param(
        "SMTP_SERVICE=SendGrid\nSMTP_USER=apikey\nSMTP_PASS=SG.x\n",
        f"SMTP_SERVICE=\nSMTP_USER={T}\nSMTP_PASS={T}\nSMTP_HOST=smtp.mailpace.com\n",
        {}, id="nodemailer-service-preset-only",
    ),
    pytest.param(
        "MAIL_MAILER=mailgun\nMAILGUN_DOMAIN=mg.example.com\n",
        f"MAIL_MAILER=smtp\nMAIL_HOST=smtp.mailpace.com\nMAIL_USERNAME={T}\nMAIL_PASSWORD={T}\nMAILGUN_DOMAIN=mg.example.com\n",
        {}, id="laravel-api-mailer-only",
    ),
    # Two apps sharing one env file
    pytest.param(
        "SMTP_SERVER=smtp.sendgrid.net\nSMTP_PORT=587\nSMTP_LOGIN=apikey\nSMTP_PASSWORD=SG.shared\nSMTP_FROM_ADDRESS=n@example.com\n"
        "SMTP_HOST=smtp.sendgrid.net\nSMTP_USERNAME=apikey\nSMTP_SECURE=false\nSMTP_FROM_EMAIL=o@example.com\n",
        f"SMTP_SERVER=smtp.mailpace.com\nSMTP_PORT=587\nSMTP_LOGIN={T}\nSMTP_PASSWORD={T}\nSMTP_FROM_ADDRESS=n@example.com\n"
        f"SMTP_HOST=smtp.mailpace.com\nSMTP_USERNAME={T}\nSMTP_SECURE=false\nSMTP_FROM_EMAIL=o@example.com\n",
        {}, id="mastodon-and-outline-share-keys",
    ),
    pytest.param(
        "MAIL_URL=smtps://user%40example.com:p@smtp.zoho.eu:465\n",
        f"MAIL_URL=smtps://{T}:{T}@smtp.mailpace.com:465\n",
        {}, id="meteor-mail-url",
    ),
]


@pytest.mark.parametrize(("before", "after", "options"), FIXES)
def test_fixes(tmp_path: Path, before: str, after: str, options: dict[str, object]) -> None:
    assert_migrates(tmp_path, before, after, **options)


def test_shared_key_needing_two_values_leaves_both_apps_alone(tmp_path: Path) -> None:
    # Outline's SMTP_SECURE defaults to true (implicit TLS): it wants 465 where Mastodon wants 587.
    before = (
        "SMTP_SERVER=smtp.sendgrid.net\nSMTP_PORT=587\nSMTP_LOGIN=apikey\nSMTP_PASSWORD=SG.shared\n"
        "SMTP_FROM_ADDRESS=n@example.com\nSMTP_HOST=smtp.sendgrid.net\nSMTP_USERNAME=apikey\nSMTP_FROM_EMAIL=o@example.com\n"
    )
    result = assert_noop(tmp_path, before)
    conflicts = [f for f in result.findings if f.code == "MM112"]
    assert len(conflicts) == 2 and all("SMTP_PORT" in f.message for f in conflicts)
    assert not any(f.fixable for f in conflicts)


def test_legacy_host_needs_no_new_token(tmp_path: Path) -> None:
    before = "EMAIL_HOST=smtp.ohmysmtp.com\nEMAIL_PORT=2525\nEMAIL_HOST_USER=0f6b1c7e-old\nEMAIL_HOST_PASSWORD=0f6b1c7e-old\nEMAIL_USE_TLS=True\n"
    result = assert_migrates(tmp_path, before, before.replace("smtp.ohmysmtp.com", "smtp.mailpace.com"), token=None)
    assert not result.needs_token
    assert [f.code for f in result.findings] == ["MM102"]


def test_undefined_variable_without_default_is_set_in_deployment(tmp_path: Path) -> None:
    result = assert_noop(tmp_path, "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=${SG_USER}\nEMAIL_HOST_PASSWORD=${SG_KEY}\n".replace("smtp.sendgrid.net", "smtp.mailpace.com"), secrets_file=False)
    assert any("SG_USER" in text and "deployment" in text for text in result.followups)


def test_flag_from_undefined_variable_is_reported_not_guessed(tmp_path: Path) -> None:
    before = f"EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=${{USE_TLS}}\nEMAIL_HOST_USER={T}\nEMAIL_HOST_PASSWORD={T}\n"
    result = assert_noop(tmp_path, before)
    (finding,) = [f for f in result.findings if f.code == "MM111"]
    assert finding.line == 3 and not finding.fixable
    assert "USE_TLS" in finding.message and "True" in finding.message
