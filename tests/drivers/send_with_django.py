"""Sends one message with Django's real SMTP backend through the aiosmtpd test server.

Run in a fresh interpreter by the end-to-end tests: settings come from the project under test
(and the env files it loads) only. smtp.mailpace.com is redirected to the test server and the
test CA trusted; certificate verification stays on. Prints the backend's facts as JSON.
"""

import json
import os
import socket
import ssl
import sys
from pathlib import Path

sys.path.insert(0, os.environ["MM_TEST_HELPERS"])
sys.path.insert(0, os.environ["MM_TEST_PROJECT"])
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
socket.setdefaulttimeout(10)

import django

django.setup()

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from smtp_server import MAILPACE_HOST, redirect_connections

routes = {
    (MAILPACE_HOST, int(os.environ["MM_TEST_MAILPACE_PORT"])): ("127.0.0.1", int(os.environ["MM_TEST_SMTP_PORT"])),
}
ca_pem = Path(os.environ["MM_TEST_CA_PEM"]).read_text()

with redirect_connections(routes, ca_pem):
    connection = get_connection(timeout=10)  # settings.EMAIL_BACKEND
    context = connection.ssl_context
    facts = {
        "backend": f"{type(connection).__module__}.{type(connection).__qualname__}",
        "host": connection.host,
        "port": connection.port,
        "use_tls": connection.use_tls,
        "use_ssl": connection.use_ssl,
        "verify_required": context.verify_mode == ssl.CERT_REQUIRED,
        "check_hostname": context.check_hostname,
        "from": settings.DEFAULT_FROM_EMAIL,
    }
    print(json.dumps(facts), file=sys.stderr)  # shown if sending fails
    message = EmailMessage(
        "Migrated to MailPace", "Sent by Django through the test server.",
        settings.DEFAULT_FROM_EMAIL, [os.environ["MM_TEST_RECIPIENT"]], connection=connection,
    )
    facts["sent"] = message.send(fail_silently=False)
print(json.dumps(facts))
