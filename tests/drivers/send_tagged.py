"""Calls a migrated application's own send functions, each sending mail through the aiosmtpd test server.

Usage: ``python send_tagged.py PROJECT MODULE:FUNCTION [MODULE:FUNCTION ...]``, in a fresh interpreter,
as tests/test_tagging_e2e.py does. PROJECT goes first on ``sys.path``; each FUNCTION is imported from
its MODULE and called with the recipient (MM_TEST_RECIPIENT), in the order given. When
MM_TEST_DJANGO_SETTINGS names a settings module, Django is set up with it first (as ``manage.py``
would), so settings come from the project only.

(smtp.mailpace.com, MM_TEST_MAILPACE_PORT) is redirected to 127.0.0.1:MM_TEST_SMTP_PORT and the test
CA (MM_TEST_CA_PEM, a file) is added to every default trust store, exactly as tests/drivers/run_script.py
does; certificate checks stay as the framework sets them up. Any other port of smtp.mailpace.com fails
to resolve, so the real service is never reached.

Prints one JSON line: ``{"called": [...], "returned": [...]}``. Exit status 1 (traceback on stderr)
when a call raised.
"""

import importlib
import json
import os
import socket
import sys
import traceback
from pathlib import Path

if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]  # the drivers folder holds nothing the application should import
sys.path.insert(0, os.environ["MM_TEST_HELPERS"])
socket.setdefaulttimeout(10)  # a socket opened without its own timeout never hangs the run

from smtp_server import MAILPACE_HOST, redirect_connections  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) < 3 or any(":" not in spec for spec in argv[2:]):
        print("usage: send_tagged.py PROJECT MODULE:FUNCTION [MODULE:FUNCTION ...]", file=sys.stderr)
        return 2
    project = Path(argv[1]).resolve()
    sys.path.insert(0, str(project))
    routes = {
        (MAILPACE_HOST, int(os.environ["MM_TEST_MAILPACE_PORT"])): ("127.0.0.1", int(os.environ["MM_TEST_SMTP_PORT"])),
    }
    ca_pem = Path(os.environ["MM_TEST_CA_PEM"]).read_text()
    recipient = os.environ["MM_TEST_RECIPIENT"]
    settings_module = os.environ.get("MM_TEST_DJANGO_SETTINGS")

    facts: dict[str, list[object]] = {"called": [], "returned": []}
    with redirect_connections(routes, ca_pem):
        try:
            if settings_module:
                os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
                import django

                django.setup()
            for spec in argv[2:]:
                module_name, _, function_name = spec.partition(":")
                function = getattr(importlib.import_module(module_name), function_name)
                returned = function(recipient)
                facts["called"].append(spec)
                facts["returned"].append(returned)
        except Exception:
            print(f"send_tagged: {json.dumps(facts)}", file=sys.stderr)
            traceback.print_exc()
            return 1
    print(json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
