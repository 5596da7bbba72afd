"""The built-in MailPace emulator (mailmigrate/emulator.py), seen through a real smtplib client.

Real TLS with full verification: every client trusts exactly the emulator's own certificate
(``ssl.create_default_context(cadata=emulator.cert_pem)``) and checks the name "localhost".
Nothing here reaches beyond the loopback interface.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import os
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509

from mailmigrate.emulator import NOT_RELAYED, STARTTLS_REQUIRED, Emulator, Login, Mode

TOKEN = "7c9e6679-7425-40de-944b-e07fc1f90ae7"  # UUID-shaped, like MailPace's documented example
TIMEOUT = 10
MODES: tuple[Mode, ...] = ("starttls", "implicit")


@pytest.fixture
def emulators() -> Iterator[Callable[..., Emulator]]:
    """Factory: ``emulators(mode, token=TOKEN)`` -> a started emulator, stopped after the test."""
    started: list[Emulator] = []

    def start(mode: Mode, token: str = TOKEN, **kwargs: Any) -> Emulator:
        emulator = Emulator(token, mode, **kwargs).start()
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def trusting(emulator: Emulator) -> ssl.SSLContext:
    """A client context that trusts exactly this emulator's certificate, verification on."""
    context = ssl.create_default_context(cadata=emulator.cert_pem)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    return context


def connect(emulator: Emulator, context: ssl.SSLContext | None = None) -> smtplib.SMTP:
    """An smtplib client at the TLS stage where AUTH may begin, verifying the name "localhost".

    smtplib verifies the host name it connected to, so it connects to "localhost" (which
    resolves to the loopback address the emulator listens on)."""
    context = context or trusting(emulator)
    client: smtplib.SMTP
    if emulator.mode == "implicit":
        client = smtplib.SMTP_SSL("localhost", emulator.port, context=context, timeout=TIMEOUT)
        client.ehlo()
    else:
        client = smtplib.SMTP("localhost", emulator.port, timeout=TIMEOUT)
        client.ehlo()
        client.starttls(context=context)
        client.ehlo()
    return client


def auth(client: smtplib.SMTP, mechanism: str, user: str, password: str, initial_response_ok: bool) -> None:
    client.user, client.password = user, password
    authobject = client.auth_plain if mechanism == "PLAIN" else client.auth_login
    client.auth(mechanism, authobject, initial_response_ok=initial_response_ok)


def test_import_loads_neither_aiosmtpd_nor_cryptography() -> None:
    # `mailmigrate check` imports the CLI in every pre-commit run; the server stack must load
    # only when an emulator starts.
    code = (
        "import sys, mailmigrate.emulator\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiosmtpd', 'cryptography')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize("initial_response_ok", [True, False], ids=["initial-response", "challenge"])
def test_login_with_the_token(
    emulators: Callable[..., Emulator], mode: Mode, mechanism: str, initial_response_ok: bool
) -> None:
    emulator = emulators(mode)
    with connect(emulator) as client:
        assert client.has_extn("auth")
        auth(client, mechanism, TOKEN, TOKEN, initial_response_ok)
        assert client.sock is not None and isinstance(client.sock, ssl.SSLSocket)
    assert emulator.logins == [Login(TOKEN, mechanism, mode)]
    assert emulator.logins == [(TOKEN, mechanism, mode)]  # a plain tuple compares equal too
    assert emulator.failed_logins == []


@pytest.mark.parametrize("mode", MODES)
def test_smtplib_login_helper(emulators: Callable[..., Emulator], mode: Mode) -> None:
    # What applications call: smtplib picks the mechanism from the EHLO list.
    emulator = emulators(mode)
    with connect(emulator) as client:
        code, text = client.login(TOKEN, TOKEN)
    assert (code, text) == (235, b"2.7.0 Authentication successful")
    assert len(emulator.logins) == 1


@pytest.mark.parametrize("mode", MODES)
def test_only_plain_and_login_are_offered(emulators: Callable[..., Emulator], mode: Mode) -> None:
    emulator = emulators(mode)
    with connect(emulator) as client:
        assert client.esmtp_features["auth"].split() == ["LOGIN", "PLAIN"]
        code, _ = client.docmd("AUTH", "CRAM-MD5")
        assert code == 504
        # LOGIN prompts as MailPace's reply table documents: "Username:", then "Password:".
        assert client.docmd("AUTH", "LOGIN") == (334, b"VXNlcm5hbWU6")
        assert client.docmd(base64.b64encode(TOKEN.encode()).decode()) == (334, b"UGFzc3dvcmQ6")
        assert client.docmd(base64.b64encode(TOKEN.encode()).decode()) == (235, b"2.7.0 Authentication successful")


def test_greeting_says_it_is_the_emulator(emulators: Callable[..., Emulator]) -> None:
    # MailPace documents no banner, so the emulator does not pretend to have MailPace's.
    emulator = emulators("starttls")
    client = smtplib.SMTP(timeout=TIMEOUT)
    try:
        code, banner = client.connect(emulator.host, emulator.port)
        assert code == 220
        assert banner.startswith(b"mailpace-emulator ") and b"emulator" in banner.split(b" ", 1)[1]
    finally:
        client.close()


def test_starttls_mode_refuses_auth_before_starttls(emulators: Callable[..., Emulator]) -> None:
    emulator = emulators("starttls")
    with smtplib.SMTP(emulator.host, emulator.port, timeout=TIMEOUT) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")  # AUTH is only offered over TLS
        plain = base64.b64encode(f"\0{TOKEN}\0{TOKEN}".encode()).decode()
        code, text = client.docmd("AUTH", f"PLAIN {plain}")
        assert f"{code} {text.decode()}" == STARTTLS_REQUIRED
        code, text = client.docmd("AUTH", "LOGIN")
        assert f"{code} {text.decode()}" == STARTTLS_REQUIRED
        # smtplib's own login() refuses too, with the same reply.
        with pytest.raises(smtplib.SMTPException):
            client.login(TOKEN, TOKEN)
        code, text = client.docmd("MAIL", "FROM:<app@example.com>")
        assert f"{code} {text.decode()}" == STARTTLS_REQUIRED
    assert emulator.logins == [] and emulator.failed_logins == []


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@pytest.mark.parametrize(
    ("user", "password"),
    [("wrong-token", "wrong-token"), (TOKEN, "other"), ("other", TOKEN), ("apikey", TOKEN), (f" {TOKEN}", TOKEN)],
    ids=["wrong-token", "wrong-password", "wrong-user", "sendgrid-user", "untrimmed-user"],
)
def test_wrong_credentials_get_535(
    emulators: Callable[..., Emulator], mode: Mode, mechanism: str, user: str, password: str
) -> None:
    emulator = emulators(mode)
    with connect(emulator) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            auth(client, mechanism, user, password, initial_response_ok=True)
        assert caught.value.smtp_code == 535
        assert caught.value.smtp_error.startswith(b"5.7.8 ")
        # Still not logged in, so no mail either.
        code, _ = client.docmd("MAIL", "FROM:<app@example.com>")
        assert code == 530
    assert emulator.logins == []
    assert emulator.failed_logins == [user]


def test_token_is_trimmed_but_credentials_are_not(emulators: Callable[..., Emulator]) -> None:
    emulator = emulators("starttls", token=f"  {TOKEN}\n")
    with connect(emulator) as client:
        client.login(TOKEN, TOKEN)
    assert emulator.logins == [(TOKEN, "PLAIN", "starttls")]


@pytest.mark.parametrize("token", ["", "  \n"])
def test_an_empty_token_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="token"):
        Emulator(token, "starttls")


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="mode"):
        Emulator(TOKEN, "ssl")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_mail_before_auth_is_refused(emulators: Callable[..., Emulator], mode: Mode) -> None:
    emulator = emulators(mode)
    with connect(emulator) as client:
        assert client.docmd("MAIL", "FROM:<app@example.com>") == (530, b"5.7.0 Authentication required")
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.sendmail("app@example.com", ["someone@example.org"], b"Subject: x\r\n\r\nx\r\n")
    assert emulator.discarded_messages == 0


class _OutboundWatch:
    """Records every name lookup and outgoing connection made in this process meanwhile."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex

        def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(f"getaddrinfo{args!r} in {threading.current_thread().name}")
            return real_getaddrinfo(*args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> None:
            self.calls.append(f"connect {address!r} in {threading.current_thread().name}")
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            self.calls.append(f"connect_ex {address!r} in {threading.current_thread().name}")
            return real_connect_ex(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.mark.parametrize("mode", MODES)
def test_mail_after_auth_is_accepted_and_never_relayed(
    emulators: Callable[..., Emulator], mode: Mode, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator = emulators(mode)
    with connect(emulator) as client:
        client.login(TOKEN, TOKEN)
        # From here on, a relay would have to look up the recipient's domain and connect out.
        watch = _OutboundWatch(monkeypatch)
        message = b"From: app@example.com\r\nTo: someone@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
        assert client.sendmail("app@example.com", ["someone@example.org", "bcc@example.net"], message) == {}
        client.mail("app@example.com")
        client.rcpt("someone@example.org")
        assert client.data(message) == (250, NOT_RELAYED.split(" ", 1)[1].encode())
        time.sleep(0.2)  # time for a relay, had there been one, to start
    assert watch.calls == []
    assert emulator.discarded_messages == 2


def test_implicit_mode_refuses_a_plain_client(emulators: Callable[..., Emulator]) -> None:
    # A client that forgets implicit TLS on 465 never sees a greeting: the server waits for a
    # TLS ClientHello, so the client times out (or is dropped).
    emulator = emulators("implicit")
    with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
        smtplib.SMTP(emulator.host, emulator.port, timeout=0.5)
    # Speaking SMTP first gets the connection closed, never an SMTP reply.
    with socket.create_connection((emulator.host, emulator.port), timeout=TIMEOUT) as raw:
        raw.sendall(b"EHLO client\r\n")
        try:
            received = raw.recv(1024)
        except ConnectionResetError:
            received = b""
        assert not received.startswith(b"220")
    assert emulator.logins == []


def test_implicit_mode_offers_no_starttls(emulators: Callable[..., Emulator]) -> None:
    emulator = emulators("implicit")
    with connect(emulator) as client:
        assert not client.has_extn("starttls")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["localhost", "127.0.0.1", "smtp.mailpace.com"])
def test_certificate_verifies_for_its_names(emulators: Callable[..., Emulator], mode: Mode, name: str) -> None:
    emulator = emulators(mode)
    context = trusting(emulator)
    # Python 3.13's default context adds OpenSSL's strict X.509 checks: the certificate passes them.
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    with _tls_socket(emulator, context, name) as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")


@pytest.mark.parametrize("mode", MODES)
def test_certificate_is_checked_not_just_present(emulators: Callable[..., Emulator], mode: Mode) -> None:
    emulator = emulators(mode)
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _tls_socket(emulator, trusting(emulator), "example.com").close()
    with pytest.raises(ssl.SSLCertVerificationError):
        _tls_socket(emulator, ssl.create_default_context(), "localhost").close()  # system CAs only


def _tls_socket(emulator: Emulator, context: ssl.SSLContext, server_hostname: str) -> ssl.SSLSocket:
    """A verified TLS connection to the emulator (after STARTTLS in that mode) for a given name."""
    raw = socket.create_connection((emulator.host, emulator.port), timeout=TIMEOUT)
    try:
        if emulator.mode == "starttls":
            stream = raw.makefile("rb")
            assert stream.readline().startswith(b"220 ")
            raw.sendall(b"STARTTLS\r\n")
            assert stream.readline().startswith(b"220 ")
        tls = context.wrap_socket(raw, server_hostname=server_hostname)
        if emulator.mode == "implicit":
            assert tls.recv(1024).startswith(b"220 ")
        return tls
    except BaseException:
        raw.close()
        raise


def test_certificate_is_a_short_lived_self_signed_leaf(emulators: Callable[..., Emulator]) -> None:
    emulator = emulators("starttls")
    certificate = x509.load_pem_x509_certificate(emulator.cert_pem.encode())
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) >= {"localhost", "smtp.mailpace.com"}
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert certificate.issuer == certificate.subject
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    now = datetime.datetime.now(datetime.UTC)
    assert certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc
    assert certificate.not_valid_after_utc - now <= datetime.timedelta(days=8)
    assert emulator.cert_path.read_text() == emulator.cert_pem


def test_certificate_directory_is_private_and_removed_on_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    emulator = Emulator(TOKEN, "implicit").start()
    try:
        directory = emulator.cert_dir
        assert directory.parent == tmp_path and directory.is_dir()
        if os.name == "posix":
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700
        # The key is loaded into the server's TLS context, then deleted; only the certificate stays.
        assert sorted(p.name for p in directory.iterdir()) == ["cert.pem"]
        with connect(emulator) as client:
            client.login(TOKEN, TOKEN)
    finally:
        emulator.stop()
    assert not directory.exists()
    assert list(tmp_path.iterdir()) == []
    emulator.stop()  # a second stop is harmless
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.cert_pem


def test_context_manager_and_double_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with Emulator(TOKEN, "starttls") as emulator:
        assert emulator.running and emulator.port > 0
        assert TOKEN not in repr(emulator)
        with pytest.raises(RuntimeError, match="already running"):
            emulator.start()
    assert not emulator.running
    assert list(tmp_path.iterdir()) == []


def test_a_busy_port_fails_in_start_and_leaves_nothing_behind(
    emulators: Callable[..., Emulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = emulators("starttls")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    second = Emulator(TOKEN, "implicit", port=first.port)
    with pytest.raises(OSError):
        second.start()
    assert not second.running
    assert list(tmp_path.iterdir()) == []


def test_two_emulators_at_once(emulators: Callable[..., Emulator]) -> None:
    starttls = emulators("starttls")
    implicit = emulators("implicit", token="another-token")
    assert starttls.port != implicit.port
    assert starttls.cert_pem != implicit.cert_pem
    with connect(starttls) as client:
        client.login(TOKEN, TOKEN)
    with connect(implicit) as client:
        client.login("another-token", "another-token")
    # Each has its own certificate: trusting one does not trust the other.
    with pytest.raises(ssl.SSLCertVerificationError):
        connect(implicit, context=trusting(starttls))
    assert starttls.logins == [(TOKEN, "PLAIN", "starttls")]
    assert implicit.logins == [("another-token", "PLAIN", "implicit")]


@pytest.mark.parametrize("mode", MODES)
def test_stop_does_not_wait_for_connected_clients(emulators: Callable[..., Emulator], mode: Mode) -> None:
    emulator = emulators(mode)
    # An idle SMTP session and a connection that never starts its TLS handshake.
    idle = connect(emulator)
    silent = socket.create_connection((emulator.host, emulator.port), timeout=TIMEOUT)
    try:
        started = time.monotonic()
        emulator.stop()
        assert time.monotonic() - started < 3
    finally:
        idle.close()
        silent.close()


def test_serve_forever_in_the_foreground(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mailmigrate.emulator import serve_forever\n"
        "serve_forever(sys.argv[1], '127.0.0.1', 0, 0, lambda line: print(line, flush=True))\n"
        "print('returned', flush=True)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-c", code, TOKEN], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(7)]
        listening = [line for line in lines if line.startswith("MailPace emulator on 127.0.0.1:")]
        assert len(listening) == 2, lines
        ports = {
            ("starttls" if "STARTTLS" in line else "implicit"): int(line.split(":")[1]) for line in listening
        }
        certificates = [Path(line.split(": ", 1)[1].strip()) for line in lines if "certificate" in line]
        assert len(certificates) == 2 and all(path.parent.parent == tmp_path for path in certificates)
        for mode, port in ports.items():
            with smtplib.SMTP_SSL(
                "localhost", port, context=ssl.create_default_context(cafile=certificates[1]), timeout=TIMEOUT
            ) if mode == "implicit" else smtplib.SMTP("localhost", port, timeout=TIMEOUT) as client:
                if mode == "starttls":
                    client.starttls(context=ssl.create_default_context(cafile=certificates[0]))
                client.login(TOKEN, TOKEN)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0, err
    assert out.strip() == "returned"
    everything = "".join(lines) + out + err
    assert TOKEN not in everything
    assert "nothing is ever relayed" in everything
    assert list(tmp_path.iterdir()) == []


def test_serve_forever_cleans_up_on_sigterm(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from mailmigrate.emulator import serve_forever\n"
        "serve_forever(sys.argv[1], '127.0.0.1', None, 0, lambda line: print(line, flush=True))\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    process = subprocess.Popen([sys.executable, "-c", code, TOKEN], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "implicit TLS" in first and "STARTTLS" not in first  # only the mode asked for
        assert len(list(tmp_path.iterdir())) == 1
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=TIMEOUT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 0
    assert list(tmp_path.iterdir()) == []
