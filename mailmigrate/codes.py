"""The finding codes: one table, never reused, each documented with what / why / example / fix
safety (ruff's headings). `docs/codes.md` is generated from this table
(`python -m mailmigrate.codes > docs/codes.md`) and a test checks both stay complete and in sync.

MM0xx: input problems. MM1xx: migration. MM2xx: hygiene.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    code: str
    name: str  # kebab-case: what is flagged
    what: str
    why: str
    example: str  # a diff or a snippet
    fix_safety: str


CODES: tuple[Code, ...] = (
    Code(
        "MM001",
        "unreadable-file",
        "A file that discovery selected could not be read (permissions, a vanished file, an I/O error).",
        "A configuration in that file cannot be checked or migrated; silently skipping it would "
        "let stale SMTP settings through.",
        "config/.env:1:1: MM001 cannot read the file: Permission denied",
        "No fix: make the file readable, or exclude it.",
    ),
    Code(
        "MM002",
        "undecodable-file",
        "The file is not UTF-8 text (binary content, NUL bytes, another encoding).",
        "Edits are made on text spans; a file that cannot be decoded exactly cannot be edited "
        "without risking every byte outside the span.",
        ".env:1:1: MM002 not UTF-8 text (byte 0xff at offset 12)",
        "No fix: convert the file to UTF-8, or exclude it.",
    ),
    Code(
        "MM003",
        "invalid-syntax",
        "The file (or one line of it) does not parse in its format, for example an env line "
        "without `=`, or a URL value that is not a URL.",
        "A line the application's own parser may read differently than we do cannot be migrated "
        "safely; the rest of the file still is.",
        ".env:7:1: MM003 invalid env line: `EMAIL_HOST smtp.sendgrid.net`",
        "No fix: correct the line. Other configurations in the file are still migrated.",
    ),
    Code(
        "MM004",
        "changed-during-run",
        "A file changed on disk between planning and writing.",
        "Writing the planned text would overwrite someone else's change.",
        ".env:1:1: MM004 changed on disk since it was read; nothing was written",
        "Nothing is written in that run; run `migrate --write` again.",
    ),
    Code(
        "MM005",
        "unsafe-rewrite",
        "The planned rewrite of a file did not re-parse, or planning again on the result still "
        "wanted changes (not idempotent).",
        "A rewrite that cannot be proven stable is never written.",
        ".env:1:1: MM005 the rewrite does not re-parse: invalid env line 3",
        "Nothing is written for that run; please report it with the (masked) file.",
    ),
    Code(
        "MM006",
        "unknown-value",
        "A setting holds a value the family's rule does not recognise (an encryption word, a "
        "boolean), so the configuration's behaviour cannot be decided.",
        "Guessing how the application reads `EMAIL_USE_TLS=maybe` could break mail.",
        "-MAIL_ENCRYPTION=starttsl\n(reported, not edited)",
        "Not fixed automatically when the value decides the target; correct the value by hand.",
    ),
    Code(
        "MM007",
        "file-too-large",
        "A file that names mail settings is larger than 4 MiB.",
        "Configuration files are small; a file this size is data (a database dump, a generated "
        "module). Parsing it would take minutes and much memory, and editing data by pattern is "
        "not a migration.",
        "fixtures/dump.yml:1:1: MM007 48.0 MiB: too large to be a configuration file (the limit is 4 MiB); not read",
        "No fix: exclude the file (`exclude` in [tool.mailmigrate]) or split the configuration out of it.",
    ),
    Code(
        "MM008",
        "interrupted-write-leftover",
        "A temporary file (`.NAME.XXXXXXXX.mailmigrate`) or backup (`.NAME.mailmigrate-backup`) "
        "that an interrupted `migrate --write` (killed, power lost) left beside a file.",
        "It holds the old or the new text of a configuration file, perhaps a password or the "
        "token; untracked and not ignored, `git add -A` would commit it. It is never read as "
        "configuration.",
        ".env.mailmigrate-backup:1:1: MM008 a backup of .env (its old text) left by an interrupted write",
        "Not removed automatically (it may be the only copy of the old text, or belong to a run "
        "still going): check the file it names, then delete it.",
    ),
    Code(
        "MM101",
        "non-mailpace-host",
        "An SMTP configuration points at a host that is not MailPace; the provider is named when "
        "it is known (SendGrid, Mailgun, Amazon SES, ...).",
        "This is what the migration moves: outgoing mail should go through smtp.mailpace.com.",
        "-EMAIL_HOST=smtp.sendgrid.net\n+EMAIL_HOST=smtp.mailpace.com",
        "Safe: the host is replaced in place, together with port, encryption and credentials of "
        "the same configuration.",
    ),
    Code(
        "MM102",
        "legacy-mailpace-host",
        "The configuration uses MailPace's legacy name smtp.ohmysmtp.com.",
        "The legacy name still works, but it is not documented for new setups and may go away.",
        "-SMTP_HOST=smtp.ohmysmtp.com\n+SMTP_HOST=smtp.mailpace.com",
        "Safe: same service, new name.",
    ),
    Code(
        "MM103",
        "unsupported-port",
        "The port is not one MailPace listens on (25, 587, 2525 with STARTTLS; 465 implicit TLS).",
        "The connection would be refused or time out.",
        "-EMAIL_PORT=2587\n+EMAIL_PORT=587",
        "Safe: the port follows the port policy (keep the transport style; STARTTLS on 587 "
        "unless the port was 25 or 2525; implicit TLS on 465).",
    ),
    Code(
        "MM104",
        "no-encryption",
        "The configuration sends without TLS (no STARTTLS, no implicit TLS).",
        "MailPace only accepts AUTH after STARTTLS or over implicit TLS; the login would fail "
        "with 530.",
        "-EMAIL_USE_TLS=False\n+EMAIL_USE_TLS=True",
        "Safe: the family's STARTTLS setting is set (added next to its siblings when missing).",
    ),
    Code(
        "MM105",
        "encryption-port-mismatch",
        "The encryption mode does not fit the port: implicit TLS on a STARTTLS port or STARTTLS "
        "on 465.",
        "The TLS handshake would fail or hang: the server and client wait for different things.",
        "-SMTP_PORT=465\n+SMTP_PORT=587   (SMTP_SECURE=false keeps STARTTLS)",
        "Safe: the transport style is kept and the port moves to match it.",
    ),
    Code(
        "MM106",
        "conflicting-tls-flags",
        "Settings ask for STARTTLS and implicit TLS at once (EMAIL_USE_TLS and EMAIL_USE_SSL both "
        "true).",
        "Django and Flask-Mail refuse to start or pick one silently; the result is not what the "
        "file says.",
        "-EMAIL_USE_SSL=True\n+EMAIL_USE_SSL=False",
        "Safe: the port decides which one stays (465 keeps implicit TLS, other ports STARTTLS).",
    ),
    Code(
        "MM107",
        "missing-setting",
        "A setting the family needs for a MailPace login is missing, and the framework's default "
        "is wrong for MailPace (Django without EMAIL_USE_TLS, Spring without mail.smtp.auth).",
        "The framework default (no TLS, no AUTH) makes the login fail.",
        " EMAIL_PORT=587\n+EMAIL_USE_TLS=True",
        "Safe: the setting is added next to its siblings, in the file's own spelling.",
    ),
    Code(
        "MM108",
        "wrong-credentials",
        "The username is not the MailPace API token: a provider's fixed user (SendGrid's "
        "`apikey`, SparkPost's `SMTP_Injection`), or a username different from the password.",
        "MailPace's username and password are both the domain's API token; anything else gets "
        "535.",
        "-EMAIL_HOST_USER=apikey\n+EMAIL_HOST_USER=********",
        "Safe in secrets files (they receive the token). In tracked files and templates the value "
        "is emptied and a follow-up names the variable to set in deployment.",
    ),
    Code(
        "MM109",
        "not-smtp-transport",
        "The family's switch selects something else than SMTP with login (a provider API mailer "
        "such as MAIL_MAILER=mailgun, a Nodemailer service preset, SMTP auth off).",
        "With that switch the host and credentials are never used, or no login happens.",
        "-MAIL_MAILER=mailgun\n+MAIL_MAILER=smtp",
        "Safe: the switch is set to the family's SMTP value. Development switches (log, array, "
        "sendmail) are left alone and the configuration is reported as inactive.",
    ),
    Code(
        "MM110",
        "provider-url-scheme",
        "A DSN names a provider bridge (`sendgrid+smtp://`, `mailgun+api://`).",
        "The bridge talks to that provider; MailPace needs a plain SMTP DSN.",
        "-MAILER_DSN=sendgrid+smtp://KEY@default\n+MAILER_DSN=smtp://********:********@smtp.mailpace.com:587",
        "Safe: the DSN is rebuilt with MailPace's host, port and credentials.",
    ),
    Code(
        "MM111",
        "set-in-deployment",
        "A setting that must change reads an environment variable (`${SMTP_HOST}`) that no file in "
        "the repository defines, and has no default to rewrite.",
        "The value lives where the app is deployed; mailmigrate cannot change it there.",
        "EMAIL_HOST=${SMTP_HOST}\n(reported: set SMTP_HOST=smtp.mailpace.com in deployment)",
        "No fix in the repository: set the variable where the app runs.",
    ),
    Code(
        "MM112",
        "shared-setting-conflict",
        "Two configurations read the same key (two apps sharing one env file) and need different "
        "values in it.",
        "Whichever value is written, one of the apps would not log in.",
        "SMTP_PORT=587   # Mastodon wants 587; Outline (SMTP_SECURE defaults to true) wants 465",
        "Neither configuration is changed; give each app its own key (Outline: SMTP_SECURE=false).",
    ),
    Code(
        "MM113",
        "template-source",
        "A settings file is a template (Jinja, cookiecutter): `{{ ... }}` stands where values go.",
        "A template's values are filled in elsewhere; editing the template source would break it.",
        "settings.py:1:1: MM113 a cookiecutter template: its values are reported, never edited",
        "Never fixed: migrate the values the template reads, or the rendered project.",
    ),
    Code(
        "MM114",
        "misspelled-setting",
        "A name one typo away from a setting the framework reads (`EMAIL_USE_TSL`).",
        "The framework ignores the misspelled name, so the setting silently keeps its default.",
        "EMAIL_USE_TSL = True   # Django reads EMAIL_USE_TLS",
        "Not fixed automatically (the intent is a guess); rename it by hand.",
    ),
    Code(
        "MM115",
        "computed-value",
        "A setting that must change is computed by code mailmigrate cannot follow (`get_host()`, "
        "a concatenation).",
        "Rewriting code it cannot read could change the application's behaviour.",
        "EMAIL_HOST = get_smtp_host()   # must return smtp.mailpace.com",
        "Not fixed: change the code or the value it computes by hand.",
    ),
    Code(
        "MM201",
        "literal-secret-in-tracked-file",
        "An SMTP password (or the token) is written literally in a file that git tracks.",
        "Everyone with read access to the repository, and its whole history, has the credential.",
        "-EMAIL_HOST_PASSWORD=SG.abc...\n+EMAIL_HOST_PASSWORD=",
        "The value is emptied (or becomes a reference to the token variable where the format "
        "has one) and a follow-up names the variable to set. Rotate the old credential: it stays "
        "in git history.",
    ),
    Code(
        "MM202",
        "from-address-derived",
        "The sender address is built from the SMTP username or host (`'no-reply@' + MAIL_SERVER`, "
        "`DEFAULT_FROM_EMAIL = EMAIL_HOST_USER`).",
        "With MailPace the username is an API token and the host is smtp.mailpace.com: the derived "
        "sender is invalid, and MailPace only sends from the token's verified domain.",
        "DEFAULT_FROM_EMAIL = EMAIL_HOST_USER\n(set a real address: DEFAULT_FROM_EMAIL = \"shop@example.com\")",
        "Not fixed automatically: choose an address on the domain the token belongs to.",
    ),
    Code(
        "MM203",
        "provider-tag-header",
        "A message carries another provider's tag header: X-PM-Tag, X-Mailgun-Tag, X-MC-Tags, "
        "X-SMTPAPI `category`, X-MSYS-API `tags`/`campaign_id`, X-SES-MESSAGE-TAGS, X-Mailin-Tag, "
        "X-MailerSend-Tags or X-Mailjet-Campaign.",
        "MailPace reads tags from X-MailPace-Tags only; other headers are dropped, so the mail "
        "arrives untagged and the dashboard cannot filter it.",
        '-        headers={"X-PM-Tag": "welcome"},\n+        headers={"X-MailPace-Tags": "welcome"},',
        "Fixed by `migrate`: every tag header of the message becomes one X-MailPace-Tags in the "
        "first one's place, merged with an existing X-MailPace-Tags and `--tags`, duplicates and "
        "blanks dropped. JSON headers keep their other keys (see MM205). SES `name=value` pairs are "
        "kept whole as tags. A header set outside a message mailmigrate reads (a constant dict, a "
        "helper's `headers[...] = ...`) is reported, not fixed.",
    ),
    Code(
        "MM204",
        "legacy-mailpace-header",
        "A message uses OhMySMTP-era names: X-OMS-Tags, X-OhMySMTP-Tags, OhMySMTP-Server-Token.",
        "MailPace was OhMySMTP; the old tag headers are not documented any more, and the old API "
        "header means nothing in an SMTP message.",
        '-    msg["X-OMS-Tags"] = "receipt"\n+    msg["X-MailPace-Tags"] = "receipt"',
        "Tag headers are fixed by `migrate` as in MM203. OhMySMTP-Server-Token is reported: "
        "remove it by hand.",
    ),
    Code(
        "MM205",
        "provider-only-header",
        "A message carries a provider header with no MailPace meaning: metadata (X-PM-Metadata-*, "
        "X-Mailgun-Variables, X-MC-Metadata, X-MJ-CustomID), tracking switches (X-PM-TrackOpens, "
        "X-Mailgun-Track-Clicks, X-MC-Track), message streams (X-PM-Message-Stream), "
        "configuration sets (X-SES-CONFIGURATION-SET), or the non-tag keys of X-SMTPAPI/X-MSYS-API.",
        "MailPace drops headers it does not support: whatever the provider did with them "
        "(webhooks' metadata, tracking, stream routing) silently stops.",
        'headers={"X-PM-Message-Stream": "outbound"}   # Postmark routing: no meaning at MailPace',
        "Not fixed: other code (webhook handlers, analytics) may still read the value. Remove the "
        "header once nothing needs it, or suppress the finding on its line.",
    ),
    Code(
        "MM206",
        "headers-need-a-person",
        "A message's tags or unsubscribe header cannot be rewritten faithfully: a computed value "
        "(`headers={\"X-PM-Tag\": tag}`), a comma inside one tag, a headers dict passed in from "
        "elsewhere or unpacking `**base`, the same key twice in one dict, invalid X-SMTPAPI JSON, "
        "or no line of its own to add a header on.",
        "Guessing would change what the mail says; a partial rewrite would leave two tag sources. "
        "The message is left exactly as it was and the line to change is named.",
        'headers={"X-PM-Tag": campaign.slug}   # write: {"X-MailPace-Tags": campaign.slug}',
        "Not fixed: change the named line by hand (or suppress the finding on it).",
    ),
    Code(
        "MM207",
        "list-unsubscribe-header",
        "A message sets List-Unsubscribe.",
        "MailPace reads the unsubscribe link from X-List-Unsubscribe and writes List-Unsubscribe "
        "itself; a List-Unsubscribe the application sets is not kept.",
        '-    msg["List-Unsubscribe"] = "<https://example.com/u/42>"\n+    msg["X-List-Unsubscribe"] = "<https://example.com/u/42>"',
        "Fixed by `migrate --list-unsubscribe` (the name is renamed, the value kept). Without the "
        "option, or where the header is set outside a message mailmigrate reads, it is reported.",
    ),
    Code(
        "MM208",
        "one-click-unsubscribe",
        "A message sets List-Unsubscribe-Post (RFC 8058 one-click unsubscribe).",
        "MailPace does not document support for one-click unsubscribe; mailbox providers that "
        "require it for bulk senders may stop showing the unsubscribe button.",
        'msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"',
        "Not fixed: check with MailPace how one-click unsubscribe is handled, then remove or keep it.",
    ),
    Code(
        "MM209",
        "message-not-tagged",
        "With `--tags`, a message the code builds has no X-MailPace-Tags holding those tags.",
        "Untagged mail cannot be told apart in MailPace's dashboard and statistics.",
        '-    EmailMessage(subject, body, sender, [to]).send()\n+    EmailMessage(subject, body, sender, [to], headers={"X-MailPace-Tags": "receipts"}).send()',
        "Fixed by `migrate --tags`: added to the existing headers dict (or a new `headers=` / "
        "`extra_headers=` argument, or a `msg[\"X-MailPace-Tags\"] = ...` line after the message's "
        "other headers), merged into an existing X-MailPace-Tags; never twice.",
    ),
    Code(
        "MM210",
        "untaggable-call",
        "With `--tags`, mail is sent by a call that takes no headers: Django's `send_mail`, "
        "`send_mass_mail`, `mail_admins`, `mail_managers`.",
        "That mail goes out untagged whatever the other messages do.",
        'send_mail("Receipt", body, sender, [to])\n(tag it: EmailMessage("Receipt", body, sender, [to], headers={"X-MailPace-Tags": "receipts"}).send())',
        "Not fixed: rewriting the call changes its error handling and return value; replace it "
        "by hand where the tag matters.",
    ),
)


BY_CODE: dict[str, Code] = {c.code: c for c in CODES}


def level(code: str) -> str:
    """How loud a finding is, the same in every output format: MM0xx (a file that could not be
    checked) and MM1xx (stale or broken SMTP settings) are errors; MM2xx hygiene is a warning."""
    return "warning" if code.startswith("MM2") else "error"


def render_markdown() -> str:
    """The documentation page for every code."""
    lines = [
        "# Finding codes",
        "",
        "Generated from `mailmigrate/codes.py` (`python -m mailmigrate.codes > docs/codes.md`).",
        "Suppress one on its line with a comment: `# mailmigrate: ignore[MM101]`.",
        "",
    ]
    for code in CODES:
        lines += [
            f"## {code.code} {code.name}",
            "",
            f"**What** {code.what}",
            "",
            f"**Why** {code.why}",
            "",
            "**Example**",
            "",
            "```diff" if code.example.startswith(("-", "+", " ")) else "```",
            code.example,
            "```",
            "",
            f"**Fix safety** {code.fix_safety}",
            "",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_markdown(), end="")
