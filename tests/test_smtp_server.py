"""The SMTP test server itself: TLS modes, AUTH rules and recording, seen through smtplib."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable

import pytest
from smtp_server import MAILPACE_HOST, STARTTLS_REQUIRED, SMTPTestServer, redirect_connections, redirect_mailpace

TOKEN = "3f2b9c1e-7d4a-4e8b-9a61-0c5d2e7f8a90"
TIMEOUT = 10

ServerFactory = Callable[..., SMTPTestServer]


def _client_context() -> ssl.SSLContext:
    # What Django and most clients use: system trust + hostname check. The redirect adds the CA.
    context = ssl.create_default_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    return context


def test_starttls_login_and_message_recorded(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    with redirect_mailpace(server), smtplib.SMTP(MAILPACE_HOST, 587, timeout=TIMEOUT) as client:
        client.ehlo()
        assert client.has_extn("starttls")
        assert not client.has_extn("auth")  # AUTH is only offered over TLS
        client.starttls(context=_client_context())
        client.ehlo()
        assert client.has_extn("auth")
        client.login(TOKEN, TOKEN)
        client.sendmail("app@example.com", ["a@example.org", "b@example.org"], b"Subject: hi\r\n\r\nbody\r\n")

    assert [(x.username, x.tls) for x in server.logins] == [(TOKEN, "starttls")]
    [message] = server.messages
    assert message.mail_from == "app@example.com"
    assert message.rcpt_tos == ("a@example.org", "b@example.org")
    assert b"Subject: hi" in message.content and b"body" in message.content
    assert (message.tls, message.username) == ("starttls", TOKEN)


def test_other_starttls_ports_reach_the_same_server(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    with redirect_mailpace(server):
        for port in (25, 2525):
            with smtplib.SMTP(MAILPACE_HOST, port, timeout=TIMEOUT) as client:
                client.starttls(context=_client_context())
                client.login(TOKEN, TOKEN)
    assert len(server.logins) == 2


def test_auth_before_starttls_gets_530(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    with redirect_mailpace(server), smtplib.SMTP(MAILPACE_HOST, 587, timeout=TIMEOUT) as client:
        client.ehlo()
        code, text = client.docmd("AUTH", "PLAIN")
        assert f"{code} {text.decode()}" == STARTTLS_REQUIRED
        code, _ = client.docmd("MAIL", "FROM:<app@example.com>")
        assert code == 530
    assert server.logins == [] and server.messages == []


@pytest.mark.parametrize(("user", "password"), [("wrong-token", "wrong-token"), (TOKEN, "other"), ("apikey", TOKEN)])
def test_wrong_credentials_get_535(smtp_server: ServerFactory, user: str, password: str) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    with redirect_mailpace(server), smtplib.SMTP(MAILPACE_HOST, 587, timeout=TIMEOUT) as client:
        client.starttls(context=_client_context())
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            client.login(user, password)
        assert caught.value.smtp_code == 535
        assert caught.value.smtp_error == b"5.7.8 Authentication credentials invalid"
        # Not logged in, so no mail either.
        with pytest.raises(smtplib.SMTPSenderRefused):
            client.sendmail("app@example.com", ["a@example.org"], b"Subject: x\r\n\r\nx\r\n")
    assert server.logins == [] and server.messages == []
    assert server.failed_logins


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_implicit_tls_with_smtp_ssl(smtp_server: ServerFactory, mechanism: str) -> None:
    server = smtp_server(mode="implicit", token=TOKEN)
    with redirect_mailpace(server), smtplib.SMTP_SSL(MAILPACE_HOST, 465, context=_client_context(), timeout=TIMEOUT) as client:
        client.ehlo()
        assert not client.has_extn("starttls")
        assert client.has_extn("auth")
        client.user, client.password = TOKEN, TOKEN
        client.auth(mechanism, getattr(client, f"auth_{mechanism.lower()}"))
        client.sendmail("app@example.com", ["a@example.org"], b"Subject: implicit\r\n\r\nhello\r\n")

    assert [(x.username, x.mechanism, x.tls) for x in server.logins] == [(TOKEN, mechanism, "implicit")]
    [message] = server.messages
    assert (message.tls, message.username, message.rcpt_tos) == ("implicit", TOKEN, ("a@example.org",))


def test_plain_connection_to_implicit_port_fails(smtp_server: ServerFactory) -> None:
    # A client that forgets EMAIL_USE_SSL on 465 never sees a greeting: the server waits for
    # a TLS ClientHello, so the client times out (or is dropped).
    server = smtp_server(mode="implicit", token=TOKEN)
    with redirect_mailpace(server), pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)):
        smtplib.SMTP(MAILPACE_HOST, 465, timeout=1)
    assert server.logins == []


def test_verification_stays_on(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    # Routed but not trusted: the CA is unknown, so a verifying client must refuse.
    with redirect_mailpace(server), smtplib.SMTP(MAILPACE_HOST, 587, timeout=TIMEOUT) as client:
        untrusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no default certs loaded
        with pytest.raises(ssl.SSLCertVerificationError):
            client.starttls(context=untrusting)
    # Trusted CA but a name the certificate does not cover: hostname checking still applies.
    routes = {("smtp.example.net", 587): (server.host, server.port)}
    with redirect_connections(routes, server.ca_pem), smtplib.SMTP("smtp.example.net", 587, timeout=TIMEOUT) as client:
        with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
            client.starttls(context=_client_context())


def test_unrouted_mailpace_port_never_leaves_the_machine(smtp_server: ServerFactory) -> None:
    server = smtp_server(mode="starttls", token=TOKEN)
    with redirect_mailpace(server, {587: server.port}), pytest.raises(OSError):
        smtplib.SMTP(MAILPACE_HOST, 465, timeout=3)
