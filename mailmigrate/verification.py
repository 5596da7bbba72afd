"""Proof by SMTP login: each configuration's effective values, tried the way the application
would log in -- against the built-in MailPace emulator (dry run: only the address is the
emulator's; port mode, TLS mode and credentials are the configuration's own) or against
smtp.mailpace.com (`--live`). No message is ever sent.

What cannot be resolved here (a variable set only in deployment) is reported with what is
missing, never counted as a failure; configurations that do not point at MailPace yet are
skipped (`migrate` moves them first).
"""

from __future__ import annotations

import re
import ssl
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from mailmigrate import providers
from mailmigrate.model import ConfigPlan, Configuration, Mode, Status, port_number
from mailmigrate.planner import PlanContext, effective_values

if TYPE_CHECKING:
    from mailmigrate.emulator import Emulator

# Stands in for the token while values are resolved without one, so that what else is missing
# is still found; nothing is ever sent with it (without the token a login proves nothing).
PLACEHOLDER_TOKEN = "mailmigrate-dry-run-token"
VERIFIED = (Status.MIGRATE, Status.MAILPACE, Status.ATTENTION)
EMULATOR_TIMEOUT = 2.0  # seconds per step against the local emulator


@dataclass(frozen=True)
class VerifyOptions:
    live: bool = False
    server: str | None = None  # HOST[:PORT] instead of smtp.mailpace.com (live)
    ca_file: Path | None = None
    timeout: float = 10.0


@dataclass(frozen=True)
class Outcome:
    """One configuration's login check."""

    configuration: Configuration
    status: Literal["ok", "failed", "unresolved", "skipped"]
    against: str  # "emulator (starttls)", "smtp.mailpace.com:465"
    stage: str = ""  # connect, tls, auth (failed)
    reply: str = ""
    missing: tuple[str, ...] = ()
    transcript: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        config = self.configuration
        scope = f" [{config.scope}]" if config.scope not in ("file", "module") else ""
        return f"{config.file.display}:{config.line}{scope}"


def verify(
    plans: list[ConfigPlan], ctx: PlanContext, environ: Mapping[str, str], options: VerifyOptions
) -> list[Outcome]:
    """Check every configuration that uses SMTP with login. Emulators start only when needed."""
    token = ctx.token or environ.get(ctx.token_env) or None
    context = replace(ctx, token=token or PLACEHOLDER_TOKEN)
    outcomes: list[Outcome] = []
    with _Servers(token or PLACEHOLDER_TOKEN) as servers:
        for plan in plans:
            if plan.status not in VERIFIED or not plan.configuration.family.credentials_required:
                continue
            outcomes.append(_check(plan.configuration, context, environ, servers, options, real_token=token is not None))
    return outcomes


def _check(
    config: Configuration, ctx: PlanContext, environ: Mapping[str, str], servers: _Servers,
    options: VerifyOptions, *, real_token: bool,
) -> Outcome:
    if config.file.is_template:
        return Outcome(config, "skipped", "", reply="a template: its values are filled in where the app runs")
    values = effective_values(config, ctx, environ)
    host = (values.host or "").strip()
    if values.missing:
        return Outcome(config, "unresolved", "", missing=values.missing)
    if not (providers.is_mailpace(host) or providers.is_legacy_mailpace(host)):
        shown = host or "no host"
        return Outcome(config, "skipped", "", reply=f"points at {shown}, not MailPace: run `mailmigrate migrate` first")
    if values.port is None:
        return Outcome(config, "unresolved", "", missing=("the port cannot be read",))
    if values.mode is None:  # Django refuses EMAIL_USE_TLS and EMAIL_USE_SSL together
        return Outcome(config, "failed", "", stage="tls", reply="STARTTLS and implicit TLS are both switched on")
    user, password = values.user or "", values.password or ""
    try:
        user, password = _dereference(user, ctx, environ), _dereference(password, ctx, environ)
    except LookupError as missing:
        return Outcome(config, "unresolved", "", missing=(f"{missing.args[0]} (referred to in {config.file.display}; set where the app runs)",))
    if not user.strip() or not password.strip():
        # Emptied in a tracked file (tracked files never hold the token): set in deployment.
        empty = [s.key for r, s in config.settings.items() if r in ("user", "password")] or ["the credentials"]
        return Outcome(config, "unresolved", "", missing=(f"{' and '.join(empty)} (empty in {config.file.display}; set where the app runs)",))
    if not real_token:
        # Without the token nothing can be proven: a login with a stand-in would say nothing
        # about the real one, and --live must never send a made-up credential.
        return Outcome(config, "unresolved", "", missing=(f"{ctx.token_env} (the MailPace API token; set it to check this login)",))
    from mailmigrate.smtpcheck import check_login

    mode: Literal["starttls", "implicit", "none"] = values.mode.value
    if options.live:
        address, port = _live_address(options, values.port)
        tls = ssl.create_default_context(cafile=str(options.ca_file) if options.ca_file else None)
        result = check_login(address, port, mode, user, password, context=tls, server_hostname=address, timeout=options.timeout)
        against = f"{address}:{port}"
    else:
        # The emulator listening as MailPace does on that port (465 implicit TLS, 25/587/2525
        # STARTTLS), reached in the configuration's own TLS mode: a mismatch fails as it would.
        if values.port == providers.MAILPACE_IMPLICIT_PORT:
            emulator = servers.emulator(Mode.IMPLICIT)
        elif values.port in providers.MAILPACE_STARTTLS_PORTS:
            emulator = servers.emulator(Mode.STARTTLS)
        else:
            return Outcome(config, "failed", f"emulator (as port {values.port})", stage="connect",
                           reply=f"MailPace does not listen on port {values.port} (25, 587, 2525: STARTTLS; 465: implicit TLS)")
        tls = ssl.create_default_context(cadata=emulator.cert_pem)
        result = check_login(
            emulator.host, emulator.port, mode, user, password, context=tls,
            # a local server answers at once; a silent one is a mode mismatch, not a slow network
            server_hostname=providers.MAILPACE_HOST, timeout=min(options.timeout, EMULATOR_TIMEOUT),
        )
        against = f"emulator ({values.mode.value}, as port {values.port})"
    return Outcome(
        config, "ok" if result.ok else "failed", against,
        stage="" if result.ok else result.stage, reply=result.reply, transcript=result.transcript,
    )


# A credential written as a reference inside a URL or a value the tool wrote: compose/Spring
# ${NAME}, a workflow's ${{ secrets.NAME }}, Grafana's $__env{NAME}, Home Assistant's !secret.
_REFERENCE = re.compile(r"\$\{\{\s*secrets\.(?P<a>\w+)\s*\}\}|\$\{(?P<b>\w+)\}|\$__env\{(?P<c>\w+)\}|!secret\s+(?P<d>\w+)")


def _dereference(text: str, ctx: PlanContext, environ: Mapping[str, str]) -> str:
    match = _REFERENCE.fullmatch(text.strip())
    if match is None:
        return text
    name = next(group for group in match.groups() if group)
    if name.upper() == ctx.token_env.upper() and ctx.token:
        return ctx.token
    if name in environ:
        return environ[name]
    raise LookupError(name)


def parse_server(text: str) -> tuple[str, int | None]:
    """`HOST`, `HOST:PORT`, `[IPv6]:PORT` or a bare IPv6 address; ValueError when malformed."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"{text!r} is not HOST[:PORT] ([IPv6]:PORT for an IPv6 address)")
        port_text, has_port = rest[1:], bool(rest)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        has_port = True
    else:
        host, port_text, has_port = text, "", False  # a name, or an IPv6 address without a port
    if not host:
        raise ValueError(f"{text!r} names no host")
    if has_port and port_number(port_text) is None:
        raise ValueError(f"{port_text!r} is not a port number")
    return host, port_number(port_text) if has_port else None


def _live_address(options: VerifyOptions, port: int) -> tuple[str, int]:
    if not options.server:
        return providers.MAILPACE_HOST, port
    host, given = parse_server(options.server)
    return host, given or port


class _Servers:
    """The emulators a dry run needs, one per TLS mode, started on first use."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.stack = ExitStack()
        self.running: dict[Mode, Emulator] = {}

    def emulator(self, mode: Mode) -> Emulator:
        from mailmigrate.emulator import Emulator

        if mode not in self.running:
            self.running[mode] = self.stack.enter_context(Emulator(self.token, "implicit" if mode is Mode.IMPLICIT else "starttls"))
        return self.running[mode]

    def __enter__(self) -> _Servers:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stack.close()
