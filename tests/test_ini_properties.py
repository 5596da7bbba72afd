"""INI files (airflow.cfg, grafana.ini, Gitea's app.ini, CTFd's config.ini) and Java .properties
(Spring Boot): no-op cases first, then fixes (pyupgrade's table style), then what is reported.

Each fix also checks the two-cycle rule (planning again on the result changes nothing) and reads
the result back with a real reader: configparser for INI, a small `Properties.load` for
.properties. The MailPace values must be there and every other key must read as before.
Files are tracked unless a case says otherwise (INI and properties files never receive the token).
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from helpers import TOKEN, assert_migrates, assert_noop, run_file
from mailmigrate.formats import ini, properties

T = TOKEN
REF = "$__env{MAILPACE_API_TOKEN}"
SPRING_REF = "${MAILPACE_API_TOKEN}"

GRAFANA_SAMPLE = """\
#################################### SMTP / Emailing ##########################
[smtp]
;enabled = false
;host = localhost:25
;user =
# If the password contains # or ; you have to wrap it with triple quotes. Ex \"\"\"#password;\"\"\"
;password =
;cert_file =
;key_file =
;skip_verify = false
;from_address = admin@grafana.localhost
;from_name = Grafana

[emails]
;welcome_email_on_sign_up = false
"""

AIRFLOW_DEFAULT = """\
[smtp]

# If you want airflow to send emails on retries, failure, and you want to use
# the airflow.utils.email.send_email_smtp function, you have to configure an
# smtp server here
smtp_host = localhost
smtp_starttls = True
smtp_ssl = False
# Example: smtp_user = airflow
# smtp_user =
# Example: smtp_password = airflow
# smtp_password =
smtp_port = 25
smtp_mail_from = airflow@example.com
smtp_timeout = 30
smtp_retry_limit = 5
"""

NOOP = [
    pytest.param(
        "APP_NAME = Gitea\n\n[email.incoming]\nENABLED = true\nHOST = imap.gmail.com\nPORT = 993\n"
        "USERNAME = gitea@example.com\nPASSWORD = `imap-secret`\nUSE_TLS = true\n",
        {"name": "app.ini"}, id="gitea-imap-incoming",
    ),
    pytest.param(
        "[database]\ntype = postgres\nhost = db.example.com:5432\nuser = grafana\npassword = dbsecret\n\n"
        "[server]\nhttp_port = 3000\n",
        {"name": "grafana.ini"}, id="grafana-database-host-port",
    ),
    pytest.param(AIRFLOW_DEFAULT, {"name": "airflow.cfg"}, id="airflow-default-localhost"),
    pytest.param(
        "[smtp]\nenabled = true\nhost = mailpit:1025\nfrom_address = grafana@example.test\n",
        {"name": "grafana.ini"}, id="grafana-mailpit",
    ),
    pytest.param(
        f"[smtp]\nenabled = true\nhost = smtp.mailpace.com:587\nuser = {REF}\npassword = {REF}\n"
        "startTLS_policy = MandatoryStartTLS\n",
        {"name": "grafana.ini"}, id="grafana-already-mailpace",
    ),
    pytest.param(
        "[mailer]\nENABLED = true\nPROTOCOL = smtp+starttls\nSMTP_ADDR = smtp.mailpace.com\nSMTP_PORT = 587\n"
        "USER =\nPASSWD =\n",
        {"name": "app.ini"}, id="gitea-already-mailpace",
    ),
    pytest.param(
        "[smtp]\nsmtp_host = smtp.mailpace.com\nsmtp_starttls = True\nsmtp_ssl = False\nsmtp_port = 587\n",
        {"name": "airflow.cfg"}, id="airflow-already-mailpace-credentials-in-deployment",
    ),
    pytest.param(GRAFANA_SAMPLE, {"name": "grafana.ini"}, id="grafana-sample-commented-out"),
    pytest.param(
        "[core]\nexecutor = LocalExecutor\n\n[smtp]\n# smtp_host = smtp.gmail.com\n# smtp_port = 587\n; smtp_user = me\n",
        {"name": "airflow.cfg"}, id="airflow-commented-out",
    ),
    pytest.param(
        "[smtp]\nenabled = false\nhost = smtp.gmail.com:587\nuser = me@gmail.com\n",
        {"name": "grafana.ini"}, id="grafana-disabled",
    ),
    pytest.param(
        "[mailer]\nENABLED = false\nSMTP_ADDR = smtp.gmail.com\nSMTP_PORT = 465\n",
        {"name": "app.ini"}, id="gitea-mailer-disabled",
    ),
    pytest.param(
        "[smtp]\nenabled = true\nhost = smtp.gmail.com:587 ; mailmigrate: ignore[MM101]\n",
        {"name": "grafana.ini"}, id="suppressed-by-inline-comment",
    ),
    pytest.param(
        "[email]\nMAIL_SERVER = 127.0.0.1\nMAIL_PORT = 1025\n",
        {"name": "config.ini"}, id="ctfd-loopback-catcher-port",
    ),
    pytest.param(
        "[smtp]\nhost = smtp.example.com\nport = 587\nuser = app\npassword = hunter2hunter2\n",
        {"name": "config.ini"}, id="another-apps-smtp-section-is-not-grafana",
    ),
    pytest.param(
        "[tool:pytest]\naddopts = -q\n[flake8]\nmax-line-length = 100\n",
        {"name": "project.cfg"}, id="unrelated-cfg",
    ),
    # .properties
    pytest.param(
        "spring.mail.host=localhost\nspring.mail.port=1025\n", {"name": "application.properties"},
        id="spring-localhost",
    ),
    pytest.param(
        "spring.mail.host=smtp.mailpace.com\nspring.mail.port=587\n"
        f"spring.mail.username={SPRING_REF}\nspring.mail.password={SPRING_REF}\n"
        "spring.mail.properties.mail.smtp.auth=true\nspring.mail.properties.mail.smtp.starttls.enable=true\n",
        {"name": "application.properties"}, id="spring-already-mailpace",
    ),
    pytest.param(
        "# spring.mail.host=smtp.gmail.com\n! spring.mail.port=587\nserver.port=8080\n",
        {"name": "application.properties"}, id="spring-commented-out",
    ),
    pytest.param(
        "spring.datasource.url=jdbc:postgresql://db:5432/app\nspring.datasource.password=dbsecret\n"
        "mail.imap.host=imap.gmail.com\n",
        {"name": "application.properties"}, id="spring-no-smtp",
    ),
]


@pytest.mark.parametrize(("before", "options"), NOOP)
def test_noop(tmp_path: Path, before: str, options: dict[str, object]) -> None:
    assert_noop(tmp_path, before, secrets_file=False, **options)


# (before, after, options, MailPace values the reader must see: "section.key" / "dotted.key")
FIXES = [
    pytest.param(
        "[core]\ndags_folder = /opt/airflow/dags\nexecutor = LocalExecutor\n\n"
        "[smtp]\n"
        "# If you want airflow to send emails on retries, failure\n"
        "smtp_host = smtp.mailgun.org\n"
        "smtp_starttls = False\n"
        "smtp_ssl = False\n"
        "smtp_user = postmaster@mg.example.com\n"
        "smtp_password = 3kh9umujora5\n"
        "smtp_port = 2525\n"
        "smtp_mail_from = airflow@example.com\n"
        "smtp_timeout = 30\n",
        "[core]\ndags_folder = /opt/airflow/dags\nexecutor = LocalExecutor\n\n"
        "[smtp]\n"
        "# If you want airflow to send emails on retries, failure\n"
        "smtp_host = smtp.mailpace.com\n"
        "smtp_starttls = True\n"
        "smtp_ssl = False\n"
        "smtp_user =\n"
        "smtp_password =\n"
        "smtp_port = 2525\n"
        "smtp_mail_from = airflow@example.com\n"
        "smtp_timeout = 30\n",
        {"name": "airflow.cfg"},
        {"smtp.smtp_host": "smtp.mailpace.com", "smtp.smtp_starttls": "True", "smtp.smtp_user": "", "smtp.smtp_password": ""},
        id="airflow-mailgun-plain-to-starttls",
    ),
    pytest.param(
        "[smtp]\r\nsmtp_host = smtp.sendgrid.net\r\nsmtp_starttls = True\r\nsmtp_ssl = False\r\nsmtp_port = 587\r\n"
        "smtp_mail_from = airflow@example.com\r\n\r\n[webserver]\r\nbase_url = http://localhost:8080\r\n",
        "[smtp]\r\nsmtp_host = smtp.mailpace.com\r\nsmtp_starttls = True\r\nsmtp_ssl = False\r\nsmtp_port = 587\r\n"
        "smtp_mail_from = airflow@example.com\r\n\r\n[webserver]\r\nbase_url = http://localhost:8080\r\n",
        {"name": "airflow.cfg"},
        {"smtp.smtp_host": "smtp.mailpace.com"},
        id="airflow-crlf",
    ),
    pytest.param(
        "[smtp]\nsmtp_host = smtp.office365.com\nsmtp_port = 465\nsmtp_ssl = True\n",
        "[smtp]\nsmtp_host = smtp.mailpace.com\nsmtp_port = 465\nsmtp_ssl = True\nsmtp_starttls = False\n",
        {"name": "airflow.cfg"},
        {"smtp.smtp_host": "smtp.mailpace.com", "smtp.smtp_starttls": "False"},
        id="airflow-implicit-tls-turns-starttls-default-off",
    ),
    pytest.param(
        "app_mode = production\n\n"
        "[database]\ntype = postgres\nhost = db:5432\npassword = dbsecret\n\n"
        "#################################### SMTP / Emailing #####################\n"
        "[smtp]\n"
        "enabled = true\n"
        "host = smtp.sendgrid.net:587\n"
        "user = apikey\n"
        "# If the password contains # or ; you have to wrap it with triple quotes. Ex \"\"\"#password;\"\"\"\n"
        "password = \"\"\"SG.abc#def;ghi\"\"\"\n"
        ";cert_file =\n"
        "skip_verify = false\n"
        "from_address = alerts@example.com\n"
        "from_name = Grafana\n\n"
        "[emails]\nwelcome_email_on_sign_up = false\n",
        "app_mode = production\n\n"
        "[database]\ntype = postgres\nhost = db:5432\npassword = dbsecret\n\n"
        "#################################### SMTP / Emailing #####################\n"
        "[smtp]\n"
        "enabled = true\n"
        "host = smtp.mailpace.com:587\n"
        f"user = {REF}\n"
        "# If the password contains # or ; you have to wrap it with triple quotes. Ex \"\"\"#password;\"\"\"\n"
        f"password = {REF}\n"
        ";cert_file =\n"
        "skip_verify = false\n"
        "from_address = alerts@example.com\n"
        "from_name = Grafana\n\n"
        "[emails]\nwelcome_email_on_sign_up = false\n",
        {"name": "grafana.ini"},
        {"smtp.host": "smtp.mailpace.com:587", "smtp.user": REF, "smtp.password": REF},
        id="grafana-sendgrid-triple-quoted-password-becomes-env-reference",
    ),
    pytest.param(
        "[smtp]\nenabled = true\nhost = \"smtp.gmail.com:465\"\nuser = me@gmail.com\npassword = `abcd efgh ijkl mnop`\n"
        "startTLS_policy = NoStartTLS\n",
        f"[smtp]\nenabled = true\nhost = \"smtp.mailpace.com:465\"\nuser = {REF}\npassword = {REF}\n"
        "startTLS_policy = OpportunisticStartTLS\n",
        {"name": "grafana.ini"},
        {"smtp.host": "smtp.mailpace.com:465", "smtp.user": REF, "smtp.password": REF,
         "smtp.startTLS_policy": "OpportunisticStartTLS"},
        id="grafana-465-stays-implicit-quotes-kept",
    ),
    pytest.param(
        "[smtp]\nenabled=true\nhost=email-smtp.eu-west-1.amazonaws.com:25\nuser=AKIAEXAMPLE\npassword=$__env{SES_SMTP_PASSWORD}\n"
        "startTLS_policy=NoStartTLS\nfrom_address=grafana@example.com\n",
        f"[smtp]\nenabled=true\nhost=smtp.mailpace.com:25\nuser={REF}\npassword=$__env{{SES_SMTP_PASSWORD}}\n"
        "startTLS_policy=MandatoryStartTLS\nfrom_address=grafana@example.com\n",
        {"name": "grafana.ini"},
        {"smtp.host": "smtp.mailpace.com:25", "smtp.user": REF, "smtp.startTLS_policy": "MandatoryStartTLS"},
        id="grafana-no-starttls-on-25-env-password-kept",
    ),
    pytest.param(
        "APP_NAME = Gitea: Git with a cup of tea\nRUN_MODE = prod\n\n"
        "[mailer]\n"
        "ENABLED        = true\n"
        "FROM           = gitea@example.com\n"
        "PROTOCOL       = smtps\n"
        "SMTP_ADDR      = smtp.gmail.com\n"
        "SMTP_PORT      = 465\n"
        "USER           = gitea@example.com\n"
        "PASSWD         = `pa;ss#word`\n\n"
        "[email.incoming]\nENABLED = true\nHOST = imap.gmail.com\nPORT = 993\n",
        "APP_NAME = Gitea: Git with a cup of tea\nRUN_MODE = prod\n\n"
        "[mailer]\n"
        "ENABLED        = true\n"
        "FROM           = gitea@example.com\n"
        "PROTOCOL       = smtps\n"
        "SMTP_ADDR      = smtp.mailpace.com\n"
        "SMTP_PORT      = 465\n"
        "USER           =\n"
        "PASSWD         = ``\n\n"
        "[email.incoming]\nENABLED = true\nHOST = imap.gmail.com\nPORT = 993\n",
        {"name": "app.ini"},
        {"mailer.SMTP_ADDR": "smtp.mailpace.com", "mailer.USER": "", "mailer.PASSWD": ""},
        id="gitea-new-keys-smtps",
    ),
    pytest.param(
        "[mailer]\nENABLED = true\nPROTOCOL = smtp\nSMTP_ADDR = smtp.postmarkapp.com\nSMTP_PORT = 2525\nUSER = 5f1c2d0e-9b7a-4c1e-8f00-3a2b1c0d9e8f\nPASSWD = 5f1c2d0e-9b7a-4c1e-8f00-3a2b1c0d9e8f\n",
        "[mailer]\nENABLED = true\nPROTOCOL = smtp+starttls\nSMTP_ADDR = smtp.mailpace.com\nSMTP_PORT = 2525\nUSER =\nPASSWD =\n",
        {"name": "app.ini"},
        {"mailer.PROTOCOL": "smtp+starttls", "mailer.SMTP_ADDR": "smtp.mailpace.com", "mailer.USER": "", "mailer.PASSWD": ""},
        id="gitea-plain-smtp-to-starttls",
    ),
    pytest.param(
        "[mailer]\nENABLED = true\nSMTP_ADDR = smtp.sendgrid.net\nSMTP_PORT = 2587\nUSER = apikey\n",
        "[mailer]\nENABLED = true\nSMTP_ADDR = smtp.mailpace.com\nSMTP_PORT = 587\nUSER =\n",
        {"name": "app.ini"},
        {"mailer.SMTP_ADDR": "smtp.mailpace.com", "mailer.SMTP_PORT": "587", "mailer.USER": ""},
        id="gitea-odd-port-to-587",
    ),
    pytest.param(
        "[mailer]\n"
        "ENABLED        = true\n"
        "FROM           = gitea@mydomain.com\n"
        "MAILER_TYPE    = smtp\n"
        "HOST           = mail.mydomain.com:587\n"
        "IS_TLS_ENABLED = true\n"
        "USER           = gitea@mydomain.com\n"
        "PASSWD         = `password`\n",
        "[mailer]\n"
        "ENABLED        = true\n"
        "FROM           = gitea@mydomain.com\n"
        "MAILER_TYPE    = smtp\n"
        "HOST           = smtp.mailpace.com:465\n"
        "IS_TLS_ENABLED = true\n"
        "USER           =\n"
        "PASSWD         = `password`\n",
        {"name": "app.ini"},
        {"mailer.HOST": "smtp.mailpace.com:465", "mailer.USER": ""},
        id="gitea-old-keys-forced-tls-goes-to-465-placeholder-password-kept",
    ),
    pytest.param(
        "[mailer]\nENABLED = true\nHOST = smtp.gmail.com:587\nIS_TLS_ENABLED = false\n",
        "[mailer]\nENABLED = true\nHOST = smtp.mailpace.com:587\nIS_TLS_ENABLED = false\n",
        {"name": "app.ini"},
        {"mailer.HOST": "smtp.mailpace.com:587"},
        id="gitea-old-keys-starttls",
    ),
    pytest.param(
        "[server]\nSECRET_KEY =\n\n[email]\n"
        "# MAILFROM_ADDR\n# The email address that emails are sent from if not overridden in the configuration panel.\n"
        "MAILFROM_ADDR = ctf@example.com\n\n"
        "# MAIL_SERVER\n# The mail server that emails are sent from if not overriden in the configuration panel.\n"
        "MAIL_SERVER = smtp.mailgun.org\n\n"
        "# MAIL_PORT\nMAIL_PORT = 587\n\n"
        "# MAIL_USEAUTH\n# Whether or not to use username and password to authenticate to the SMTP server\n"
        "MAIL_USEAUTH = true\n\n"
        "# MAIL_USERNAME\nMAIL_USERNAME = postmaster@mg.example.com\n\n"
        "# MAIL_PASSWORD\nMAIL_PASSWORD = 0123456789abcdef\n\n"
        "# MAIL_TLS\n# Whether to connect to the SMTP server over TLS\nMAIL_TLS = true\n\n"
        "# MAIL_SSL\n# Whether to connect to the SMTP server over SSL\nMAIL_SSL = false\n\n"
        "[uploads]\nUPLOAD_PROVIDER =\n",
        "[server]\nSECRET_KEY =\n\n[email]\n"
        "# MAILFROM_ADDR\n# The email address that emails are sent from if not overridden in the configuration panel.\n"
        "MAILFROM_ADDR = ctf@example.com\n\n"
        "# MAIL_SERVER\n# The mail server that emails are sent from if not overriden in the configuration panel.\n"
        "MAIL_SERVER = smtp.mailpace.com\n\n"
        "# MAIL_PORT\nMAIL_PORT = 587\n\n"
        "# MAIL_USEAUTH\n# Whether or not to use username and password to authenticate to the SMTP server\n"
        "MAIL_USEAUTH = true\n\n"
        "# MAIL_USERNAME\nMAIL_USERNAME =\n\n"
        "# MAIL_PASSWORD\nMAIL_PASSWORD =\n\n"
        "# MAIL_TLS\n# Whether to connect to the SMTP server over TLS\nMAIL_TLS = true\n\n"
        "# MAIL_SSL\n# Whether to connect to the SMTP server over SSL\nMAIL_SSL = false\n\n"
        "[uploads]\nUPLOAD_PROVIDER =\n",
        {"name": "config.ini"},
        {"email.MAIL_SERVER": "smtp.mailpace.com", "email.MAIL_USERNAME": "", "email.MAIL_PASSWORD": ""},
        id="ctfd-mailgun",
    ),
    pytest.param(
        "[email]\nMAIL_SERVER = smtp.gmail.com\nMAIL_PORT = 465\nMAIL_SSL = True\nMAIL_USERNAME = ctf@gmail.com\n"
        "MAIL_PASSWORD =\n\n[uploads]\nUPLOAD_FOLDER =\n",
        "[email]\nMAIL_SERVER = smtp.mailpace.com\nMAIL_PORT = 465\nMAIL_SSL = True\nMAIL_USERNAME =\n"
        "MAIL_PASSWORD =\nMAIL_USEAUTH = True\n\n[uploads]\nUPLOAD_FOLDER =\n",
        {"name": "config.ini"},
        {"email.MAIL_SERVER": "smtp.mailpace.com", "email.MAIL_USEAUTH": "True", "email.MAIL_USERNAME": ""},
        id="ctfd-implicit-tls-adds-useauth-in-the-files-spelling",
    ),
    pytest.param(
        "[email]\nMAILFROM_ADDR =\nMAIL_SERVER =\nMAIL_PORT =\nMAIL_USEAUTH =\nMAIL_USERNAME =\nMAIL_PASSWORD =\n"
        "MAIL_TLS =\nMAIL_SSL =\n",
        "[email]\nMAILFROM_ADDR =\nMAIL_SERVER = smtp.mailpace.com\nMAIL_PORT = 587\nMAIL_USEAUTH = true\nMAIL_USERNAME =\n"
        "MAIL_PASSWORD =\nMAIL_TLS = true\nMAIL_SSL =\n",
        {"name": "config.ini"},
        {"email.MAIL_SERVER": "smtp.mailpace.com", "email.MAIL_PORT": "587", "email.MAIL_USEAUTH": "true", "email.MAIL_TLS": "true"},
        id="ctfd-stock-empty-section-filled-in",
    ),
    pytest.param(
        "[email]\r\nMAIL_SERVER=smtp.sendgrid.net\r\nMAIL_PORT=25\r\nMAILFROM_ADDR=ctf@example.com\r\n\r\n[logs]\r\nLOG_FOLDER=\r\n",
        "[email]\r\nMAIL_SERVER=smtp.mailpace.com\r\nMAIL_PORT=25\r\nMAIL_TLS=true\r\nMAIL_USEAUTH=true\r\n"
        "MAILFROM_ADDR=ctf@example.com\r\n\r\n[logs]\r\nLOG_FOLDER=\r\n",
        {"name": "config.ini"},
        {"email.MAIL_SERVER": "smtp.mailpace.com", "email.MAIL_TLS": "true", "email.MAIL_USEAUTH": "true"},
        id="ctfd-crlf-additions-after-the-last-setting",
    ),
    # .properties
    pytest.param(
        "server.port=8080\n"
        "spring.mail.host=smtp.gmail.com\n"
        "spring.mail.port=587\n"
        "spring.mail.username=me@gmail.com\n"
        "spring.mail.password=abcdefghijklmnop\n"
        "spring.mail.properties.mail.smtp.auth=true\n"
        "spring.mail.properties.mail.smtp.starttls.enable=true\n"
        "spring.datasource.password=dbsecret\n",
        "server.port=8080\n"
        "spring.mail.host=smtp.mailpace.com\n"
        "spring.mail.port=587\n"
        f"spring.mail.username={SPRING_REF}\n"
        f"spring.mail.password={SPRING_REF}\n"
        "spring.mail.properties.mail.smtp.auth=true\n"
        "spring.mail.properties.mail.smtp.starttls.enable=true\n"
        "spring.datasource.password=dbsecret\n",
        {"name": "application.properties"},
        {"spring.mail.host": "smtp.mailpace.com", "spring.mail.username": SPRING_REF, "spring.mail.password": SPRING_REF},
        id="spring-gmail",
    ),
    pytest.param(
        "# Mail\n"
        "spring.mail.host = smtp.sendgrid.net\n"
        "spring.mail.port = 25\n"
        "spring.mail.username = apikey\n"
        "spring.mail.password = SG.aaaa.bbbb\n"
        "\n# Logging\nlogging.level.root = INFO\n",
        "# Mail\n"
        "spring.mail.host = smtp.mailpace.com\n"
        "spring.mail.port = 25\n"
        f"spring.mail.username = {SPRING_REF}\n"
        f"spring.mail.password = {SPRING_REF}\n"
        "spring.mail.properties.mail.smtp.starttls.enable = true\n"
        "spring.mail.properties.mail.smtp.auth = true\n"
        "\n# Logging\nlogging.level.root = INFO\n",
        {"name": "application.properties"},
        {"spring.mail.host": "smtp.mailpace.com", "spring.mail.properties.mail.smtp.starttls.enable": "true",
         "spring.mail.properties.mail.smtp.auth": "true", "spring.mail.username": SPRING_REF,
         "spring.mail.password": SPRING_REF},
        id="spring-spaced-separator-adds-starttls-and-auth",
    ),
    pytest.param(
        "spring.mail.host=${SMTP_HOST:smtp.gmail.com}\n"
        "spring.mail.port=${SMTP_PORT:587}\n"
        "spring.mail.username=${SMTP_USERNAME}\n"
        "spring.mail.password=${SMTP_PASSWORD}\n"
        "spring.mail.properties.mail.smtp.auth=true\n"
        "spring.mail.properties.mail.smtp.starttls.enable=true\n",
        "spring.mail.host=${SMTP_HOST:smtp.mailpace.com}\n"
        "spring.mail.port=${SMTP_PORT:587}\n"
        "spring.mail.username=${SMTP_USERNAME}\n"
        "spring.mail.password=${SMTP_PASSWORD}\n"
        "spring.mail.properties.mail.smtp.auth=true\n"
        "spring.mail.properties.mail.smtp.starttls.enable=true\n",
        {"name": "application.properties"},
        {"spring.mail.host": "${SMTP_HOST:smtp.mailpace.com}"},
        id="spring-placeholder-default-rewritten",
    ),
    pytest.param(
        "spring.mail.host=smtp.office365.com\r\nspring.mail.port=587\r\nspring.mail.username=noreply@example.com\r\n"
        "spring.mail.password=p\\=ss\\\\word\r\nspring.mail.properties[mail.smtp.auth]=false\r\n"
        "spring.mail.properties[mail.smtp.starttls.enable]=true\r\n",
        f"spring.mail.host=smtp.mailpace.com\r\nspring.mail.port=587\r\nspring.mail.username={SPRING_REF}\r\n"
        f"spring.mail.password={SPRING_REF}\r\nspring.mail.properties[mail.smtp.auth]=true\r\n"
        "spring.mail.properties[mail.smtp.starttls.enable]=true\r\n",
        {"name": "application.properties"},
        {"spring.mail.host": "smtp.mailpace.com", "spring.mail.password": SPRING_REF,
         "spring.mail.username": SPRING_REF, "spring.mail.properties[mail.smtp.auth]": "true"},
        id="spring-crlf-brackets-escaped-password-replaced-whole",
    ),
    pytest.param(
        "spring.mail.host: smtp.gmail.com\nspring.mail.port: 465\nspring.mail.protocol: smtps\n",
        "spring.mail.host: smtp.mailpace.com\nspring.mail.port: 465\nspring.mail.protocol: smtps\n"
        "spring.mail.properties.mail.smtp.auth: true\n"
        f"spring.mail.username: {SPRING_REF}\nspring.mail.password: {SPRING_REF}\n",
        {"name": "application.properties"},
        {"spring.mail.host": "smtp.mailpace.com", "spring.mail.username": SPRING_REF,
         "spring.mail.password": SPRING_REF, "spring.mail.properties.mail.smtp.auth": "true"},
        id="spring-colon-smtps-adds-credentials-and-auth",
    ),
]


@pytest.mark.parametrize(("before", "after", "options", "wanted"), FIXES)
def test_fixes(tmp_path: Path, before: str, after: str, options: dict[str, object], wanted: dict[str, str]) -> None:
    assert_migrates(tmp_path, before, after, secrets_file=False, **options)
    name = str(options["name"])
    read = read_properties if name.endswith(".properties") else read_ini
    old, new = read(before), read(after)
    for key, value in wanted.items():
        assert new[_norm(name, key)] == value, key
    for key, value in new.items():
        if key not in {_norm(name, k) for k in wanted}:
            assert old.get(key) == value, f"{key} changed"
    assert set(old) <= set(new), "a key disappeared"


def _norm(name: str, key: str) -> str:
    return key if name.endswith(".properties") else key.lower()


def read_ini(text: str) -> dict[str, str]:
    """Every `section.key` as configparser reads it, with go-ini's quotes taken off."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string("[top]\n" + text)
    found = {}
    for section in parser.sections():
        for key, value in parser.items(section, raw=True):
            for quote in ('"""', "`", '"'):
                if len(value) >= 2 * len(quote) and value.startswith(quote) and value.endswith(quote):
                    value = value[len(quote):-len(quote)]
                    break
            found[key if section == "top" else f"{section}.{key}".lower()] = value
    return found


def read_properties(text: str) -> dict[str, str]:
    """Properties.load for single-line entries (enough for these files)."""
    found = {}
    for line in text.splitlines():
        body = line.lstrip()
        if not body or body[0] in "#!":
            continue
        at = next((i for i, c in enumerate(body) if c in "=: \t" and body[i - 1:i] != "\\"), len(body))
        key, rest = body[:at], body[at:].lstrip(" \t")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t")
        found[key] = rest.replace("\\\\", "\0").replace("\\", "").replace("\0", "\\")
    return found


# -- what is reported rather than edited ---------------------------------------------------------


def _codes(result: object) -> list[str]:
    return [f.code for f in result.findings]  # type: ignore[attr-defined]


def test_grafana_password_from_a_file_is_reported_not_replaced(tmp_path: Path) -> None:
    before = "[smtp]\nenabled = true\nhost = smtp.gmail.com:587\nuser = me@gmail.com\npassword = $__file{/run/secrets/smtp}\n"
    new, result = run_file(tmp_path, before, name="grafana.ini", secrets_file=False)
    assert "host = smtp.mailpace.com:587" in new
    assert "password = $__file{/run/secrets/smtp}" in new
    assert any("$__file" in text and "make it the MailPace API token" in text for text in result.followups)


def test_host_built_from_variables_is_reported(tmp_path: Path) -> None:
    before = "[smtp]\nenabled = true\nhost = ${SMTP_HOST}:587\nuser = x\n"
    new, result = run_file(tmp_path, before, name="grafana.ini", secrets_file=False)
    assert new == before
    assert "MM115" in _codes(result)


def test_grafana_host_from_an_undefined_variable_is_a_followup(tmp_path: Path) -> None:
    before = "[smtp]\nenabled = true\nhost = $__env{GF_HOST}\n"
    new, result = run_file(tmp_path, before, name="grafana.ini", secrets_file=False)
    assert new == before
    assert any("GF_HOST" in text for text in result.followups)


def test_continued_password_is_reported_never_edited(tmp_path: Path) -> None:
    before = (
        "[smtp]\nsmtp_host = smtp.gmail.com\nsmtp_starttls = True\nsmtp_port = 587\n"
        "smtp_user = me@gmail.com\nsmtp_password = first\n    second\nsmtp_mail_from = me@gmail.com\n"
    )
    new, result = run_file(tmp_path, before, name="airflow.cfg", secrets_file=False)
    assert "smtp_host = smtp.mailpace.com\n" in new
    assert "smtp_password = first\n    second\n" in new
    assert any("continued on indented lines" in text for text in result.followups)


def test_duplicate_key_is_a_finding_and_the_last_one_counts(tmp_path: Path) -> None:
    before = "[smtp]\nsmtp_host = localhost\nsmtp_port = 25\nsmtp_host = smtp.gmail.com\nsmtp_port = 587\n"
    new, result = run_file(tmp_path, before, name="airflow.cfg", secrets_file=False)
    dupes = [f for f in result.findings if f.code == "MM003"]
    assert [f.line for f in dupes] == [4, 5]
    assert "smtp_host = localhost\n" in new and "smtp_host = smtp.mailpace.com\n" in new


def test_unreadable_line_is_reported_and_the_file_left_alone(tmp_path: Path) -> None:
    """A line the application's reader refuses: the file is reported (product.md, Edits) and
    not edited, since the application cannot read it either."""
    before = "[smtp]\nenabled = true\nhost = smtp.gmail.com:587\nhunter2-no-key-here\n"
    new, result = run_file(tmp_path, before, name="grafana.ini", secrets_file=False)
    problems = [f for f in result.findings if f.code == "MM003"]
    assert problems and problems[0].line == 4 and "hunter2" not in problems[0].message
    assert new == before


def test_missing_key_goes_after_the_configurations_last_setting_aligned(tmp_path: Path) -> None:
    before = (
        "[mailer]\nENABLED   = true\nSMTP_ADDR = smtp.gmail.com\nSMTP_PORT = 2525\nPROTOCOL  = smtp\n"
        "FROM      = gitea@example.com\n"
    )
    after = (
        "[mailer]\nENABLED   = true\nSMTP_ADDR = smtp.mailpace.com\nSMTP_PORT = 2525\nPROTOCOL  = smtp+starttls\n"
        "FROM      = gitea@example.com\n"
    )
    assert_migrates(tmp_path, before, after, name="app.ini", secrets_file=False)
    before = "[smtp]\nsmtp_host=smtp.gmail.com\nsmtp_port=587\nsmtp_starttls=False\n"
    after = "[smtp]\nsmtp_host=smtp.mailpace.com\nsmtp_port=587\nsmtp_starttls=True\n"
    assert_migrates(tmp_path, before, after, name="airflow.cfg", secrets_file=False)
    before = "[email]\nMAIL_SERVER=smtp.gmail.com\nMAIL_PORT=587\n    # a note\nMAIL_TLS=true"
    after = "[email]\nMAIL_SERVER=smtp.mailpace.com\nMAIL_PORT=587\n    # a note\nMAIL_TLS=true\nMAIL_USEAUTH=true"
    assert_migrates(tmp_path, before, after, name="config.ini", secrets_file=False)


def test_ini_syntax_errors_never_quote_values() -> None:
    text = "APP_NAME = x\n[smtp]\nhost = a\nhunter2-line-without-equals\npassword = \"\"\"p4ssw0rd-xyz\n"
    errors = ini.HANDLER.syntax_errors(text)
    assert len(errors) >= 2
    assert not any("hunter2" in e or "p4ssw0rd" in e for e in errors)
    assert ini.HANDLER.syntax_errors("top = 1\n[smtp]\nhost = a:25 ; note\n\n[other]\nk: v\n") == []


def test_properties_syntax_errors() -> None:
    assert properties.HANDLER.syntax_errors("a=b\nc=\\u12\n") == ["a malformed \\uXXXX escape; Java cannot read the file"]
    assert properties.HANDLER.syntax_errors("a=b\\\n  c\nd e\nf\n# \\u1\n") == []


@pytest.mark.parametrize(
    ("key", "path"),
    [
        ("spring.mail.host", ("spring", "mail", "host")),
        ("spring.mail.properties[mail.smtp.auth]", ("spring", "mail", "properties", "mail", "smtp", "auth")),
    ],
)
def test_properties_key_paths(key: str, path: tuple[str, ...]) -> None:
    assert properties.key_path(key) == path


def test_spring_credential_default_becomes_a_nested_reference(tmp_path: Path) -> None:
    before = (
        "spring.mail.host=${MAIL_HOST:smtp.gmail.com}\nspring.mail.port=587\n"
        "spring.mail.username=${MAIL_USER:me@gmail.com}\nspring.mail.password=${MAIL_PASS:abcdefghijklmnop}\n"
        "spring.mail.properties.mail.smtp.auth=true\nspring.mail.properties.mail.smtp.starttls.enable=true\n"
    )
    after = (
        "spring.mail.host=${MAIL_HOST:smtp.mailpace.com}\nspring.mail.port=587\n"
        f"spring.mail.username=${{MAIL_USER:{SPRING_REF}}}\nspring.mail.password=${{MAIL_PASS:{SPRING_REF}}}\n"
        "spring.mail.properties.mail.smtp.auth=true\nspring.mail.properties.mail.smtp.starttls.enable=true\n"
    )
    result = assert_migrates(tmp_path, before, after, name="application.properties", secrets_file=False)
    assert "MM201" in _codes(result)


def test_continued_properties_value_is_reported(tmp_path: Path) -> None:
    before = "spring.mail.host=smtp.gmail.\\\n    com\nspring.mail.port=587\n"
    new, result = run_file(tmp_path, before, name="application.properties", secrets_file=False)
    assert new == before
    assert "MM115" in _codes(result)


def test_grafana_untracked_ini_still_gets_the_reference_never_the_token(tmp_path: Path) -> None:
    before = "[smtp]\nenabled = true\nhost = smtp.gmail.com:587\nuser = me\npassword = secretsecret\n"
    new, _ = run_file(tmp_path, before, name="grafana.ini", secrets_file=True)
    assert T not in new
    assert f"password = {REF}" in new


QUIRKS = """\
##################### Defaults #####################
app_mode = production
instance_name = ${HOSTNAME}

[server]
protocol = http
http_addr =
root_url = %(protocol)s://%(domain)s:%(http_port)s/
google_analytics_ua_id = \n
[security]
secret_key = SW2YcwTIb9zpOOhoPsMm
csp_template = \"\"\"script-src 'self' $NONCE;object-src 'none';connect-src ws://$ROOT_PATH\"\"\"

[ui]
; Value of `theme-color` meta tag
THEME_COLOR_META_TAG = `#192a56`

[mailer]
ENABLED       = true
PROTOCOL      = smtp+starttls
SMTP_ADDR     = smtp.gmail.com
SMTP_PORT     = 587
SENDMAIL_ARGS = "--" ; most "sendmail" programs take options
USER          = gitea@example.com
PASSWD        = \"\"\"#p;ss\"\"\"

[log]
  MODE = console
  LEVEL = Info
"""


def test_a_file_full_of_ini_quirks_reads_cleanly_and_only_the_mailer_changes(tmp_path: Path) -> None:
    assert ini.HANDLER.syntax_errors(QUIRKS) == []
    new, result = run_file(tmp_path, QUIRKS, name="app.ini", secrets_file=False)
    assert "MM003" not in _codes(result)
    assert "SMTP_ADDR     = smtp.mailpace.com\n" in new
    assert "USER          =\n" in new and 'PASSWD        = """"""\n' in new
    old, after = read_ini(QUIRKS), read_ini(new)
    changed = {key for key in after if after[key] != old.get(key)}
    assert changed == {"mailer.smtp_addr", "mailer.user", "mailer.passwd"}
    assert "SW2YcwTIb9zpOOhoPsMm" in result.sensitive  # another credential: masked in output
