"""Pattern: host from os.environ.get("SMTP_HOST", <provider default>), port from env, login(os.environ["SMTP_USER"], os.getenv("SMTP_PASSWORD"))."""

import os
import smtplib
from email.message import EmailMessage

SMTP_HOST = os.environ.get("SMTP_HOST", "smtp.office365.com")
SMTP_PORT = int(os.environ.get("SMTP_PORT", "587"))


def main() -> None:
    msg = EmailMessage()
    msg["From"] = "alerts@example.com"
    msg["To"] = "grace@example.org"
    msg["Subject"] = "Backup completed"
    msg.set_content("The 02:00 backup completed: 14.2 GB in 11 minutes.")

    with smtplib.SMTP(SMTP_HOST, SMTP_PORT, timeout=10) as server:
        server.starttls()
        server.login(os.environ["SMTP_USER"], os.getenv("SMTP_PASSWORD"))
        server.send_message(msg)


if __name__ == "__main__":
    main()
