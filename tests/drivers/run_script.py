"""Runs one smtplib / logging.SMTPHandler script (tests/smtplib_scripts) through the aiosmtpd test server.

Usage: ``python run_script.py SCRIPT [ARG...]``, in a fresh interpreter, as the end-to-end tests do.
The script runs as ``python SCRIPT`` would run it (``runpy.run_path`` with ``run_name="__main__"``,
its own directory first on ``sys.path``, ``sys.argv[0]`` set to it), except that
(smtp.mailpace.com, MM_TEST_MAILPACE_PORT) is redirected to 127.0.0.1:MM_TEST_SMTP_PORT and the
test CA (MM_TEST_CA_PEM, a file) is added to every default trust store. Certificate checks stay as
the script sets them up: ``ssl.create_default_context()`` verifies against the test CA, while
``SMTP_SSL``/``starttls()`` without a context (and SMTPHandler) use smtplib's unverified context.
Any other port of smtp.mailpace.com fails to resolve, so the real service is never reached.

A logging handler that fails to send (SMTPHandler swallows its errors and prints them) makes the
run fail too: the error is re-raised from ``Handler.handleError``.

Exit status: 0 when the script completed, 1 (traceback on stderr) when it raised, or the script's
own ``sys.exit`` status.
"""

import logging
import os
import runpy
import socket
import sys
import traceback
from pathlib import Path

# Look like `python SCRIPT`: the driver's own directory leaves sys.path (the script's comes in main()).
if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]
sys.path.insert(0, os.environ["MM_TEST_HELPERS"])
socket.setdefaulttimeout(10)  # a socket the script opens without its own timeout never hangs the run

from smtp_server import MAILPACE_HOST, redirect_connections  # noqa: E402


_handle_error = logging.Handler.handleError


def _reraise_handler_error(self: logging.Handler, record: logging.LogRecord) -> None:
    """Replaces logging.Handler.handleError: a failed emit() fails the script instead of printing."""
    error = sys.exc_info()[1]
    if error is None:  # called outside an except block: keep the standard behaviour
        _handle_error(self, record)
        return
    raise error


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: run_script.py SCRIPT [ARG...]", file=sys.stderr)
        return 2
    script = Path(argv[1]).resolve()
    routes = {
        (MAILPACE_HOST, int(os.environ["MM_TEST_MAILPACE_PORT"])): ("127.0.0.1", int(os.environ["MM_TEST_SMTP_PORT"])),
    }
    ca_pem = Path(os.environ["MM_TEST_CA_PEM"]).read_text()

    sys.path.insert(0, str(script.parent))
    sys.argv = [str(script), *argv[2:]]
    logging.Handler.handleError = _reraise_handler_error  # type: ignore[method-assign]

    with redirect_connections(routes, ca_pem):
        try:
            runpy.run_path(str(script), run_name="__main__")
        except Exception:
            print(f"run_script: {script.name} raised:", file=sys.stderr)
            traceback.print_exc()
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
