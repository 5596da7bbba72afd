"""Who a host belongs to: MailPace, a provider we migrate away from, or a local server.

Host patterns come from ../shared/mailpace.md. Matching is on the lower-cased host name, without
brackets or a trailing dot.
"""

from __future__ import annotations

import re

MAILPACE_HOST = "smtp.mailpace.com"
LEGACY_HOSTS = frozenset({"smtp.ohmysmtp.com"})
MAILPACE_STARTTLS_PORTS = frozenset({25, 587, 2525})
MAILPACE_IMPLICIT_PORT = 465

# (provider name, full-match pattern)
_PROVIDERS: tuple[tuple[str, str], ...] = (
    ("SendGrid", r"smtp\.sendgrid\.net"),
    ("Mailgun", r"smtp(\.eu)?\.mailgun\.org"),
    ("Amazon SES", r"email-smtp(-fips)?\.[a-z0-9-]+\.amazonaws\.com"),
    ("Postmark", r"smtp(-broadcasts)?\.postmarkapp\.com"),
    ("SparkPost", r"smtp(\.eu)?\.sparkpostmail\.com"),
    ("Mandrill", r"smtp\.mandrillapp\.com"),
    ("Mailjet", r"in(-v3)?\.mailjet\.com"),
    ("Brevo", r"smtp-relay\.(brevo|sendinblue)\.com"),
    ("MailerSend", r"smtp\.mailersend\.net"),
    ("Resend", r"smtp\.resend\.com"),
    ("Mailtrap", r"(live\.|bulk\.)?smtp\.mailtrap\.io"),
    ("SMTP2GO", r"mail(-us|-eu|-au)?\.smtp2go\.com"),
    ("Elastic Email", r"smtp(25)?\.elasticemail\.com"),
    ("Scaleway TEM", r"smtp\.tem\.(scaleway\.com|scw\.cloud)"),
    ("Gmail", r"smtp(-relay)?\.gmail\.com|smtp\.googlemail\.com|aspmx\.l\.google\.com"),
    ("Microsoft 365", r"smtp\.office365\.com|smtp-mail\.outlook\.com|[a-z0-9-]+\.mail\.protection\.outlook\.com"),
    ("Zoho", r"smtp(pro)?\.zoho\.[a-z.]+"),
    ("Yahoo", r"smtp\.mail\.yahoo\.com"),
    ("Fastmail", r"smtp\.fastmail\.com"),
    ("iCloud", r"smtp\.mail\.me\.com"),
    ("Loops", r"smtp\.loops\.so"),
    ("OVH", r"ssl0\.ovh\.net|ex[0-9]*\.mail\.ovh\.net"),
)
_COMPILED = tuple((name, re.compile(pattern)) for name, pattern in _PROVIDERS)

# Symfony Mailer bridge names (`sendgrid+smtp://`) → provider names.
BRIDGES = {
    "sendgrid": "SendGrid", "mailgun": "Mailgun", "ses": "Amazon SES", "postmark": "Postmark",
    "sparkpost": "SparkPost", "mandrill": "Mandrill", "mailchimp": "Mandrill", "mailjet": "Mailjet",
    "brevo": "Brevo", "sendinblue": "Brevo", "mailersend": "MailerSend", "resend": "Resend",
    "mailtrap": "Mailtrap", "scaleway": "Scaleway TEM", "infobip": "Infobip", "postal": "Postal",
    "azure": "Azure Communication Services", "mailpace": "MailPace", "gmail": "Gmail",
}

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0", "host.docker.internal"})
CATCHERS = frozenset({"mailpit", "mailhog", "maildev", "mailcatcher", "smtp4dev", "inbucket"})


def normalise_host(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def is_mailpace(host: str) -> bool:
    return normalise_host(host) == MAILPACE_HOST


def is_legacy_mailpace(host: str) -> bool:
    return normalise_host(host) in LEGACY_HOSTS


def provider_of(host: str) -> str | None:
    """The provider's name for a known host, None otherwise."""
    name = normalise_host(host)
    if name == MAILPACE_HOST:
        return "MailPace"
    if name in LEGACY_HOSTS:
        return "MailPace (legacy OhMySMTP name)"
    for provider, pattern in _COMPILED:
        if pattern.fullmatch(name):
            return provider
    return None


def bridge_provider(name: str) -> str:
    return BRIDGES.get(name.lower(), name)


def catcher_of(host: str) -> str | None:
    """The mail catcher's name when the host is one (`mailpit`, `mailhog.local`, `maildev_1`)."""
    name = normalise_host(host)
    first = re.split(r"[._-]", name, maxsplit=1)[0]
    return first if first in CATCHERS else None


def is_loopback(host: str) -> bool:
    name = normalise_host(host)
    return name in LOCAL_HOSTS or name.startswith("127.")
