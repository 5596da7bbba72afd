"""The built-in MailPace emulator: a local SMTP server that logs in the way smtp.mailpace.com does.

``mailmigrate verify`` (dry run), ``mailmigrate emulator`` and the tests log in against it. It
reproduces only what MailPace documents (docs.mailpace.com/integrations/smtp, summarised in
the project's mailpace.md) and nothing it leaves open:

* ``starttls`` mode (MailPace's ports 25/587/2525): the client connects in clear and must
  upgrade with STARTTLS; AUTH (or any command other than EHLO/NOOP/STARTTLS/QUIT) before it
  gets ``530 5.7.0 Must issue a STARTTLS command first``.
* ``implicit`` mode (MailPace's port 465): TLS from the first byte.
* AUTH PLAIN and AUTH LOGIN only, only over TLS. A login succeeds only when
  ``username == password == token`` (the token trimmed of surrounding whitespace, the
  credentials compared as sent); anything else gets ``535 5.7.8``.
* MAIL before a successful AUTH is refused (``530 5.7.0 Authentication required``).
* **It never relays mail.** A message sent anyway (``verify`` never sends one) is accepted and
  discarded with ``250 2.0.0 Accepted by the mailmigrate emulator: not relayed``; only a count
  of discarded messages is kept, never their content or recipients.

MailPace documents no banner or EHLO text, so the emulator greets as ``mailpace-emulator`` with
an ident that says what it is, rather than imitating an undocumented reply.

The certificate is made at start-up (self-signed, EC P-256, valid for localhost, 127.0.0.1, ::1
and smtp.mailpace.com for a week) and lives in a private temporary directory that ``stop()``
removes. A client that should verify it trusts exactly that certificate::

    context = ssl.create_default_context(cadata=emulator.cert_pem)
    smtp.starttls(context=context)            # server_hostname "localhost" or "127.0.0.1"

aiosmtpd, ssl and cryptography are imported only when an emulator starts: ``mailmigrate
check`` imports the CLI on every pre-commit run and must not pay for a server it never starts.
"""

from __future__ import annotations

import hmac
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, Self

if TYPE_CHECKING:
    import socket
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session

Mode = Literal["starttls", "implicit"]

MODES: tuple[Mode, ...] = ("starttls", "implicit")
#: The MailPace ports each mode stands for (as documented), for messages only.
MAILPACE_PORTS: dict[Mode, tuple[int, ...]] = {"starttls": (25, 587, 2525), "implicit": (465,)}
MAILPACE_HOST = "smtp.mailpace.com"
#: Names the throwaway certificate is valid for: the loopback addresses a client reaches the
#: emulator by, and MailPace's own name for a client that keeps it and only re-routes the address.
CERT_DNS_NAMES = ("localhost", MAILPACE_HOST)
CERT_IP_ADDRESSES = ("127.0.0.1", "::1")

SERVER_HOSTNAME = "mailpace-emulator"
# The ident follows the hostname in the 220 greeting: say plainly that this is not MailPace.
SERVER_IDENT = "ESMTP mailmigrate MailPace emulator (never relays mail)"
NOT_RELAYED = "250 2.0.0 Accepted by the mailmigrate emulator: not relayed"
STARTTLS_REQUIRED = "530 5.7.0 Must issue a STARTTLS command first"
# aiosmtpd 1.4 sends this without the enhanced status code RFC 3207 servers carry.
_AIOSMTPD_STARTTLS_REQUIRED = "530 Must issue a STARTTLS command first"

# Long enough for a foreground `mailmigrate emulator` left running over a working week, short
# enough that a copy someone pinned as trusted soon stops mattering.
_CERT_VALIDITY_DAYS = 7
# Tolerates a client clock a little behind ours.
_CERT_BACKDATE_MINUTES = 5
# RFC 5321 suggests minutes; a minute of silence is plenty for a login check or a staging app,
# and an abandoned connection should not linger.
_IDLE_TIMEOUT_SECONDS = 60
_READY_TIMEOUT_SECONDS = 10
# How long stop() lets connected clients' transports close after shutting their sockets down.
_STOP_GRACE_SECONDS = 1.0


class Login(NamedTuple):
    """A successful AUTH: who, with which mechanism, and how the session was encrypted."""

    username: str
    mechanism: str
    tls: Mode


class _Certificate(NamedTuple):
    pem: str
    cert_path: Path
    key_path: Path


def _make_certificate(directory: Path) -> _Certificate:
    """Write a fresh self-signed certificate and its key into ``directory``.

    A leaf (CA:FALSE) rather than a CA: a client that trusts it trusts this one server and
    nothing its key could sign. It passes OpenSSL's X.509 strict checks, which Python 3.13's
    ``ssl.create_default_context`` turns on.
    """
    # Lazy: cryptography costs tens of milliseconds to import and only a started emulator needs it.
    import datetime
    import ipaddress
    import os

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    # EC P-256: generated in about a millisecond (an RSA key takes tens), accepted by every TLS client.
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailmigrate MailPace emulator")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(dns) for dns in CERT_DNS_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in CERT_IP_ADDRESSES]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=_CERT_BACKDATE_MINUTES))
        .not_valid_after(now + datetime.timedelta(days=_CERT_VALIDITY_DAYS))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")
    cert_path = directory / "cert.pem"
    key_path = directory / "key.pem"
    cert_path.write_text(pem, encoding="ascii")
    key_bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # The directory is already private (mkdtemp: 0700); the key file is owner-only from its
    # first byte as well, in case the directory's mode is ever loosened.
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as stream:
        stream.write(key_bytes)
    return _Certificate(pem, cert_path, key_path)


def _server_tls_context(certificate: _Certificate) -> ssl.SSLContext:
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # ssl can only load a key from a file; once loaded, the context holds it in memory.
    context.load_cert_chain(certificate.cert_path, certificate.key_path)
    return context


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, bound before the server thread starts.

    Binding here, not in the event loop, means ``.port`` is the real port even for port 0 (no
    "find a free port, then bind it" race), a busy port fails in the caller's thread with a
    plain OSError, and a host name with several addresses still gives exactly one listener.

    The socket remembers the connections it accepts, so that ``stop()`` can shut them down:
    since Python 3.12 the server's ``wait_closed()`` (which aiosmtpd's controller awaits on
    stop) waits for every client to leave, and an idle client, or one that never finished its
    TLS handshake, would otherwise hold ``stop()`` until the idle timeout.
    """
    import os
    import socket

    class TrackingSocket(socket.socket):
        accepted: weakref.WeakSet[socket.socket]

        def accept(self) -> tuple[socket.socket, Any]:
            # asyncio's selector loops accept through this method (the Windows proactor
            # does not: there, stop() falls back to waiting for the clients).
            connection, address = super().accept()
            self.accepted.add(connection)
            return connection, address

    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = TrackingSocket(family, kind, proto)
    listener.accepted = weakref.WeakSet()
    try:
        if os.name == "posix":
            # Restarting on a fixed port must not wait out TIME_WAIT, as asyncio does for its
            # own listeners (on Windows this flag would let two servers share a port).
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(100)
    except BaseException:
        listener.close()
        raise
    return listener


def _shut_down_connections(listener: socket.socket) -> list[socket.socket]:
    """Shut down every accepted connection still open; returns them.

    Runs in the server's own thread, so it never races asyncio closing (and the OS reusing) the
    same file descriptor. Shutting down, rather than closing, leaves the socket to asyncio: its
    transport sees the end of the connection and closes itself the ordinary way.
    """
    import socket

    still_open = _open_connections(listener)
    for connection in still_open:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # the client left in the meantime
    return still_open


def _open_connections(listener: socket.socket) -> list[socket.socket]:
    # A socket asyncio has closed reports fileno() -1.
    return [c for c in list(getattr(listener, "accepted", ())) if c.fileno() != -1]


class _Recorder:
    """The aiosmtpd handler and authenticator: checks the token, records logins, drops mail.

    Written from the server thread, read from the caller's: every access holds the lock.
    Method names matter to aiosmtpd: ``handle_*`` are hooks and ``auth_*`` would become AUTH
    mechanisms, so the authenticator is deliberately called ``authenticate``.
    """

    def __init__(self, token: str, mode: Mode) -> None:
        # Compared as bytes: that is what the client sent, and a non-ASCII token must not match
        # a different string that merely decodes alike after "replace" error handling.
        self._expected = token.encode("utf-8")
        self._mode: Mode = mode
        self.lock = threading.Lock()
        self.logins: list[Login] = []
        self.failed_logins: list[str] = []
        self.discarded = 0

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        login = auth_data.login if isinstance(auth_data, LoginPassword) else b""
        password = auth_data.password if isinstance(auth_data, LoginPassword) else b""
        # aiosmtpd already refuses AUTH without TLS; checking the live transport as well keeps
        # "only over TLS" true even if that configuration ever changed.
        encrypted = server.transport is not None and server.transport.get_extra_info("ssl_object") is not None
        # compare_digest: no reason to teach timing tricks, even to a local emulator.
        ok = (
            encrypted
            and mechanism in ("PLAIN", "LOGIN")
            and hmac.compare_digest(login, self._expected)
            and hmac.compare_digest(password, self._expected)
        )
        username = login.decode("utf-8", "replace")
        with self.lock:
            if ok:
                # Over TLS in this emulator, the encryption is the emulator's mode by construction.
                self.logins.append(Login(username, mechanism, self._mode))
            else:
                self.failed_logins.append(username)
        # handled=False: aiosmtpd answers with its standard "535 5.7.8 Authentication
        # credentials invalid" (RFC 4954), as MailPace documents no text of its own.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Never relayed, never stored: the content and recipients are dropped right here.
        with self.lock:
            self.discarded += 1
        return NOT_RELAYED


def _make_controller(
    recorder: _Recorder, mode: Mode, host: str, listener: socket.socket, context: ssl.SSLContext
) -> Controller:
    """An aiosmtpd Controller serving ``listener`` in a background thread, MailPace-style."""
    # Lazy: aiosmtpd (and asyncio behind it) only load when an emulator actually starts.
    import asyncio
    import logging
    from collections.abc import Awaitable
    from typing import AnyStr

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import SMTP

    # aiosmtpd logs to "mail.log" and installs no handler, so with logging unconfigured (the
    # CLI) Python's last-resort handler would print its warnings to stderr (a client's unknown
    # command, say). A NullHandler, the library idiom, keeps this module from printing; an
    # application that configures logging still receives the records through propagation.
    aiosmtpd_log = logging.getLogger("mail.log")
    if not any(isinstance(handler, logging.NullHandler) for handler in aiosmtpd_log.handlers):
        aiosmtpd_log.addHandler(logging.NullHandler())

    class MailPaceSMTP(SMTP):
        # MailPace's reply table (RFC 4954 convention): AUTH LOGIN prompts "Username:" and
        # "Password:" (VXNlcm5hbWU6 / UGFzc3dvcmQ6), not aiosmtpd's own "User Name\0".
        AuthLoginUsernameChallenge = "Username:"
        AuthLoginPasswordChallenge = "Password:"

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            implicit = self._original_transport is None and transport.get_extra_info("ssl_object") is not None
            super().connection_made(transport)
            if implicit:
                # aiosmtpd counts only STARTTLS as "TLS" for auth_require_tls; a session that is
                # TLS from the first byte meets the same requirement, so AUTH is offered and
                # allowed. (Setting auth_require_tls=False for the whole server instead would
                # make aiosmtpd warn on every connection.)
                self._auth_require_tls = False
                assert self.session is not None
                # Marks the session as TLS so aiosmtpd's end-of-file handling treats it as such.
                self.session.ssl = {"ssl_object": transport.get_extra_info("ssl_object")}

        async def push(self, status: AnyStr) -> None:
            if status == _AIOSMTPD_STARTTLS_REQUIRED:
                await super().push(STARTTLS_REQUIRED)
            else:
                await super().push(status)

    class EmulatorController(Controller):
        def factory(self) -> SMTP:
            return MailPaceSMTP(self.handler, **self.SMTP_kwargs)

        def _create_server(self) -> Awaitable[asyncio.AbstractServer]:
            # Serve the socket bound in the caller's thread (see _bind) instead of binding again.
            return self.loop.create_server(self._factory_invoker, sock=listener, ssl=self.ssl_context)

        def cancel_tasks(self, stop_loop: bool = True) -> None:
            # Called in the server thread by stop(). Clients still connected see the connection
            # end; the loop then runs until their transports have closed (bounded), so none is
            # left open when the loop closes and, on Python 3.12+, the server's wait_closed()
            # is not left waiting for them.
            # (The server is not closed here: a connection whose accept is under way would then
            # fail to get a transport and stay open; aiosmtpd closes the server after this.)
            deadline = self.loop.time() + _STOP_GRACE_SECONDS

            def when_closed() -> None:
                # Again on every round: a connection accepted meanwhile is shut down as well.
                if _shut_down_connections(listener) and self.loop.time() < deadline:
                    self.loop.call_later(0.01, when_closed)
                else:
                    Controller.cancel_tasks(self, stop_loop)

            when_closed()

    tls: dict[str, Any] = (
        # STARTTLS offered on a plain connection, and required before anything but EHLO/NOOP/QUIT.
        {"tls_context": context, "require_starttls": True}
        if mode == "starttls"
        # The listening socket itself speaks TLS.
        else {"ssl_context": context}
    )
    return EmulatorController(
        recorder,
        hostname=host,
        port=listener.getsockname()[1],  # what the controller's readiness probe connects to
        server_hostname=SERVER_HOSTNAME,  # also spares aiosmtpd a getfqdn() lookup
        ident=SERVER_IDENT,
        authenticator=recorder.authenticate,
        auth_require_tls=True,
        auth_required=True,  # a submission server: no MAIL before a successful AUTH
        timeout=_IDLE_TIMEOUT_SECONDS,
        ready_timeout=_READY_TIMEOUT_SECONDS,
        **tls,
    )


class Emulator:
    """One running MailPace emulator (one mode, one port). Use ``with`` or ``start()``/``stop()``.

    It accepts AUTH PLAIN/LOGIN over TLS when username == password == ``token`` (trimmed) and
    never relays mail: a message sent anyway is answered ``250 2.0.0 Accepted by the mailmigrate
    emulator: not relayed`` and discarded. ``host``/``port`` are where it listens (port 0: a
    free port, read back from ``.port`` after ``start()``).
    """

    def __init__(self, token: str, mode: Mode, host: str = "127.0.0.1", port: int = 0) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be 'starttls' or 'implicit', not {mode!r}")
        trimmed = token.strip()
        if not trimmed:
            # Every login would then be "empty user, empty password": nothing worth verifying.
            raise ValueError("the emulator needs a non-empty token")
        self.mode: Mode = mode
        self.host = host
        self.port = port
        self._recorder = _Recorder(trimmed, mode)
        self._lifecycle = threading.Lock()
        self._controller: Controller | None = None
        self._tempdir: Path | None = None
        self._certificate: _Certificate | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Make the certificate, bind, and serve in a background thread; returns ``self``."""
        import shutil
        import tempfile

        with self._lifecycle:
            if self._controller is not None:
                raise RuntimeError("the emulator is already running")
            tempdir = Path(tempfile.mkdtemp(prefix="mailmigrate-emulator-"))
            listener: socket.socket | None = None
            try:
                certificate = _make_certificate(tempdir)
                context = _server_tls_context(certificate)
                # The context holds the key now; nothing else needs it on disk. The certificate
                # stays until stop() so `mailmigrate emulator` can point a staging app at it.
                certificate.key_path.unlink()
                listener = _bind(self.host, self.port)
                controller = _make_controller(self._recorder, self.mode, self.host, listener, context)
                controller.start()
            except BaseException:
                if listener is not None:
                    listener.close()
                shutil.rmtree(tempdir, ignore_errors=True)
                raise
            self.port = listener.getsockname()[1]
            self._tempdir = tempdir
            self._certificate = certificate
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop serving and remove the certificate's directory. Safe to call twice."""
        import shutil

        with self._lifecycle:
            controller, self._controller = self._controller, None
            tempdir, self._tempdir = self._tempdir, None
            self._certificate = None
            try:
                if controller is not None:
                    controller.stop()
            finally:
                if tempdir is not None:
                    shutil.rmtree(tempdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what a client needs ------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def cert_pem(self) -> str:
        """The PEM of the running emulator's certificate: trust exactly it with
        ``ssl.create_default_context(cadata=emulator.cert_pem)``."""
        return self._running_certificate().pem

    @property
    def cert_path(self) -> Path:
        """Where that certificate is on disk while the emulator runs (removed by ``stop()``)."""
        return self._running_certificate().cert_path

    @property
    def cert_dir(self) -> Path:
        """The temporary directory the certificate lives in (removed by ``stop()``)."""
        return self._running_certificate().cert_path.parent

    def _running_certificate(self) -> _Certificate:
        if self._certificate is None:
            raise RuntimeError("the emulator is not running: its certificate is made by start()")
        return self._certificate

    # -- what happened ------------------------------------------------------------------------

    @property
    def logins(self) -> list[Login]:
        """Successful AUTHs, oldest first: ``(username, mechanism, tls mode)``. The username is
        the token itself: mask it before showing it anywhere."""
        with self._recorder.lock:
            return list(self._recorder.logins)

    @property
    def failed_logins(self) -> list[str]:
        """Usernames of refused AUTHs (may be a real but wrong token: mask before showing)."""
        with self._recorder.lock:
            return list(self._recorder.failed_logins)

    @property
    def discarded_messages(self) -> int:
        """How many messages were accepted after AUTH and dropped without being relayed."""
        with self._recorder.lock:
            return self._recorder.discarded

    def __repr__(self) -> str:
        # Never the token: reprs end up in tracebacks and logs.
        state = "running" if self.running else "stopped"
        return f"<Emulator {self.mode} {self.host}:{self.port} {state}>"


def describe(emulator: Emulator) -> str:
    """One human-readable line: where a running emulator listens and which MailPace ports it stands for."""
    ports = "/".join(str(port) for port in MAILPACE_PORTS[emulator.mode])
    how = (
        "STARTTLS (connect in clear, STARTTLS before AUTH)"
        if emulator.mode == "starttls"
        else "implicit TLS (TLS from the first byte)"
    )
    host = f"[{emulator.host}]" if ":" in emulator.host else emulator.host
    return f"MailPace emulator on {host}:{emulator.port}: {how}, like {MAILPACE_HOST} port {ports}"


class _Terminated(Exception):
    """SIGTERM arrived: stop the way Ctrl-C does, so the certificates are cleaned up."""


def serve_forever(
    token: str, host: str, port: int | None, tls_port: int | None, on_ready: Callable[[str], None]
) -> None:
    """Run the emulator in the foreground until Ctrl-C (or SIGTERM), then stop it and return.

    ``port`` serves STARTTLS mode, ``tls_port`` implicit-TLS mode; either may be 0 for a free
    port. With neither given, both modes run on free ports. ``on_ready`` receives the lines to
    show the user (where each mode listens, the certificate to trust, how to log in); the
    token is never among them. This function prints nothing itself.
    """
    import signal
    import time

    wanted: list[tuple[Mode, int]] = []
    if port is None and tls_port is None:
        wanted = [("starttls", 0), ("implicit", 0)]
    else:
        if port is not None:
            wanted.append(("starttls", port))
        if tls_port is not None:
            wanted.append(("implicit", tls_port))

    emulators: list[Emulator] = []
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous_handler: Any = None
    installed = False

    def terminate(signum: int, frame: object) -> None:
        raise _Terminated

    try:
        if in_main_thread and hasattr(signal, "SIGTERM"):
            # `docker stop` and service managers send SIGTERM; without a handler the process
            # would die with the certificate directories left behind.
            previous_handler = signal.signal(signal.SIGTERM, terminate)
            installed = True
        for mode, number in wanted:
            emulators.append(Emulator(token, mode, host=host, port=number).start())
        for emulator in emulators:
            on_ready(describe(emulator))
            on_ready(f"  certificate (self-signed; trust it to verify TLS): {emulator.cert_path}")
        names = ", ".join(CERT_DNS_NAMES + CERT_IP_ADDRESSES)
        on_ready(f"Certificates are valid for {names}, for {_CERT_VALIDITY_DAYS} days, and deleted on exit.")
        on_ready("Log in with username = password = your MailPace API token (AUTH PLAIN or LOGIN, over TLS).")
        on_ready("Mail sent after login is accepted and discarded: nothing is ever relayed. Ctrl-C stops.")
        while True:
            # sleep() is interrupted by Ctrl-C and by the SIGTERM handler above.
            time.sleep(3600)
    except (KeyboardInterrupt, _Terminated):
        return
    finally:
        for emulator in emulators:
            emulator.stop()
        if installed:
            signal.signal(signal.SIGTERM, previous_handler)
