"""Property tests for env files: only planned lines change, the result parses and is stable,
files without SMTP settings never change, and the file's newline style survives."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from dotenv.parser import parse_stream
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import TOKEN, run_file

SMTP_KEYS = ["EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "EMAIL_USE_SSL",
             "MAIL_HOST", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_ENCRYPTION", "SMTP_HOST", "SMTP_PORT",
             "SMTP_USER", "SMTP_PASS", "SMTP_SECURE", "EMAIL_URL", "MAILER_DSN"]
OTHER_KEYS = ["DB_PASSWORD", "SECRET_KEY", "APP_NAME", "REDIS_URL", "DEBUG", "EMAIL_SUBJECT_PREFIX"]
HOSTS = ["smtp.sendgrid.net", "smtp.mailgun.org", "localhost", "mailpit", "smtp.mailpace.com", "", "mail.example.org"]
VALUES = st.one_of(
    st.sampled_from(HOSTS + ["25", "465", "587", "2525", "True", "False", "tls", "ssl", "null", "apikey"]),
    st.sampled_from(["smtp://u:p@smtp.mailgun.org:587", "smtps://a:b@smtp.gmail.com", "null://null"]),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="\"'\\#$"), max_size=12),
)


@st.composite
def env_line(draw: st.DrawFn, keys: list[str]) -> str:
    kind = draw(st.sampled_from(["binding", "binding", "binding", "comment", "blank"]))
    if kind == "comment":
        return "# " + draw(st.sampled_from(["mail settings", "EMAIL_HOST=smtp.gmail.com", "todo"]))
    if kind == "blank":
        return ""
    key = draw(st.sampled_from(keys))
    value = draw(VALUES)
    quote = draw(st.sampled_from(["", "'", '"']))
    export = draw(st.sampled_from(["", "", "export "]))
    sep = draw(st.sampled_from(["=", "=", " = "]))
    comment = draw(st.sampled_from(["", "", "  # note"]))
    if not quote and not value:
        comment = ""  # `KEY=  # note` reads as a value of "# note" in some loaders: avoid
    return f"{export}{key}{sep}{quote}{value}{quote}{comment}"


@st.composite
def env_file(draw: st.DrawFn, keys: list[str]) -> str:
    lines = draw(st.lists(env_line(keys), min_size=1, max_size=14))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    end = draw(st.sampled_from([newline, ""]))
    bom = draw(st.sampled_from(["", "", "\ufeff"]))
    return bom + newline.join(lines) + end


def _keys_by_line(text: str) -> dict[str, str]:
    return {b.original.string.strip(): b.key or "" for b in parse_stream(io.StringIO(text, newline=""))}


COMMON = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(text=env_file(OTHER_KEYS), secrets_file=st.booleans())
def test_files_without_smtp_settings_never_change(text: str, secrets_file: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        new, result = run_file(Path(tmp), text, secrets_file=secrets_file)
    assert new == text
    assert not result.plans


@COMMON
@given(text=env_file(SMTP_KEYS + OTHER_KEYS), secrets_file=st.booleans(), port=st.sampled_from([None, 587, 465, 2525]))
def test_only_smtp_lines_change_and_the_result_is_stable(text: str, secrets_file: bool, port: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        new, result = run_file(Path(tmp), text, secrets_file=secrets_file, port=port)  # asserts: not blocked
        # Second cycle on the result: nothing left to do.
        again, _ = run_file(Path(tmp), new, secrets_file=secrets_file, port=port)
    assert again == new
    old_lines = text.lstrip("\ufeff").splitlines(keepends=True)
    new_lines = new.lstrip("\ufeff").splitlines(keepends=True)
    assert new.startswith("\ufeff") == text.startswith("\ufeff")
    touched = {s.key for p in result.plans for s in p.configuration.settings.values()}
    touched |= {c.setting.key for p in result.plans for c in p.changes}
    for line in set(old_lines) - set(new_lines):
        key = line.strip().removeprefix("export ").split("=")[0].strip()
        assert key in touched, f"unplanned line changed: {line!r}"
    # Newline style: a CRLF file stays CRLF, an LF file gets no CR.
    if "\r\n" in text:
        assert new.count("\n") == new.count("\r\n")
    else:
        assert "\r" not in new
    if not secrets_file:
        assert TOKEN not in new, "a tracked file received the token"
