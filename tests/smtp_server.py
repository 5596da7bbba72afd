"""A local stand-in for MailPace's SMTP endpoint, with real TLS, for end-to-end tests.

The server (aiosmtpd, in a thread, bound to 127.0.0.1 on a free port) behaves like
smtp.mailpace.com as far as a client can tell:

* ``starttls`` mode (MailPace ports 25/587/2525): plain connect, STARTTLS offered and required;
  any command but EHLO/NOOP/QUIT/STARTTLS before it gets ``530 5.7.0``.
* ``implicit`` mode (MailPace port 465): TLS from the first byte.
* AUTH PLAIN / LOGIN only, only over TLS, and only ``username == password == token``
  (else ``535 5.7.8``). Mail is accepted only after AUTH. Nothing is ever relayed.

Certificates come from a throwaway trustme CA; the server certificate is valid for
smtp.mailpace.com, localhost and 127.0.0.1, so clients keep full verification.

``redirect_connections`` / ``redirect_mailpace`` make a client in *this* process reach the
server when it connects to ("smtp.mailpace.com", <port>) and trust the test CA. Both only
patch name resolution and the default trust store, so the client still does its own
hostname check against "smtp.mailpace.com". This module is also imported by driver scripts
running in subprocesses (see test_django_e2e.py), so it must stay importable on its own.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, AnyStr, Literal
from unittest import mock

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Mode = Literal["starttls", "implicit"]

MAILPACE_HOST = "smtp.mailpace.com"
MAILPACE_PORTS: dict[Mode, tuple[int, ...]] = {"starttls": (25, 587, 2525), "implicit": (465,)}
CERT_NAMES = (MAILPACE_HOST, "localhost", "127.0.0.1")
DEFAULT_TOKEN = "00000000-test-4000-8000-mailpacetoken"

# aiosmtpd 1.4 answers a pre-STARTTLS command with a bare "530 Must issue ..."; real servers
# (and what we assert on) carry the enhanced status code.
_AIOSMTPD_530 = "530 Must issue a STARTTLS command first"
STARTTLS_REQUIRED = "530 5.7.0 Must issue a STARTTLS command first"


@dataclass(frozen=True)
class Login:
    """A successful AUTH. ``tls`` is how the session was encrypted at that moment."""

    username: str
    mechanism: str
    tls: Literal["starttls", "implicit"] | None


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    tls: Literal["starttls", "implicit"] | None
    username: str | None


def _tls_of(server: SMTP) -> Literal["starttls", "implicit"] | None:
    """How the current session is encrypted, judged from the live transport."""
    transport = server.transport
    if transport is None or transport.get_extra_info("ssl_object") is None:
        return None
    # aiosmtpd keeps the pre-STARTTLS transport here; it stays None for implicit TLS.
    return "starttls" if server._original_transport is not None else "implicit"


class _Recorder:
    """The aiosmtpd handler + authenticator: checks the token and records everything."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.lock = threading.Lock()  # written by the server thread, read by the test
        self.logins: list[Login] = []
        self.failed_logins: list[str] = []
        self.messages: list[ReceivedMessage] = []

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        user = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        ok = user == password == self.token
        with self.lock:
            if ok:
                self.logins.append(Login(user, mechanism, _tls_of(server)))
            else:
                self.failed_logins.append(user)
        # handled=False lets aiosmtpd send its standard "535 5.7.8 ... invalid".
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.lock:
            self.messages.append(
                ReceivedMessage(envelope.mail_from or "", tuple(envelope.rcpt_tos), raw, _tls_of(server), login)
            )
        return "250 2.0.0 Message accepted (test server: not relayed)"


class _MailPaceSMTP(SMTP):
    def connection_made(self, transport: Any) -> None:
        implicit = self._original_transport is None and transport.get_extra_info("ssl_object") is not None
        super().connection_made(transport)
        if implicit:
            # aiosmtpd only counts STARTTLS as "TLS" for auth_require_tls; a session that is
            # TLS from the first byte meets the same requirement, so let AUTH through.
            self._auth_require_tls = False
            assert self.session is not None
            # Marks the session as TLS so aiosmtpd's eof handling treats it as such.
            self.session.ssl = {"ssl_object": transport.get_extra_info("ssl_object")}

    async def push(self, status: AnyStr) -> None:
        if status == _AIOSMTPD_530:
            status = STARTTLS_REQUIRED  # type: ignore[assignment]
        await super().push(status)


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _MailPaceSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # Bound with port=0 (no race for a "free" port): learn the real one before the
        # controller's own readiness probe connects to it.
        assert self.server is not None
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPTestServer:
    """One running server. Start/stop it with ``with`` or ``start()``/``stop()``."""

    host = "127.0.0.1"

    def __init__(self, ca: trustme.CA, mode: Mode = "starttls", token: str = DEFAULT_TOKEN) -> None:
        if mode not in MAILPACE_PORTS:
            raise ValueError(f"mode must be 'starttls' or 'implicit', not {mode!r}")
        self.ca = ca
        self.mode: Mode = mode
        self.token = token
        self._recorder = _Recorder(token)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*CERT_NAMES).configure_cert(context)
        tls: dict[str, Any] = (
            {"tls_context": context, "require_starttls": True} if mode == "starttls" else {"ssl_context": context}
        )
        self._controller = _Controller(
            self._recorder,
            hostname=self.host,
            port=0,
            server_hostname=MAILPACE_HOST,  # greeting name; also avoids a getfqdn() lookup
            authenticator=self._recorder.authenticate,
            auth_require_tls=True,
            auth_required=True,  # a submission server: no MAIL before a successful AUTH
            timeout=15,  # an idle client cannot pin the server thread for long
            ready_timeout=10,
            **tls,
        )
        self.port = 0
        self._running = False

    @property
    def mailpace_ports(self) -> tuple[int, ...]:
        return MAILPACE_PORTS[self.mode]

    @property
    def ca_pem(self) -> str:
        return self.ca.cert_pem.bytes().decode("ascii")

    @property
    def logins(self) -> list[Login]:
        with self._recorder.lock:
            return list(self._recorder.logins)

    @property
    def failed_logins(self) -> list[str]:
        with self._recorder.lock:
            return list(self._recorder.failed_logins)

    @property
    def messages(self) -> list[ReceivedMessage]:
        with self._recorder.lock:
            return list(self._recorder.messages)

    def start(self) -> SMTPTestServer:
        self._controller.start()
        self._running = True
        self.port = self._controller.port
        return self

    def stop(self) -> None:
        if self._running:
            self._running = False
            self._controller.stop()

    def __enter__(self) -> SMTPTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SMTPTestServer {self.mode} {self.host}:{self.port}>"


@contextmanager
def redirect_connections(
    routes: Mapping[tuple[str, int], tuple[str, int]], ca_pem: str | None = None
) -> Iterator[None]:
    """Route (host, port) pairs elsewhere and add ``ca_pem`` to every default trust store.

    Resolution is patched in ``socket.getaddrinfo``, which ``socket.create_connection`` (used by
    smtplib) and asyncio both go through; the hostname the client verifies is unchanged. Any
    other port on smtp.mailpace.com fails to resolve, so a test can never reach the real one.
    Trust is added in ``ssl.SSLContext.load_default_certs``: that is what
    ``ssl.create_default_context()`` (Django's SMTP backend) calls, however it was imported;
    verification and hostname checking stay on.
    """
    table = {(host.lower(), int(port)): target for (host, port), target in routes.items()}
    guarded = {host for host, _ in table} | {MAILPACE_HOST}
    real_getaddrinfo = socket.getaddrinfo
    real_load_default_certs = ssl.SSLContext.load_default_certs

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.lower().rstrip(".") in guarded:
            try:
                target = table.get((name.lower().rstrip("."), int(port)))
            except (TypeError, ValueError):
                target = None
            if target is None:
                raise socket.gaierror(socket.EAI_NONAME, f"test redirect: no route for {name}:{port}")
            return real_getaddrinfo(*target, *args, **kwargs)
        return real_getaddrinfo(host, port, *args, **kwargs)

    def load_default_certs(self: ssl.SSLContext, purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH) -> None:
        real_load_default_certs(self, purpose)
        if ca_pem is not None and purpose == ssl.Purpose.SERVER_AUTH:
            self.load_verify_locations(cadata=ca_pem)

    with ExitStack() as stack:
        stack.enter_context(mock.patch.object(socket, "getaddrinfo", getaddrinfo))
        stack.enter_context(mock.patch.object(ssl.SSLContext, "load_default_certs", load_default_certs))
        yield


@contextmanager
def redirect_mailpace(server: SMTPTestServer, port_map: Mapping[int, int] | None = None) -> Iterator[None]:
    """Make ("smtp.mailpace.com", port) reach 127.0.0.1 and trust ``server.ca``.

    ``port_map`` maps a MailPace port to a local port; by default every MailPace port of the
    server's mode (25/587/2525 or 465) goes to ``server.port``.
    """
    if port_map is None:
        port_map = {port: server.port for port in server.mailpace_ports}
    routes = {(MAILPACE_HOST, port): (server.host, local) for port, local in port_map.items()}
    with redirect_connections(routes, server.ca_pem):
        yield
