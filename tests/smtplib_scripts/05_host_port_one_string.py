"""Pattern: host and port in one string, `smtplib.SMTP("host:587")`, then STARTTLS and login."""

import smtplib
from email.mime.text import MIMEText

MAILGUN_LOGIN = "postmaster@mg.example.com"
MAILGUN_PASSWORD = "fake-mailgun-smtp-password-0d4e7c"

body = "Build #812 of main passed in 6m12s."
msg = MIMEText(body, "plain", "utf-8")
msg["Subject"] = "CI: build #812 passed"
msg["From"] = "ci@example.com"
msg["To"] = "dev-team@example.org"

smtp = smtplib.SMTP("smtp.mailgun.org:587", timeout=10)  # connect() splits "host:port"
smtp.starttls()
smtp.login(MAILGUN_LOGIN, MAILGUN_PASSWORD)
smtp.sendmail("ci@example.com", ["dev-team@example.org"], msg.as_string())
smtp.quit()
