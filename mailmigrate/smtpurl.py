"""SMTP URLs and DSNs (`smtp+tls://user:p%40ss@smtp.example.com:587?timeout=5`).

Parsed by hand rather than with urllib: real values carry unencoded `@` in passwords and `@`
in query values (`?from=a@b.c`), and a rebuilt URL must keep every part we do not change
exactly as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import quote, unquote

_SCHEME = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://")
_HOSTPORT = re.compile(r"(?P<host>\[[^\]]*\]|[^:/?#\[\]]*)(?::(?P<port>[^/?#]*))?")


@dataclass(frozen=True)
class SmtpUrl:
    scheme: str
    userinfo: str | None  # raw, percent-encoded, without the "@"
    host: str  # raw ("[::1]" keeps its brackets)
    port: str | None  # raw digits, None when absent
    tail: str  # path, query and fragment exactly as written

    @property
    def user(self) -> str | None:
        if self.userinfo is None:
            return None
        return unquote(self.userinfo.partition(":")[0])

    @property
    def password(self) -> str | None:
        if self.userinfo is None or ":" not in self.userinfo:
            return None
        return unquote(self.userinfo.partition(":")[2])

    @property
    def query(self) -> list[tuple[str, str]]:
        query = self.tail.partition("?")[2].partition("#")[0]
        pairs = []
        for part in query.split("&"):
            if part:
                key, _, value = part.partition("=")
                pairs.append((unquote(key), unquote(value)))
        return pairs

    def query_value(self, name: str) -> str | None:
        for key, value in self.query:
            if key.lower() == name.lower():
                return value
        return None

    def with_credentials(self, user: str | None, password: str | None) -> SmtpUrl:
        """Replace the userinfo; None/None removes it."""
        if user is None and password is None:
            return replace(self, userinfo=None)
        info = quote(user or "", safe="")
        if password is not None:
            info += ":" + quote(password, safe="")
        return replace(self, userinfo=info)

    def with_query_value(self, name: str, value: str) -> SmtpUrl:
        """Set one query parameter, keeping the others and their order."""
        head, has_q, rest = self.tail.partition("?")
        query, has_f, fragment = rest.partition("#")
        parts = [p for p in query.split("&") if p] if has_q else []
        for index, part in enumerate(parts):
            if unquote(part.partition("=")[0]).lower() == name.lower():
                parts[index] = part.partition("=")[0] + "=" + quote(value, safe="")
                break
        else:
            parts.append(f"{quote(name, safe='')}={quote(value, safe='')}")
        tail = head + "?" + "&".join(parts) + (has_f + fragment if has_f else "")
        return replace(self, tail=tail)

    def render(self) -> str:
        text = f"{self.scheme}://"
        if self.userinfo is not None:
            text += self.userinfo + "@"
        text += self.host
        if self.port is not None:
            text += ":" + self.port
        return text + self.tail


def parse_url(value: str) -> SmtpUrl | None:
    """None when `value` is not `scheme://...`."""
    match = _SCHEME.match(value.strip())
    if not match:
        return None
    rest = value.strip()[match.end():]
    # Only an "@" before the query separates credentials: queries often hold addresses.
    query_at = rest.find("?")
    at = rest.rfind("@", 0, query_at if query_at >= 0 else len(rest))
    userinfo = None
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1:]
    hostport = _HOSTPORT.match(rest)
    assert hostport is not None  # the pattern accepts the empty string
    port = hostport.group("port")
    if port is not None and not port.isdigit():
        return None
    return SmtpUrl(
        scheme=match.group("scheme"),
        userinfo=userinfo,
        host=hostport.group("host"),
        port=port,
        tail=rest[hostport.end():],
    )
