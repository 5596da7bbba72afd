"""Pattern: host, port and credentials as local variables inside `def send_report()`, STARTTLS on 587."""

import smtplib
from datetime import date
from email.message import EmailMessage


def send_report(recipient: str) -> None:
    host = "smtp.gmail.com"
    port = 587
    username = "analytics@example.com"
    password = "pnfd qwez lrtc vbya"  # app password

    msg = EmailMessage()
    msg["Subject"] = f"Daily KPI report {date.today():%Y-%m-%d}"
    msg["From"] = "KPI Reports <kpi@example.com>"
    msg["To"] = recipient
    msg.set_content("Signups: 42\nActive users: 1,873\nChurned: 3\n")

    server = smtplib.SMTP(host, port, timeout=10)
    server.starttls()
    server.login(username, password)
    server.send_message(msg)
    server.quit()


if __name__ == "__main__":
    send_report("heidi@example.org")
