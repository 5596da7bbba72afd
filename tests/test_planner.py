"""The port policy and encryption reading, independent of any file format."""

from __future__ import annotations

import pytest

from mailmigrate.model import Mode
from mailmigrate.encryption import target_port_mode
from mailmigrate.smtpurl import parse_url

S, I, N = Mode.STARTTLS, Mode.IMPLICIT, Mode.NONE


@pytest.mark.parametrize(
    ("port", "mode", "forced", "expected"),
    [
        (587, S, None, (587, S)),
        (25, S, None, (25, S)),
        (2525, S, None, (2525, S)),
        (2587, S, None, (587, S)),
        (465, S, None, (587, S)),  # STARTTLS on 465 cannot work: keep the style, move the port
        (465, I, None, (465, I)),
        (587, I, None, (465, I)),  # implicit TLS stays implicit, on 465
        (2465, I, None, (465, I)),
        (25, N, None, (25, S)),
        (2525, N, None, (2525, S)),
        (587, N, None, (587, S)),
        (1025, N, None, (587, S)),
        (587, S, 465, (465, I)),
        (465, I, 2525, (2525, S)),
        (25, N, 25, (25, S)),
    ],
)
def test_port_policy(port: int, mode: Mode, forced: int | None, expected: tuple[int, Mode]) -> None:
    assert target_port_mode(port, mode, forced) == expected


@pytest.mark.parametrize(
    ("url", "parts"),
    [
        ("smtp://u:p@h:25", ("smtp", "u", "p", "h", "25", "")),
        ("smtp+tls://apikey:SG.a@b@smtp.sendgrid.net:587", ("smtp+tls", "apikey", "SG.a@b", "smtp.sendgrid.net", "587", "")),
        ("smtps://u%40x.org:p%2F%3A@smtp.zoho.eu", ("smtps", "u@x.org", "p/:", "smtp.zoho.eu", None, "")),
        ("smtp://[::1]:1025?from=a@b.c", ("smtp", None, None, "[::1]", "1025", "?from=a@b.c")),
        ("sendgrid+smtp://KEY@default", ("sendgrid+smtp", "KEY", None, "default", None, "")),
        ("smtp://", ("smtp", None, None, "", None, "")),
    ],
)
def test_url_parts(url: str, parts: tuple[object, ...]) -> None:
    parsed = parse_url(url)
    assert parsed is not None
    assert (parsed.scheme, parsed.user, parsed.password, parsed.host, parsed.port, parsed.tail) == parts
    assert parsed.render() == url, "an untouched URL renders byte-identical"


@pytest.mark.parametrize("value", ["smtp.gmail.com", "not a url", "smtp://h:port", ""])
def test_not_urls(value: str) -> None:
    assert parse_url(value) is None


def test_url_edits_keep_the_rest() -> None:
    url = parse_url("smtp://u:p@h:25/path?timeout=5&ssl=False#frag")
    assert url is not None
    new = url.with_query_value("ssl", "True").with_query_value("tls", "False").with_credentials("a b", "c/d")
    assert new.render() == "smtp://a%20b:c%2Fd@h:25/path?timeout=5&ssl=True&tls=False#frag"
    assert url.with_credentials(None, None).render() == "smtp://h:25/path?timeout=5&ssl=False#frag"
