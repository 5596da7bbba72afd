"""Hides secrets in everything mailmigrate prints. The CLI passes all output through one
`Masker`, so a new output format cannot forget to mask."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from mailmigrate.planner import MASK
from mailmigrate.smtpurl import parse_url

# Keys whose values are credentials of some kind (DB_PASSWORD, SECRET_KEY, APP_KEY, *_TOKEN):
# masked even when they are only context around an edit.
SENSITIVE_KEY = re.compile(r"PASS|SECRET|TOKEN|_KEY$|^KEY$|APIKEY|API_KEY|CREDENTIAL|PRIVATE", re.IGNORECASE)

# Shorter values are too likely to be ordinary words or flags ("no", "123") to replace blindly.
MIN_SECRET_LENGTH = 5
_NOT_SECRETS = frozenset({
    "none", "null", "true", "false", "changeme", "change-me", "password", "secret", "postgres", "example",
    "superset", "mysql", "redis", "admin", "apikey", "smtp_injection",
})


class Masker:
    def __init__(
        self, secrets: Iterable[str] = (), always: Iterable[str] = (), keep: Iterable[str] = (), weak: Iterable[str] = ()
    ) -> None:
        """`secrets`: SMTP credentials found in files; `always`: the token, masked whatever its
        length; `weak`: other credential-looking values, masked only when they look like real
        secrets (not "postgres", "---"); `keep`: text never masked (file paths: a password
        "superset" must not turn superset_config.py into a path that does not exist)."""
        variants: set[str] = set()
        forced = {s.strip() for s in always if s.strip()}
        chosen = {s.strip() for s in secrets if _maskable(s.strip())}
        chosen |= {s.strip() for s in weak if _maskable(s.strip()) and _looks_secret(s.strip())}
        for secret in chosen | forced:
            if secret == MASK:
                continue
            variants.update({secret, quote(secret, safe=""), quote_plus(secret), _b64(secret)})
            # As JSON output spells it (non-ASCII and backslashes escaped).
            variants.add(json.dumps(secret)[1:-1])
            # An SMTP AUTH PLAIN payload carries the secret base64-encoded with NULs around it.
            variants.add(_b64(f"\0{secret}\0{secret}"))
        # Longest first, so a secret that contains another is replaced whole; a secret is only
        # masked as a whole value, not inside a longer word (superset_config, examples).
        ordered = sorted((v for v in variants if v), key=len, reverse=True)
        kept = sorted({k for k in keep if k}, key=len, reverse=True)
        self._pattern = None
        if ordered:
            secret_part = r"(?<![A-Za-z0-9_])(?:" + "|".join(map(re.escape, ordered)) + r")(?![A-Za-z0-9_])"
            keep_part = "(?P<keep>" + "|".join(map(re.escape, kept)) + ")|" if kept else ""
            self._pattern = re.compile(keep_part + secret_part)

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(lambda m: m.group(0) if m.lastgroup == "keep" else MASK, text)


def _maskable(value: str) -> bool:
    return len(value) >= MIN_SECRET_LENGTH and value.lower() not in _NOT_SECRETS and any(c.isalnum() for c in value)


def _looks_secret(value: str) -> bool:
    """Not a bare placeholder word: long, or mixing digits or symbols into it (hunter2)."""
    return len(value) >= 12 or (len(value) >= 6 and any(not c.isalpha() for c in value))


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/\s:@]*:([^/\s@]+))@")


def url_credentials(value: str) -> set[str]:
    """Credentials in URLs inside a value, parsed or not: `postgres://shop:pw@db/shop`, and
    `smtp://u:pa?ss@h` that no URL parser accepts (its userinfo ends at the last "@")."""
    found: set[str] = set()
    for match in _USERINFO.finditer(value):
        found.update({match.group(1), match.group(2)})
    url = parse_url(value)
    if url is not None and url.password:
        found.update({url.password, url.userinfo or ""})
    scheme_end = value.find("://")
    at = value.rfind("@")
    if scheme_end >= 0 and at > scheme_end:
        userinfo = value[scheme_end + 3:at]
        found.add(userinfo)
        if ":" in userinfo:
            found.add(userinfo.split(":", 1)[1])
    return found
