"""Pattern: `from smtplib import SMTP, SMTP_SSL as S`; the alias S opens implicit TLS to Amazon SES on 465 (no explicit context)."""

from email.message import EmailMessage
from smtplib import SMTP, SMTP_SSL as S

# SES SMTP credentials (IAM user "ses-smtp-user.20240601"), region us-east-1
SES_SMTP_USER = "AKIAEXAMPLESESUSER01"
SES_SMTP_PASSWORD = "BFakeSesSmtpPasswordForTests0000000000000000"


def deliver(client: SMTP, msg: EmailMessage) -> None:
    client.login(SES_SMTP_USER, SES_SMTP_PASSWORD)
    client.send_message(msg)


if __name__ == "__main__":
    msg = EmailMessage()
    msg["Subject"] = "Password reset requested"
    msg["From"] = "no-reply@example.com"
    msg["To"] = "carol@example.org"
    msg.set_content("Someone asked to reset your password. If it was you, use the link in the app.")

    with S("email-smtp.us-east-1.amazonaws.com", 465, timeout=10) as smtp:
        deliver(smtp, msg)
    print("reset mail queued")
