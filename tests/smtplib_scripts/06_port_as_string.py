"""Pattern: the port given as a string, `smtplib.SMTP(SMTP_HOST, "587")`, STARTTLS, login with the "apikey" user."""

import smtplib
from email.message import EmailMessage

SMTP_HOST = "smtp.sendgrid.net"
SMTP_PORT = "587"  # copied from the provider's settings page as text
SMTP_USER = "apikey"
SMTP_PASS = "SG.fakeKeyForTests0002.Zx8Cv7Bn6Mm5Ll4Kk3Jj2Hh1Gg0Ff9Dd8Ss7Aa6Qq"


def main() -> None:
    msg = EmailMessage()
    msg["Subject"] = "Welcome aboard"
    msg["From"] = "hello@example.com"
    msg["To"] = "dave@example.org"
    msg.set_content("Welcome to Example! Your account is ready.")

    server = smtplib.SMTP(SMTP_HOST, SMTP_PORT, timeout=10)
    try:
        server.starttls()
        server.login(SMTP_USER, SMTP_PASS)
        server.send_message(msg)
    finally:
        server.quit()


if __name__ == "__main__":
    main()
