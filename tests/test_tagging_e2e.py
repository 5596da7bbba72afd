"""Issue 7, "Proof": tags and unsubscribe headers, migrated by the real CLI and then sent for real.

Each application in tests/tagging_apps/ sends mail through another provider today, tagged (or not)
the way that provider wants:

- django_welcome: Django on Postmark, an ``EmailMessage`` without ``headers=``;
- django_receipt: Django on Postmark, ``EmailMessage(..., headers={"X-PM-Tag": ..., "Reply-To": ...})``;
- flask_digest: Flask + Flask-Mail on Mailgun, one ``Message(extra_headers={"X-Mailgun-Tag": ...})``
  and one ``Message`` without extra headers;
- smtplib_newsletter: a script on Mailgun building an ``email.message.EmailMessage`` with two
  ``X-Mailgun-Tag`` headers and a ``List-Unsubscribe``.

Each is committed to a real git repository (its provider credentials in tracked files), migrated with
``python -m mailmigrate migrate --write`` plus ``--tags`` / ``--list-unsubscribe``, migrated again
as a dry run (nothing left to change), then run in a fresh interpreter with smtp.mailpace.com
redirected to the local stand-in (tests/smtp_server.py): tests/drivers/send_tagged.py calls the
application's own send function (Django and Flask), tests/drivers/run_script.py runs the script.
The stand-in must see one login with the token over STARTTLS, and each message must carry exactly
one ``X-MailPace-Tags`` with the merged tags and no other provider's tag header.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import Message
from pathlib import Path

import pytest
from helpers import clean_env, git, make_repo, run_process
from smtp_server import SMTPTestServer

from mailmigrate.mailheaders import TAG_HEADERS

pytestmark = pytest.mark.slow

TESTS_DIR = Path(__file__).resolve().parent
APPS = TESTS_DIR / "tagging_apps"
SEND_TAGGED = TESTS_DIR / "drivers" / "send_tagged.py"
RUN_SCRIPT = TESTS_DIR / "drivers" / "run_script.py"
TOKEN = "b2e4f6a8-1c3d-4e5f-9a7b-test-tagging-token"
RECIPIENT = "customer@example.org"
# Tag headers of other providers (and MailPace's former name): none may reach MailPace. The
# explicit names guard against the table in mailheaders losing one.
PROVIDER_TAG_HEADERS = sorted({"x-pm-tag", "x-mailgun-tag", "x-smtpapi", "x-mc-tags", "x-oms-tags", *TAG_HEADERS})






def _make_app_repo(tmp_path: Path, app: str) -> Path:
    """The application's files, committed as they are today (provider settings and all)."""
    source = APPS / app
    files: dict[str, str | bytes] = {
        path.relative_to(source).as_posix(): path.read_bytes()
        for path in sorted(source.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }
    files[".gitignore"] = ".env\n__pycache__/\n"
    return make_repo(tmp_path / app, files)


def _tracked_text(repo: Path) -> dict[str, str]:
    return {name: (repo / name).read_text(encoding="utf-8") for name in git(repo, "ls-files").splitlines()}


def _migrate(repo: Path, options: list[str], changed: list[str], provider_secret: str) -> str:
    """`migrate --write OPTIONS` then the same dry run; returns the --write run's stderr (its summary)."""
    cli = clean_env(MAILPACE_API_TOKEN=TOKEN)
    before = _tracked_text(repo)
    assert any(provider_secret in text for text in before.values())

    written = run_process([sys.executable, "-m", "mailmigrate", "migrate", "--write", *options], repo, cli)
    # Everything is fixable: nothing is left for a person, so exit 0 and no findings on stdout.
    assert (written.returncode, written.stdout) == (0, ""), written.stdout + written.stderr
    assert "Traceback" not in written.stderr
    for secret in (TOKEN, provider_secret):
        assert secret not in written.stdout + written.stderr
    assert sorted(git(repo, "status", "--porcelain").splitlines()) == sorted(f" M {name}" for name in changed)
    after = _tracked_text(repo)
    for name, text in after.items():
        assert TOKEN not in text, f"the token was written into the tracked {name}"
        assert provider_secret not in text, f"the provider credential is still in {name}"
        if name.endswith(".py"):
            compile(text, name, "exec")

    # Idempotent: the same options again find nothing to change, and `check` is clean.
    again = run_process([sys.executable, "-m", "mailmigrate", "migrate", *options], repo, cli)
    assert (again.returncode, again.stdout) == (0, ""), again.stdout + again.stderr
    assert "Nothing to change." in again.stderr and TOKEN not in again.stderr
    checked = run_process([sys.executable, "-m", "mailmigrate", "check"], repo, cli)
    assert (checked.returncode, checked.stdout) == (0, ""), checked.stdout + checked.stderr
    assert _tracked_text(repo) == after
    return written.stderr


def _start_server(tmp_path: Path, smtp_server: Callable[..., SMTPTestServer]) -> tuple[SMTPTestServer, dict[str, str]]:
    """A STARTTLS stand-in for smtp.mailpace.com:587 and the environment a driver needs to reach it."""
    server = smtp_server(mode="starttls", token=TOKEN)
    ca_file = tmp_path / "test-ca.pem"  # outside the repository: git status stays as checked
    server.ca.cert_pem.write_to_path(str(ca_file))
    driver_env = clean_env(
        MAILPACE_API_TOKEN=TOKEN,  # the migrated code reads the token from here
        MM_TEST_HELPERS=str(TESTS_DIR),
        MM_TEST_CA_PEM=str(ca_file),
        MM_TEST_MAILPACE_PORT="587",
        MM_TEST_SMTP_PORT=str(server.port),
        MM_TEST_RECIPIENT=RECIPIENT,
    )
    return server, driver_env


def _received(server: SMTPTestServer, count: int) -> list[tuple[bytes, Message]]:
    """The messages the stand-in accepted, each from one STARTTLS login with the token (parsed with
    the modern policy: encoded words, as Flask-Mail writes From, are decoded)."""
    assert server.failed_logins == []
    assert [(login.username, login.tls) for login in server.logins] == [(TOKEN, "starttls")] * count
    assert len(server.messages) == count
    messages = []
    for received in server.messages:
        assert (received.tls, received.username) == ("starttls", TOKEN)
        assert received.rcpt_tos == (RECIPIENT,)
        messages.append((received.content, message_from_bytes(received.content, policy=policy.default)))
    return messages


def _assert_tags(raw: bytes, message: Message, tags: str) -> None:
    """Exactly one X-MailPace-Tags, as sent (raw) and as parsed; no other provider's tag header."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    assert re.findall(rb"(?im)^x-mailpace-tags:[ \t]*(.*?)\r?$", head) == [tags.encode()], head
    assert message.get_all("X-MailPace-Tags") == [tags], message.items()
    for name in PROVIDER_TAG_HEADERS:
        assert message.get_all(name) is None, f"{name} reached MailPace: {message.items()}"
    assert TOKEN not in message.as_string()


def _send(repo: Path, env: dict[str, str], *functions: str, django_settings: str | None = None) -> list[object]:
    """Calls the application's own FUNCTIONs (module:function) in send_tagged.py; what they returned."""
    if django_settings:
        env = {**env, "MM_TEST_DJANGO_SETTINGS": django_settings}
    sent = run_process([sys.executable, str(SEND_TAGGED), str(repo), *functions], repo, env)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert TOKEN not in sent.stdout + sent.stderr
    facts = json.loads(sent.stdout.strip().splitlines()[-1])
    assert facts["called"] == list(functions)
    return facts["returned"]


# --------------------------------------------------------------------------------------------
# 1. Django EmailMessage without headers=: --tags adds a headers= argument.


def test_django_message_without_headers_is_tagged(tmp_path: Path, smtp_server: Callable[..., SMTPTestServer]) -> None:
    repo = _make_app_repo(tmp_path, "django_welcome")
    summary = _migrate(
        repo, ["--tags", "welcome, onboarding"], ["mysite/emails.py", "mysite/settings.py"],
        provider_secret="3f1b9c2e-5a7d-4e8f-9b0c-postmark0001",
    )
    assert "mysite/emails.py:8: Django EmailMessage: X-MailPace-Tags: welcome, onboarding" in summary
    emails = (repo / "mysite" / "emails.py").read_text()
    assert '        to=[address],\n        headers={"X-MailPace-Tags": "welcome, onboarding"},\n    )\n' in emails
    settings = (repo / "mysite" / "settings.py").read_text()
    assert 'EMAIL_HOST = "smtp.mailpace.com"\n' in settings
    assert 'EMAIL_HOST_PASSWORD = os.environ["MAILPACE_API_TOKEN"]\n' in settings

    server, env = _start_server(tmp_path, smtp_server)
    assert _send(repo, env, "mysite.emails:send_welcome", django_settings="mysite.settings") == [1]  # sent count
    [(raw, message)] = _received(server, 1)
    assert message["Subject"] == "Welcome to Acme"
    assert message["From"] == "Acme <hello@acme.example>"
    assert server.messages[0].mail_from == "hello@acme.example"
    _assert_tags(raw, message, "welcome, onboarding")


# --------------------------------------------------------------------------------------------
# 2. Django EmailMessage with headers={"X-PM-Tag": ..., "Reply-To": ...}: the Postmark tag becomes
#    X-MailPace-Tags in its place, merged with --tags; the other header stays.


def test_django_postmark_tag_is_merged_with_tags(tmp_path: Path, smtp_server: Callable[..., SMTPTestServer]) -> None:
    repo = _make_app_repo(tmp_path, "django_receipt")
    summary = _migrate(
        repo, ["--tags", "transactional"], ["shop/receipts.py", "shop/settings.py"],
        provider_secret="9d2c4b1a-0e6f-4a3b-8c7d-postmark0002",
    )
    assert "shop/receipts.py:8: Django EmailMessage: X-PM-Tag → X-MailPace-Tags: receipt, transactional" in summary
    receipts = (repo / "shop" / "receipts.py").read_text()
    assert 'headers={"X-MailPace-Tags": "receipt, transactional", "Reply-To": "billing@shop.example"},\n' in receipts
    assert "X-PM-Tag" not in receipts

    server, env = _start_server(tmp_path, smtp_server)
    assert _send(repo, env, "shop.receipts:send_receipt", django_settings="shop.settings") == [1]
    [(raw, message)] = _received(server, 1)
    assert message["Subject"] == "Your receipt for order A-1042"
    assert message["From"] == "Shop Orders <orders@shop.example>"
    assert message.get_all("Reply-To") == ["billing@shop.example"]
    _assert_tags(raw, message, "receipt, transactional")


# --------------------------------------------------------------------------------------------
# 3. Flask-Mail: the Mailgun tag in extra_headers= becomes X-MailPace-Tags; with --tags the message
#    without extra_headers gets them too. Order: translated provider tags first, then --tags,
#    each tag once ("digest" is in both).

FLASK_CASES = [
    pytest.param(
        [], {"send_digest": '            extra_headers={"X-MailPace-Tags": "digest"},\n'},
        [("send_digest", "Your weekly digest", "digest")],
        id="translated-only",
    ),
    pytest.param(
        ["--tags", "acme-web, digest"],
        {
            "send_digest": '            extra_headers={"X-MailPace-Tags": "digest, acme-web"},\n',
            "send_password_reset": 'extra_headers={"X-MailPace-Tags": "acme-web, digest"})\n',
        },
        [
            ("send_digest", "Your weekly digest", "digest, acme-web"),
            ("send_password_reset", "Reset your password", "acme-web, digest"),
        ],
        id="merged-with-tags",
    ),
]


@pytest.mark.parametrize(("options", "source_lines", "sends"), FLASK_CASES)
def test_flask_mail_messages_are_tagged(
    tmp_path: Path, smtp_server: Callable[..., SMTPTestServer],
    options: list[str], source_lines: dict[str, str], sends: list[tuple[str, str, str]],
) -> None:
    repo = _make_app_repo(tmp_path, "flask_digest")
    _migrate(repo, options, ["app.py"], provider_secret="4b1d9e7c2a6f8e3d5c0b9a7f-2e4c6a8b-1d3f5a7c")
    app = (repo / "app.py").read_text()
    assert 'app.config["MAIL_SERVER"] = "smtp.mailpace.com"\n' in app
    assert 'app.config["MAIL_PASSWORD"] = os.environ["MAILPACE_API_TOKEN"]\n' in app
    assert "X-Mailgun-Tag" not in app
    for line in source_lines.values():
        assert line in app, app
    assert app.count("X-MailPace-Tags") == len(source_lines)

    server, env = _start_server(tmp_path, smtp_server)
    _send(repo, env, *(f"app:{function}" for function, _, _ in sends))
    messages = _received(server, len(sends))
    for (raw, message), (_, subject, tags) in zip(messages, sends, strict=True):
        assert message["Subject"] == subject
        assert message["From"] == "Weekly Digest <digest@digest.example>"
        _assert_tags(raw, message, tags)


# --------------------------------------------------------------------------------------------
# 4. smtplib + email.message.EmailMessage: two X-Mailgun-Tag statements become one X-MailPace-Tags
#    statement (both values, in order); --list-unsubscribe renames List-Unsubscribe.

SMTPLIB_CASES = [
    pytest.param([], "newsletter, 2024-06", id="translated-only"),
    pytest.param(["--tags", "newsletter, marketing"], "newsletter, 2024-06, marketing", id="merged-with-tags"),
]


@pytest.mark.parametrize(("tag_options", "tags"), SMTPLIB_CASES)
def test_smtplib_message_tags_and_unsubscribe(
    tmp_path: Path, smtp_server: Callable[..., SMTPTestServer], tag_options: list[str], tags: str
) -> None:
    repo = _make_app_repo(tmp_path, "smtplib_newsletter")
    summary = _migrate(
        repo, ["--list-unsubscribe", *tag_options], ["send_newsletter.py"],
        provider_secret="key-8f3a1c9e7b5d2f4a6c8e0b1d3f5a7c9e",
    )
    assert (
        f"send_newsletter.py:9: EmailMessage: X-Mailgun-Tag → X-MailPace-Tags: {tags}; "
        "List-Unsubscribe → X-List-Unsubscribe"
    ) in summary
    script = (repo / "send_newsletter.py").read_text()
    assert (
        'msg["To"] = RECIPIENT\n'
        f'msg["X-MailPace-Tags"] = "{tags}"\n'
        'msg["X-List-Unsubscribe"] = "<https://news.example/unsubscribe?u=42>"\n'
        'msg.set_content('
    ) in script
    assert "X-Mailgun-Tag" not in script
    assert 'with smtplib.SMTP("smtp.mailpace.com", 587, timeout=10) as server:\n' in script

    server, env = _start_server(tmp_path, smtp_server)
    env["MM_TEST_RECIPIENT"] = "unused: the script has its own recipient"
    sent = run_process([sys.executable, str(RUN_SCRIPT), str(repo / "send_newsletter.py")], repo, env)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout == "Newsletter sent to reader@example.org\n"
    assert server.failed_logins == []
    assert [(login.username, login.tls) for login in server.logins] == [(TOKEN, "starttls")]
    [received] = server.messages
    assert (received.tls, received.username, received.rcpt_tos) == ("starttls", TOKEN, ("reader@example.org",))
    message = message_from_bytes(received.content, policy=policy.default)
    assert message["Subject"] == "June newsletter"
    assert message["From"] == "News <news@mg.news.example>"
    _assert_tags(received.content, message, tags)
    assert message.get_all("X-List-Unsubscribe") == ["<https://news.example/unsubscribe?u=42>"]
    assert message.get_all("List-Unsubscribe") is None


# --------------------------------------------------------------------------------------------
# A tag header set in a branch (`if urgent: msg["X-PM-Tag"] = "urgent"`) belongs to some messages
# only. Merging it into one X-MailPace-Tags outside the branch would tag every alert "urgent"; the
# message is left as it is (MM206), so the one that does not take the branch keeps only its own tag.


def _tags_of(message: Message) -> list[str]:
    return [
        tag.strip()
        for name in ("X-MailPace-Tags", *PROVIDER_TAG_HEADERS)
        for value in message.get_all(name) or []
        for tag in str(value).split(",")
    ]


def test_tag_set_in_a_branch_stays_in_that_branch(tmp_path: Path, smtp_server: Callable[..., SMTPTestServer]) -> None:
    repo = _make_app_repo(tmp_path, "smtplib_conditional")
    cli = clean_env(MAILPACE_API_TOKEN=TOKEN)
    written = run_process([sys.executable, "-m", "mailmigrate", "migrate", "--write"], repo, cli)
    # A tag set in a branch is for some messages only: the message is left for a person (MM206),
    # while the SMTP connection is still migrated.
    assert written.returncode == 1, written.stdout + written.stderr
    assert "MM206" in written.stdout and "inside a block" in written.stdout
    assert "Traceback" not in written.stderr and TOKEN not in written.stdout + written.stderr

    server, env = _start_server(tmp_path, smtp_server)
    for argument in ("normal", "urgent"):
        sent = run_process([sys.executable, str(RUN_SCRIPT), str(repo / "send_alert.py"), argument], repo, env)
        assert sent.returncode == 0, sent.stdout + sent.stderr
    assert [(login.username, login.tls) for login in server.logins] == [(TOKEN, "starttls")] * 2
    normal, urgent = (message_from_bytes(m.content, policy=policy.default) for m in server.messages)
    assert normal["Importance"] is None and urgent["Importance"] == "high"
    assert "urgent" in _tags_of(urgent)
    assert _tags_of(normal) == ["alerts"], normal.items()
