"""Sends the monthly newsletter through Mailgun's SMTP relay, tagged twice for Mailgun's analytics."""

import smtplib
from email.message import EmailMessage

SENDER = "News <news@mg.news.example>"
RECIPIENT = "reader@example.org"

msg = EmailMessage()
msg["Subject"] = "June newsletter"
msg["From"] = SENDER
msg["To"] = RECIPIENT
msg["X-Mailgun-Tag"] = "newsletter"
msg["X-Mailgun-Tag"] = "2024-06"
msg["List-Unsubscribe"] = "<https://news.example/unsubscribe?u=42>"
msg.set_content("This month: three new features and a bug-fix release.")

with smtplib.SMTP("smtp.mailgun.org", 587, timeout=10) as server:
    server.starttls()
    server.login("postmaster@mg.news.example", "key-8f3a1c9e7b5d2f4a6c8e0b1d3f5a7c9e")
    server.send_message(msg)
print("Newsletter sent to", RECIPIENT)
