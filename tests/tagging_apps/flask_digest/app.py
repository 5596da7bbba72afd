"""A Flask app that mails a weekly digest (tagged for Mailgun's analytics) and password resets
through Mailgun's SMTP relay."""

from flask import Flask
from flask_mail import Mail, Message

app = Flask(__name__)
app.config["MAIL_SERVER"] = "smtp.mailgun.org"
app.config["MAIL_PORT"] = 587
app.config["MAIL_USE_TLS"] = True
app.config["MAIL_USERNAME"] = "postmaster@mg.digest.example"
app.config["MAIL_PASSWORD"] = "4b1d9e7c2a6f8e3d5c0b9a7f-2e4c6a8b-1d3f5a7c"
app.config["MAIL_DEFAULT_SENDER"] = "Weekly Digest <digest@digest.example>"
mail = Mail(app)


def send_digest(address: str) -> None:
    with app.app_context():  # Message() reads MAIL_DEFAULT_SENDER from the current app
        message = Message(
            "Your weekly digest",
            recipients=[address],
            body="Here is what happened this week.",
            extra_headers={"X-Mailgun-Tag": "digest"},
        )
        mail.send(message)


def send_password_reset(address: str) -> None:
    with app.app_context():
        message = Message("Reset your password", recipients=[address], body="Follow this link to choose a new password.")
        mail.send(message)
