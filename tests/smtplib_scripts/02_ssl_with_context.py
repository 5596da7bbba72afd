"""Pattern: implicit TLS on 465 as a with-block, `with smtplib.SMTP_SSL(host, 465, context=ssl.create_default_context()) as server:`, login, send_message."""

import smtplib
import ssl
from email.message import EmailMessage

GMAIL_USER = "digest@example.com"
GMAIL_APP_PASSWORD = "hmzt qovc ylra nbwe"


def build_message() -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = "Your weekly summary"
    msg["From"] = "Weekly Digest <digest@example.com>"
    msg["To"] = "bob@example.org"
    msg.set_content("Hi Bob,\n\n3 new comments and 1 mention this week.\n\n-- The digest bot\n")
    return msg


def main() -> None:
    msg = build_message()
    # Implicit TLS from the first byte, with certificate verification.
    with smtplib.SMTP_SSL("smtp.gmail.com", 465, context=ssl.create_default_context(), timeout=10) as server:
        server.login(GMAIL_USER, GMAIL_APP_PASSWORD)
        server.send_message(msg)
    print("Digest sent")


if __name__ == "__main__":
    main()
