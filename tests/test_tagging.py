"""Tags and headers (issue 7): before/after tables.

No-op cases first (no tags asked and no provider headers, headers read from incoming mail,
MIME parts, already-tagged messages, modules that never send through smtplib), then exact
rewrites -- each re-parsed and planned again to prove it is idempotent -- then what is reported
instead of guessed. Real messages are sent in test_tagging_e2e.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers import assert_migrates, assert_noop, run_file

from mailmigrate.mailheaders import (
    TAG_HEADERS,
    Meaning,
    meaning_of,
    mentions_headers,
    merge_tags,
    parse_tags_option,
    read_tags,
)

DJANGO = "from django.core.mail import EmailMessage, EmailMultiAlternatives, send_mail, mail_admins\n\n\n"
FLASK = "from flask_mail import Message\n\n\n"
SMTP = "import os\nimport smtplib\nfrom email.message import EmailMessage\nfrom email.mime.multipart import MIMEMultipart\nfrom email.mime.text import MIMEText\n\n\n"


SENT = (
    '    with smtplib.SMTP("smtp.mailpace.com", 587) as s:\n        s.starttls()\n'
    '        s.login(os.environ["MAILPACE_API_TOKEN"], os.environ["MAILPACE_API_TOKEN"])\n        s.send_message(msg)\n'
)


def _opts(tags: str = "", unsubscribe: bool = False) -> dict[str, object]:
    return {
        "name": "mail.py", "secrets_file": False,
        "tags": tuple(t.strip() for t in tags.split(",") if t.strip()), "list_unsubscribe": unsubscribe,
    }


# --------------------------------------------------------------------------------------------
# Left alone
# --------------------------------------------------------------------------------------------

NOOPS = {
    "mime-parts-in-a-loop-and-a-helper": (
        SMTP + 'def html_part(html):\n    part = MIMEText(html, "html")\n    part["Content-Disposition"] = "inline"\n    return part\n\n\n'
        'def body(msg, text, html):\n    plain = MIMEText(text)\n    rich = html_part(html)\n'
        '    for part in (plain, rich):\n        msg.attach(part)\n', "a",
    ),
    "mime-parts-as-a-payload": (SMTP + 'def f(msg):\n    a = MIMEText("x")\n    b = MIMEText("y")\n    msg.set_payload([a, b])\n', "a"),
    "lookup-table-of-provider-headers": ('# bounce mail parser\nPROVIDERS = {"X-PM-Tag": "postmark", "X-Mailgun-Tag": "mailgun"}\n', ""),
    "expected-value-in-a-test": (
        DJANGO + 'def test_headers(mailoutbox):\n    assert mailoutbox[0].extra_headers == {"X-PM-Tag": "welcome"}\n', "",
    ),
    "no-tags-asked-no-provider-headers": (DJANGO + 'EmailMessage("s", "b", "a@example.com", ["b@example.com"]).send()\n', ""),
    "already-tagged-dict": (
        DJANGO + 'EmailMessage("s", "b", to=["x@example.com"], headers={"X-MailPace-Tags": "receipt, welcome"}).send()\n',
        "welcome",
    ),
    "already-tagged-case-insensitive-name": (
        DJANGO + "EmailMessage('s', 'b', headers={'x-mailpace-tags': 'a,b'}).send()\n", "b, a",
    ),
    "already-tagged-statement": (
        SMTP + 'def build():\n    msg = EmailMessage()\n    msg["Subject"] = "Digest"\n    msg["X-MailPace-Tags"] = "digest"\n    return msg\n', "digest",
    ),
    "incoming-mail-is-read-not-sent": (
        SMTP + 'def bounce(msg):\n    if msg.get("List-Unsubscribe"):\n        return msg["X-Mailgun-Tag"]\n', "",
    ),
    "mime-parts-are-not-messages": (
        SMTP + 'def body(outer):\n    part = MIMEText("hi", "plain")\n    outer.attach(part)\n', "x",
    ),
    "mime-object-in-a-module-without-smtplib": (
        "from email.mime.text import MIMEText\n\n\ndef build():\n    msg = MIMEText('x')\n    msg['Subject'] = 's'\n    return msg\n", "x",
    ),
    "a-local-class-shadows-the-import": (
        SMTP + 'class EmailMessage:\n    pass\n\n\nmsg = EmailMessage()\nmsg.subject = "x"\ns.send_message(msg)\n', "a",
    ),
    "header-names-in-docs-and-comments": (
        '"""We used to send X-PM-Tag: welcome via Postmark."""\n# msg["X-Mailgun-Tag"] = "old"\nHELP = "X-SMTPAPI category is gone"\n', "",
    ),
    "list-unsubscribe-already-renamed": (
        SMTP + 'def f():\n    msg = EmailMessage()\n    msg["X-List-Unsubscribe"] = "<https://e.x/u>"\n    return msg\n', "",
    ),
}


@pytest.mark.parametrize(("before", "tags"), list(NOOPS.values()), ids=list(NOOPS))
def test_left_alone(tmp_path: Path, before: str, tags: str) -> None:
    result = assert_noop(tmp_path, before, **_opts(tags, unsubscribe=True))
    assert not result.findings, [(f.code, f.message) for f in result.findings]


# --------------------------------------------------------------------------------------------
# Rewritten
# --------------------------------------------------------------------------------------------

FIXES = {
    # Django: the MailPace header takes the provider header's place, quotes kept.
    "django-pm-tag-in-multiline-dict": (
        DJANGO + 'def send(user):\n    EmailMessage(\n        "Welcome",\n        "Hello",\n        "shop@example.com",\n'
        '        [user.email],\n        headers={\n            "X-PM-Tag": "welcome",  # Postmark\n'
        '            "Reply-To": "help@example.com",\n        },\n    ).send()\n',
        DJANGO + 'def send(user):\n    EmailMessage(\n        "Welcome",\n        "Hello",\n        "shop@example.com",\n'
        '        [user.email],\n        headers={\n            "X-MailPace-Tags": "welcome, transactional",  # Postmark\n'
        '            "Reply-To": "help@example.com",\n        },\n    ).send()\n',
        "transactional",
    ),
    "django-headers-added-as-keyword": (
        DJANGO + "msg = EmailMultiAlternatives('Hi', 'body', 'a@example.com', ['b@example.com'])\nmsg.send()\n",
        DJANGO + "msg = EmailMultiAlternatives('Hi', 'body', 'a@example.com', ['b@example.com'], headers={'X-MailPace-Tags': 'a, b'})\nmsg.send()\n",
        "a, b",
    ),
    "django-headers-added-one-per-line-with-trailing-comma": (
        DJANGO + 'EmailMessage(\n    subject="Hi",\n    body="b",\n    to=["x@example.com"],\n).send()\n',
        DJANGO + 'EmailMessage(\n    subject="Hi",\n    body="b",\n    to=["x@example.com"],\n    headers={"X-MailPace-Tags": "a"},\n).send()\n',
        "a",
    ),
    "django-no-arguments": (
        DJANGO + "def f():\n    msg = EmailMessage()\n    msg.subject = 'x'\n    return msg\n",
        DJANGO + "def f():\n    msg = EmailMessage(headers={\"X-MailPace-Tags\": \"a\"})\n    msg.subject = 'x'\n    return msg\n",
        "a",
    ),
    "django-headers-none-becomes-a-dict": (
        DJANGO + 'EmailMessage("s", "b", headers=None).send()\n',
        DJANGO + 'EmailMessage("s", "b", headers={"X-MailPace-Tags": "a"}).send()\n',
        "a",
    ),
    "django-empty-dict": (
        DJANGO + 'EmailMessage("s", "b", headers={}).send()\n',
        DJANGO + 'EmailMessage("s", "b", headers={"X-MailPace-Tags": "a"}).send()\n',
        "a",
    ),
    "django-merged-into-existing-mailpace-tags": (
        DJANGO + 'EmailMessage("s", "b", headers={"X-MailPace-Tags": "receipt", "X-PM-Tag": "billing"}).send()\n',
        DJANGO + 'EmailMessage("s", "b", headers={"X-MailPace-Tags": "receipt, billing, a"}).send()\n',
        "a",
    ),
    "django-positional-headers": (
        DJANGO + 'EmailMessage("s", "b", "a@example.com", ["b@example.com"], None, None, None, {"X-Mailgun-Tag": "invoice"}).send()\n',
        DJANGO + 'EmailMessage("s", "b", "a@example.com", ["b@example.com"], None, None, None, {"X-MailPace-Tags": "invoice"}).send()\n',
        "",
    ),
    "django-headers-variable-followed-to-its-dict": (
        DJANGO + 'def f():\n    headers = {"X-MC-Tags": "reminder, profile"}\n    EmailMessage("s", "b", headers=headers).send()\n',
        DJANGO + 'def f():\n    headers = {"X-MailPace-Tags": "reminder, profile"}\n    EmailMessage("s", "b", headers=headers).send()\n',
        "",
    ),
    "django-extra-headers-statement-after": (
        DJANGO + 'def f():\n    msg = EmailMessage("s", "b")\n    msg.extra_headers["X-PM-Tag"] = "reset"\n    msg.send()\n',
        DJANGO + 'def f():\n    msg = EmailMessage("s", "b")\n    msg.extra_headers["X-MailPace-Tags"] = "reset"\n    msg.send()\n',
        "",
    ),
    "django-smtpapi-json-dumps-category-only": (
        DJANGO + "import json\n\nEmailMessage('s', 'b', headers={'X-SMTPAPI': json.dumps({'category': ['export', 'transactional']})}).send()\n",
        DJANGO + "import json\n\nEmailMessage('s', 'b', headers={'X-MailPace-Tags': 'export, transactional'}).send()\n",
        "",
    ),
    "django-smtpapi-literal-json-keeps-other-keys": (
        DJANGO + "EmailMessage('s', 'b', headers={'X-SMTPAPI': '{\"category\": \"receipt\", \"unique_args\": {\"o\": \"1\"}}'}).send()\n",
        DJANGO + "EmailMessage('s', 'b', headers={'X-SMTPAPI': '{\"unique_args\": {\"o\": \"1\"}}', 'X-MailPace-Tags': 'receipt'}).send()\n",
        "",
    ),
    "django-several-providers-one-header-duplicates-dropped": (
        DJANGO + 'EmailMessage("s", "b", headers={\n    "X-PM-Tag": "welcome",\n    "X-MC-Tags": "welcome, onboarding, ",\n'
        '    "X-OMS-Tags": "legacy",\n}).send()\n',
        DJANGO + 'EmailMessage("s", "b", headers={\n    "X-MailPace-Tags": "welcome, onboarding, legacy, new",\n}).send()\n',
        "new, welcome",
    ),
    "django-last-item-removed-inline": (
        DJANGO + 'EmailMessage("s", "b", headers={"Reply-To": "r@example.com", "X-MailPace-Tags": "a", "X-Mailjet-Campaign": "spring"}).send()\n',
        DJANGO + 'EmailMessage("s", "b", headers={"Reply-To": "r@example.com", "X-MailPace-Tags": "a, spring"}).send()\n',
        "",
    ),
    "ses-pairs-kept-whole": (
        DJANGO + 'EmailMessage("s", "b", headers={"X-SES-MESSAGE-TAGS": "campaign=spring, type=alert"}).send()\n',
        DJANGO + 'EmailMessage("s", "b", headers={"X-MailPace-Tags": "campaign=spring, type=alert"}).send()\n',
        "",
    ),
    "crlf-file": (
        (DJANGO + 'EmailMessage(\n    "s",\n    "b",\n    headers={\n        "X-PM-Tag": "w",\n        "X-Mailgun-Tag": "x",\n    },\n).send()\n').replace("\n", "\r\n"),
        (DJANGO + 'EmailMessage(\n    "s",\n    "b",\n    headers={\n        "X-MailPace-Tags": "w, x",\n    },\n).send()\n').replace("\n", "\r\n"),
        "",
    ),
    # Flask-Mail
    "flask-mail-extra-headers-keyword": (
        FLASK + 'msg = Message("Digest", recipients=["u@example.com"], extra_headers={"X-Mailgun-Tag": "digest", "X-Mailgun-Track": "no"})\n',
        FLASK + 'msg = Message("Digest", recipients=["u@example.com"], extra_headers={"X-MailPace-Tags": "digest, weekly", "X-Mailgun-Track": "no"})\n',
        "weekly",
    ),
    "flask-mail-extra-headers-added": (
        FLASK + 'def send(mail, u):\n    mail.send(Message("Alert", [u.email], "text"))\n',
        FLASK + 'def send(mail, u):\n    mail.send(Message("Alert", [u.email], "text", extra_headers={"X-MailPace-Tags": "security"}))\n',
        "security",
    ),
    "flask-mail-extra-headers-assigned-after": (
        FLASK + 'def send(mail):\n    msg = Message("x")\n    msg.extra_headers = {"X-PM-Tag": "x"}\n    mail.send(msg)\n',
        FLASK + 'def send(mail):\n    msg = Message("x")\n    msg.extra_headers = {"X-MailPace-Tags": "x"}\n    mail.send(msg)\n',
        "",
    ),
    # email.message objects sent through smtplib
    "smtplib-repeated-mailgun-tags-and-unsubscribe": (
        SMTP + 'def send(to):\n    msg = EmailMessage()\n    msg["Subject"] = "News"\n    msg["X-Mailgun-Tag"] = "newsletter"\n'
        '    msg["X-Mailgun-Tag"] = "march"\n    msg["List-Unsubscribe"] = "<https://example.com/u>"\n    msg.set_content("x")\n'
        + SENT,
        SMTP + 'def send(to):\n    msg = EmailMessage()\n    msg["Subject"] = "News"\n    msg["X-MailPace-Tags"] = "newsletter, march"\n'
        '    msg["X-List-Unsubscribe"] = "<https://example.com/u>"\n    msg.set_content("x")\n' + SENT,
        "",
    ),
    "smtplib-tag-line-after-the-other-headers": (
        SMTP + "def send(to):\n    msg = MIMEMultipart('alternative')\n    msg['Subject'] = 'Hi'\n    msg['To'] = to\n"
        "    if to.endswith('.org'):\n        msg['Cc'] = 'x@example.com'\n    msg.attach(MIMEText('x'))\n    return msg\n",
        SMTP + "def send(to):\n    msg = MIMEMultipart('alternative')\n    msg['Subject'] = 'Hi'\n    msg['To'] = to\n"
        "    msg['X-MailPace-Tags'] = 'receipts'\n"
        "    if to.endswith('.org'):\n        msg['Cc'] = 'x@example.com'\n    msg.attach(MIMEText('x'))\n    return msg\n",
        "receipts",
    ),
    "smtplib-add-header": (
        SMTP + "def f():\n    m = EmailMessage()\n    m['Subject'] = 'Receipt'\n    m.add_header('X-PM-Tag', 'receipt')\n    return m\n",
        SMTP + "def f():\n    m = EmailMessage()\n    m['Subject'] = 'Receipt'\n    m.add_header('X-MailPace-Tags', 'receipt')\n    return m\n",
        "",
    ),
    "smtplib-two-messages-in-a-loop-each-once": (
        SMTP + 'for to in people:\n    msg = MIMEText("x")\n    msg["To"] = to\n    s.send_message(msg)\n'
        'msg = MIMEText("y")\ns.send_message(msg)\n',
        SMTP + 'for to in people:\n    msg = MIMEText("x")\n    msg["To"] = to\n    msg["X-MailPace-Tags"] = "t"\n    s.send_message(msg)\n'
        'msg = MIMEText("y")\nmsg["X-MailPace-Tags"] = "t"\ns.send_message(msg)\n',
        "t",
    ),
    "smtplib-no-final-newline": (
        SMTP + 'msg = MIMEText("y")\nmsg["X-OhMySMTP-Tags"] = "a,b"\ns.send_message(msg)',
        SMTP + 'msg = MIMEText("y")\nmsg["X-MailPace-Tags"] = "a, b"\ns.send_message(msg)',
        "",
    ),
    "smtpapi-unicode-and-compact-json-kept-as-written": (
        DJANGO + "EmailMessage('s', 'b', headers={'X-SMTPAPI': \"{\\\"category\\\":\\\"café\\\",\\\"unique_args\\\":{\\\"v\\\":\\\"naïve, x\\\"}}\"}).send()\n",
        DJANGO + "EmailMessage('s', 'b', headers={'X-SMTPAPI': \"{\\\"unique_args\\\":{\\\"v\\\":\\\"naïve, x\\\"}}\", 'X-MailPace-Tags': 'café'}).send()\n",
        "",
    ),
    "comment-on-the-kept-item-survives": (
        DJANGO + 'EmailMessage("s", "b", headers={"X-MailPace-Tags": "x",  # ours\n    "X-PM-Tag": "p"}).send()\n',
        DJANGO + 'EmailMessage("s", "b", headers={"X-MailPace-Tags": "x, p",  # ours\n    }).send()\n',
        "",
    ),
    "no-arguments-on-several-lines": (
        DJANGO + "def f():\n    msg = EmailMessage(\n        # built later\n    )\n    return msg\n",
        DJANGO + "def f():\n    msg = EmailMessage(headers={\"X-MailPace-Tags\": \"a\"}\n        # built later\n    )\n    return msg\n",
        "a",
    ),
    "blank-provider-tags-are-dropped": (
        DJANGO + 'EmailMessage("s", "b", headers={"Reply-To": "r@example.com", "X-PM-Tag": " "}).send()\n',
        DJANGO + 'EmailMessage("s", "b", headers={"Reply-To": "r@example.com"}).send()\n',
        "",
    ),
}


@pytest.mark.parametrize(("before", "after", "tags"), list(FIXES.values()), ids=list(FIXES))
def test_rewritten(tmp_path: Path, before: str, after: str, tags: str) -> None:
    result = assert_migrates(tmp_path, before, after, **_opts(tags, unsubscribe=True))
    compile(after, "mail.py", "exec")
    assert all(f.fixable for f in result.findings if f.code in ("MM203", "MM204", "MM209"))


def test_check_without_options_flags_leftover_provider_headers(tmp_path: Path) -> None:
    before = DJANGO + 'EmailMessage("s", "b", headers={"X-PM-Tag": "w", "List-Unsubscribe": "<u>"}).send()\n'
    new, result = run_file(tmp_path, before, name="mail.py", secrets_file=False)
    assert new == before.replace('"X-PM-Tag": "w"', '"X-MailPace-Tags": "w"')  # translation is always on
    codes = {(f.code, f.fixable) for f in result.findings}
    assert ("MM203", True) in codes
    assert ("MM207", False) in codes  # renaming needs --list-unsubscribe


def test_suppressing_a_report_keeps_the_other_changes(tmp_path: Path) -> None:
    before = DJANGO + ('EmailMessage("s", "b", headers={\n    "X-PM-Tag": "w",\n'
                       '    "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",  # mailmigrate: ignore[MM208]\n}).send()\n')
    after = before.replace('"X-PM-Tag": "w"', '"X-MailPace-Tags": "w"')
    result = assert_migrates(tmp_path, before, after, **_opts())
    assert [f.code for f in result.findings] == ["MM203"]


def test_suppression_comment_leaves_the_message_alone(tmp_path: Path) -> None:
    before = DJANGO + 'EmailMessage("s", "b", headers={"X-PM-Tag": "w"}).send()  # mailmigrate: ignore[MM203]\n'
    result = assert_noop(tmp_path, before, **_opts("a"))
    assert not result.findings


def test_tags_added_once_per_shared_headers_dict(tmp_path: Path) -> None:
    before = DJANGO + 'HEADERS = {"Reply-To": "r@example.com"}\nEmailMessage("a", "b", headers=HEADERS).send()\nEmailMessage("c", "d", headers=HEADERS).send()\n'
    after = DJANGO + 'HEADERS = {"Reply-To": "r@example.com", "X-MailPace-Tags": "t"}\nEmailMessage("a", "b", headers=HEADERS).send()\nEmailMessage("c", "d", headers=HEADERS).send()\n'
    assert_migrates(tmp_path, before, after, **_opts("t"))


# --------------------------------------------------------------------------------------------
# Reported, never guessed: the message stays exactly as it was
# --------------------------------------------------------------------------------------------

REPORTS = {
    "computed-tag-value": (DJANGO + 'EmailMessage("s", "b", headers={"X-PM-Tag": campaign.slug}).send()\n', "", "MM206", "campaign.slug"),
    "comma-inside-one-tag": (DJANGO + 'EmailMessage("s", "b", headers={"X-PM-Tag": "a,b"}).send()\n', "", "MM206", "comma"),
    "headers-from-a-parameter": (DJANGO + 'def f(headers):\n    EmailMessage("s", "b", headers=headers).send()\n', "a", "MM206", "come from `headers`"),
    "headers-unpack-a-base": (DJANGO + 'EmailMessage("s", "b", headers={**BASE, "X-PM-Tag": "x"}).send()\n', "", "MM206", "**BASE"),
    "kwargs-may-hold-headers": (DJANGO + 'def f(**kw):\n    EmailMessage("s", "b", **kw).send()\n', "a", "MM206", "**kw"),
    "same-key-twice-in-a-dict": (DJANGO + 'EmailMessage("s", "b", headers={"X-Mailgun-Tag": "a", "X-Mailgun-Tag": "b"}).send()\n', "", "MM206", "twice"),
    "smtpapi-not-json": (DJANGO + "EmailMessage('s', 'b', headers={'X-SMTPAPI': '{category: x}'}).send()\n", "", "MM206", "JSON"),
    "smtpapi-category-computed": (DJANGO + "import json\nEmailMessage('s', 'b', headers={'X-SMTPAPI': json.dumps({'category': kind})}).send()\n", "", "MM206", "computed"),
    "computed-mailpace-tags-with-tags-asked": (DJANGO + 'EmailMessage("s", "b", headers={"X-MailPace-Tags": tags}).send()\n', "a", "MM206", "computed"),
    "statement-sharing-its-line": (SMTP + 'msg = MIMEText("y"); msg["X-PM-Tag"] = "a"; msg["X-Mailgun-Tag"] = "b"\ns.send_message(msg)\n', "", "MM206", "shares its line"),
    "send-mail-cannot-carry-headers": (DJANGO + 'send_mail("s", "b", "a@example.com", ["b@example.com"])\n', "a", "MM210", "send_mail()"),
    "mail-admins-cannot-carry-headers": (DJANGO + 'mail_admins("s", "b")\n', "a", "MM210", "mail_admins()"),
    "stray-constant-dict": ('# headers for outgoing mail\nHEADERS = {"X-PM-Tag": "welcome"}\n', "", "MM203", "outside a message"),
    # A tag set in a branch belongs to some messages only: never hoisted, never deleted.
    "tag-set-in-an-if-branch": (
        SMTP + 'def alert(urgent):\n    msg = EmailMessage()\n    msg["Subject"] = "Alert"\n    msg["X-PM-Tag"] = "alerts"\n    if urgent:\n'
        '        msg["Importance"] = "high"\n        msg["X-PM-Tag"] = "urgent"\n    return msg\n', "", "MM206", "inside a block",
    ),
    "tag-set-in-if-and-else": (
        SMTP + 'def f(kind):\n    msg = MIMEText("x")\n    msg["To"] = "x@example.com"\n    if kind == "a":\n        msg["X-PM-Tag"] = "alpha"\n'
        '    else:\n        msg["X-PM-Tag"] = "beta"\n    return msg\n', "t1", "MM206", "inside a block",
    ),
    "django-extra-headers-in-a-branch": (
        DJANGO + 'def f(vip):\n    m = EmailMessage("s", "b", headers={"X-PM-Tag": "notice"})\n    if vip:\n'
        '        m.extra_headers["X-PM-Tag"] = "vip"\n    m.send()\n', "", "MM206", "inside a block",
    ),
    "django-dict-key-replaced-later": (
        DJANGO + 'def f():\n    m = EmailMessage("s", "b", headers={"X-PM-Tag": "notice"})\n'
        '    m.extra_headers["X-PM-Tag"] = "vip"\n    m.send()\n', "", "MM206", "keeps only the last",
    ),
    "stray-another-librarys-message": (
        "from myapp.mail import EmailMessage\n\nEmailMessage('s', 'b', headers={'X-PM-Tag': 'x'}).send()\n", "", "MM203", "outside a message",
    ),
    "stray-unsubscribe-in-a-helper": ('def mail_headers(u):\n    h = {}\n    h["List-Unsubscribe"] = u\n    return h\n', "", "MM207", "rename it by hand"),
    "one-click-unsubscribe": (SMTP + 'msg = MIMEText("y")\nmsg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"\ns.send_message(msg)\n', "", "MM208", "one-click"),
    "metadata-header": (DJANGO + 'EmailMessage("s", "b", headers={"X-PM-Metadata-order": "42"}).send()\n', "", "MM205", "metadata"),
    "tracking-switch": (DJANGO + 'EmailMessage("s", "b", headers={"X-Mailgun-Track-Clicks": "no"}).send()\n', "", "MM205", "tracking switch"),
    "message-stream": (FLASK + 'Message("s", extra_headers={"X-PM-Message-Stream": "broadcast"})\n', "", "MM205", "message stream"),
    "smtpapi-without-category": (DJANGO + """EmailMessage('s', 'b', headers={'X-SMTPAPI': '{"unique_args": {}}'}).send()\n""", "", "MM205", "SendGrid"),
    "legacy-api-header": (DJANGO + 'EmailMessage("s", "b", headers={"OhMySMTP-Server-Token": "x"}).send()\n', "", "MM204", "old API header"),
    "mailpace-tags-set-by-a-helper": (
        SMTP + 'def tag(message, *tags):\n    message["X-MailPace-Tags"] = ", ".join(tags)\n\n\n'
        'def send(s):\n    msg = EmailMessage()\n    msg["Subject"] = "Digest"\n    tag(msg, "digest")\n    s.send_message(msg)\n',
        "a", "MM206", "not re-tagged",
    ),
    "django-mailpace-tags-twice": (
        DJANGO + 'def f():\n    m = EmailMessage("s", "b", headers={"X-MailPace-Tags": "ctor"})\n'
        '    m.extra_headers["X-MailPace-Tags"] = "later"\n    m.send()\n', "a", "MM206", "keeps only the last",
    ),
    "header-replaced-later": (
        SMTP + 'msg = EmailMessage()\nmsg["Subject"] = "s"\nmsg["X-PM-Tag"] = "old"\nmsg.replace_header("X-PM-Tag", "new")\n', "", "MM206", "does not follow",
    ),
    "header-deleted-later": (
        SMTP + 'msg = EmailMessage()\nmsg["To"] = "t"\nmsg["X-PM-Tag"] = "old"\ndel msg["X-PM-Tag"]\nmsg["X-PM-Tag"] = "new"\n', "", "MM206", "does not follow",
    ),
    "message-made-in-if-and-else": (
        SMTP + 'def f(html, body):\n    if html:\n        msg = MIMEText(body, "html")\n    else:\n        msg = MIMEText(body)\n'
        '    msg["Subject"] = "s"\n    msg["X-Mailgun-Tag"] = "m"\n    return msg\n', "a", "MM206", "different blocks",
    ),
    "message-made-on-a-one-line-if": (
        SMTP + 'def f(flag, body):\n    msg = None\n    if flag: msg = MIMEText(body)\n    s.send_message(msg)\n', "a", "MM206", "no place to add a header",
    ),
    "django-headers-parameter-shadows-a-module-dict": (
        DJANGO + 'headers = {"Reply-To": "r@example.com"}\n\n\ndef custom(headers):\n    EmailMessage("s", "b", headers=headers).send()\n',
        "a", "MM206", "come from `headers`",
    ),
    "empty-headers-dict-holding-a-comment": (DJANGO + 'EmailMessage("s", "b", headers={  # none yet\n}).send()\n', "a", "MM206", "no place to add a header"),
    "flask-mail-positional-past-html": (
        FLASK + 'Message("s", ["a@example.com"], "body", None, None, "me@example.com")\n', "a", "MM206", "versions",
    ),
    "both-unsubscribe-spellings": (
        SMTP + 'msg = MIMEText("y")\nmsg["List-Unsubscribe"] = "<u>"\nmsg["X-List-Unsubscribe"] = "<u>"\ns.send_message(msg)\n', "", "MM206", "keep one",
    ),
}


@pytest.mark.parametrize(("before", "tags", "code", "words"), list(REPORTS.values()), ids=list(REPORTS))
def test_reported_not_guessed(tmp_path: Path, before: str, tags: str, code: str, words: str) -> None:
    new, result = run_file(tmp_path, before, **_opts(tags, unsubscribe=True))  # type: ignore[arg-type]
    assert new == before
    found = [f for f in result.findings if f.code == code and words in f.message]
    assert found, [(f.code, f.message) for f in result.findings]
    assert not any(f.fixable for f in result.findings)


def test_list_unsubscribe_is_reported_until_asked(tmp_path: Path) -> None:
    before = SMTP + 'msg = MIMEText("y")\nmsg["List-Unsubscribe"] = "<https://e.x/u>"\ns.send_message(msg)\n'
    new, result = run_file(tmp_path, before, **_opts())  # type: ignore[arg-type]
    assert new == before
    assert [(f.code, f.fixable) for f in result.findings] == [("MM207", False)]
    assert "--list-unsubscribe" in result.findings[0].message


# --------------------------------------------------------------------------------------------
# Header knowledge
# --------------------------------------------------------------------------------------------


def test_every_tag_header_shape_reads_as_documented() -> None:
    assert read_tags(TAG_HEADERS["x-pm-tag"], " welcome ").tags == ["welcome"]
    assert read_tags(TAG_HEADERS["x-mc-tags"], "a, b,,c ").tags == ["a", "b", "c"]
    assert read_tags(TAG_HEADERS["x-ses-message-tags"], "campaign=x, type=y").tags == ["campaign=x", "type=y"]
    sendgrid = read_tags(TAG_HEADERS["x-smtpapi"], '{"category": ["a", "b"], "filters": {}}')
    assert (sendgrid.tags, sendgrid.other_keys) == (["a", "b"], ["filters"])
    sparkpost = read_tags(TAG_HEADERS["x-msys-api"], '{"campaign_id": "spring", "tags": ["x"], "metadata": {}}')
    assert (sparkpost.tags, sparkpost.other_keys) == (["spring", "x"], ["metadata"])
    assert read_tags(TAG_HEADERS["x-pm-tag"], "a,b").problems
    assert read_tags(TAG_HEADERS["x-smtpapi"], "[1]").problems


def test_header_meanings() -> None:
    assert meaning_of("x-pm-tag") == (Meaning.TAGS, "Postmark")
    assert meaning_of("X-OMS-Tags") == (Meaning.LEGACY_TAGS, "OhMySMTP")
    assert meaning_of("X-PM-Metadata-order-id") == (Meaning.PROVIDER, "Postmark")
    assert meaning_of("List-Unsubscribe") == (Meaning.UNSUBSCRIBE, "RFC 2369")
    assert meaning_of("X-List-Unsubscribe") is None
    assert meaning_of("Reply-To") is None
    assert meaning_of("X-PM-") is None  # a bare prefix is not a header


def test_the_cheap_pass_finds_header_names_in_any_case() -> None:
    assert mentions_headers(b'h = {"x-mailgun-tag": "a"}')
    assert mentions_headers(b'msg["LIST-UNSUBSCRIBE"] = u')
    assert not mentions_headers(b"x-axis = 3\nX-Forwarded-For")


def test_tags_option() -> None:
    assert parse_tags_option(" a, b ,a,, ") == ("a", "b")
    for bad in ("", " , ", "a\nb", "a\rX-Evil: 1"):
        with pytest.raises(ValueError):
            parse_tags_option(bad)
    assert merge_tags(["a"], ("b", "a"), [" c "]) == ["a", "b", "c"]


def test_rewritten_dicts_hold_exactly_the_merged_tags(tmp_path: Path) -> None:
    """The rewritten headers dict, evaluated, has one X-MailPace-Tags and no provider tags."""
    before = DJANGO + 'EmailMessage("s", "b", headers={"X-PM-Tag": "a", "X-MC-Tags": "b, a", "Reply-To": "r"}).send()\n'
    new, _ = run_file(tmp_path, before, **_opts("c"))  # type: ignore[arg-type]
    call = next(n for n in ast.walk(ast.parse(new)) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "EmailMessage")
    headers = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "headers"))
    assert headers == {"X-MailPace-Tags": "a, b, c", "Reply-To": "r"}


# --------------------------------------------------------------------------------------------
# Properties: any mix of tag headers, layouts and --tags
# --------------------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from mailmigrate.mailheaders import read_mailpace_tags  # noqa: E402

_TAG = st.text(alphabet="abcdefghij-_ ", min_size=0, max_size=8)
_SIMPLE_HEADERS = ("X-PM-Tag", "X-Mailgun-Tag", "X-MC-Tags", "X-Mailin-Tag", "X-MailerSend-Tags", "X-Mailjet-Campaign", "X-OMS-Tags", "X-MailPace-Tags")
_LIST_SHAPED = ("X-MC-Tags", "X-Mailin-Tag", "X-MailerSend-Tags", "X-OMS-Tags", "X-MailPace-Tags")


@st.composite
def _headers(draw: st.DrawFn) -> list[tuple[str, str]]:
    names = draw(st.lists(st.sampled_from(_SIMPLE_HEADERS + ("Reply-To", "X-Priority")), unique=True, max_size=5))
    items = []
    for name in names:
        if name in _LIST_SHAPED:
            value = ", ".join(draw(st.lists(_TAG, max_size=3)))
        else:
            value = draw(_TAG)
        items.append((name, value))
    return items


def _expected(items: list[tuple[str, str]], tags: tuple[str, ...]) -> list[str]:
    existing = [t for n, v in items if n == "X-MailPace-Tags" for t in read_mailpace_tags(v)]
    translated: list[str] = []
    for name, value in items:
        if name in ("X-MailPace-Tags", "Reply-To", "X-Priority"):
            continue
        translated += read_mailpace_tags(value) if name in _LIST_SHAPED else [value.strip()]
    return merge_tags(existing, translated, tags)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=_headers(), tags=st.lists(st.sampled_from(["alpha", "beta", "a"]), unique=True, max_size=2),
       multiline=st.booleans(), trailing=st.booleans(), quote=st.sampled_from(['"', "'"]))
def test_any_django_headers_dict_ends_with_one_complete_tag_header(
    tmp_path: Path, items: list[tuple[str, str]], tags: list[str], multiline: bool, trailing: bool, quote: str
) -> None:
    q = quote
    entries = [f"{q}{name}{q}: {q}{value}{q}" for name, value in items]
    if multiline and entries:
        body = "{\n" + ",\n".join(f"        {e}" for e in entries) + (",\n" if trailing else "\n") + "    }"
    else:
        body = "{" + ", ".join(entries) + (", " if trailing and entries else "") + "}"
    before = DJANGO + f"def send():\n    EmailMessage({q}s{q}, {q}b{q}, headers={body}).send()\n"
    new, result = run_file(tmp_path, before, **_opts(", ".join(tags)))  # type: ignore[arg-type]
    again, second = run_file(tmp_path, new, **_opts(", ".join(tags)))  # type: ignore[arg-type]
    assert again == new and not second.changed_files  # idempotent
    call = next(n for n in ast.walk(ast.parse(new)) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "EmailMessage")
    headers = ast.literal_eval(next(k.value for k in call.keywords if k.arg == "headers"))
    expected = _expected(items, tuple(tags))
    # Every other header survives untouched, every provider tag header is gone, and the
    # tags are all in one X-MailPace-Tags (none at all when there were only blanks).
    assert {k: v for k, v in headers.items() if k != "X-MailPace-Tags"} == {n: v for n, v in items if n in ("Reply-To", "X-Priority")}
    if expected:
        # (duplicates the author wrote in an X-MailPace-Tags left alone stay theirs)
        assert merge_tags(read_mailpace_tags(headers["X-MailPace-Tags"])) == expected
    else:  # an empty X-MailPace-Tags the author wrote is theirs to keep
        assert read_mailpace_tags(headers.get("X-MailPace-Tags", "")) == []
    assert not [f for f in result.findings if not f.fixable], result.findings
    if new == before:
        assert not any(n not in ("Reply-To", "X-Priority", "X-MailPace-Tags") for n, _ in items)


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", " , ", "a\nX-Evil: 1", "tab\there"])
def test_bad_tags_are_a_usage_error_and_nothing_is_written(tmp_path: Path, bad: str) -> None:
    from typer.testing import CliRunner

    from mailmigrate.cli import app

    source = DJANGO + 'EmailMessage("s", "b", headers={"X-PM-Tag": "w"}).send()\n'
    (tmp_path / "mail.py").write_text(source)
    result = CliRunner().invoke(app, ["migrate", str(tmp_path), "--write", "--tags", bad])
    assert result.exit_code == 2
    assert "--tags:" in result.stderr and "Traceback" not in result.stderr
    assert (tmp_path / "mail.py").read_text() == source


def test_migrate_summary_names_each_retagged_message(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from mailmigrate.cli import app

    (tmp_path / "mail.py").write_text(DJANGO + 'EmailMessage("s", "b", headers={"X-PM-Tag": "w"}).send()\n')
    result = CliRunner().invoke(app, ["migrate", str(tmp_path), "--tags", "receipts"])
    assert result.exit_code == 1  # a dry run with changes
    assert '-EmailMessage("s", "b", headers={"X-PM-Tag": "w"}).send()' in result.stdout
    assert '+EmailMessage("s", "b", headers={"X-MailPace-Tags": "w, receipts"}).send()' in result.stdout
    assert "Django EmailMessage: X-PM-Tag → X-MailPace-Tags: w, receipts" in result.stderr
    assert "1 message to re-tag in 1 file" in result.stderr
    written = CliRunner().invoke(app, ["migrate", str(tmp_path), "--tags", "receipts", "--write"])
    assert written.exit_code == 0, written.output
    again = CliRunner().invoke(app, ["migrate", str(tmp_path), "--tags", "receipts"])
    assert (again.exit_code, again.stdout) == (0, "")
    checked = CliRunner().invoke(app, ["check", str(tmp_path)])
    assert (checked.exit_code, checked.stdout) == (0, "")
