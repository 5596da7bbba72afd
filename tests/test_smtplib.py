"""smtplib connections and logging.SMTPHandler calls: before/after tables (issue 4).

No-op cases first (local servers, already-MailPace code, smtplib only in comments and strings,
LMTP, other libraries), then the rewrites -- each one re-parsed and planned again to prove it
is idempotent -- then what is reported instead of guessed. The scripts in tests/smtplib_scripts
are migrated and executed for real in test_smtplib_e2e.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import assert_migrates, assert_noop, run_file

TOKEN_REF = 'os.environ["MAILPACE_API_TOKEN"]'


def _tracked(**kwargs: object) -> dict[str, object]:
    return {"name": "mail.py", "secrets_file": False, **kwargs}


# --------------------------------------------------------------------------------------------
# Left alone
# --------------------------------------------------------------------------------------------

NOOPS = {
    "localhost-catcher": 'import smtplib\n\nwith smtplib.SMTP("localhost", 1025) as s:\n    s.send_message(msg)\n',
    "mailpit-constant": 'import smtplib\n\nHOST = "mailpit"\nserver = smtplib.SMTP(HOST, 1025)\nserver.sendmail(a, b, c)\n',
    "already-mailpace": (
        'import os\nimport smtplib\n\nwith smtplib.SMTP("smtp.mailpace.com", 587) as s:\n    s.starttls()\n'
        '    s.login(os.environ["MAILPACE_API_TOKEN"], os.environ["MAILPACE_API_TOKEN"])\n    s.send_message(msg)\n'
    ),
    "already-mailpace-ssl-constant-token": (
        'import os\nfrom smtplib import SMTP_SSL\n\nTOKEN = os.environ["MAILPACE_API_TOKEN"]\n'
        'with SMTP_SSL("smtp.mailpace.com", 465) as s:\n    s.login(TOKEN, TOKEN)\n'
    ),
    "already-mailpace-handler": (
        "import os\nfrom logging.handlers import SMTPHandler\n\nT = os.environ['MAILPACE_API_TOKEN']\n"
        "h = SMTPHandler(('smtp.mailpace.com', 587), 'a@example.com', ['b@example.com'], 'x', (T, T), ())\n"
    ),
    "only-in-comments-and-strings": (
        '# We used to call smtplib.SMTP("smtp.gmail.com", 587) here.\n'
        "HELP = \"smtplib.SMTP('smtp.sendgrid.net', 587) is not used any more\"\n"
    ),
    "only-in-a-docstring": '"""Sends mail with smtplib.SMTP_SSL("smtp.gmail.com", 465)."""\nimport smtplib\n',
    "lmtp-to-dovecot": 'import smtplib\n\nwith smtplib.LMTP("/var/run/dovecot/lmtp") as lmtp:\n    lmtp.sendmail(a, b, c)\n',
    "aiosmtplib-is-another-library": 'import aiosmtplib\n\nawait aiosmtplib.send(msg, hostname="smtp.gmail.com", port=587, start_tls=True)\n',
    "handler-to-localhost": 'import logging.handlers\n\nh = logging.handlers.SMTPHandler("localhost", "a@example.com", ["b@example.com"], "boom")\n',
    "smtp-without-host-connected-elsewhere": "import smtplib\n\ndef make():\n    s = smtplib.SMTP()\n    return s\n",
    "a-class-named-smtp-that-is-not-smtplib": "from myapp.mail import SMTP\n\nSMTP('smtp.gmail.com', 587).send()\n",
}


@pytest.mark.parametrize("before", list(NOOPS.values()), ids=list(NOOPS))
def test_left_alone(tmp_path: Path, before: str) -> None:
    result = assert_noop(tmp_path, before, **_tracked())
    assert not [f for f in result.findings if f.fixable]


# --------------------------------------------------------------------------------------------
# Rewritten
# --------------------------------------------------------------------------------------------

FIXES = {
    # SENDER is the login user and the From address: only the login argument changes.
    "constants-sender-stays-the-from-address": (
        '"""Daily report."""\nimport smtplib\n\nSMTP_SERVER = "smtp.gmail.com"\nPORT = 587  # TLS\nSENDER = "reports@example.com"\n'
        'PASSWORD = "app-password"\n\nmsg["From"] = SENDER\nserver = smtplib.SMTP(SMTP_SERVER, PORT)\nserver.starttls()\n'
        "server.login(SENDER, PASSWORD)\nserver.sendmail(SENDER, [to], msg.as_string())\n",
        '"""Daily report."""\nimport os\nimport smtplib\n\nSMTP_SERVER = "smtp.mailpace.com"\nPORT = 587  # TLS\nSENDER = "reports@example.com"\n'
        f'PASSWORD = {TOKEN_REF}\n\nmsg["From"] = SENDER\nserver = smtplib.SMTP(SMTP_SERVER, PORT)\nserver.starttls()\n'
        f"server.login({TOKEN_REF}, PASSWORD)\nserver.sendmail(SENDER, [to], msg.as_string())\n",
        {},
    ),
    "ssl-with-block-keeps-implicit-tls": (
        'import smtplib, ssl\n\nwith smtplib.SMTP_SSL("smtp.gmail.com", 465, context=ssl.create_default_context()) as s:\n'
        '    s.login("me@gmail.com", "pw")\n',
        'import os\nimport smtplib, ssl\n\nwith smtplib.SMTP_SSL("smtp.mailpace.com", 465, context=ssl.create_default_context()) as s:\n'
        f"    s.login({TOKEN_REF}, {TOKEN_REF})\n",
        {},
    ),
    "no-tls-gets-starttls-before-login": (
        'from smtplib import SMTP\n\ndef send(msg):\n    server = SMTP("smtp.mailgun.org", 587)\n'
        '    server.login("postmaster@mg.example.com", "secret")\n    server.send_message(msg)\n',
        'import os\nfrom smtplib import SMTP\n\ndef send(msg):\n    server = SMTP("smtp.mailpace.com", 587)\n    server.starttls()\n'
        f"    server.login({TOKEN_REF}, {TOKEN_REF})\n    server.send_message(msg)\n",
        {},
    ),
    "connect-after-init": (
        'import smtplib\n\nserver = smtplib.SMTP()\nserver.connect("smtp.sendgrid.net", 587)\nserver.login("apikey", "SG.key")\n',
        f'import os\nimport smtplib\n\nserver = smtplib.SMTP()\nserver.connect("smtp.mailpace.com", 587)\nserver.starttls()\nserver.login({TOKEN_REF}, {TOKEN_REF})\n',
        {},
    ),
    "host-and-port-in-one-string": (
        'import smtplib\n\nsmtp = smtplib.SMTP("smtp.mailgun.org:2525")\nsmtp.starttls()\nsmtp.login(USER, PASSWORD)\n',
        f'import os\nimport smtplib\n\nsmtp = smtplib.SMTP("smtp.mailpace.com:2525")\nsmtp.starttls()\nsmtp.login({TOKEN_REF}, {TOKEN_REF})\n',
        {},
    ),
    "port-as-a-string-stays-a-string": (
        "import smtplib as s\n\nconn = s.SMTP('smtp.sendgrid.net', '2587')\nconn.starttls()\n",
        f"import os\nimport smtplib as s\n\nconn = s.SMTP('smtp.mailpace.com', '587')\nconn.starttls()\nconn.login({TOKEN_REF}, {TOKEN_REF})\n",
        {},
    ),
    "function-locals-edited-where-assigned": (
        'import smtplib\n\ndef send_report():\n    host = "smtp.gmail.com"\n    port = 25\n    user = "me@gmail.com"\n'
        '    with smtplib.SMTP(host, port) as s:\n        s.login(user, "pw")\n',
        f'import os\nimport smtplib\n\ndef send_report():\n    host = "smtp.mailpace.com"\n    port = 25\n    user = {TOKEN_REF}\n'
        f"    with smtplib.SMTP(host, port) as s:\n        s.starttls()\n        s.login(user, {TOKEN_REF})\n",
        {},
    ),
    "self-attribute-in-a-class": (
        'import smtplib\n\nclass Mailer:\n    def __init__(self):\n        self.server = smtplib.SMTP("smtp.eu.mailgun.org", 587)\n'
        '        self.server.starttls()\n\n    def open(self):\n        self.server.login("postmaster@mg.example.com", "pw")\n',
        'import os\nimport smtplib\n\nclass Mailer:\n    def __init__(self):\n        self.server = smtplib.SMTP("smtp.mailpace.com", 587)\n'
        f"        self.server.starttls()\n\n    def open(self):\n        self.server.login({TOKEN_REF}, {TOKEN_REF})\n",
        {},
    ),
    "connection-passed-to-a-function-of-the-module": (
        'from smtplib import SMTP_SSL as S\n\nUSER = "AKIAEXAMPLE"\nPASSWORD = "ses-secret"\n\ndef deliver(client, msg):\n'
        '    client.login(USER, PASSWORD)\n    client.send_message(msg)\n\nwith S("email-smtp.us-east-1.amazonaws.com", 465) as smtp:\n'
        "    deliver(smtp, msg)\n",
        f'import os\nfrom smtplib import SMTP_SSL as S\n\nUSER = {TOKEN_REF}\nPASSWORD = {TOKEN_REF}\n\ndef deliver(client, msg):\n'
        '    client.login(USER, PASSWORD)\n    client.send_message(msg)\n\nwith S("smtp.mailpace.com", 465) as smtp:\n'
        "    deliver(smtp, msg)\n",
        {},
    ),
    "environment-values-followed-and-shared-user-replaced-at-the-call": (
        'import os\nimport smtplib\n\nHOST = os.getenv("SMTP_HOST", "smtp.office365.com")\n\nwith smtplib.SMTP(HOST, 587) as s:\n'
        '    s.starttls()\n    s.login(os.environ["SMTP_USER"], os.environ["SMTP_PASS"])\n    s.sendmail(os.environ["SMTP_USER"], [to], body)\n',
        'import os\nimport smtplib\n\nHOST = os.getenv("SMTP_HOST", "smtp.mailpace.com")\n\nwith smtplib.SMTP(HOST, 587) as s:\n'
        f'    s.starttls()\n    s.login({TOKEN_REF}, os.environ["SMTP_PASS"])\n    s.sendmail(os.environ["SMTP_USER"], [to], body)\n',
        {},
    ),
    "two-connections-share-a-host-constant": (
        'import smtplib\n\nHOST = "smtp.gmail.com"\n\ndef a():\n    s = smtplib.SMTP(HOST, 587)\n    s.starttls()\n    s.login("u@gmail.com", "pw")\n\n'
        'def b():\n    s = smtplib.SMTP_SSL(HOST, 465)\n    s.login("u@gmail.com", "pw")\n',
        f'import os\nimport smtplib\n\nHOST = "smtp.mailpace.com"\n\ndef a():\n    s = smtplib.SMTP(HOST, 587)\n    s.starttls()\n    s.login({TOKEN_REF}, {TOKEN_REF})\n\n'
        f"def b():\n    s = smtplib.SMTP_SSL(HOST, 465)\n    s.login({TOKEN_REF}, {TOKEN_REF})\n",
        {},
    ),
    "ssl-and-starttls-both-starttls-removed": (
        'import smtplib\n\nwith smtplib.SMTP_SSL("smtp.gmail.com", 465) as s:\n    s.starttls()\n    s.login(U, P)\n',
        f'import os\nimport smtplib\n\nwith smtplib.SMTP_SSL("smtp.mailpace.com", 465) as s:\n    s.login({TOKEN_REF}, {TOKEN_REF})\n',
        {},
    ),
    "ssl-on-587-moves-to-465": (
        'import smtplib\n\nwith smtplib.SMTP_SSL("smtp.gmail.com", 587) as s:\n    s.login("me@gmail.com", "pw")\n',
        f'import os\nimport smtplib\n\nwith smtplib.SMTP_SSL("smtp.mailpace.com", 465) as s:\n    s.login({TOKEN_REF}, {TOKEN_REF})\n',
        {},
    ),
    "crlf-kept": (
        'import smtplib\r\n\r\ns = smtplib.SMTP("smtp.gmail.com", 587)\r\ns.login("u@gmail.com", "pw")\r\n',
        f'import os\r\nimport smtplib\r\n\r\ns = smtplib.SMTP("smtp.mailpace.com", 587)\r\ns.starttls()\r\ns.login({TOKEN_REF}, {TOKEN_REF})\r\n',
        {},
    ),
    "no-trailing-newline": (
        'import smtplib\ns = smtplib.SMTP("smtp.gmail.com", 587)',
        f'import os\nimport smtplib\ns = smtplib.SMTP("smtp.mailpace.com", 587)\ns.starttls()\ns.login({TOKEN_REF}, {TOKEN_REF})',
        {},
    ),
    # --port forces another mode: the class switches and the TLS context moves along.
    "port-587-ssl-becomes-starttls-with-its-context": (
        'from smtplib import SMTP_SSL\nimport ssl\n\nctx = ssl.create_default_context()\nwith SMTP_SSL("smtp.gmail.com", 465, context=ctx) as s:\n'
        '    s.login("u@gmail.com", "pw")\n',
        'import os\nimport smtplib\nfrom smtplib import SMTP_SSL\nimport ssl\n\nctx = ssl.create_default_context()\n'
        f'with smtplib.SMTP("smtp.mailpace.com", 587) as s:\n    s.starttls(context=ctx)\n    s.login({TOKEN_REF}, {TOKEN_REF})\n',
        {"port": 587},
    ),
    "port-465-starttls-becomes-ssl-with-its-context": (
        'import smtplib\n\nsmtp = smtplib.SMTP(host="email-smtp.eu-west-1.amazonaws.com", port=587, timeout=30)\n'
        "smtp.starttls(context=context)\nsmtp.login(user=U, password=P)\n",
        'import os\nimport smtplib\n\nsmtp = smtplib.SMTP_SSL(host="smtp.mailpace.com", port=465, timeout=30, context=context)\n'
        f"smtp.login(user={TOKEN_REF}, password={TOKEN_REF})\n",
        {"port": 465},
    ),
    "port-forced-where-none-is-written": (
        'import smtplib\n\nserver = smtplib.SMTP(host="smtp.sendgrid.net", timeout=5)\nserver.starttls()\n',
        f'import os\nimport smtplib\n\nserver = smtplib.SMTP(host="smtp.mailpace.com", port=2525, timeout=5)\nserver.starttls()\nserver.login({TOKEN_REF}, {TOKEN_REF})\n',
        {"port": 2525},
    ),
    # logging.handlers.SMTPHandler
    "handler-gets-secure-and-credentials": (
        'import logging.handlers\n\nh = logging.handlers.SMTPHandler(\n    ("smtp.gmail.com", 587),\n    "a@example.com",\n'
        '    ["b@example.com"],\n    "boom"\n)\n',
        'import os\nimport logging.handlers\n\nh = logging.handlers.SMTPHandler(\n    ("smtp.mailpace.com", 587),\n    "a@example.com",\n'
        f'    ["b@example.com"],\n    "boom",\n    credentials=({TOKEN_REF}, {TOKEN_REF}),\n    secure=()\n)\n',
        {},
    ),
    "handler-constants-and-positional-secure-none": (
        'from logging.handlers import SMTPHandler\n\nMAILHOST = ("smtp.mailgun.org", 587)\nCREDS = ("postmaster@mg.example.com", "pw")\n'
        'h = SMTPHandler(MAILHOST, "a@example.com", ["b@example.com"], "boom", CREDS, None)\n',
        f'import os\nfrom logging.handlers import SMTPHandler\n\nMAILHOST = ("smtp.mailpace.com", 587)\nCREDS = ({TOKEN_REF}, {TOKEN_REF})\n'
        'h = SMTPHandler(MAILHOST, "a@example.com", ["b@example.com"], "boom", CREDS, ())\n',
        {},
    ),
    "handler-on-465-has-no-implicit-tls": (
        'from logging.handlers import SMTPHandler\n\nh = SMTPHandler(mailhost=("smtp.gmail.com", 465), fromaddr="a@example.com", '
        'toaddrs=["b@example.com"], subject="x", credentials=("u", "p"), secure=())\n',
        'import os\nfrom logging.handlers import SMTPHandler\n\nh = SMTPHandler(mailhost=("smtp.mailpace.com", 587), fromaddr="a@example.com", '
        f'toaddrs=["b@example.com"], subject="x", credentials=({TOKEN_REF}, {TOKEN_REF}), secure=())\n',
        {},
    ),
    # review regressions
    "positional-starttls-context-moves-into-ssl": (
        'import smtplib, ssl\nCTX = ssl.create_default_context()\nwith smtplib.SMTP("smtp.gmail.com", 587) as server:\n'
        '    server.starttls(None, None, CTX)\n    server.login("me@gmail.com", "pw")\n',
        'import os\nimport smtplib, ssl\nCTX = ssl.create_default_context()\nwith smtplib.SMTP_SSL("smtp.mailpace.com", 465, context=CTX) as server:\n'
        f"    server.login({TOKEN_REF}, {TOKEN_REF})\n",
        {"port": 465},
    ),
    "handler-credentials-none-replaced-in-place": (
        'import logging.handlers\nh = logging.handlers.SMTPHandler(("smtp.gmail.com", 587), "e@x.com", ["o@x.com"], "Error", None, None)\n',
        'import os\nimport logging.handlers\nh = logging.handlers.SMTPHandler(("smtp.mailpace.com", 587), "e@x.com", ["o@x.com"], "Error", '
        f"({TOKEN_REF}, {TOKEN_REF}), ())\n",
        {},
    ),
    "handler-credentials-none-keyword": (
        'import logging.handlers\nh = logging.handlers.SMTPHandler(("smtp.gmail.com", 587), "e@x.com", ["o@x.com"], "Error", credentials=None)\n',
        'import os\nimport logging.handlers\nh = logging.handlers.SMTPHandler(("smtp.mailpace.com", 587), "e@x.com", ["o@x.com"], "Error", '
        f"credentials=({TOKEN_REF}, {TOKEN_REF}), secure=())\n",
        {},
    ),
    "handler-host-only-stays-on-25": (
        'import logging.handlers\n\nh = logging.handlers.SMTPHandler("smtp.gmail.com", "a@example.com", ["b@example.com"], "boom", ("u", "p"))\n',
        'import os\nimport logging.handlers\n\nh = logging.handlers.SMTPHandler("smtp.mailpace.com", "a@example.com", ["b@example.com"], '
        f'"boom", ({TOKEN_REF}, {TOKEN_REF}), secure=())\n',
        {},
    ),
}


@pytest.mark.parametrize(("before", "after", "options"), list(FIXES.values()), ids=list(FIXES))
def test_rewritten(tmp_path: Path, before: str, after: str, options: dict[str, object]) -> None:
    assert_migrates(tmp_path, before, after, **_tracked(**options))


def test_shared_credentials_are_read_from_the_env_file(tmp_path: Path) -> None:
    """A login that reads variables an ignored .env defines: the .env gets the token, the code
    stays as it is (product.md, where credentials go, rule 3)."""
    from helpers import TOKEN, make_repo

    from mailmigrate.engine import RunOptions, analyse
    from mailmigrate.rules import load_ruleset

    code = (
        "import os\nimport smtplib\n\nwith smtplib.SMTP(os.environ['SMTP_HOST'], 587) as s:\n    s.starttls()\n"
        "    s.login(os.environ['SMTP_USER'], os.environ['SMTP_PASSWORD'])\n"
    )
    repo = make_repo(tmp_path / "repo", {"send.py": code, ".gitignore": ".env\n"},
                     {".env": "SMTP_HOST=smtp.sendgrid.net\nSMTP_USER=apikey\nSMTP_PASSWORD=SG.secret\n"})
    result = analyse([repo], load_ruleset(), RunOptions(token=TOKEN), repo)
    changed = {o.file.path.name: o.new_text for o in result.files if o.new_text is not None}
    assert changed == {".env": f"SMTP_HOST=smtp.mailpace.com\nSMTP_USER={TOKEN}\nSMTP_PASSWORD={TOKEN}\n"}


# --------------------------------------------------------------------------------------------
# Reported, never guessed: nothing changes, and the finding says why
# --------------------------------------------------------------------------------------------

REPORTS = {
    "class-chosen-at-run-time": (
        'import smtplib\n\nserver = (smtplib.SMTP_SSL if SSL else smtplib.SMTP)("smtp.gmail.com", 465)\nserver.login(u, p)\n',
        {}, "MM115", "chosen at run time",
    ),
    "host-is-a-parameter": (
        "import smtplib\n\ndef send(host, port, msg):\n    with smtplib.SMTP(host, port) as s:\n        s.starttls()\n",
        {}, "MM115", "the parameter `host` of send()",
    ),
    "host-imported-from-settings": (
        "import smtplib\nfrom config import SMTP_HOST\n\nwith smtplib.SMTP(SMTP_HOST, 587) as s:\n    s.starttls()\n",
        {}, "MM115", "`SMTP_HOST`, imported from config",
    ),
    "starttls-under-a-condition": (
        'import smtplib\n\ndef send(msg):\n    s = smtplib.SMTP("smtp.gmail.com", 587)\n    if USE_TLS:\n        s.starttls()\n'
        '    s.login("me@gmail.com", "pw")\n',
        {}, "MM115", "called only under a condition `USE_TLS`",
    ),
    "connection-made-by-a-factory": (
        'import smtplib\n\ndef connect():\n    return smtplib.SMTP("smtp.gmail.com", 587)\n',
        {}, "MM115", "the caller of connect()",
    ),
    "connection-handed-to-other-code": (
        'import smtplib\nfrom helpers import deliver\n\ns = smtplib.SMTP("smtp.gmail.com", 587)\ndeliver(s)\n',
        {}, "MM115", "`deliver(s)` (line 5)",
    ),
    "chained-call-has-no-line-for-starttls": (
        'import smtplib\n\nsmtplib.SMTP("smtp.gmail.com", 587).sendmail(a, b, c)\n',
        {}, "MM107", "starttls() is needed but cannot be added",
    ),
    "handler-host-only-with-a-forced-port": (
        'import logging.handlers\n\nh = logging.handlers.SMTPHandler("smtp.gmail.com", "a@example.com", ["b@example.com"], "x", ("u", "p"), ())\n',
        {"port": 587}, "MM107", "write it as (host, port)",
    ),
    # review regressions
    "starttls-that-cannot-be-removed-blocks-a-switch-to-465": (
        'import smtplib, ssl\ndef go(m):\n    server = smtplib.SMTP("smtp.gmail.com", 587)\n    try:\n'
        '        server.starttls(context=ssl.create_default_context())\n    except smtplib.SMTPException:\n        raise\n'
        '    server.login("me@gmail.com", "pw")\n',
        {"port": 465}, "MM115", "starttls() is called where removing its line would break the code around it: remove it by hand",
    ),
    "login-before-starttls": (
        'import smtplib\ns = smtplib.SMTP("smtp.gmail.com", 587)\ns.login("me@gmail.com", "pw")\ns.starttls()\n',
        {}, "MM115", "called after login() (line 3)",
    ),
    "class-chosen-by-if-else-branches": (
        'import smtplib\ndef f(use_ssl):\n    if use_ssl:\n        s = smtplib.SMTP_SSL("smtp.gmail.com", 465)\n    else:\n'
        '        s = smtplib.SMTP("smtp.gmail.com", 587)\n        s.starttls()\n    s.login("me@gmail.com", "pw")\n',
        {}, "MM115", "`s` is another connection on line 6",
    ),
    "class-held-in-a-variable": (
        'import smtplib\nklass = smtplib.SMTP_SSL if USE_SSL else smtplib.SMTP\ns = klass("smtp.gmail.com", 465)\ns.login(u, p)\n',
        {}, "MM115", "chosen at run time by `klass`",
    ),
    "host-constant-assigned-in-branches": (
        'import os, smtplib\nif os.environ.get("ENV") == "prod":\n    HOST = "smtp.sendgrid.net"\nelse:\n    HOST = "smtp.gmail.com"\n'
        's = smtplib.SMTP(HOST, 587)\ns.starttls()\ns.login("me@gmail.com", "pw")\n',
        {}, "MM115", "`HOST`, assigned on lines 3, 5",
    ),
    "connection-that-callers-may-pass": (
        'import smtplib\ndef go(m, server=None):\n    if server is None:\n        server = smtplib.SMTP("smtp.gmail.com", 587)\n'
        '    server.login("me@gmail.com", "pw")\n',
        {}, "MM115", "callers of go() may pass their own `server`",
    ),
    "arguments-unpacked": (
        'import smtplib\nCFG = dict(host="smtp.gmail.com", port=587)\ns = smtplib.SMTP(**CFG)\ns.starttls()\n',
        {}, "MM115", "passed as `**CFG`",
    ),
    "handler-with-unpacked-arguments": (
        'import logging.handlers\nh = logging.handlers.SMTPHandler(("smtp.gmail.com", 587), "e@x.com", ["o@x.com"], "x", **{"secure": ()})\n',
        {}, "MM107", "arguments with * or **",
    ),
    "handler-cannot-do-implicit-tls": (
        'from logging.handlers import SMTPHandler\n\nh = SMTPHandler(("smtp.mailgun.org", 587), "a@example.com", ["b@example.com"], "x", secure=())\n',
        {"port": 465}, "MM105", "cannot use implicit TLS",
    ),
}


@pytest.mark.parametrize(("before", "options", "code", "words"), list(REPORTS.values()), ids=list(REPORTS))
def test_reported_not_guessed(tmp_path: Path, before: str, options: dict[str, object], code: str, words: str) -> None:
    new, result = run_file(tmp_path, before, **_tracked(**options))  # type: ignore[arg-type]
    assert new == before
    found = [f for f in result.findings if f.code == code and words in f.message]
    assert found, [(f.code, f.message) for f in result.findings]
    assert not any(f.fixable for f in result.findings)


def test_scan_names_each_connection(tmp_path: Path) -> None:
    text = (
        'import smtplib\n\nwith smtplib.SMTP_SSL("smtp.gmail.com", 465) as s:\n    s.login(U, P)\n\n'
        'with smtplib.LMTP("/run/dovecot/lmtp") as l:\n    l.sendmail(a, b, c)\n'
    )
    _, result = run_file(tmp_path, text, **_tracked())
    assert [(p.configuration.family.name, p.configuration.scope, p.status.value) for p in result.plans] == [
        ("smtplib", "smtplib.SMTP_SSL(...) line 3", "migrate"),
        ("smtplib", "smtplib.LMTP(...) line 6", "inactive"),
    ]
