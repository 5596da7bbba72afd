"""Pattern: `server = smtplib.SMTP()` with no host, then `server.connect(HOST, PORT)`, ehlo/starttls/login (Postmark token as user and password)."""

import smtplib

HOST = "smtp.postmarkapp.com"
PORT = 587
# Postmark uses the server API token as both the SMTP username and password.
POSTMARK_TOKEN = "00000000-fake-4000-8000-postmarktoken"


def send_mail(sent_from, to, email_text):
    """Connect, secure the session and send one pre-formatted message."""
    server = smtplib.SMTP(timeout=10)
    server.connect(HOST, PORT)
    # connect() does not record the host for starttls() (CPython gh-80275, bpo-36094): without
    # this, starttls() fails with "server_hostname cannot be an empty string".
    server._host = HOST
    server.ehlo()
    server.starttls()
    server.ehlo()
    server.login(POSTMARK_TOKEN, POSTMARK_TOKEN)
    server.sendmail(sent_from, to, email_text)
    server.close()


if __name__ == "__main__":
    sent_from = "support@example.com"
    to = ["erin@example.org"]
    email_text = (
        "From: support@example.com\r\n"
        "To: erin@example.org\r\n"
        "Subject: Ticket #4471 updated\r\n"
        "\r\n"
        "An agent replied to your ticket. Sign in to read the reply.\r\n"
    )
    send_mail(sent_from, to, email_text)
