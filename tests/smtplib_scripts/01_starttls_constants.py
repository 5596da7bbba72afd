"""Pattern: module constants SMTP_SERVER/PORT/SENDER/PASSWORD, STARTTLS on 587; SENDER is both the login user and the From address."""

import smtplib
from email.mime.text import MIMEText

# --- SMTP configuration (Google Workspace account for the reports mailbox) ---
SMTP_SERVER = "smtp.gmail.com"
PORT = 587  # STARTTLS
SENDER = "reports@example.com"
PASSWORD = "wxqp brlt zmua ksoe"  # Gmail app password, not the account password
RECIPIENT = "finance@example.org"

msg = MIMEText("The nightly export finished: 1,284 rows written to exports/2024-06-01.csv.")
msg["Subject"] = "Nightly export finished"
msg["From"] = SENDER
msg["To"] = RECIPIENT

server = smtplib.SMTP(SMTP_SERVER, PORT, timeout=10)
server.starttls()  # upgrade the connection before sending the password
server.login(SENDER, PASSWORD)
server.sendmail(SENDER, [RECIPIENT], msg.as_string())
server.quit()
print("Report sent to", RECIPIENT)
