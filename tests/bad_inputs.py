"""The bad input corpus (issue 9): malformed and hostile files of every format mailmigrate
reads, generated at test time (a 50 MB file is never committed).

Each `Case` is one repository: the bad file (`name`, written from `content`: bytes, or a
builder that writes it and anything it needs) next to the good stale `.env.example` (GOOD_NAME,
which every run must still migrate). tests/test_bad_input_corpus.py runs each case through the
real CLI (`check`, then `migrate --write --no-verify`) and checks:

- no crash: exit code 0 or 1, never 2, never "internal error";
- `codes`: every one of them is reported on a line naming the bad file (`name:LINE:COL: CODE`),
  and the MM0xx ones (which `migrate --write` cannot fix) again by migrate; `absent` codes are
  not; no codes means "no crash and not modified";
- the bad file is not written, byte for byte -- unless `may_change` (a line-based format whose
  other lines are still migrated, a valid Latin-1 file, a valid file with a hostile twist):
  then the `kept` bytes must survive verbatim;
- the good file is still migrated, and nothing outside the repository is written;
- `check` prints one finding per line, naming files that exist, without control characters;
- time and peak RSS of each CLI run stay under `seconds` and `rss_mb`.

`bug` marks a case where the tool misbehaves today: the test is an xfail(strict) with that
reason, so it starts failing (and must be un-marked) the day the bug is fixed.

`between` cases exercise the engine API instead: `mutate` changes the bad file after
`engine.analyse(...)` planned it and before `writer.write_all(...)` writes it.
"""

from __future__ import annotations

import codecs
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Builder = Callable[[Path], None]  # writes the case's files into the repository folder

GOOD_NAME = ".env.example"
GOOD = b"EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n"
MIGRATED_GOOD = b"EMAIL_HOST=smtp.mailpace.com\n"  # what the good file holds after the write
TOKEN = "mm-sentinel-0b6c3f1e-9a57-4d2e-8f00-badc0ffee000"  # MAILPACE_API_TOKEN for migrate: a sentinel

MB = 1 << 20


@dataclass(frozen=True)
class Case:
    id: str
    fmt: str  # env, python, yaml, ini, toml, json, properties, fs (file-system hostility)
    name: str  # the bad file, relative to the repository
    content: bytes | Builder
    codes: tuple[str, ...] = ()  # each must be reported naming `name`; () = no crash and not modified
    may_change: bool = False  # the file's other (valid) settings may be migrated
    kept: tuple[bytes, ...] = ()  # with may_change: bytes that must survive the write verbatim
    absent: tuple[str, ...] = ()  # codes that must not be reported on the file (a misreading)
    slow: bool = False
    seconds: float = 10.0  # per CLI run (a run normally takes 0.3 s)
    rss_mb: int = 120  # peak RSS per CLI run, in MiB (an idle run is ~25)
    bug: str = ""  # a known misbehaviour: xfail(strict=True, reason=bug)
    special: str = ""  # "unreadable": run the CLI without root's DAC override (chmod 000 works)


@dataclass(frozen=True)
class Between:
    """A file changed between planning (engine.analyse) and writing (writer.write_all)."""

    id: str
    name: str  # a good stale file the run plans to change
    content: bytes
    mutate: Callable[[Path], None]  # gets the file's path
    code: str  # the writer's failure code
    bug: str = ""


# --------------------------------------------------------------------------------------------
# Realistic files with stale SMTP settings


ENV = (
    b"# Django settings for the shop, read by django-environ\n"
    b"DEBUG=False\n"
    b"EMAIL_HOST=smtp.sendgrid.net\n"
    b"EMAIL_PORT=587\n"
    b"EMAIL_USE_TLS=True\n"
    b"EMAIL_HOST_USER=apikey\n"
    b"EMAIL_HOST_PASSWORD=SG.not-a-real-key\n"
)
SETTINGS_PY = (
    b'"""Django settings."""\n'
    b"import os\n\n"
    b'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\n'
    b'EMAIL_HOST = "smtp.sendgrid.net"\n'
    b"EMAIL_PORT = 587\n"
    b"EMAIL_USE_TLS = True\n"
    b'EMAIL_HOST_USER = "apikey"\n'
    b'EMAIL_HOST_PASSWORD = os.environ.get("SENDGRID_KEY", "")\n'
)
APPLICATION_YML = (
    b"server:\n"
    b"  port: 8080\n"
    b"spring:\n"
    b"  mail:\n"
    b"    host: smtp.sendgrid.net\n"
    b"    port: 587\n"
    b"    username: apikey\n"
    b"    password: ${SMTP_PASSWORD}\n"
    b"    properties:\n"
    b"      mail.smtp.auth: true\n"
    b"      mail.smtp.starttls.enable: true\n"
)
AIRFLOW_CFG = (
    b"[core]\n"
    b"dags_folder = /opt/airflow/dags\n"
    b"executor = CeleryExecutor\n\n"
    b"[smtp]\n"
    b"smtp_host = smtp.sendgrid.net\n"
    b"smtp_starttls = True\n"
    b"smtp_ssl = False\n"
    b"smtp_port = 587\n"
    b"smtp_mail_from = airflow@example.com\n"
)
GRAFANA_INI = (
    b"[server]\n"
    b"http_port = 3000\n\n"
    b"[smtp]\n"
    b"enabled = true\n"
    b"host = smtp.sendgrid.net:587\n"
    b"user = apikey\n"
    b"password = $__env{GF_SMTP_PASSWORD}\n"
    b"from_address = grafana@example.com\n"
)
LLDAP_TOML = (
    b'ldap_base_dn = "dc=example,dc=org"\n\n'
    b"[smtp_options]\n"
    b"enable_password_reset = true\n"
    b'server = "smtp.sendgrid.net"\n'
    b"port = 587\n"
    b'smtp_encryption = "STARTTLS"\n'
    b'user = "apikey"\n'
    b'password = ""\n'
)
MATTERMOST_JSON = (
    b"{\n"
    b'    "ServiceSettings": {"SiteURL": "https://chat.example.com"},\n'
    b'    "EmailSettings": {\n'
    b'        "SendEmailNotifications": true,\n'
    b'        "FeedbackEmail": "mattermost@example.com",\n'
    b'        "EnableSMTPAuth": true,\n'
    b'        "SMTPUsername": "apikey",\n'
    b'        "SMTPPassword": "",\n'
    b'        "SMTPServer": "smtp.sendgrid.net",\n'
    b'        "SMTPPort": "587",\n'
    b'        "ConnectionSecurity": "STARTTLS"\n'
    b"    }\n"
    b"}\n"
)
APPLICATION_PROPERTIES = (
    b"server.port=8080\n"
    b"spring.mail.host=smtp.sendgrid.net\n"
    b"spring.mail.port=587\n"
    b"spring.mail.username=apikey\n"
    b"spring.mail.password=${SMTP_PASSWORD}\n"
    b"spring.mail.properties.mail.smtp.auth=true\n"
    b"spring.mail.properties.mail.smtp.starttls.enable=true\n"
)


def utf16(data: bytes, order: str) -> bytes:
    """`data` as UTF-16 with its BOM, the way Windows editors save "Unicode" files."""
    text = data.decode("utf-8")
    return (codecs.BOM_UTF16_LE + text.encode("utf-16-le")) if order == "le" else (codecs.BOM_UTF16_BE + text.encode("utf-16-be"))


def with_nul(data: bytes) -> bytes:
    """A NUL byte in the middle of the file (a truncated write, a corrupted disk block)."""
    half = len(data) // 2
    return data[:half] + b"\0" + data[half:]


def truncated(data: bytes, at: bytes) -> bytes:
    """The file cut right after the first `at` (a write interrupted mid-line)."""
    return data[: data.index(at) + len(at)]


# --------------------------------------------------------------------------------------------
# Builders for big and deep files (written in pieces: no 50 MB string in the test process)


def _write_chunks(path: Path, head: bytes, filler: bytes, size: int, tail: bytes = b"") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(head)
        written = len(head)
        block = filler * max(1, (1 << 20) // len(filler))
        while written + len(block) <= size - len(tail):
            handle.write(block)
            written += len(block)
        rest = size - len(tail) - written
        if rest > 0:
            handle.write(filler * (rest // len(filler)))
        handle.write(tail)


def big(name: str, head: bytes, filler: bytes, size: int, tail: bytes = b"") -> Builder:
    def build(repo: Path) -> None:
        _write_chunks(repo / name, head, filler, size, tail)

    return build


def one_line(name: str, head: bytes, line_start: bytes, char: bytes, size: int, line_end: bytes, tail: bytes = b"") -> Builder:
    """A file with one line of `size` bytes (minified JSON, a pasted certificate, a data URI)."""

    def build(repo: Path) -> None:
        _write_chunks(repo / name, head + line_start, char, size, line_end + tail)

    return build


def _deep(opening: bytes, closing: bytes, levels: int, inner: bytes, head: bytes = b"", tail: bytes = b"") -> bytes:
    return head + opening * levels + inner + closing * levels + tail


def deep_yaml_block(levels: int) -> bytes:
    """`spring: mail: a: a: ... host:` nested `levels` deep in block style (one space per level)."""
    lines = [b"spring:\n", b" mail:\n"]
    lines += [b" " * (i + 2) + b"a:\n" for i in range(levels)]
    lines.append(b" " * (levels + 2) + b"host: smtp.sendgrid.net\n")
    return b"".join(lines)


def deep_python_blocks(levels: int) -> bytes:
    """`if True:` nested `levels` deep (Python allows 100 indentation levels)."""
    lines = [b'EMAIL_HOST = "smtp.sendgrid.net"\n']
    lines += [b" " * i + b"if True:\n" for i in range(levels)]
    lines.append(b" " * levels + b"EMAIL_PORT = 587\n")
    return b"".join(lines)


def yaml_bomb(levels: int = 9, fan: int = 9) -> bytes:
    """Billion laughs: each anchor is a list of `fan` aliases of the one before it (9^9 leaves
    if anything expands the aliases), under Spring's mail scope."""
    lines = [b"spring:\n", b"  mail:\n", b"    host: smtp.sendgrid.net\n", b"    port: 587\n"]
    lines.append(b'    l0: &l0 ["lol"]\n')
    for level in range(1, levels + 1):
        items = ", ".join(f"*l{level - 1}" for _ in range(fan)).encode()
        lines.append(f"    l{level}: &l{level} [".encode() + items + b"]\n")
    return b"".join(lines)


def yaml_merge_bomb(levels: int = 9, fan: int = 9) -> bytes:
    """The same with merge keys (`<<: [*a, *a, ...]`), which readers expand into mappings."""
    lines = [b"base0: &b0 {host: smtp.sendgrid.net, port: 587}\n"]
    for level in range(1, levels + 1):
        merged = ", ".join(f"*b{level - 1}" for _ in range(fan))
        lines.append(f"base{level}: &b{level}\n  <<: [{merged}]\n  k{level}: v\n".encode())
    lines.append(f"spring:\n  mail:\n    <<: *b{levels}\n    username: apikey\n".encode())
    return b"".join(lines)


def env_reference_bomb(levels: int = 40) -> bytes:
    """`${A}` expansion that doubles at every level: 2^40 characters if expanded eagerly."""
    lines = [b"V0=smtp.sendgrid.net\n"]
    lines += [f"V{i}=${{V{i - 1}}}${{V{i - 1}}}\n".encode() for i in range(1, levels + 1)]
    lines += [f"EMAIL_HOST=${{V{levels}}}\n".encode(), b"EMAIL_PORT=587\n", b"EMAIL_USE_TLS=True\n"]
    return b"".join(lines)


# --------------------------------------------------------------------------------------------
# File-system hostility


def symlink_to_outside(name: str, content: bytes) -> Builder:
    """`name` is a link to a stale file outside the repository (../outside/...)."""

    def build(repo: Path) -> None:
        outside = repo.parent / "outside"
        outside.mkdir(exist_ok=True)
        (outside / "secret.env").write_bytes(content)
        link = repo / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(outside / "secret.env", link.parent))

    return build


def symlink_to_absolute_outside(name: str, content: bytes) -> Builder:
    def build(repo: Path) -> None:
        outside = repo.parent / "outside-abs"
        outside.mkdir(exist_ok=True)
        (outside / "settings.py").write_bytes(content)
        (repo / name).symlink_to(outside / "settings.py")

    return build


def symlink_loop(name: str) -> Builder:
    def build(repo: Path) -> None:
        (repo / name).symlink_to("loop-b.env")
        (repo / "loop-b.env").symlink_to(name)

    return build


def self_symlink(name: str) -> Builder:
    def build(repo: Path) -> None:
        (repo / name).symlink_to(name)

    return build


def dangling_symlink(name: str) -> Builder:
    def build(repo: Path) -> None:
        (repo / name).symlink_to("does-not-exist.env")

    return build


def directory_loop(name: str) -> Builder:
    """A folder linking back to its parent: a walk that follows it never ends."""

    def build(repo: Path) -> None:
        (repo / "config").mkdir()
        (repo / "config" / name).write_bytes(ENV)
        (repo / "config" / "again").symlink_to("..")

    return build


def unreadable(name: str, content: bytes) -> Builder:
    def build(repo: Path) -> None:
        (repo / name).write_bytes(content)
        (repo / name).chmod(0)

    return build


def fifo(name: str) -> Builder:
    """A named pipe with an env file's name: opening it for reading blocks forever."""

    def build(repo: Path) -> None:
        os.mkfifo(repo / name)

    return build


def directory_named(name: str) -> Builder:
    def build(repo: Path) -> None:
        (repo / name).mkdir()
        (repo / name / "inner.txt").write_bytes(b"EMAIL_HOST=smtp.sendgrid.net\n")

    return build


def git_tracked_symlink_outside(name: str, content: bytes) -> Builder:
    """A symbolic link committed to git (git stores links as links) whose target is outside
    the repository: discovery goes through `git ls-files` here, not the walk."""

    def build(repo: Path) -> None:
        symlink_to_outside(name, content)(repo)
        env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_SYSTEM": os.devnull}
        for args in (["init", "-q"], ["add", "-A"],
                     ["-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-q", "-m", "init"]):
            subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)

    return build


# --------------------------------------------------------------------------------------------
# The corpus

HUGE = 50 * MB  # over engine.MAX_FILE_BYTES (4 MiB): reported as MM007, never parsed
LINE = 10 * MB  # one line of 10 MB: over the limit too
ALLOWED = 1 * MB  # big but under the 4 MiB limit: parsed in full; bounded at 8 s and 300 MB a run
DEEP = 10_000


def many_lines(name: str, head: bytes, line: Callable[[int], bytes], size: int, tail: bytes = b"") -> Builder:
    """`head`, then distinct lines `line(0)`, `line(1)`, ... up to `size` bytes, then `tail`:
    a big generated file of unique keys (a dump, a feature-flag list)."""

    def build(repo: Path) -> None:
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(head)
            written, index = len(head), 0
            while written < size - len(tail):
                piece = line(index)
                handle.write(piece)
                written += len(piece)
                index += 1
            handle.write(tail)

    return build


# Known misbehaviours (reported to the lead; each case below carrying one is an xfail(strict)).
BIG_INT = ("an integer of more than 4300 digits raises ValueError (CPython's int/str conversion limit) "
           "outside every error handler: internal error, exit 2, no file of the run is checked")
BIG_INT_JSON = BIG_INT + " (jsonfiles._read: json.loads raises ValueError, not JSONDecodeError; any number, not only a port)"
BIG_INT_TOML = BIG_INT + " (toml._problem: tomllib.loads raises ValueError, not TOMLDecodeError; any integer)"
AST_DEPTH = ("ast.parse raises RecursionError / MemoryError (not SyntaxError) on a deeply nested expression; "
             "formats/python.py locate catches only SyntaxError and ValueError: internal error, exit 2")
UNPARSE_DEPTH = ("a computed value a few hundred operators deep (ast.unparse in pysource.Module.setting, for the "
                 "MM115 message) raises RecursionError: no longer a crash, but the whole file is reported as "
                 "MM003 (nested too deeply) rather than the one value as MM115")
LIBCST_DEPTH = ("a 900-link attribute chain anywhere in a settings module that is being migrated makes the "
                "re-parse check (python.py syntax_errors: libcst codegen) raise RecursionError: no longer a crash, "
                "but the rewrite cannot be proven (MM005) and that blocks the run's other files too")
YAML_RECURSIVE = ("a recursive YAML alias (an anchor used inside its own node) sends yamlfiles._Reader into unbounded "
                  "recursion: RecursionError, internal error, exit 2")
SURROGATE = ("a lone surrogate escape (\\ud800) in a host value reaches sys.stdout in the MM101 message: "
             "UnicodeEncodeError, internal error, exit 2")
MERGE_KEY = ("a stale host reached through a YAML merge key (<<: *defaults, which Spring's SnakeYAML applies) gets "
             "no finding at all: check exits 0")
CONTROL_CHARS = ("control characters from a file (ESC sequences) are printed raw in findings and in the summary: "
                 "terminal escape injection (clear screen, retitle, hide lines)")
NEWLINE_NAME = ("(concise output now escapes it; the summary and diff headers do not) a newline in a file name is printed raw in `path:line:col: CODE` lines: every finding of that file "
                "becomes a line naming another file (settings.py:1:1: MM000 spoofed...)")
NOT_UTF8 = "a {fmt} file that is not UTF-8 is silently decoded as Latin-1 and migrated, without MM002 ({who})"
QUADRATIC_ENV = ("Document.line_col counts newlines from the start of the file for every setting (quadratic): "
                 "a 1 MiB .env takes ~29 s, one just under the 4 MiB limit 222 s")
SLOW_PYTHON = ("a 1 MiB settings module takes ~27 s and ~850 MB (pyreports.misspelled runs difflib.get_close_matches "
               "for every assignment; libcst re-parses the module for the rewrite check); just under 4 MiB: 81 s, 3.1 GB")
SLOW_YAML = ("YAML is located with ruamel's pure-Python composer: 1 MiB of flow-style items takes ~49 s and ~260 MB "
             "(plain keys: ~15 s); just under the 4 MiB limit 58 s (plain) to 206 s and 906 MB (flow items)")
PROPS_EOF = ("a backslash ending the last line is dropped by Properties.load (spring.mail.port=587\\ reads 587) but "
             "read by mailmigrate as part of the value: MM006 \"port '587\\\\' is not a port number\", and the stale "
             "host is not migrated")
RACE_PARENT = ("writer resolves the path again when writing and checks only its last part for a link: a folder swapped "
               "between planning and writing for a link to a folder outside the repository (same bytes inside) gets "
               "the write, the token with it, outside the repository")

CASES: list[Case] = [
    # ---- env ------------------------------------------------------------------------------
    Case("env-line-without-equals", "env", ".env",
         ENV.replace(b"EMAIL_PORT=587", b"EMAIL_PORT 587"),
         codes=("MM003",), may_change=True, kept=(b"\nEMAIL_PORT 587\n",)),
    Case("env-unterminated-quote", "env", ".env",
         ENV.replace(b"EMAIL_HOST_PASSWORD=SG.not-a-real-key", b'EMAIL_HOST_PASSWORD="SG.not-a-real-key'),
         codes=("MM003",), may_change=True, kept=(b'EMAIL_HOST_PASSWORD="SG.not-a-real-key\n',)),
    Case("env-truncated-mid-key", "env", ".env", truncated(ENV, b"EMAIL_USE_T"), may_change=True, kept=(b"EMAIL_USE_T",)),
    Case("env-truncated-in-quotes", "env", ".env", b'EMAIL_HOST="smtp.sendgrid.net\nEMAIL_PORT=587\n', codes=("MM003",)),
    Case("env-invalid-utf8-latin1", "env", ".env",
         ENV.replace(b"# Django", b"# R\xe9glages \xff\xfe Django"),
         may_change=True, kept=(b"# R\xe9glages \xff\xfe Django",)),
    Case("env-utf8-bom-then-invalid", "env", ".env", codecs.BOM_UTF8 + ENV + b"# caf\xe9\n", codes=("MM002",)),
    Case("env-utf16-le-bom", "env", ".env", utf16(ENV, "le"), codes=("MM002",)),
    Case("env-utf16-be-bom", "env", ".env", utf16(ENV, "be"), codes=("MM002",)),
    Case("env-utf16-le-no-bom", "env", ".env", ENV.decode().encode("utf-16-le"), codes=("MM002",)),
    Case("env-nul-byte", "env", ".env", with_nul(ENV), codes=("MM002",)),
    Case("env-duplicate-keys", "env", ".env", ENV + b"EMAIL_HOST=smtp.mailgun.org\n", codes=("MM003",), may_change=True),
    Case("env-cr-only-newlines", "env", ".env", ENV.replace(b"\n", b"\r"), may_change=True),
    Case("env-reference-cycle", "env", ".env",
         b"EMAIL_HOST=${SMTP_RELAY}\nSMTP_RELAY=${EMAIL_HOST}\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\n", may_change=True),
    Case("env-self-reference", "env", ".env",
         b"EMAIL_HOST=${EMAIL_HOST:-smtp.sendgrid.net}\nEMAIL_PORT=${EMAIL_PORT}\nEMAIL_USE_TLS=True\n", codes=("MM101",),
         may_change=True),
    Case("env-reference-bomb", "env", ".env", env_reference_bomb(), may_change=True),
    Case("env-port-5000-digits", "env", ".env", ENV.replace(b"EMAIL_PORT=587", b"EMAIL_PORT=" + b"9" * 5000),
         codes=("MM006",)),
    Case("env-ansi-escapes-in-values", "env", ".env",
         ENV.replace(b"EMAIL_HOST=smtp.sendgrid.net", b"EMAIL_HOST=smtp.sendgrid.net\x1b[2J\x1b]0;pwned\x07"),
         may_change=True),
    Case("env-1mib-many-keys", "env", ".env",
         many_lines(".env", ENV, lambda i: b"FEATURE_FLAG_%d=value-%d\n" % (i, i), ALLOWED),
         codes=("MM007",), slow=True, seconds=8, rss_mb=300),
    Case("env-10mb-one-line", "env", ".env", one_line(".env", ENV, b"SSH_KEY=", b"A", LINE, b"\n"),
         codes=("MM007",), slow=True, seconds=30, rss_mb=400),
    Case("env-10mb-unterminated-quote", "env", ".env", one_line(".env", ENV, b'CERT="', b"A", LINE, b"\n"),
         codes=("MM007",), slow=True, seconds=30, rss_mb=400),
    Case("env-50mb-comments", "env", ".env", big(".env", ENV, b"# " + b"padding " * 12 + b"\n", HUGE),
         codes=("MM007",), slow=True, seconds=30, rss_mb=400),
    Case("env-50mb-invalid-lines", "env", ".env", big(".env", ENV, b"this line has no equals sign\n", HUGE),
         codes=("MM007",), slow=True, seconds=30, rss_mb=400),
    # ---- Python ---------------------------------------------------------------------------
    Case("py-syntax-error-after-email-host", "python", "settings.py",
         SETTINGS_PY.replace(b"EMAIL_PORT = 587\n", b"EMAIL_PORT = 587 +\n"), codes=("MM003",)),
    Case("py-truncated-in-string", "python", "settings.py", truncated(SETTINGS_PY, b'"smtp.send'), codes=("MM003",)),
    Case("py-unclosed-bracket", "python", "settings.py",
         SETTINGS_PY + b'EMAIL = {\n    "HOST": "smtp.sendgrid.net",\n', codes=("MM003",)),
    Case("py-tab-space-mix", "python", "settings.py",
         SETTINGS_PY + b"if DEBUG:\n    EMAIL_PORT = 25\n\tEMAIL_USE_TLS = False\n", codes=("MM003",)),
    Case("py-utf16-le-bom", "python", "settings.py", utf16(SETTINGS_PY, "le"), codes=("MM002",)),
    Case("py-utf16-be-bom", "python", "settings.py", utf16(SETTINGS_PY, "be"), codes=("MM002",)),
    Case("py-nul-byte", "python", "settings.py", with_nul(SETTINGS_PY), codes=("MM002",)),
    Case("py-invalid-utf8-no-coding-cookie", "python", "settings.py",
         SETTINGS_PY.replace(b'"""Django settings."""', b'"""R\xe9glages \xff Django."""'),
         codes=("MM002",)),
    Case("py-lone-surrogate-escape", "python", "settings.py",
         SETTINGS_PY.replace(b'"smtp.sendgrid.net"', b'"smtp.sendgrid.net\\ud800"'), codes=("MM101",)),
    Case("py-10k-nested-parentheses", "python", "settings.py",
         _deep(b"(", b")", DEEP, b'"smtp.sendgrid.net"', b"EMAIL_HOST = ", b"\nEMAIL_PORT = 587\n"), codes=("MM003",)),
    Case("py-10k-nested-lists", "python", "settings.py",
         _deep(b"[", b"]", DEEP, b"1", SETTINGS_PY + b"DATA = ", b"\n"), codes=("MM003",)),
    Case("py-101-nested-blocks", "python", "settings.py", deep_python_blocks(101), codes=("MM003",)),
    Case("py-10k-unary-minus", "python", "settings.py", SETTINGS_PY + b"OFFSET = " + b"-" * DEEP + b"1\n",
         codes=("MM003",)),
    Case("py-10k-string-concatenation", "python", "settings.py",
         SETTINGS_PY.replace(b'EMAIL_HOST = "smtp.sendgrid.net"', b'EMAIL_HOST = "smtp.sendgrid.net"' + b' + ""' * DEEP),
         codes=("MM003",)),
    Case("py-10k-attribute-chain", "python", "settings.py", SETTINGS_PY + b"EMAIL_TIMEOUT = config" + b".x" * DEEP + b"\n",
         codes=("MM003",)),
    Case("py-600-string-concatenation", "python", "settings.py",
         SETTINGS_PY.replace(b'EMAIL_HOST = "smtp.sendgrid.net"', b'EMAIL_HOST = "smtp.sendgrid.net"' + b' + ""' * 600),
         codes=("MM115",), bug=UNPARSE_DEPTH),
    Case("py-900-unary-minus-port", "python", "settings.py",
         SETTINGS_PY.replace(b"EMAIL_PORT = 587", b"EMAIL_PORT = " + b"-" * 900 + b"587"), codes=("MM101",),
         bug=UNPARSE_DEPTH),
    Case("py-900-attribute-chain", "python", "settings.py", SETTINGS_PY + b"TIMEOUT = config" + b".x" * 900 + b"\n",
         codes=("MM101",), may_change=True, bug=LIBCST_DEPTH),
    Case("py-port-5000-digits", "python", "settings.py",
         SETTINGS_PY.replace(b"EMAIL_PORT = 587", b"EMAIL_PORT = " + b"9" * 5000), codes=("MM003",)),
    Case("py-1mib-module", "python", "settings.py",
         many_lines("settings.py", SETTINGS_PY, lambda i: b"SETTING_%d = {'name': 'value-%d', 'n': %d}\n" % (i, i, i),
                    ALLOWED),
         codes=("MM007",), slow=True, seconds=8, rss_mb=300),
    Case("py-10mb-one-line", "python", "settings.py",
         one_line("settings.py", SETTINGS_PY, b'LOGO = "', b"A", LINE, b'"\n'), codes=("MM007",),
         slow=True, seconds=30, rss_mb=400),
    Case("py-50mb-module", "python", "settings.py",
         big("settings.py", SETTINGS_PY, b'COUNTRIES_DE = ("DE", "Germany", 49)\n', HUGE), codes=("MM007",),
         slow=True, seconds=30, rss_mb=400),
    # ---- YAML -----------------------------------------------------------------------------
    Case("yaml-tab-indentation", "yaml", "application.yml",
         APPLICATION_YML.replace(b"    port: 587", b"\tport: 587"), codes=("MM003",)),
    Case("yaml-truncated-flow", "yaml", "application.yml",
         b"spring:\n  mail: {host: smtp.sendgrid.net, port: 587, username: apikey", codes=("MM003",)),
    Case("yaml-unterminated-quote", "yaml", "application.yml",
         APPLICATION_YML.replace(b"host: smtp.sendgrid.net", b'host: "smtp.sendgrid.net'), codes=("MM003",)),
    Case("yaml-undefined-alias", "yaml", "application.yml",
         APPLICATION_YML.replace(b"username: apikey", b"username: *smtp_user"), codes=("MM003",)),
    Case("yaml-duplicate-keys", "yaml", "application.yml",
         APPLICATION_YML + b"spring:\n  mail:\n    host: smtp.mailgun.org\n", codes=("MM003",)),
    Case("yaml-billion-laughs", "yaml", "application.yml", yaml_bomb(), codes=("MM101",), may_change=True,
         kept=(b"    l9: &l9 [*l8",)),
    Case("yaml-merge-key-bomb", "yaml", "application.yml", yaml_merge_bomb()),
    Case("yaml-merge-key-hides-host", "yaml", "application.yml",
         b"defaults: &mail\n  host: smtp.sendgrid.net\n  port: 587\nspring:\n  mail:\n    <<: *mail\n    username: apikey\n",
         codes=("MM101",), may_change=True, bug=MERGE_KEY),
    Case("yaml-recursive-alias", "yaml", "application.yml", APPLICATION_YML + b"loop: &loop\n  self: *loop\n",
         may_change=True),
    Case("yaml-python-object-tag", "yaml", "application.yml",
         APPLICATION_YML + b'hook: !!python/object/apply:os.system ["touch pwned-by-yaml"]\n', codes=("MM101",),
         may_change=True, kept=(b"!!python/object/apply:os.system",)),
    Case("yaml-10k-nested-flow", "yaml", "application.yml",
         _deep(b"[", b"]", DEEP, b"x", APPLICATION_YML + b"data: ", b"\n"), codes=("MM003",),
         seconds=20),  # 2-4 s today: ruamel recurses until RecursionError
    Case("yaml-1000-nested-block", "yaml", "application.yml", deep_yaml_block(1000), codes=("MM003",)),
    Case("yaml-utf16-le-bom", "yaml", "application.yml", utf16(APPLICATION_YML, "le"), codes=("MM002",)),
    Case("yaml-utf16-be-bom", "yaml", "application.yml", utf16(APPLICATION_YML, "be"), codes=("MM002",)),
    Case("yaml-nul-byte", "yaml", "application.yml", with_nul(APPLICATION_YML), codes=("MM002",)),
    Case("yaml-invalid-utf8", "yaml", "application.yml", b"# Konfiguration f\xfcr den Versand\n" + APPLICATION_YML,
         codes=("MM002",)),
    Case("yaml-lone-surrogate-escape", "yaml", "application.yml",
         APPLICATION_YML.replace(b"host: smtp.sendgrid.net", b'host: "smtp.sendgrid.net\\ud800"'), codes=("MM101",),
         may_change=True),  # an unknown host is replaced like any other; printing it no longer crashes
    Case("yaml-port-5000-digits", "yaml", "application.yml",
         APPLICATION_YML.replace(b"port: 587", b"port: " + b"9" * 5000), codes=("MM006",)),
    Case("yaml-1mib-flow-items", "yaml", "application.yml",
         many_lines("application.yml", APPLICATION_YML + b"catalog:\n",
                    lambda i: b"  - {id: %d, name: item-%d, tags: [a, b]}\n" % (i, i), ALLOWED),
         codes=("MM007",), slow=True, seconds=8, rss_mb=300),
    Case("yaml-10mb-one-line", "yaml", "application.yml",
         one_line("application.yml", APPLICATION_YML, b"banner: ", b"A", LINE, b"\n"), codes=("MM007",),
         slow=True, seconds=30, rss_mb=400),
    Case("yaml-50mb", "yaml", "application.yml",
         big("application.yml", APPLICATION_YML, b"# " + b"padding " * 12 + b"\n", HUGE), codes=("MM007",),
         slow=True, seconds=30, rss_mb=400),
    # ---- INI / .cfg -----------------------------------------------------------------------
    Case("ini-airflow-line-without-equals", "ini", "airflow.cfg",
         AIRFLOW_CFG.replace(b"smtp_ssl = False", b"smtp_ssl False"), codes=("MM003",)),
    Case("ini-grafana-duplicate-sections", "ini", "grafana.ini",
         GRAFANA_INI + b"\n[smtp]\nhost = smtp.mailgun.org:587\n", codes=("MM003",), may_change=True),
    Case("ini-grafana-duplicate-keys", "ini", "grafana.ini",
         GRAFANA_INI.replace(b"user = apikey", b"user = apikey\nhost = smtp.mailgun.org:2525"), codes=("MM003",),
         may_change=True),
    Case("ini-unclosed-section-header", "ini", "airflow.cfg", AIRFLOW_CFG.replace(b"[smtp]", b"[smtp"), codes=("MM003",)),
    Case("ini-grafana-unterminated-triple-quote", "ini", "grafana.ini",
         GRAFANA_INI.replace(b"password = $__env{GF_SMTP_PASSWORD}", b'password = """Wint3r#Is;Coming'),
         codes=("MM003",)),
    Case("ini-interpolation-bomb", "ini", "airflow.cfg",
         AIRFLOW_CFG + b"".join(f"x{i} = %(x{i - 1})s%(x{i - 1})s\n".encode() for i in range(1, 40)).replace(
             b"%(x0)s%(x0)s", b"lol"), codes=("MM101",), may_change=True),
    Case("ini-utf16-le-bom", "ini", "grafana.ini", utf16(GRAFANA_INI, "le"), codes=("MM002",)),
    Case("ini-utf16-be-bom", "ini", "grafana.ini", utf16(GRAFANA_INI, "be"), codes=("MM002",)),
    Case("ini-nul-byte", "ini", "airflow.cfg", with_nul(AIRFLOW_CFG), codes=("MM002",)),
    Case("ini-invalid-utf8", "ini", "airflow.cfg", b"; G\xe9n\xe9r\xe9 automatiquement\n" + AIRFLOW_CFG,
         codes=("MM101",), may_change=True, kept=(b"; G\xe9n\xe9r\xe9 automatiquement\n",)),
    Case("ini-port-5000-digits", "ini", "airflow.cfg",
         AIRFLOW_CFG.replace(b"smtp_port = 587", b"smtp_port = " + b"9" * 5000), codes=("MM006",)),
    Case("ini-1mib-many-keys", "ini", "airflow.cfg",
         many_lines("airflow.cfg", AIRFLOW_CFG, lambda i: b"key_%d = value-%d\n" % (i, i), ALLOWED),
         codes=("MM007",), slow=True, seconds=8, rss_mb=300),
    Case("ini-10mb-one-line", "ini", "airflow.cfg",
         one_line("airflow.cfg", AIRFLOW_CFG, b"smtp_note = ", b"A", LINE, b"\n"), codes=("MM007",),
         slow=True, seconds=30, rss_mb=400),
    Case("ini-50mb", "ini", "airflow.cfg", big("airflow.cfg", AIRFLOW_CFG, b"; " + b"padding " * 12 + b"\n", HUGE),
         codes=("MM007",), slow=True, seconds=30, rss_mb=400),
    # ---- TOML -----------------------------------------------------------------------------
    Case("toml-unterminated-string", "toml", "lldap_config.toml",
         LLDAP_TOML.replace(b'server = "smtp.sendgrid.net"', b'server = "smtp.sendgrid.net'), codes=("MM003",)),
    Case("toml-pyproject-unterminated-string", "toml", "mailer.toml",
         b'[project]\nname = "shop\n\n[smtp_options]\nserver = "smtp.sendgrid.net"\nport = 587\n', codes=("MM003",)),
    Case("toml-duplicate-keys", "toml", "lldap_config.toml", LLDAP_TOML + b"port = 25\n", codes=("MM003",)),
    Case("toml-duplicate-tables", "toml", "lldap_config.toml",
         LLDAP_TOML + b'\n[smtp_options]\nserver = "smtp.mailgun.org"\n', codes=("MM003",)),
    Case("toml-truncated", "toml", "lldap_config.toml", truncated(LLDAP_TOML, b"port = "), codes=("MM003",)),
    Case("toml-10k-nested-arrays", "toml", "lldap_config.toml",
         _deep(b"[", b"]", DEEP, b"1", b"data = ", b"\n" + LLDAP_TOML), codes=("MM003",)),
    Case("toml-10k-nested-inline-tables", "toml", "lldap_config.toml",
         _deep(b"{a = ", b"}", DEEP, b"1", b"data = ", b"\n" + LLDAP_TOML), codes=("MM003",)),
    Case("toml-5000-digit-integer", "toml", "lldap_config.toml",
         LLDAP_TOML.replace(b"enable_password_reset = true", b"enable_password_reset = true\nreset_ttl = " + b"9" * 5000),
         codes=("MM003",)),
    Case("toml-utf16-le-bom", "toml", "lldap_config.toml", utf16(LLDAP_TOML, "le"), codes=("MM002",)),
    Case("toml-utf16-be-bom", "toml", "lldap_config.toml", utf16(LLDAP_TOML, "be"), codes=("MM002",)),
    Case("toml-nul-byte", "toml", "lldap_config.toml", with_nul(LLDAP_TOML), codes=("MM002",)),
    Case("toml-invalid-utf8", "toml", "lldap_config.toml", b"# \xa9 2024 Beispiel GmbH\n" + LLDAP_TOML,
         codes=("MM002",)),
    Case("toml-1mib-many-keys", "toml", "lldap_config.toml",
         many_lines("lldap_config.toml", LLDAP_TOML, lambda i: b'key_%d = "value-%d"\n' % (i, i), ALLOWED),
         codes=("MM007",), slow=True, seconds=8, rss_mb=300),
    Case("toml-10mb-one-line", "toml", "lldap_config.toml",
         one_line("lldap_config.toml", LLDAP_TOML, b'motd = "', b"A", LINE, b'"\n'), codes=("MM007",),
         slow=True, seconds=30, rss_mb=400),
    # ---- JSON (config-named) --------------------------------------------------------------
    Case("json-trailing-comma", "json", "config.json",
         MATTERMOST_JSON.replace(b'"STARTTLS"\n', b'"STARTTLS",\n'), codes=("MM003",)),
    Case("json-truncated", "json", "config.json", truncated(MATTERMOST_JSON, b'"SMTPPort": "5'), codes=("MM003",)),
    Case("json-comments", "json", "config.json",
         MATTERMOST_JSON.replace(b'"EmailSettings": {', b'"EmailSettings": { // SendGrid until March'), codes=("MM003",)),
    Case("json-duplicate-keys", "json", "config.json",
         MATTERMOST_JSON.replace(b'"SMTPPort": "587",', b'"SMTPPort": "587",\n        "SMTPServer": "smtp.mailgun.org",'),
         codes=("MM003",)),
    Case("json-nan", "json", "config.json",
         MATTERMOST_JSON.replace(b'"SMTPPort": "587",', b'"SMTPPort": "587",\n        "SMTPServerTimeout": NaN,'),
         codes=("MM003",)),
    Case("json-10k-nested-objects", "json", "config.json",
         _deep(b'{"a": ', b"}", DEEP, b"1", b'{"Data": ', b', "EmailSettings": {"SMTPServer": "smtp.sendgrid.net"}}'),
         codes=("MM003",)),
    Case("json-10k-nested-arrays", "json", "config.json",
         _deep(b"[", b"]", DEEP, b"1", b'{"Data": ', b', "EmailSettings": {"SMTPServer": "smtp.sendgrid.net"}}'),
         codes=("MM003",)),
    Case("json-5000-digit-number", "json", "config.json",
         MATTERMOST_JSON.replace(b'"SMTPPort": "587",', b'"SMTPPort": "587",\n        "SMTPServerTimeout": ' + b"9" * 5000 + b","),
         codes=("MM003",)),
    Case("json-lone-surrogate-escape", "json", "config.json",
         MATTERMOST_JSON.replace(b'"smtp.sendgrid.net"', b'"smtp.sendgrid.net\\ud800"'), codes=("MM115",)),
    Case("json-utf16-le-bom", "json", "config.json", utf16(MATTERMOST_JSON, "le"), codes=("MM002",)),
    Case("json-utf16-be-bom", "json", "config.json", utf16(MATTERMOST_JSON, "be"), codes=("MM002",)),
    Case("json-nul-byte", "json", "config.json", with_nul(MATTERMOST_JSON), codes=("MM002",)),
    Case("json-invalid-utf8", "json", "config.json",
         MATTERMOST_JSON.replace(b"mattermost@example.com", b"m\xe4ttermost@example.com"), codes=("MM002",)),
    Case("json-1mib-plugin-data", "json", "config.json",
         many_lines("config.json", MATTERMOST_JSON.rstrip()[:-1] + b',\n    "Data": [\n',
                    lambda i: b'        {"id": %d, "name": "item-%d"},\n' % (i, i), ALLOWED, b'        {"id": 0}\n    ]\n}\n'),
         codes=("MM007",), slow=True, seconds=8, rss_mb=300),
    Case("json-10mb-minified-one-line", "json", "config.json",
         one_line("config.json", b"", b'{"EmailSettings": {"SMTPServer": "smtp.sendgrid.net", "SMTPPort": "587", '
                  b'"ConnectionSecurity": "STARTTLS", "EnableSMTPAuth": true, "SMTPUsername": "apikey", '
                  b'"SMTPPassword": ""}, "Data": "', b"A", LINE, b'"}'), codes=("MM007",),
         slow=True, seconds=30, rss_mb=400),
    Case("json-50mb", "json", "config.json",
         big("config.json", b'{"EmailSettings": {"SMTPServer": "smtp.sendgrid.net", "SMTPPort": "587", '
             b'"ConnectionSecurity": "STARTTLS", "EnableSMTPAuth": true, "SMTPUsername": "apikey", '
             b'"SMTPPassword": ""},\n"Data": [\n', b'  {"id": 12345, "name": "plugin-setting", "on": true},\n',
             HUGE, b'  {"id": 0}\n]}\n'),
         codes=("MM007",), slow=True, seconds=30, rss_mb=400),
    # ---- .properties ----------------------------------------------------------------------
    Case("props-invalid-unicode-escape", "properties", "application.properties",
         APPLICATION_PROPERTIES + b"shop.mail.subject-prefix=[Shop]\\uZZZZ\n", codes=("MM003",)),
    Case("props-truncated-unicode-escape", "properties", "application.properties",
         APPLICATION_PROPERTIES + b"shop.mail.signature=Gr\\u00", codes=("MM003",)),
    Case("props-continuation-at-eof", "properties", "application.properties",
         APPLICATION_PROPERTIES.replace(b"spring.mail.port=587\n", b"") + b"spring.mail.port=587\\",
         codes=("MM101",), absent=("MM006",), may_change=True, bug=PROPS_EOF),
    Case("props-duplicate-keys", "properties", "application.properties",
         APPLICATION_PROPERTIES + b"spring.mail.host=smtp.mailgun.org\n", codes=("MM003",), may_change=True),
    Case("props-100k-continuation-lines", "properties", "application.properties",
         APPLICATION_PROPERTIES + b"shop.allowed-domains=a,\\\n" + b"    example.com,\\\n" * 100_000 + b"    end\n",
         codes=("MM007",), rss_mb=200),
    Case("props-utf16-le-bom", "properties", "application.properties", utf16(APPLICATION_PROPERTIES, "le"),
         codes=("MM002",)),
    Case("props-utf16-be-bom", "properties", "application.properties", utf16(APPLICATION_PROPERTIES, "be"),
         codes=("MM002",)),
    Case("props-nul-byte", "properties", "application.properties", with_nul(APPLICATION_PROPERTIES), codes=("MM002",)),
    Case("props-iso-8859-1", "properties", "application.properties",
         b"# Einstellungen f\xfcr den Versand\n" + APPLICATION_PROPERTIES, codes=("MM101",), may_change=True,
         kept=(b"# Einstellungen f\xfcr den Versand\n",)),
    Case("props-port-5000-digits", "properties", "application.properties",
         APPLICATION_PROPERTIES.replace(b"spring.mail.port=587", b"spring.mail.port=" + b"9" * 5000),
         codes=("MM006",)),
    Case("props-1mib-many-keys", "properties", "application.properties",
         many_lines("application.properties", APPLICATION_PROPERTIES, lambda i: b"shop.key%d=value-%d\n" % (i, i), ALLOWED),
         codes=("MM007",), slow=True, seconds=8, rss_mb=300),
    Case("props-10mb-one-line", "properties", "application.properties",
         one_line("application.properties", APPLICATION_PROPERTIES, b"shop.banner=", b"A", LINE, b"\n"),
         codes=("MM007",), slow=True, seconds=30, rss_mb=400),
    Case("props-50mb", "properties", "application.properties",
         big("application.properties", APPLICATION_PROPERTIES, b"shop.catalog.item.sku=ABC-123-XYZ\n", HUGE),
         codes=("MM007",), slow=True, seconds=30, rss_mb=400),
    # ---- file system ----------------------------------------------------------------------
    Case("fs-symlink-outside-repo", "fs", ".env", symlink_to_outside(".env", ENV), codes=("MM001",)),
    Case("fs-symlink-absolute-outside", "fs", "settings.py", symlink_to_absolute_outside("settings.py", SETTINGS_PY),
         codes=("MM001",)),
    Case("fs-git-tracked-symlink-outside", "fs", "config/.env", git_tracked_symlink_outside("config/.env", ENV),
         codes=("MM001",)),
    Case("fs-symlink-loop", "fs", ".env.local", symlink_loop(".env.local"), codes=("MM001",)),
    Case("fs-symlink-to-itself", "fs", ".env.production", self_symlink(".env.production"), codes=("MM001",)),
    Case("fs-symlink-dangling", "fs", ".env.staging", dangling_symlink(".env.staging"), codes=("MM001",)),
    Case("fs-directory-symlink-loop", "fs", "config/.env", directory_loop(".env"), codes=("MM101",), may_change=True),
    Case("fs-unreadable-chmod-000", "fs", ".env", unreadable(".env", ENV), codes=("MM001",), special="unreadable"),
    Case("fs-fifo-named-env", "fs", ".env", fifo(".env")),
    Case("fs-directory-named-settings-py", "fs", "settings.py", directory_named("settings.py")),
    Case("fs-newline-in-file-name", "fs", ".env.evil\nsettings.py:1:1: MM000 spoofed", ENV + b"EMAIL_PORT 25\n",
         codes=("MM003",), may_change=True, bug=NEWLINE_NAME),
]


def _delete(path: Path) -> None:
    path.unlink()


def _append(path: Path) -> None:
    with open(path, "ab") as handle:
        handle.write(b"# edited meanwhile\n")


def _same_size_edit(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace(b"587", b"588"))
    os.utime(path, ns=(0, 0))


def _truncate(path: Path) -> None:
    path.write_bytes(b"")


def _to_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _to_symlink_outside(path: Path) -> None:
    """The file swapped for a link to a file outside the repository with the same bytes."""
    outside = path.parent.parent / "outside-race"
    outside.mkdir(exist_ok=True)
    target = outside / path.name
    target.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(target)


def _parent_to_symlink_outside(path: Path) -> None:
    """The file's folder moved outside the repository and a link to it put in its place: the
    file itself is no link, and its bytes are the same."""
    folder = path.parent
    outside = folder.parent.parent / "outside-race-folder"
    folder.rename(outside)
    folder.symlink_to(outside)


def _to_utf16(path: Path) -> None:
    path.write_bytes(utf16(path.read_bytes(), "le"))


BETWEEN: list[Between] = [
    Between("deleted", ".env", ENV, _delete, "MM001"),
    Between("appended", ".env", ENV, _append, "MM004"),
    Between("same-size-edit-old-mtime", ".env", ENV, _same_size_edit, "MM004"),
    Between("truncated-to-empty", "settings.py", SETTINGS_PY, _truncate, "MM004"),
    Between("replaced-by-directory", "application.yml", APPLICATION_YML, _to_directory, "MM001"),
    Between("re-encoded-utf16", "config.json", MATTERMOST_JSON, _to_utf16, "MM004"),
    Between("swapped-for-symlink-outside", ".env", ENV, _to_symlink_outside, "MM004"),
    Between("parent-folder-swapped-for-symlink-outside", "config/.env", ENV, _parent_to_symlink_outside, "MM004"),
]
