"""The command line: the only module that prints or chooses exit codes.

Exit codes: 0 clean, 1 findings (or changes pending), 2 usage error, invalid rules, or an
internal error — and then nothing was written. All output goes through one masker.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from enum import Enum
from pathlib import Path
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

import typer

from mailmigrate import __version__

if TYPE_CHECKING:  # imported where used: `check` in a pre-commit hook never loads ssl
    from mailmigrate.engine import RunResult
    from mailmigrate.report import FileDiff
    from mailmigrate.verification import VerifyOptions

app = typer.Typer(
    name="mailmigrate",
    help="Find every SMTP configuration in a repository and move it to MailPace.",
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    no_args_is_help=True,
    # Secrets sit in local variables: never print them in a traceback.
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

TOKEN_VARIABLE = "MAILPACE_API_TOKEN"


class ScanFormat(str, Enum):
    text = "text"
    json = "json"


class CheckFormat(str, Enum):
    concise = "concise"
    json = "json"
    github = "github"
    sarif = "sarif"


class ReportFormat(str, Enum):
    markdown = "markdown"
    json = "json"


class Port(str, Enum):
    p587 = "587"
    p2525 = "2525"
    p25 = "25"
    p465 = "465"


PathsArg = Annotated[
    list[Path] | None,
    # No `exists`/`readable` checks here: a missing PATH is our usage error (exit 2) and an
    # unreadable file is a finding (MM001), the same whether it is named or found in a folder.
    typer.Argument(
        help="Directories or files to look at (default: the current directory).",
        show_default=False, exists=False, readable=False, resolve_path=False,
    ),
]


QuietOpt = Annotated[
    bool, typer.Option("-q", "--quiet", help="Print only findings and diffs: no summaries, no progress.")
]


class _Output:
    """Everything printed goes through here, masked."""

    def __init__(self) -> None:
        self.mask: Callable[[str], str] = lambda text: text  # until a run has seen secrets

    def use_secrets(self, secrets: set[str], token: str | None, paths: set[str], weak: set[str]) -> None:
        from mailmigrate.masking import Masker

        self.mask = Masker(secrets, always=[token] if token else [], keep=paths, weak=weak)

    def out(self, text: str) -> None:
        if text:
            _write(sys.stdout, self.mask(text))

    def diff(self, text: str) -> None:
        """A diff: coloured on a terminal (unless NO_COLOR is set), plain in a pipe or a file."""
        if text and sys.stdout.isatty() and not os.environ.get("NO_COLOR"):
            from mailmigrate.diff import colour

            text = colour(self.mask(text))
        self.out(text)

    def err(self, text: str) -> None:
        if text:
            _write(sys.stderr, self.mask(text if text.endswith("\n") else text + "\n"))

    def fail(self, text: str, code: int = 2) -> NoReturn:
        self.err(f"mailmigrate: error: {text}")
        raise typer.Exit(code)


def _write(stream: TextIO, text: str) -> None:
    """Text that cannot be encoded (a lone surrogate from a `\\ud800` escape in a file) is
    shown escaped rather than ending the run."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        encoding = getattr(stream, "encoding", None) or "utf-8"
        stream.write(text.encode(encoding, "backslashreplace").decode(encoding))
    stream.flush()


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"mailmigrate {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    """Find every SMTP configuration in a repository and move it to MailPace."""


def _analyse(
    out: _Output, paths: list[Path] | None, *, token: str | None = None, token_env: str | None = None,
    forced_port: int | None = None, include_local: bool = False, tags: tuple[str, ...] = (), list_unsubscribe: bool = False,
    quiet: bool = False,
) -> RunResult:
    """Run the engine with the command line's options over the project configuration's."""
    from mailmigrate.discovery import UsageError
    from mailmigrate.engine import RunOptions, analyse
    from mailmigrate.projectconfig import ConfigError
    from mailmigrate.projectconfig import load as load_config
    from mailmigrate.rules import RuleError, load_ruleset

    targets = paths or [Path(".")]
    try:
        config = load_config(targets, Path.cwd())
    except ConfigError as exc:
        out.fail(f"invalid project configuration: {exc}")
    try:
        rules = load_ruleset(extra_files=config.extra_rules)
    except RuleError as exc:
        out.err("mailmigrate: error: invalid rule files:")
        for line in exc.errors:
            out.err(f"  {line}")
        raise typer.Exit(2) from None
    options = RunOptions(
        token=token,
        token_env=token_env or config.token_env or TOKEN_VARIABLE,
        forced_port=forced_port or config.port,
        include_local=include_local or config.include_local,
        tags=tags or config.tags,
        list_unsubscribe=list_unsubscribe or config.list_unsubscribe,
        ignored_codes=config.ignore,
    )
    try:
        with _progress(quiet) as progress:
            result = analyse(targets, rules, options, exclude=config.excluded(), progress=progress)
    except UsageError as exc:
        out.fail(str(exc))
    # Never masked: file paths, and the token's variable name (a `token-env` value in
    # pyproject.toml reads like a credential to the structured-file reader).
    keep = {o.file.display for o in result.files} | {f.path for f in result.findings} | {options.token_env}
    out.use_secrets(result.secrets, options.token, keep, result.sensitive)
    return result


@app.command(short_help="Inventory of every SMTP configuration (secrets masked).")
def scan(
    paths: PathsArg = None,
    format: Annotated[ScanFormat, typer.Option("--format", help="Output format.")] = ScanFormat.text,
    quiet: QuietOpt = False,
) -> None:
    """Inventory: every SMTP configuration found, its provider and status (secrets masked)."""
    out = _Output()
    result = _analyse(out, paths, quiet=quiet)
    from mailmigrate import output

    out.out(output.scan_json(result) if format is ScanFormat.json else output.scan_text(result))
    raise typer.Exit(0)


@app.command(short_help="One line per finding; exit 1 when there are any.")
def check(
    paths: PathsArg = None,
    format: Annotated[CheckFormat, typer.Option("--format", help="Output format.")] = CheckFormat.concise,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when there are findings.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Read-only verdict for pre-commit and CI: one line per finding. Exit 0 clean, 1 findings."""
    out = _Output()
    result = _analyse(out, paths, quiet=quiet)
    from mailmigrate import output

    if format is CheckFormat.sarif:
        from mailmigrate import sarif

        out.out(sarif.render(result.findings, version=__version__))
    elif format is CheckFormat.concise:
        out.out(output.findings_concise(result.findings, summary=not quiet))
    else:
        out.out((output.findings_json if format is CheckFormat.json else output.findings_github)(result.findings))
    raise typer.Exit(1 if result.findings and not exit_zero else 0)


@app.command(short_help="Print the migration diff, or --write it.")
def migrate(
    paths: PathsArg = None,
    write: Annotated[bool, typer.Option("--write", help="Write the changes (default: print a diff).")] = False,
    port: Annotated[Port | None, typer.Option("--port", help="Force the port: 465 is implicit TLS, the others STARTTLS.")] = None,
    include_local: Annotated[
        bool, typer.Option("--include-local", help="Also migrate configurations pointing at localhost/127.0.0.1.")
    ] = False,
    tags: Annotated[
        str | None,
        typer.Option("--tags", metavar='"A, B"', help="Tag every message the code builds: X-MailPace-Tags: A, B."),
    ] = None,
    list_unsubscribe: Annotated[
        bool, typer.Option("--list-unsubscribe", help="Rename List-Unsubscribe headers to MailPace's X-List-Unsubscribe.")
    ] = False,
    token_env: Annotated[
        str | None,
        typer.Option(
            "--token-env", metavar="NAME",
            help=f"Variable name rewritten code refers to (the token itself is read from ${TOKEN_VARIABLE}).",
        ),
    ] = None,
    token_stdin: Annotated[
        bool, typer.Option("--token-stdin", help=f"Read the API token from standard input instead of ${TOKEN_VARIABLE}.")
    ] = False,
    no_verify: Annotated[
        bool, typer.Option("--no-verify", help="Skip the login check of the planned result against the emulator.")
    ] = False,
    live: Annotated[bool, typer.Option("--live", help="After --write, log in to smtp.mailpace.com with the result.")] = False,
    report: Annotated[
        Path | None,
        typer.Option("--report", metavar="FILE", help="Also write a pull-request report (summary, diffs, follow-ups) to FILE."),
    ] = None,
    report_format: Annotated[ReportFormat, typer.Option("--report-format", help="The report's format.")] = ReportFormat.markdown,
    quiet: QuietOpt = False,
) -> None:
    """Plan the move to MailPace: print a diff (exit 1 if anything would change), or --write it.
    The planned result is first checked by logging in to the built-in MailPace emulator."""
    out = _Output()
    if live and not write:
        out.fail("--live logs in to MailPace after --write: use both, or `mailmigrate verify --live`")
    if report is not None and not (report.parent if str(report.parent) else Path(".")).is_dir():
        out.fail(f"--report: {report.parent} is not a directory")
    if report is not None and report.is_dir():
        out.fail(f"--report: {report} is a directory")
    parsed_tags: tuple[str, ...] = ()
    if tags is not None:
        from mailmigrate.mailheaders import parse_tags_option

        try:
            parsed_tags = parse_tags_option(tags)
        except ValueError as exc:
            out.fail(f"--tags: {exc}")
    token = _read_token(out, token_stdin)
    from mailmigrate.projectconfig import VARIABLE_NAME

    if token_env is not None and not VARIABLE_NAME.fullmatch(token_env):
        out.fail(f"--token-env: {token_env!r} is not a valid variable name")
    result = _analyse(
        out, paths, token=token, token_env=token_env,
        forced_port=int(port.value) if port else None, include_local=include_local,
        tags=parsed_tags, list_unsubscribe=list_unsubscribe, quiet=quiet,
    )
    from mailmigrate import output
    from mailmigrate.planner import MASK

    problems = [f for f in result.findings if not f.fixable]
    if result.blocked:
        out.out(output.findings_concise(result.findings))
        out.err("mailmigrate: a rewrite failed its checks (MM005); nothing was written.")
        raise typer.Exit(1)
    verified = ""  # one line saying how the planned result logged in to the emulator
    if not no_verify and result.changed_files:
        # The planned result, logged in to the emulator the way the application will: a plan
        # that would fail its login is not written.
        from mailmigrate.verification import VerifyOptions, verify

        plans, context = result.after
        changed = {o.file.path for o in result.changed_files}
        outcomes = verify([p for p in plans if p.configuration.file.path in changed], context, os.environ, VerifyOptions())
        failed = [o for o in outcomes if o.status == "failed"]
        if failed and write:
            out.err(output.verify_text(failed, verbose=False))
            out.err("mailmigrate: the planned result fails its login (above); nothing was written.")
            raise typer.Exit(1)
        verified = "Login check of the planned result (built-in MailPace emulator): " + next(output.verify_summary(outcomes))
        if failed:  # a dry run still shows the plan: the failure says what to fix before --write
            verified = output.verify_text(failed, verbose=False) + verified + "\n--write would refuse this plan."
    diffs = _diffs(result, out)
    if not write:
        masked_files = [d.path for d in diffs if MASK in d.diff]
        for item in diffs:
            out.diff(item.diff)
        if report is not None:
            _write_report(out, report, report_format, result, diffs, written=False, login=verified)
        if masked_files and not quiet:
            out.err(
                f"Lines holding a secret are masked in the diff of {', '.join(masked_files)}: "
                "`git apply` cannot apply those hunks; use --write."
            )
        if problems:
            out.err(output.findings_concise(problems, summary=not quiet))
        if not quiet:
            out.err(output.migrate_summary(result, None, has_token=token is not None))
            out.err(verified)
        # The contract: 1 when anything would change, 0 when nothing would. Findings that need
        # a person are listed above (and `check` fails on them).
        raise typer.Exit(1 if result.changed_files else 0)
    if result.needs_token and result.changed_files:
        files = sorted({c.file.display for p in result.plans if p.needs_token for c in p.changes if c.secret}
                       | {p.configuration.file.display for p in result.plans if p.needs_token and p.additions})
        out.fail(
            f"{', '.join(files)} need{'s' if len(files) == 1 else ''} the MailPace API token itself: "
            f"set ${TOKEN_VARIABLE} or pass --token-stdin; nothing was written"
        )
    from mailmigrate.writer import write_all

    if report is not None:  # first as planned: a report that cannot be written stops the run here
        _write_report(out, report, report_format, result, diffs, written=False, login=verified)
    writes = write_all(result.changed_files)
    if not writes.ok:
        for shown, why, code in writes.failed:
            out.err(f"{shown}:1:1: {code} {why}")
        if writes.written:  # putting a file back failed: say exactly which files changed
            out.err(f"mailmigrate: the write failed part-way: {', '.join(writes.written)} hold the new text "
                    "(see above), every other file its old one.")
        else:
            out.err("mailmigrate: nothing was written.")
        raise typer.Exit(1)
    if report is not None:
        _write_report(out, report, report_format, result, diffs, written=True, login=verified, after_write=True)
    if problems:
        out.out(output.findings_concise(problems, summary=not quiet))
    if not quiet:
        out.err(output.migrate_summary(result, writes.written))
        out.err(verified)
    if live:
        from mailmigrate.verification import VerifyOptions

        live_code = _verify_and_report(out, paths, token, VerifyOptions(live=True), verbose=False)
        raise typer.Exit(1 if problems or live_code == 1 else 0)
    raise typer.Exit(1 if problems else 0)


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A progress bar on stderr while files are read, on a terminal only (rich, imported only
    then); in a pipe, a CI log or a pre-commit hook: nothing."""
    if quiet or not sys.stderr.isatty() or os.environ.get("CI"):
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    bar = Progress(TextColumn("reading files"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)
    task = bar.add_task("read", total=None)
    shown = False

    def update(done: int, total: int) -> None:
        nonlocal shown
        if not shown and total >= PROGRESS_FROM:
            bar.start()
            shown = True
        bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if shown:
            bar.stop()


PROGRESS_FROM = 2000  # files: below this a scan is over before a bar would help


def _diffs(result: RunResult, out: _Output) -> list[FileDiff]:
    """Each changed file's unified diff, secrets masked (by where they are, then by text)."""
    from mailmigrate.diff import unified_diff
    from mailmigrate.report import FileDiff

    diffs = []
    for outcome in result.changed_files:
        assert outcome.new_text is not None
        bom = "\ufeff" if outcome.doc.bom else ""  # git apply compares the first line with it
        old, new = outcome.masked_texts()
        diffs.append(FileDiff(outcome.file.display, out.mask(unified_diff(outcome.file.display, bom + old, bom + new))))
    return diffs


def _write_report(
    out: _Output, path: Path, form: ReportFormat, result: RunResult, diffs: list[FileDiff], *, written: bool,
    login: str, after_write: bool = False,
) -> None:
    from mailmigrate import report

    login = login.removeprefix("Login check of the planned result (built-in MailPace emulator): ")
    if form is ReportFormat.json:
        text = report.as_json(result, diffs, out.mask, written=written, login=login)
    else:
        text = report.markdown(result, diffs, out.mask, written=written, login=login)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        if after_write:  # the files are written: say so, and keep exit 2 for "nothing written"
            out.err(f"mailmigrate: the files were written, but --report could not be updated: {exc.strerror or exc}")
            return
        out.fail(f"--report: cannot write {path}: {exc.strerror or exc}; nothing was written")


def _verify_and_report(out: _Output, paths: list[Path] | None, token: str | None, options: VerifyOptions, *, verbose: bool) -> int:
    """Log in with every configuration as the files stand; print the results; the exit code."""
    from mailmigrate import output
    from mailmigrate.verification import verify

    result = _analyse(out, paths, token=token)
    outcomes = verify(result.plans, result.context, os.environ, options)
    out.out(output.verify_text(outcomes, verbose=verbose))
    if any(o.status == "failed" for o in outcomes):
        return 1
    return 0 if any(o.status == "ok" for o in outcomes) else 2


@app.command(short_help="Log in over SMTP with each configuration (emulator, or --live).")
def verify(
    paths: PathsArg = None,
    live: Annotated[bool, typer.Option("--live", help="Log in to smtp.mailpace.com instead of the built-in emulator.")] = False,
    server: Annotated[
        str | None, typer.Option("--server", metavar="HOST[:PORT]", help="With --live: another server than smtp.mailpace.com.")
    ] = None,
    ca_file: Annotated[
        Path | None, typer.Option("--ca-file", help="With --live: trust these CA certificates instead of the system's.")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=0.1, help="Seconds allowed for each step.")] = 10.0,
    verbose: Annotated[bool, typer.Option("-v", "--verbose", help="Print the SMTP transcript (AUTH masked).")] = False,
) -> None:
    """SMTP login check of each configuration as the files stand: EHLO, STARTTLS, EHLO, AUTH,
    QUIT; never a message. Exit 0 all resolvable ones logged in, 1 a login failed, 2 nothing
    could be verified."""
    out = _Output()
    if (server or ca_file) and not live:
        out.fail("--server and --ca-file go with --live")
    if ca_file is not None and not ca_file.is_file():
        out.fail(f"--ca-file: {ca_file} is not a file")
    if ca_file is not None:
        import ssl

        try:
            ssl.create_default_context(cafile=str(ca_file))
        except (ssl.SSLError, OSError, ValueError):
            out.fail(f"--ca-file: {ca_file} holds no usable PEM certificate")
    if not math.isfinite(timeout):
        out.fail("--timeout: give a number of seconds")
    if server is not None:
        from mailmigrate.verification import parse_server

        try:
            parse_server(server)
        except ValueError as exc:
            out.fail(f"--server: {exc}")
    token = os.environ.get(TOKEN_VARIABLE, "").strip() or None
    from mailmigrate.verification import VerifyOptions

    options = VerifyOptions(live=live, server=server, ca_file=ca_file, timeout=timeout)
    raise typer.Exit(_verify_and_report(out, paths, token, options, verbose=verbose))


@app.command(short_help="Run the built-in MailPace emulator in the foreground.")
def emulator(
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="STARTTLS listener (MailPace's 25/587/2525).")] = 2587,
    tls_port: Annotated[int, typer.Option("--tls-port", min=0, max=65535, help="Implicit-TLS listener (MailPace's 465).")] = 2465,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """An SMTP server that behaves as MailPace documents (STARTTLS before AUTH, AUTH only over
    TLS, username == password == the token). It never relays mail. Point a staging app at it."""
    out = _Output()
    if port == tls_port and port != 0:
        out.fail("--port and --tls-port must differ: one listener per TLS mode")
    token = os.environ.get(TOKEN_VARIABLE, "").strip()
    if not token:
        out.fail(f"set ${TOKEN_VARIABLE}: the emulator accepts that token only")
    out.use_secrets(set(), token, set(), set())
    from mailmigrate.emulator import serve_forever

    try:
        serve_forever(token, host, port, tls_port, on_ready=out.err)
    except OSError as exc:
        out.fail(f"cannot listen on {host} (--port {port}, --tls-port {tls_port}): {exc.strerror or exc}")
    raise typer.Exit(0)


def _read_token(out: _Output, from_stdin: bool) -> str | None:
    if from_stdin:
        if sys.stdin is None or sys.stdin.isatty():
            out.fail("--token-stdin: pipe the token on standard input")
        token = sys.stdin.read().strip()
        if not token:
            out.fail("--token-stdin: standard input was empty")
    else:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        if not token:
            return None
    if any(ch.isspace() or not ch.isprintable() for ch in token):
        out.fail("the API token contains whitespace or control characters")
    return token


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("mailmigrate: interrupted; nothing was written unless reported above\n")
        sys.exit(130)
    except SystemExit:
        raise
    except BaseException as exc:  # an internal error: no traceback (it could show secrets)
        sys.stderr.write(
            f"mailmigrate: internal error ({type(exc).__name__}); nothing was written. "
            "Set MAILMIGRATE_DEBUG=1 to see where.\n"
        )
        if os.environ.get("MAILMIGRATE_DEBUG"):
            raise
        sys.exit(2)
