"""Pattern: a Mailer class whose __init__ opens self.server = smtplib.SMTP(...), calls self.server.starttls() and self.server.login(...), with a send() method."""

import smtplib
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText


class Mailer:
    """Keeps one authenticated Mailgun (EU) session open for the lifetime of the object."""

    def __init__(self):
        self.server = smtplib.SMTP("smtp.eu.mailgun.org", 587, timeout=10)
        self.server.starttls()
        self.server.login("postmaster@mg.example.com", "fake-mailgun-eu-password-9a1b2c")

    def send(self, sender, recipient, subject, body):
        msg = MIMEMultipart("alternative")
        msg["From"] = sender
        msg["To"] = recipient
        msg["Subject"] = subject
        msg.attach(MIMEText(body, "plain"))
        msg.attach(MIMEText(f"<p>{body}</p>", "html"))
        self.server.sendmail(sender, [recipient], msg.as_string())

    def close(self):
        self.server.quit()


if __name__ == "__main__":
    mailer = Mailer()
    try:
        mailer.send("newsletter@example.com", "ivan@example.org", "June newsletter", "Here is what shipped in June.")
    finally:
        mailer.close()
