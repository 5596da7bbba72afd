"""mailmigrate.smtpcheck.check_login against real servers on loopback: the MailPace stand-in
(tests/smtp_server.py) for the good paths, and small raw-socket servers that misbehave on
purpose for everything else. Each failure must name the right stage and the cause, stay within
a bounded wall time, and never show the credentials."""

from __future__ import annotations

import base64
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trustme
from smtp_server import MAILPACE_HOST, SMTPTestServer

from mailmigrate.smtpcheck import MASK, LoginResult, check_login

TOKEN = "5b0c7e2a-91d4-4f3e-b8a7-6d2f0e9c1a34"
TIMEOUT = 2.0  # for servers that answer: every case must finish well inside it
BOUND = 3.0  # wall-time bound asserted for each case

ServerFactory = Callable[..., SMTPTestServer]


# ---------------------------------------------------------------------------------------------
# Raw-socket servers: one handler per misbehaviour, run in a thread, recording what the client
# sent so a test can assert what never reached the wire (AUTH after a downgrade).
# ---------------------------------------------------------------------------------------------


class Peer:
    """The server's side of one accepted connection."""

    def __init__(self, conn: socket.socket, server: ScriptedServer) -> None:
        self.conn = conn
        self.server = server
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.conn.sendall(data)

    def readline(self) -> str:
        while b"\n" not in self.buffer:
            chunk = self.conn.recv(4096)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        text = line.rstrip(b"\r").decode("utf-8", "replace")
        self.server.record(text)
        return text

    def expect(self, verb: str) -> str:
        line = self.readline()
        assert line.upper().startswith(verb), line
        return line

    def starttls(self, context: ssl.SSLContext) -> None:
        self.conn = context.wrap_socket(self.conn, server_side=True)
        self.buffer = b""

    def stall(self) -> None:
        """Keep the connection open and silent until the test ends."""
        self.server.stopping.wait(15)


class ScriptedServer:
    def __init__(self, handler: Callable[[Peer], None], host: str, tls: ssl.SSLContext | None) -> None:
        self.handler = handler
        self.tls = tls  # implicit TLS: wrap every accepted connection at once
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.lines: list[str] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.listener = socket.socket(family, socket.SOCK_STREAM)
        self.listener.bind((host, 0))
        self.listener.listen(8)
        self.listener.settimeout(0.1)
        self.host = host
        self.port: int = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def received(self) -> list[str]:
        with self.lock:
            return list(self.lines)

    def record(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)

    def serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(10)
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                self.handler(Peer(conn, self))
            except (OSError, EOFError):
                pass  # the client gave up or rejected our certificate: that is the test
            finally:
                conn.close()

    def stop(self) -> None:
        self.stopping.set()
        self.listener.close()
        self.thread.join(5)


ScriptedFactory = Callable[..., ScriptedServer]


@pytest.fixture
def scripted() -> Iterator[ScriptedFactory]:
    """Factory: ``scripted(handler, host="127.0.0.1", tls=None)`` -> a running raw server."""
    started: list[ScriptedServer] = []

    def start(handler: Callable[[Peer], None], host: str = "127.0.0.1", tls: ssl.SSLContext | None = None) -> ScriptedServer:
        server = ScriptedServer(handler, host, tls)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*(names or (MAILPACE_HOST, "127.0.0.1"))).configure_cert(context)
    return context


def client_context(ca: trustme.CA | None) -> ssl.SSLContext:
    """Verification and hostname checks on; trusts only the test CA (or nothing at all)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    if ca is not None:
        ca.configure_trust(context)
    return context


def login(
    port: int, mode: str = "starttls", *, ca: trustme.CA | None, host: str = "127.0.0.1", user: str = TOKEN,
    password: str = TOKEN, timeout: float = TIMEOUT, server_hostname: str = MAILPACE_HOST,
) -> tuple[LoginResult, float]:
    started = time.monotonic()
    result = check_login(
        host, port, mode, user, password,  # type: ignore[arg-type]
        context=client_context(ca), server_hostname=server_hostname, timeout=timeout,
    )
    elapsed = time.monotonic() - started
    assert_no_secrets(result, user, password)
    return result, elapsed


def assert_no_secrets(result: LoginResult, *secrets: str) -> None:
    shown = "\n".join((result.reply, *result.transcript))
    for secret in secrets:
        for form in (secret, base64.b64encode(secret.encode()).decode()):
            assert form not in shown
    plain = base64.b64encode(f"\0{secrets[0]}\0{secrets[-1]}".encode()).decode()
    assert plain not in shown
    assert "\n" not in result.reply and "\r" not in result.reply
    assert all(line.startswith(("C: ", "S: ")) for line in result.transcript)


def greet_and_ehlo(peer: Peer, *extensions: str) -> None:
    peer.send(b"220 test.example ESMTP\r\n")
    peer.expect("EHLO")
    lines = ["test.example", *extensions]
    peer.send("".join(f"250{'-' if i < len(lines) - 1 else ' '}{x}\r\n" for i, x in enumerate(lines)).encode())


def answer_quit(peer: Peer) -> None:
    try:
        peer.expect("QUIT")
        peer.send(b"221 bye\r\n")
    except (OSError, EOFError, AssertionError):
        pass


# ---------------------------------------------------------------------------------------------
# Good servers: the MailPace stand-in in both TLS modes.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["starttls", "implicit"])
def test_good_server_logs_in_with_a_masked_transcript(smtp_server: ServerFactory, mode: str) -> None:
    server = smtp_server(mode=mode, token=TOKEN)
    result, elapsed = login(server.port, mode, ca=server.ca)

    assert (result.ok, result.stage) == (True, "done"), result
    assert result.reply.startswith("235")
    assert f"C: AUTH PLAIN {MASK}" in result.transcript
    assert result.transcript[-2:] == ("C: QUIT", "S: 221 Bye")
    assert ("C: STARTTLS" in result.transcript) == (mode == "starttls")
    assert not any(line.startswith(("C: MAIL", "C: RCPT", "C: DATA")) for line in result.transcript)
    assert [(x.username, x.mechanism, x.tls) for x in server.logins] == [(TOKEN, "PLAIN", mode)]
    assert server.messages == []
    assert elapsed < BOUND


def test_wrong_token_is_an_auth_failure(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    wrong = "0d9e8f7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a"
    result, elapsed = login(server.port, ca=server.ca, user=wrong, password=wrong)
    assert (result.ok, result.stage) == (False, "auth")
    assert "535" in result.reply and "5.7.8" in result.reply
    assert server.failed_logins == [wrong] and server.logins == []
    assert elapsed < BOUND


def test_plain_configuration_never_sends_auth(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    result, elapsed = login(server.port, "none", ca=server.ca)
    assert (result.ok, result.stage) == (False, "tls")
    assert "needs TLS before AUTH" in result.reply and "offers STARTTLS" in result.reply
    assert not any("AUTH" in line for line in result.transcript if line.startswith("C: "))
    assert server.logins == [] and server.failed_logins == []
    assert elapsed < BOUND


def test_untrusted_certificate(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    result, elapsed = login(server.port, ca=None)  # a client that does not trust the test CA
    assert (result.ok, result.stage) == (False, "tls")
    assert result.reply.startswith("certificate verify failed: ")
    assert "issuer" in result.reply or "self-signed" in result.reply
    assert server.logins == [] and server.failed_logins == []
    assert elapsed < BOUND


def test_self_signed_certificate(scripted: ScriptedFactory, smtp_ca: trustme.CA, tmp_path: Path) -> None:
    # The CA's own certificate as the server certificate: a self-signed one, trusted by nobody.
    cert, key = tmp_path / "ca.pem", tmp_path / "ca.key"
    smtp_ca.cert_pem.write_to_path(str(cert))
    smtp_ca.private_key_pem.write_to_path(str(key))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = scripted(lambda peer: None, tls=context)
    result, elapsed = login(server.port, "implicit", ca=None)
    assert (result.stage, result.reply) == ("tls", "certificate verify failed: self-signed certificate")
    assert elapsed < BOUND


# ---------------------------------------------------------------------------------------------
# The connect stage.
# ---------------------------------------------------------------------------------------------


def test_connection_refused() -> None:
    with socket.socket() as placeholder:  # a port nobody listens on
        placeholder.bind(("127.0.0.1", 0))
        port = placeholder.getsockname()[1]
    result, elapsed = login(port, ca=None)
    assert (result.ok, result.stage) == (False, "connect")
    assert "refused" in result.reply and str(port) in result.reply
    assert result.transcript == ()
    assert elapsed < BOUND


def test_invalid_port_is_a_connect_failure() -> None:
    result, _ = login(70000, ca=None)
    assert (result.stage, result.reply) == ("connect", "invalid port 70000")


def test_silent_server_times_out_at_connect(scripted: ScriptedFactory) -> None:
    server = scripted(Peer.stall)
    result, elapsed = login(server.port, ca=None, timeout=1)
    assert (result.ok, result.stage) == (False, "connect")
    assert "timed out after 1s waiting for the greeting" in result.reply
    assert "implicit-TLS" in result.reply  # the usual cause: a 465 port configured as STARTTLS
    assert 0.9 < elapsed < BOUND


def test_slow_drip_greeting_times_out(scripted: ScriptedFactory) -> None:
    # One byte every 0.2 s: each read is quick, the greeting never completes.
    def drip(peer: Peer) -> None:
        for byte in b"220 " + b"x" * 200:
            if peer.server.stopping.wait(0.2):
                return
            peer.send(bytes([byte]))

    server = scripted(drip)
    result, elapsed = login(server.port, ca=None, timeout=1)
    assert (result.stage, result.reply) == ("connect", "timed out after 1s waiting for the greeting")
    assert elapsed < BOUND


def test_slow_drip_multiline_ehlo_reply_times_out(scripted: ScriptedFactory) -> None:
    def drip(peer: Peer) -> None:
        peer.send(b"220 test.example\r\n")
        peer.expect("EHLO")
        for n in range(50):  # whole lines, each inside the timeout, the reply never ending
            if peer.server.stopping.wait(0.3):
                return
            peer.send(f"250-EXT{n}\r\n".encode())

    server = scripted(drip)
    result, elapsed = login(server.port, ca=None, timeout=1)
    assert (result.stage, result.reply) == ("connect", "timed out after 1s waiting for the reply to EHLO")
    assert elapsed < BOUND


def test_421_greeting(scripted: ScriptedFactory) -> None:
    server = scripted(lambda peer: peer.send(b"421 4.3.2 Service not available, closing channel\r\n"))
    result, elapsed = login(server.port, ca=None)
    assert (result.ok, result.stage) == (False, "connect")
    assert "421 4.3.2 Service not available" in result.reply
    assert elapsed < BOUND


@pytest.mark.parametrize(
    "garbage",
    [
        b"HTTP/1.1 400 Bad Request\r\n\r\n",  # a web server on the port
        b"\x16\x03\x03\x00\x02\x02\x28",  # a TLS alert record, no newline ever
        b"\x00\xff\xfe garbage \x80\x81",  # binary noise
        b"220-fine\r\n250 other code\r\n",  # a reply whose lines disagree
    ],
)
def test_garbage_instead_of_a_greeting(scripted: ScriptedFactory, garbage: bytes) -> None:
    def handler(peer: Peer) -> None:
        peer.send(garbage)
        peer.stall()

    server = scripted(handler)
    result, elapsed = login(server.port, ca=None, timeout=5)
    assert (result.ok, result.stage) == (False, "connect")
    assert result.reply.startswith("not an SMTP reply (waiting for the greeting)")
    assert elapsed < 1  # recognised at once, not by waiting for the 5 s timeout


@pytest.mark.parametrize("ending", [b"\r\n", b""])
def test_oversized_reply_line(scripted: ScriptedFactory, ending: bytes) -> None:
    def handler(peer: Peer) -> None:
        peer.send(b"220 " + b"x" * 5000 + ending)
        peer.stall()

    server = scripted(handler)
    result, elapsed = login(server.port, ca=None, timeout=5)
    assert (result.stage, result.reply) == ("connect", "reply line longer than 2048 bytes (waiting for the greeting)")
    assert len(result.transcript[-1]) < 300
    assert elapsed < 1


def test_endless_multiline_reply(scripted: ScriptedFactory) -> None:
    def handler(peer: Peer) -> None:
        peer.send(b"220-hello\r\n" * 500)
        peer.stall()

    server = scripted(handler)
    result, elapsed = login(server.port, ca=None, timeout=5)
    assert (result.stage, result.reply) == ("connect", "reply to the greeting has more than 100 lines")
    assert elapsed < 1


def test_connection_dropped_during_ehlo_reply(scripted: ScriptedFactory) -> None:
    def handler(peer: Peer) -> None:
        peer.send(b"220 test.example\r\n")
        peer.expect("EHLO")
        peer.send(b"250-test.example\r\n")  # then the connection closes

    server = scripted(handler)
    result, elapsed = login(server.port, ca=None)
    assert (result.stage, result.reply) == ("connect", "connection closed by the server while waiting for the reply to EHLO")
    assert elapsed < BOUND


# ---------------------------------------------------------------------------------------------
# The TLS stage.
# ---------------------------------------------------------------------------------------------


def test_downgrade_no_starttls_offered_never_sends_auth(scripted: ScriptedFactory) -> None:
    # A server (or a man in the middle) that strips STARTTLS and offers AUTH in clear.
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "AUTH PLAIN LOGIN", "8BITMIME")
        while True:  # accept anything the client would send, to catch it
            line = peer.readline()
            peer.send(b"221 bye\r\n" if line.upper() == "QUIT" else b"235 2.7.0 ok, in clear\r\n")

    server = scripted(handler)
    result, elapsed = login(server.port, ca=None)
    assert (result.ok, result.stage) == (False, "tls")
    assert "does not offer STARTTLS" in result.reply
    assert not any(line.upper().startswith("AUTH") for line in server.received)
    assert all(TOKEN not in line and base64.b64encode(TOKEN.encode()).decode() not in line for line in server.received)
    assert elapsed < BOUND


def test_454_on_starttls(scripted: ScriptedFactory) -> None:
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "STARTTLS")
        peer.expect("STARTTLS")
        peer.send(b"454 4.7.0 TLS not available due to temporary reason\r\n")
        answer_quit(peer)

    server = scripted(handler)
    result, elapsed = login(server.port, ca=None)
    assert (result.ok, result.stage) == (False, "tls")
    assert result.reply == "STARTTLS refused: 454 4.7.0 TLS not available due to temporary reason"
    assert not any(line.upper().startswith("AUTH") for line in server.received)
    assert elapsed < BOUND


def test_connection_dropped_after_starttls(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "STARTTLS")
        peer.expect("STARTTLS")
        peer.send(b"220 2.0.0 Ready to start TLS\r\n")  # and hang up instead of the handshake

    server = scripted(handler)
    result, elapsed = login(server.port, ca=smtp_ca)
    assert (result.stage, result.reply) == ("tls", "connection closed during the TLS handshake")
    assert elapsed < BOUND


def test_stall_after_starttls_times_out(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "STARTTLS")
        peer.expect("STARTTLS")
        peer.send(b"220 2.0.0 Ready to start TLS\r\n")
        peer.stall()  # never answers the ClientHello

    server = scripted(handler)
    result, elapsed = login(server.port, ca=smtp_ca, timeout=1)
    assert (result.stage, result.reply) == ("tls", "TLS handshake timed out after 1s")
    assert elapsed < BOUND


def test_data_injected_after_starttls_reply(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    # Plaintext that follows "220 Ready" would be read as a post-TLS reply by a careless client.
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "STARTTLS")
        peer.expect("STARTTLS")
        peer.send(b"220 2.0.0 Ready to start TLS\r\n250-injected\r\n250 AUTH PLAIN\r\n")
        peer.stall()

    server = scripted(handler)
    result, elapsed = login(server.port, ca=smtp_ca)
    assert result.stage == "tls" and "after its STARTTLS reply" in result.reply
    assert elapsed < BOUND


def test_wrong_host_certificate(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    # Trusted CA, but the certificate names another host.
    server = scripted(lambda peer: None, tls=server_context(smtp_ca, "other.example"))
    result, elapsed = login(server.port, "implicit", ca=smtp_ca)
    assert (result.ok, result.stage) == (False, "tls")
    assert result.reply.startswith("certificate verify failed: ")
    assert "hostname mismatch" in result.reply.lower() and MAILPACE_HOST in result.reply
    assert elapsed < BOUND


def test_implicit_mode_against_a_plain_port(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    result, elapsed = login(server.port, "implicit", ca=server.ca)
    assert (result.ok, result.stage) == (False, "tls")
    assert result.reply.startswith("TLS handshake failed")
    assert server.logins == [] and server.failed_logins == []
    assert elapsed < BOUND


def test_starttls_mode_against_an_implicit_port_hints_at_it(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="implicit", token=TOKEN)
    result, elapsed = login(server.port, "starttls", ca=server.ca, timeout=1)
    assert (result.ok, result.stage) == (False, "connect")
    assert "implicit-TLS port" in result.reply
    assert elapsed < BOUND


# ---------------------------------------------------------------------------------------------
# The AUTH stage.
# ---------------------------------------------------------------------------------------------


def test_535_echoing_the_username_is_masked(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    # A server that repeats the credentials in its reply: they must not reach the result.
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "STARTTLS")
        peer.expect("STARTTLS")
        peer.send(b"220 go ahead\r\n")
        peer.starttls(server_context(smtp_ca))
        greet_ehlo_again(peer, "AUTH PLAIN LOGIN")
        payload = peer.expect("AUTH PLAIN").split()[-1]
        user = base64.b64decode(payload).split(b"\0")[1]
        peer.send(b"535 5.7.8 bad credentials for " + user + b" (" + payload.encode() + b")\r\n")
        answer_quit(peer)

    server = scripted(handler)
    result, elapsed = login(server.port, ca=smtp_ca)
    assert (result.ok, result.stage) == (False, "auth")
    assert result.reply == f"login refused: 535 5.7.8 bad credentials for {MASK} ({MASK})"
    assert f"S: 535 5.7.8 bad credentials for {MASK} ({MASK})" in result.transcript
    assert elapsed < BOUND


def greet_ehlo_again(peer: Peer, *extensions: str) -> None:
    peer.expect("EHLO")
    lines = ["test.example", *extensions]
    peer.send("".join(f"250{'-' if i < len(lines) - 1 else ' '}{x}\r\n" for i, x in enumerate(lines)).encode())


def test_login_only_server_uses_auth_login(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    seen: list[tuple[str, str]] = []

    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "AUTH LOGIN")
        peer.expect("AUTH LOGIN")
        peer.send(b"334 VXNlcm5hbWU6\r\n")
        user = base64.b64decode(peer.readline()).decode()
        peer.send(b"334 UGFzc3dvcmQ6\r\n")
        password = base64.b64decode(peer.readline()).decode()
        seen.append((user, password))
        peer.send(b"235 2.7.0 Authentication successful\r\n")
        answer_quit(peer)

    server = scripted(handler, tls=server_context(smtp_ca))
    result, elapsed = login(server.port, "implicit", ca=smtp_ca, user="user-name-1", password="pass-word-2")
    assert (result.ok, result.stage) == (True, "done"), result
    assert seen == [("user-name-1", "pass-word-2")]
    index = result.transcript.index("C: AUTH LOGIN")
    assert result.transcript[index:index + 5] == (
        "C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", f"C: {MASK}", "S: 334 UGFzc3dvcmQ6", f"C: {MASK}",
    )
    assert elapsed < BOUND


def test_only_cram_md5_offered(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "AUTH CRAM-MD5")
        answer_quit(peer)

    server = scripted(handler, tls=server_context(smtp_ca))
    result, elapsed = login(server.port, "implicit", ca=smtp_ca)
    assert (result.ok, result.stage) == (False, "auth")
    assert result.reply == "server offers no AUTH PLAIN/LOGIN (offered: CRAM-MD5)"
    assert not any(line.upper().startswith("AUTH") for line in server.received)
    assert elapsed < BOUND


def test_no_auth_offered_at_all(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "8BITMIME")
        answer_quit(peer)

    server = scripted(handler, tls=server_context(smtp_ca))
    result, _ = login(server.port, "implicit", ca=smtp_ca)
    assert (result.stage, result.reply) == ("auth", "server offers no AUTH PLAIN/LOGIN (offered: none)")


def test_short_credentials_do_not_garble_the_transcript(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    # Toy credentials are masked only as whole words; "a" inside "Authentication" stays.
    result = check_login(
        "127.0.0.1", server.port, "starttls", "a", "e",
        context=client_context(server.ca), server_hostname=MAILPACE_HOST, timeout=TIMEOUT,
    )
    assert result.reply == "login refused: 535 5.7.8 Authentication credentials invalid"
    assert f"C: AUTH PLAIN {MASK}" in result.transcript and "S: 221 Bye" in result.transcript


# ---------------------------------------------------------------------------------------------
# IPv6 loopback.
# ---------------------------------------------------------------------------------------------


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="::1 is not available here")
def test_ipv6_loopback(scripted: ScriptedFactory, smtp_ca: trustme.CA) -> None:
    def handler(peer: Peer) -> None:
        greet_and_ehlo(peer, "STARTTLS")
        peer.expect("STARTTLS")
        peer.send(b"220 go ahead\r\n")
        peer.starttls(server_context(smtp_ca))
        greet_ehlo_again(peer, "AUTH PLAIN LOGIN")
        payload = peer.expect("AUTH PLAIN").split()[-1]
        ok = base64.b64decode(payload) == f"\0{TOKEN}\0{TOKEN}".encode()
        peer.send(b"235 2.7.0 ok\r\n" if ok else b"535 5.7.8 no\r\n")
        answer_quit(peer)

    server = scripted(handler, host="::1")
    result, elapsed = login(server.port, host="::1", ca=smtp_ca)
    assert (result.ok, result.stage) == (True, "done"), result
    assert server.received[0] == "EHLO [IPv6:::1]"
    assert elapsed < BOUND


@pytest.mark.skipif(not _ipv6_loopback(), reason="::1 is not available here")
def test_ipv6_loopback_refused() -> None:
    with socket.socket(socket.AF_INET6) as placeholder:
        placeholder.bind(("::1", 0))
        port = placeholder.getsockname()[1]
    result, elapsed = login(port, host="::1", ca=None)
    assert (result.stage, result.reply) == ("connect", f"cannot connect to [::1]:{port}: connection refused")
    assert elapsed < BOUND


# ---------------------------------------------------------------------------------------------
# Arguments.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "timeout"), [("ssl", 1.0), ("starttls", 0.0), ("starttls", -1.0)])
def test_bad_arguments_raise(mode: str, timeout: float) -> None:
    with pytest.raises(ValueError):
        check_login(
            "127.0.0.1", 25, mode, "u", "p",  # type: ignore[arg-type]
            context=client_context(None), server_hostname="x", timeout=timeout,
        )
