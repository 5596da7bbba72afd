"""The SMTP login check behind `mailmigrate verify`: connect, EHLO, STARTTLS (or implicit TLS),
EHLO, AUTH, QUIT -- never MAIL, RCPT or DATA -- and report which stage failed and why.

A small hand-written client over `socket`/`ssl` rather than `smtplib`, because the check has
to fail closed on a hostile or broken server, and smtplib cannot be made to:

* Timeouts: smtplib's timeout applies to each `recv` separately, so a server that drips one
  byte just inside the timeout keeps a reply (or a greeting) open forever. Here every step --
  resolving the name, each connection attempt, each reply, the TLS handshake, each send -- has
  one deadline of `timeout` seconds for the whole step.
* Reply lines: smtplib accepts lines up to 8192 bytes and replies of any number of lines, and
  turns a non-SMTP line into code -1 rather than an error. Here a line over 2048 bytes, a reply
  over 100 lines or anything that is not `DDD[ -]text` fails at once, naming the stage.
* Transcript: smtplib's only trace is `set_debuglevel`, which prints to stderr and includes the
  AUTH payloads (base64 of the token). Here the transcript is built line by line, AUTH payloads
  are never recorded, and everything from the server is masked for the credentials too (a
  server may echo the username in a 535).
* STARTTLS: smtplib keeps any bytes the server sent after "220 Ready to start TLS" in a file
  buffer and discards them silently; here such bytes (a command-injection attempt, CVE-2011-0411
  style) fail the check. A STARTTLS that is not offered fails -- never a plain AUTH instead.
* AUTH: smtplib prefers CRAM-MD5 when offered; MailPace documents PLAIN and LOGIN, and the
  check must say "no PLAIN/LOGIN" rather than try something else.

Nothing here prints; the caller decides what to show.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Literal, NoReturn

Stage = Literal["connect", "tls", "auth", "done"]
TLSMode = Literal["starttls", "implicit", "none"]

MASK = "********"  # the same mask the rest of mailmigrate prints (planner.MASK)

# RFC 5321 allows 512-byte reply lines; real servers send longer EHLO lines, but nothing near
# 2 KiB. Anything longer is a broken or hostile server, not a reply to parse.
MAX_LINE = 2048
# A reply is one command's answer; a server streaming continuation lines forever must not be
# able to grow memory (or the transcript) until the deadline.
MAX_REPLY_LINES = 100
# Credentials at least this long are masked even inside longer words (see _Session.mask).
MIN_ANYWHERE = 4
# What the result and a transcript line show of odd server text: enough to recognise it.
MAX_SHOWN = 200

_MODES: frozenset[str] = frozenset({"starttls", "implicit", "none"})
_REPLY_LINE = re.compile(r"([2-5][0-9][0-9])(?:([ -])(.*))?", re.DOTALL)


@dataclass(frozen=True)
class LoginResult:
    """`stage` is the stage that failed, or "done". `reply` is the server's reply (or the local
    error), one short line. Neither `reply` nor `transcript` ever contains the username or the
    password, plain or base64-encoded."""

    ok: bool
    stage: Stage
    reply: str
    transcript: tuple[str, ...]


def check_login(
    host: str,
    port: int,
    mode: TLSMode,
    username: str,
    password: str,
    *,
    context: ssl.SSLContext,
    server_hostname: str,
    timeout: float,
) -> LoginResult:
    """Log in to `host:port` the way an application configured with `mode` would.

    `context` decides what certificates are trusted (verification is whatever it says; the
    caller passes a verifying one). `server_hostname` is the name the certificate must match,
    which may differ from `host` (the dry run connects to the emulator on 127.0.0.1 but checks
    the certificate as smtp.mailpace.com). `timeout` bounds every single step.

    Failures are results, not exceptions; only bad arguments (an unknown mode, a timeout that
    is not positive) raise ValueError.
    """
    if mode not in _MODES:
        raise ValueError(f"mode must be 'starttls', 'implicit' or 'none', not {mode!r}")
    if not timeout > 0 or timeout == float("inf"):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    session = _Session(timeout, (username, password))
    try:
        reply = session.run(host, port, mode, username, password, context, server_hostname)
        return LoginResult(True, "done", session.mask(reply), tuple(session.transcript))
    except _Failure as failure:
        return LoginResult(False, failure.stage, session.mask(failure.reply), tuple(session.transcript))
    finally:
        session.close()


class _Failure(Exception):
    def __init__(self, stage: Stage, reply: str) -> None:
        super().__init__(stage, reply)
        self.stage: Stage = stage
        self.reply = reply


@dataclass(frozen=True)
class _Reply:
    code: int
    lines: tuple[str, ...]  # the text after "DDD-" / "DDD " on each line

    def one_line(self) -> str:
        text = " ".join(part.strip() for part in self.lines if part.strip())
        return _shorten(f"{self.code} {text}".strip())

    def extensions(self) -> dict[str, list[str]]:
        """EHLO keywords (upper case) and their parameters. The first line is the server's
        name, not an extension. `AUTH=PLAIN LOGIN` is the pre-RFC 4954 spelling some servers
        still send alongside `AUTH ...`."""
        found: dict[str, list[str]] = {}
        for line in self.lines[1:]:
            words = line.split()
            if not words:
                continue
            keyword, params = words[0].upper(), [w.upper() for w in words[1:]]
            if keyword.startswith("AUTH="):
                params = [keyword[len("AUTH="):], *params]
                keyword = "AUTH"
            found.setdefault(keyword, []).extend(params)
        return found


class _Session:
    """One connection's state: the socket, the unread bytes, the transcript, the stage."""

    def __init__(self, timeout: float, credentials: tuple[str, str]) -> None:
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.buffer = bytearray()
        self.transcript: list[str] = []
        self.stage: Stage = "connect"
        # Every spelling of the credentials that could reach the result: as typed, base64 (what
        # LOGIN sends) and the PLAIN payload. Longest first so a secret containing another is
        # replaced whole.
        secrets: set[str] = set()
        for secret in credentials:
            if secret:
                secrets.update({secret, _b64(secret)})
        user, password = credentials
        if user or password:
            secrets.add(_b64(f"\0{user}\0{password}"))
        # Masked wherever they occur -- inside a longer word too, since a server may glue an
        # echoed username to other text. Only very short values (toy credentials such as "a")
        # are masked as whole words alone, or every "a" in the transcript would vanish.
        parts = [
            re.escape(s) if len(s) >= MIN_ANYWHERE else rf"(?<![A-Za-z0-9_]){re.escape(s)}(?![A-Za-z0-9_])"
            for s in sorted(secrets, key=len, reverse=True)
        ]
        self.secret_pattern = re.compile("|".join(parts)) if parts else None

    # -- the conversation -----------------------------------------------------------------------

    def run(
        self, host: str, port: int, mode: TLSMode, username: str, password: str,
        context: ssl.SSLContext, server_hostname: str,
    ) -> str:
        self.stage = "connect"
        self.connect(host, port)
        if mode == "implicit":
            # SMTP_SSL semantics: TLS from the first byte, the greeting comes inside it.
            self.stage = "tls"
            self.handshake(context, server_hostname, hint="is this a STARTTLS or plain port?")
            self.stage = "connect"
        greeting = self.read_reply("the greeting", hint=None if mode == "implicit" else "is this an implicit-TLS port?")
        if greeting.code != 220:
            self.fail(f"server refused the session: {greeting.one_line()}")
        ehlo = self.command("EHLO " + self.ehlo_name())
        if ehlo.code != 250:
            self.fail_politely(f"EHLO refused: {ehlo.one_line()}")
        extensions = ehlo.extensions()

        if mode == "none":
            # MailPace takes AUTH only over TLS; the check logs in as the configuration would,
            # and a configuration without TLS would send the token in clear. It must fail here
            # rather than prove anything by sending it.
            self.stage = "tls"
            offered = " (the server offers STARTTLS)" if "STARTTLS" in extensions else ""
            self.fail_politely(
                f"MailPace needs TLS before AUTH: the configuration uses neither STARTTLS nor implicit TLS{offered}"
            )
        if mode == "starttls":
            self.stage = "tls"
            if "STARTTLS" not in extensions:
                # The downgrade case: a server (or something in the path) that stops offering
                # STARTTLS. AUTH in clear would expose the token, so the check fails closed.
                self.fail_politely("server does not offer STARTTLS (refusing to send AUTH without TLS)")
            reply = self.command("STARTTLS")
            if reply.code != 220:
                self.fail_politely(f"STARTTLS refused: {reply.one_line()}")
            if self.buffer:
                # Bytes after "220 Ready" were sent before TLS existed, so an attacker could have
                # put them there; reading them as post-TLS replies is the STARTTLS injection bug.
                self.fail("server sent data after its STARTTLS reply, before the TLS handshake")
            self.handshake(context, server_hostname, hint=None)
            # RFC 3207: everything learnt before TLS is forgotten; ask again over TLS.
            ehlo = self.command("EHLO " + self.ehlo_name())
            if ehlo.code != 250:
                self.fail_politely(f"EHLO after STARTTLS refused: {ehlo.one_line()}")
            extensions = ehlo.extensions()

        self.stage = "auth"
        reply = self.authenticate(extensions.get("AUTH", []), username, password)
        self.stage = "done"
        self.quit()
        return reply.one_line()

    def authenticate(self, mechanisms: list[str], username: str, password: str) -> _Reply:
        if "PLAIN" in mechanisms:
            # RFC 4616 with the initial response (RFC 4954): one round trip.
            payload = _b64(f"\0{username}\0{password}")
            reply = self.command(f"AUTH PLAIN {payload}", shown=f"AUTH PLAIN {MASK}")
            if reply.code == 334:
                # The server ignored the initial response and asks again: cancel rather than send
                # the credentials a second time into an exchange that is already off-script.
                self.command("*")
                self.fail_politely(f"server did not accept the AUTH PLAIN initial response: {reply.one_line()}")
        elif "LOGIN" in mechanisms:
            reply = self.command("AUTH LOGIN")
            if reply.code == 334:
                reply = self.command(_b64(username), shown=MASK)
                if reply.code == 334:
                    reply = self.command(_b64(password), shown=MASK)
        else:
            offered = " ".join(mechanisms) or "none"
            self.fail_politely(f"server offers no AUTH PLAIN/LOGIN (offered: {offered})")
        if reply.code != 235:
            self.fail_politely(f"login refused: {reply.one_line()}")
        return reply

    def quit(self) -> None:
        """Best effort: the login result is already known; a server that mishandles QUIT does
        not change it (and is still bounded by the step timeout)."""
        try:
            self.command("QUIT")
        except _Failure:
            pass

    # -- steps --------------------------------------------------------------------------------

    def connect(self, host: str, port: int) -> None:
        if not 0 < port < 65536:
            self.fail(f"invalid port {port}")
        where = _hostport(host, port)
        addresses = self.resolve(host, port)
        errors: list[str] = []
        # Like socket.create_connection: try each address in resolver order, each attempt with
        # its own timeout (a dead IPv6 route must not eat the IPv4 attempt's time).
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self.timeout)
                sock.connect(address)
            except TimeoutError:
                sock.close()
                errors.append(f"timed out after {self.seconds}")
                continue
            except OSError as error:
                sock.close()
                errors.append(_os_error(error))
                continue
            self.sock = sock
            return
        # The first error names the most-preferred address; the last one is usually a repeat.
        self.fail(f"cannot connect to {where}: {errors[0] if errors else 'no address'}")

    def resolve(self, host: str, port: int) -> list[tuple[int, int, int, str, tuple[object, ...]]]:
        """getaddrinfo has no timeout of its own (a broken resolver can block for tens of
        seconds), so it runs in a daemon thread that is abandoned at the deadline. Looked up as
        `socket.getaddrinfo` at call time so tests can route names."""
        outcome: list[object] = []

        def lookup() -> None:
            try:
                outcome.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
            except (OSError, UnicodeError) as error:
                outcome.append(error)

        worker = threading.Thread(target=lookup, name="smtpcheck-resolve", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if not outcome:
            self.fail(f"cannot resolve {host!r}: timed out after {self.seconds}")
        found = outcome[0]
        if isinstance(found, BaseException):
            reason = found.strerror if isinstance(found, OSError) and found.strerror else str(found)
            self.fail(f"cannot resolve {host!r}: {reason}")
        assert isinstance(found, list)
        return found

    def handshake(self, context: ssl.SSLContext, server_hostname: str, *, hint: str | None) -> None:
        assert self.sock is not None
        try:
            # No handshake inside wrap_socket: do_handshake below runs with the socket's timeout
            # as one deadline for the whole handshake (CPython's SSL handshake loop keeps it),
            # so a server that drips handshake bytes is bounded too.
            tls = context.wrap_socket(self.sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        except (ssl.SSLError, ValueError) as error:
            self.fail(f"cannot start TLS: {error}")
        self.sock = tls
        tls.settimeout(self.timeout)
        try:
            tls.do_handshake()
        except ssl.SSLCertVerificationError as error:
            self.fail(f"certificate verify failed: {error.verify_message or error.reason or error}")
        except TimeoutError:
            self.fail(f"TLS handshake timed out after {self.seconds}")
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError, BrokenPipeError):
            self.fail("connection closed during the TLS handshake")
        except ssl.SSLError as error:
            reason = (error.reason or str(error)).lower().replace("_", " ")
            suffix = f" ({hint})" if hint and "wrong version number" in reason else ""
            self.fail(f"TLS handshake failed: {reason}{suffix}")
        except OSError as error:
            self.fail(f"TLS handshake failed: {_os_error(error)}")

    def command(self, line: str, *, shown: str | None = None) -> _Reply:
        """Send one command and read its reply. `shown` is what the transcript records instead
        of `line` (AUTH payloads)."""
        verb = (shown if shown is not None else line).split(" ", 1)[0]
        if self.buffer:
            # Replies come one per command; bytes nobody asked for mean the two ends are out
            # of step, and every reply read from here on would answer the wrong command.
            self.fail(f"server sent data nobody asked for before {verb}")
        self.transcript.append("C: " + self.mask(line if shown is None else shown))
        self.send(line, verb)
        return self.read_reply(f"the reply to {verb}")

    def send(self, line: str, verb: str) -> None:
        assert self.sock is not None
        try:
            self.sock.settimeout(self.timeout)
            # sendall with a timeout is one deadline for the whole buffer.
            self.sock.sendall(line.encode("utf-8") + b"\r\n")
        except TimeoutError:
            self.fail(f"timed out after {self.seconds} sending {verb}")
        except ssl.SSLError as error:
            self.fail(f"TLS error sending {verb}: {error.reason or error}")
        except OSError as error:
            self.fail(f"connection lost sending {verb}: {_os_error(error)}")

    def read_reply(self, what: str, hint: str | None = None) -> _Reply:
        """One complete (possibly multi-line) reply, within one deadline for all of it."""
        deadline = time.monotonic() + self.timeout
        code: int | None = None
        texts: list[str] = []
        while True:
            raw = self.read_line(deadline, what, hint)
            text = raw.decode("utf-8", "replace")
            self.transcript.append("S: " + self.mask(_printable(text)))
            match = _REPLY_LINE.fullmatch(text)
            if match is None:
                self.fail(f"not an SMTP reply (waiting for {what}): {_printable(text)!r}")
            line_code = int(match.group(1))
            if code is not None and line_code != code:
                self.fail(f"not an SMTP reply (waiting for {what}): code {line_code} inside a {code} reply")
            code = line_code
            texts.append(match.group(3) or "")
            if match.group(2) != "-":
                return _Reply(code, tuple(texts))
            if len(texts) >= MAX_REPLY_LINES:
                self.fail(f"reply to {what} has more than {MAX_REPLY_LINES} lines")

    def read_line(self, deadline: float, what: str, hint: str | None) -> bytes:
        """One line without its CRLF (a bare LF is tolerated), or a stage-named failure."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[:end]).removesuffix(b"\r")
                del self.buffer[: end + 1]
                if len(line) > MAX_LINE:
                    self.oversized(line, what)
                return line
            if len(self.buffer) > MAX_LINE:
                self.oversized(bytes(self.buffer), what)
            if not _plausible_start(bytes(self.buffer)):
                # Fail on the first bytes that cannot begin a reply (a TLS record, an HTTP
                # banner) rather than wait for a newline that may never come.
                shown = _printable(bytes(self.buffer[:60]).decode("utf-8", "replace"))
                self.transcript.append("S: " + self.mask(shown))
                self.fail(f"not an SMTP reply (waiting for {what}): {shown!r}")
            self.receive(deadline, what, hint)

    def receive(self, deadline: float, what: str, hint: str | None) -> None:
        assert self.sock is not None
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            self.timed_out(what, hint)
        try:
            # The step's remaining time, not a fresh timeout per recv: a server that drips a
            # byte at a time still runs out of time (the slow-drip case).
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(4096)
        except TimeoutError:
            self.timed_out(what, hint)
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            chunk = b""
        except ssl.SSLError as error:
            self.fail(f"TLS error waiting for {what}: {error.reason or error}")
        except OSError as error:
            self.fail(f"connection lost waiting for {what}: {_os_error(error)}")
        if not chunk:
            self.fail(f"connection closed by the server while waiting for {what}")
        self.buffer += chunk

    # -- failing ------------------------------------------------------------------------------

    def fail(self, reply: str) -> NoReturn:
        raise _Failure(self.stage, reply)

    def fail_politely(self, reply: str) -> NoReturn:
        """The connection is in a clean state (the last reply was well formed): say QUIT before
        giving up, as a well-behaved client does. Never changes the reported failure."""
        stage = self.stage
        self.quit()
        raise _Failure(stage, reply)

    def timed_out(self, what: str, hint: str | None) -> NoReturn:
        # A server that stays silent where a plain greeting is due is often an implicit-TLS
        # port configured as STARTTLS: it is waiting for our ClientHello.
        suffix = f" ({hint})" if hint and not self.buffer else ""
        self.fail(f"timed out after {self.seconds} waiting for {what}{suffix}")

    def oversized(self, line: bytes, what: str) -> NoReturn:
        shown = _printable(line[:60].decode("utf-8", "replace"))
        self.transcript.append("S: " + self.mask(shown) + f"... ({len(line)}+ bytes)")
        self.fail(f"reply line longer than {MAX_LINE} bytes (waiting for {what})")

    # -- helpers ------------------------------------------------------------------------------

    @property
    def seconds(self) -> str:
        return f"{self.timeout:g}s"

    def ehlo_name(self) -> str:
        """An address literal of our own end (RFC 5321 4.1.3): no DNS lookup (socket.getfqdn
        can block) and no local host name sent to a remote server."""
        assert self.sock is not None
        try:
            address = str(self.sock.getsockname()[0])
        except OSError:
            return "[127.0.0.1]"
        return f"[IPv6:{address.split('%')[0]}]" if ":" in address else f"[{address}]"

    def mask(self, text: str) -> str:
        return self.secret_pattern.sub(MASK, text) if self.secret_pattern is not None else text

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _plausible_start(partial: bytes) -> bool:
    """Whether `partial` (bytes of a line with no newline yet) can still become a reply line."""
    for index, byte in enumerate(partial[:4]):
        if index == 0 and not 0x32 <= byte <= 0x35:  # 2..5
            return False
        if index in (1, 2) and not 0x30 <= byte <= 0x39:
            return False
        if index == 3 and byte not in b" -\r":
            return False
    return True


def _printable(text: str) -> str:
    """One line of server text safe to show: control characters escaped, length capped."""
    cleaned = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
    return _shorten(cleaned)


def _shorten(text: str) -> str:
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _os_error(error: OSError) -> str:
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, ConnectionResetError):
        return "connection reset by the server"
    return (error.strerror or str(error) or type(error).__name__).lower()
