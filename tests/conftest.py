"""Shared pytest fixtures. One section per concern; add yours in a new section."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import trustme

# ---------------------------------------------------------------------------------------------
# SMTP test server (tests/smtp_server.py): a local, TLS-speaking stand-in for smtp.mailpace.com.
#
#   def test_x(smtp_server):
#       server = smtp_server(mode="starttls", token="...")   # or mode="implicit"
#       with redirect_mailpace(server):                       # from smtp_server import ...
#           ...connect to ("smtp.mailpace.com", 587)...
#       assert server.logins and server.messages
# ---------------------------------------------------------------------------------------------
from smtp_server import DEFAULT_TOKEN, Mode, SMTPTestServer


@pytest.fixture(scope="session")
def smtp_ca() -> trustme.CA:
    """One throwaway CA per test run: key generation is the slow part."""
    return trustme.CA()


@pytest.fixture
def smtp_server(smtp_ca: trustme.CA) -> Iterator[Callable[..., SMTPTestServer]]:
    """Factory: ``smtp_server(mode="starttls"|"implicit", token=...)`` -> a started server.

    Every server started through it is stopped at the end of the test.
    """
    started: list[SMTPTestServer] = []

    def start(mode: Mode = "starttls", token: str = DEFAULT_TOKEN) -> SMTPTestServer:
        server = SMTPTestServer(smtp_ca, mode=mode, token=token).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
