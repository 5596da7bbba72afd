"""Fuzz targets (issue 9): every parser entry point on arbitrary and mutated input, for a bounded
time. The only allowed outcomes are a result (findings, or a clean one) or the exception a
function documents for bad input (ConfigError, ValueError): never a crash.

Targets:
- each format handler's `locate()` on st.text() and on random mutations (characters inserted,
  deleted, duplicated, lines swapped, quotes/brackets/newlines/CR/BOM dropped in) of the
  realistic files tests/test_handler_properties.py generates;
- `document.decode` on arbitrary bytes (and a decoded document encodes back to the same bytes);
- `smtpurl.parse_url` and the SmtpUrl methods (a parsed URL renders back exactly as written; new
  credentials and query values read back);
- `mailheaders.read_tags` for every provider tag header, and `parse_tags_option`;
- `projectconfig.parse` on arbitrary TOML text and generated `[tool.mailmigrate]` tables;
- `suppression.ignores` / `ignored_at`;
- the masker (`masking.Masker`): no secret stays visible as a whole value, masking is idempotent;
- the engine end to end on one mutated file (`run_file`), and on mutated bytes (also invalid
  UTF-8, the Latin-1 path).

MAILMIGRATE_FUZZ_EXAMPLES sets max_examples for every target (default: small enough for CI, the
whole module well under a minute); e.g. MAILMIGRATE_FUZZ_EXAMPLES=20000 for a long run.
Regressions the fuzzing found are at the end, as strict xfails until the code is fixed.
"""

from __future__ import annotations

import base64
import codecs
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from helpers import rules, run_file
from mailmigrate import formats
from mailmigrate.document import Document, DocumentError, decode
from mailmigrate.engine import RunOptions, analyse_files
from mailmigrate.filekinds import kind_of
from mailmigrate.mailheaders import TAG_HEADERS, TagHeader, parse_tags_option, read_tags
from mailmigrate.masking import Masker, _maskable
from mailmigrate.model import FileInfo
from mailmigrate.planner import MASK
from mailmigrate.projectconfig import ConfigError, ProjectConfig, glob_regex, parse
from mailmigrate.smtpurl import SmtpUrl, parse_url
from mailmigrate.suppression import ignored_at, ignores
from test_handler_properties import FORMATS, Format, known_bug, run_or_reject

EXAMPLES = int(os.environ.get("MAILMIGRATE_FUZZ_EXAMPLES", "40"))
# Derandomized at the CI budget: the same examples on every machine, so CI never fails on a
# bug some earlier run happened to find (those become regression tests below); a larger budget
# (MAILMIGRATE_FUZZ_EXAMPLES) explores with fresh randomness.
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize="MAILMIGRATE_FUZZ_EXAMPLES" not in os.environ, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
FORMAT_PARAMS = [pytest.param(f, id=f.id) for f in FORMATS]


# --------------------------------------------------------------------------------------------
# Mutations of realistic files

# Characters that matter to some format's syntax, and a few that trip decoders.
SPECIALS = list("\"'`=:#;![]{},\\$%@-. \t\r\n") + ["\r\n", "\ufeff", "\u2028", "\x85", "\x0c", "${", "}}", '"""', "'''", "\\u", "&a", "*a", "- "]


@st.composite
def mutated(draw: st.DrawFn, text: str) -> str:
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["insert", "insert", "delete", "duplicate", "swap", "replace", "truncate"]))
        size = len(text)
        at = draw(st.integers(0, size))
        if op == "insert":
            text = text[:at] + draw(st.one_of(st.sampled_from(SPECIALS), st.text(max_size=3))) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 8)):]
        elif op == "duplicate":
            end = min(size, at + draw(st.integers(1, 40)))
            text = text[:end] + text[at:end] + text[end:]
        elif op == "replace" and at < size:
            text = text[:at] + draw(st.sampled_from(SPECIALS)) + text[at + 1:]
        elif op == "truncate":
            text = text[:at]
        else:  # swap two lines
            lines = text.split("\n")
            if len(lines) > 1:
                i, j = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
                lines[i], lines[j] = lines[j], lines[i]
                text = "\n".join(lines)
    return text


def mutated_files(fmt: Format) -> st.SearchStrategy[str]:
    return st.one_of(fmt.files(True), fmt.files(False)).flatmap(lambda sample: mutated(sample.text))


def texts(fmt: Format) -> st.SearchStrategy[str]:
    """Arbitrary text, realistic files, and mutations of them."""
    return st.one_of(st.text(), mutated_files(fmt), fmt.files(True).map(lambda s: s.text))


def _info(tmp: Path, name: str) -> FileInfo:
    kind = kind_of(name)
    assert kind is not None
    return FileInfo(tmp / name, name, kind, tracked=True, ignored=False, in_git=True)


# --------------------------------------------------------------------------------------------
# Handlers' locate() and syntax_errors()


@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
@FUZZ
@given(data=st.data())
def test_fuzz_locate(fmt: Format, data: st.DataObject) -> None:
    text = data.draw(texts(fmt), label="text")
    text = text.removeprefix("\ufeff")  # decode keeps a BOM aside: locate never sees it
    info = _info(Path("/nonexistent/repo"), fmt.name)
    handler = formats.handler_for(info.kind)
    doc = Document(text=text, bom=False, digest="")
    found = handler.locate(doc, info, rules())
    for config in found.configurations:
        for setting in config.settings.values():
            if setting.source is None and not setting.inherited:
                assert 0 <= setting.start <= setting.end <= len(text), (setting.key, setting.start, setting.end)
    for finding in found.findings:
        assert finding.line >= 1 and finding.col >= 1
    assert all(isinstance(problem, str) for problem in handler.syntax_errors(text))


# --------------------------------------------------------------------------------------------
# document.decode

BYTES = st.one_of(
    st.binary(max_size=200),
    st.tuples(st.sampled_from([b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF8 * 2]),
              st.text(max_size=60), st.sampled_from(["utf-8", "latin-1", "cp1252", "utf-16-le"]), st.binary(max_size=4))
    .map(lambda t: t[0] + t[1].encode(t[2], errors="replace") + t[3]),
)


@FUZZ
@given(data=BYTES)
def test_fuzz_decode_round_trips_or_refuses(data: bytes) -> None:
    try:
        doc = decode(data)
    except DocumentError as exc:
        assert exc.code == "MM002" and exc.message
        return
    assert doc.encode() == data  # every byte survives: what is not edited is written back as read
    assert doc.newline in ("\n", "\r\n")
    assert not doc.text.startswith("\ufeff") or not doc.bom or data.startswith(codecs.BOM_UTF8 * 2)


# --------------------------------------------------------------------------------------------
# smtpurl

URL_PARTS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_~%:@/?#&=+![]$ ", max_size=20)
URLS = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, info, host, port, tail: f"{scheme}://{info}{host}{port}{tail}",
        st.sampled_from(["smtp", "smtps", "smtp+tls", "sendgrid+smtp", "submission", "a.b-c", "1bad", ""]),
        st.one_of(st.just(""), URL_PARTS.map(lambda t: t + "@")),
        st.one_of(st.sampled_from(["smtp.gmail.com", "[::1]", "", "[", "h"]), URL_PARTS),
        st.one_of(st.just(""), st.integers(0, 99999).map(lambda p: f":{p}"), URL_PARTS.map(lambda t: ":" + t)),
        st.one_of(st.just(""), URL_PARTS.map(lambda t: "/" + t), URL_PARTS.map(lambda t: "?" + t)),
    ),
)


@FUZZ
@given(value=URLS, user=st.one_of(st.none(), st.text(max_size=10)), password=st.one_of(st.none(), st.text(max_size=10)),
       name=st.text(min_size=1, max_size=8), query=st.text(max_size=8))
def test_fuzz_smtp_url(value: str, user: str | None, password: str | None, name: str, query: str) -> None:
    url = parse_url(value)
    if url is None:
        return
    assert isinstance(url, SmtpUrl)
    assert url.render() == value.strip()  # every part kept exactly as written
    _ = (url.user, url.password, url.query, url.query_value(name))
    changed = url.with_credentials(user, password)
    again = parse_url(changed.render())
    assert again is not None
    if "@" not in url.tail.partition("?")[0] and (user, password) != (None, None):
        assert (again.user, again.password) == (user or "", password)
        assert (again.host, again.port, again.tail) == (url.host, url.port, url.tail)
    with_query = url.with_query_value(name, query)
    reread = parse_url(with_query.render())
    assert reread is not None
    if "@" not in with_query.tail.partition("?")[0] and "#" not in name and "&" not in name and "=" not in name:
        assert reread.query_value(name) == query


# --------------------------------------------------------------------------------------------
# mailheaders

TAG_VALUES = st.one_of(
    st.text(max_size=40),
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["category", "tags", "campaign_id", "x", "unique_args"]), inner, max_size=3),
        max_leaves=8,
    ).map(lambda v: json.dumps(v)),
)


@FUZZ
@given(header=st.sampled_from(sorted(TAG_HEADERS.values(), key=lambda h: h.name)), value=TAG_VALUES)
def test_fuzz_read_tags(header: TagHeader, value: str) -> None:
    read = read_tags(header, value)
    for tag in read.tags:
        assert tag == tag.strip() and tag and "," not in tag and tag.isprintable()
    assert all(isinstance(p, str) for p in read.problems)


@FUZZ
@given(text=st.one_of(st.text(max_size=40), st.lists(st.text(max_size=8), max_size=4).map(", ".join)))
def test_fuzz_parse_tags_option(text: str) -> None:
    try:
        tags = parse_tags_option(text)
    except ValueError as exc:
        assert str(exc)
        return
    assert tags and len(set(tags)) == len(tags)
    for tag in tags:
        assert tag == tag.strip() and tag and "," not in tag and tag.isprintable()
    assert parse_tags_option(", ".join(tags)) == tags  # what it prints reads back the same


# --------------------------------------------------------------------------------------------
# projectconfig


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if value == value and value not in (float("inf"), float("-inf")) else "nan"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"


CONFIG_VALUES = st.recursive(
    st.one_of(st.booleans(), st.integers(-5, 3000), st.sampled_from([25, 465, 587, 2525, 25.0, 587.0, 1e400]),
              st.text(max_size=12), st.sampled_from(["MM101", "MM205", "a, b", "*.sample", "../x", "", " ", "\x00", "é"])),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2),
    max_leaves=6,
)
CONFIG_KEYS = st.one_of(
    st.sampled_from(["exclude", "port", "token-env", "tags", "list-unsubscribe", "include-local", "ignore", "extra-rules"]),
    st.text(max_size=10),
)


@st.composite
def config_files(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(["mailmigrate.toml", "pyproject.toml"]))
    table = draw(st.dictionaries(CONFIG_KEYS, CONFIG_VALUES, max_size=4))
    body = "\n".join(f"{json.dumps(key)} = {_toml(value)}" for key, value in table.items()) + "\n"
    if name == "pyproject.toml":
        body = draw(st.sampled_from(["[tool.mailmigrate]\n", "[tool]\nmailmigrate = 1\n", "tool = 3\n", ""])) + body
    kind = draw(st.sampled_from(["generated", "generated", "text", "bytes", "mutated"]))
    if kind == "text":
        return name, draw(st.text(max_size=80)).encode("utf-8", errors="surrogatepass")
    if kind == "bytes":
        return name, draw(st.binary(max_size=80))
    if kind == "mutated":
        return name, draw(mutated(body)).encode("utf-8", errors="surrogatepass")
    return name, body.encode("utf-8", errors="surrogatepass")


@FUZZ
@given(file=config_files())
def test_fuzz_project_config(file: tuple[str, bytes]) -> None:
    name, data = file
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            config = parse(path)
        except ConfigError as exc:
            assert str(exc).startswith(str(path))
            return
    assert isinstance(config, ProjectConfig)
    assert config.port is None or (type(config.port) is int and config.port in (25, 587, 2525, 465)), repr(config.port)
    assert config.token_env is None or config.token_env.isidentifier()
    for pattern in config.exclude:
        glob_regex(pattern)


def test_pyproject_tool_that_is_not_a_table_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("tool = 3  # not [tool.mailmigrate]\n")
    with pytest.raises(ConfigError):
        parse(path)


@FUZZ
@given(pattern=st.text(max_size=20), path=st.text(max_size=20))
def test_fuzz_glob_regex(pattern: str, path: str) -> None:
    glob_regex(pattern).fullmatch(path)


# --------------------------------------------------------------------------------------------
# suppression

SUPPRESSION_LINES = st.one_of(
    st.text(max_size=40),
    st.builds(lambda a, codes, b: f"{a}mailmigrate: ignore{codes}{b}", st.text(max_size=8),
              st.one_of(st.just(""), st.lists(st.sampled_from(["MM101", "MM2", " ", ",", "mm101", "X"]), max_size=4).map(lambda c: "[" + "".join(c) + "]")),
              st.text(max_size=8)),
)


@FUZZ
@given(lines=st.lists(SUPPRESSION_LINES, max_size=4), line=st.integers(-2, 6), code=st.sampled_from(["MM101", "MM2", "", "MM101,"]))
def test_fuzz_suppression(lines: list[str], line: int, code: str) -> None:
    for text in lines:
        result = ignores(text, code)
        if re.search(r"mailmigrate:\s*ignore(?!\[)", text) and "mailmigrate:" not in text.split("mailmigrate:", 1)[1]:
            assert result  # a bare `mailmigrate: ignore` suppresses every code
    ignored_at(lambda n: lines[n - 1] if 0 < n <= len(lines) else "", line, code)


# --------------------------------------------------------------------------------------------
# The masker

SEPARATORS = st.sampled_from([" ", "=", ": ", '"', "'", "\n", "\r\n", ",", "(", ")", "/", "<", ">", "\t", "&", "?"])
SECRET_TEXT = st.one_of(
    st.text(min_size=1, max_size=16),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+/=@:!%#", min_size=5, max_size=16),
)


def _visible(secret: str, text: str) -> bool:
    """The secret appears as a whole value (not inside a longer word)."""
    return re.search(r"(?<![A-Za-z0-9_])" + re.escape(secret) + r"(?![A-Za-z0-9_])", text) is not None


@st.composite
def masking_cases(draw: st.DrawFn) -> tuple[list[str], list[str], str]:
    secrets = draw(st.lists(SECRET_TEXT, min_size=1, max_size=4))
    always = draw(st.lists(SECRET_TEXT, max_size=1))
    pieces: list[str] = []
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["secret", "secret", "variant", "filler"]))
        if kind == "filler" or not (secrets or always):
            pieces.append(draw(st.text(alphabet="abcdefghij ", max_size=8)))
            continue
        secret = draw(st.sampled_from(secrets + always)).strip()
        if kind == "variant":
            secret = draw(st.sampled_from([quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode(),
                                           json.dumps(secret)[1:-1]]))
        pieces.append(secret)
        pieces.append(draw(SEPARATORS))
    return secrets, always, draw(SEPARATORS).join(pieces)


@FUZZ
@given(case=masking_cases())
def test_fuzz_masker(case: tuple[list[str], list[str], str]) -> None:
    secrets, always, text = case
    if any(t.strip() and set(t.strip()) <= set(MASK) for t in always):
        reject()  # known: test_masking_a_token_made_of_mask_characters_is_idempotent
    masker = Masker(secrets, always=always)
    masked = masker(text)
    assert masker(masked) == masked  # idempotent
    shown = [s.strip() for s in secrets if _maskable(s.strip())] + [s.strip() for s in always if s.strip()]
    for secret in shown:
        if secret == MASK or secret in MASK:
            continue
        if any(secret in other and secret != other for other in shown):
            continue  # a part of a longer secret: the longer one is masked whole
        assert not _visible(secret, masked), (secret, masked)


# --------------------------------------------------------------------------------------------
# The engine, end to end on one mutated file


@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
@FUZZ
@given(data=st.data(), port=st.sampled_from([None, 465, 587]))
def test_fuzz_engine_on_mutated_files(fmt: Format, data: st.DataObject, port: int | None) -> None:
    text = data.draw(st.one_of(mutated_files(fmt), st.text()), label="text")
    secrets_file = data.draw(st.booleans(), label="secrets_file")
    with tempfile.TemporaryDirectory() as tmp:
        new, result = run_or_reject(fmt.id, Path(tmp), text, name=fmt.name, secrets_file=secrets_file, port=port)  # not blocked
        if new != text:
            again, second = run_file(Path(tmp), new, name=fmt.name, secrets_file=secrets_file, port=port)
            assert again == new, "a second run changed the file again"


@pytest.mark.parametrize("fmt", FORMAT_PARAMS)
@FUZZ
@given(data=st.data())
def test_fuzz_engine_on_mutated_bytes(fmt: Format, data: st.DataObject) -> None:
    """Bytes that are not UTF-8 (Latin-1 files), NULs, UTF-16: findings, never a crash."""
    text = data.draw(mutated_files(fmt), label="text")
    raw = bytearray(text.encode("utf-8", errors="surrogatepass"))
    for _ in range(data.draw(st.integers(0, 3), label="bytes")):
        at = data.draw(st.integers(0, len(raw)))
        raw[at:at] = data.draw(st.sampled_from([b"\xe9", b"\xff", b"\x00", b"\xc3", b"\x80", codecs.BOM_UTF16_LE]))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / fmt.name
        path.write_bytes(bytes(raw))
        info = _info(Path(tmp), fmt.name)
        try:
            result = analyse_files([info], rules(), RunOptions(token=None))
            assert not result.blocked, [f.message for f in result.findings if f.code == "MM005"]
        except (ValueError, AssertionError) as exc:
            if known_bug(fmt.id, text, exc):
                reject()
            raise
        for outcome in result.files:
            if outcome.new_text is not None:
                outcome.doc.encode(outcome.new_text)  # what would be written encodes in the file's own encoding


# --------------------------------------------------------------------------------------------
# Regressions the fuzzing found: strict xfails until the code is fixed (then drop the marker and
# the matching entry in test_handler_properties.known_bug).


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "bug: a Python settings module with lone-CR (classic Mac) line endings: the added settings are "
    "written with \\n, libcst rejects the mixed line endings, the run is blocked (MM005)"))
def test_lone_cr_line_endings_python(tmp_path: Path) -> None:
    new, _ = run_file(tmp_path, 'EMAIL_HOST = "smtp.sendgrid.net"\rEMAIL_PORT = 587\r', name="settings.py", secrets_file=False)
    assert "smtp.mailpace.com" in new and "\n" not in new


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "bug: a YAML file with lone-CR line endings: keys to add under spring.mail are written at the root "
    "with \\n endings; planning again still wants them (MM005, not idempotent, blocked)"))
def test_lone_cr_line_endings_yaml(tmp_path: Path) -> None:
    new, _ = run_file(tmp_path, "spring:\r  mail:\r    host: smtp.gmail.com\r", name="application.yml", secrets_file=False)
    assert "smtp.mailpace.com" in new and "\n" not in new


def test_lone_cr_python_is_located_without_crashing() -> None:
    """Found by test_fuzz_locate (pysource.Lines counted "\\n" only while ast counts "\\r" too:
    IndexError); fixed."""
    text = 'import os\r\nfrom pathlib import Path\r\r\nEMAIL_HOST = "smtp.sendgrid.net"\r\nEMAIL_HOST_PASSWORD = "0"'
    info = _info(Path("/nonexistent/repo"), "settings.py")
    found = formats.handler_for("python").locate(Document(text=text, bom=False, digest=""), info, rules())
    assert [c.settings["host"].value for c in found.configurations] == ["smtp.sendgrid.net"]


@pytest.mark.xfail(strict=True, reason=(
    "bug: Masker(always=[token]) with a token made only of '*' masks the mask again: "
    "masker(masker(text)) != masker(text) (the CLI accepts such a token)"))
def test_masking_a_token_made_of_mask_characters_is_idempotent() -> None:
    masker = Masker(always=["*"])
    once = masker("token: *")
    assert masker(once) == once



@pytest.mark.xfail(strict=True, reason=(
    "bug: an env file mutated to end in a lone \\r after EMAIL_PORT=25, with EMAIL_HOST written "
    "`EMAIL_HOST#smtp.sendgrid.net` (no =): planning again on the rewrite still wants changes (MM005)"))
def test_env_ending_in_a_lone_carriage_return_is_idempotent(tmp_path: Path) -> None:
    from helpers import run_file

    text = ("DEFAULT_FROM_EMAIL=\"Shop <shop@example.com>\"\r\nEMAIL_USE_TLS=True\r\nexport EMAIL_USE_SSL = True\r\n"
            "EMAIL_HOST_USER = 'apikey'\r\n# mail settings\r\nEMAIL_HOST#smtp.sendgrid.net\r\nEMAIL_PORT=25\r")
    run_file(tmp_path, text, name=".env", secrets_file=False)
