"""Sends a disk-space alert through Postmark; urgent ones (`send_alert.py urgent`) get a second tag."""

import smtplib
import sys
from email.message import EmailMessage

urgent = sys.argv[1:] == ["urgent"]

msg = EmailMessage()
msg["Subject"] = "Disk space low on db-1"
msg["From"] = "Monitoring <alerts@ops.example>"
msg["To"] = "oncall@ops.example"
msg["X-PM-Tag"] = "alerts"
if urgent:
    msg["Importance"] = "high"
    msg["X-PM-Tag"] = "urgent"
msg.set_content("db-1 has 3% disk space left.")

with smtplib.SMTP("smtp.postmarkapp.com", 587, timeout=10) as server:
    server.starttls()
    server.login("5e8a1f3c-7b2d-4c9e-a0f1-postmark0003", "5e8a1f3c-7b2d-4c9e-a0f1-postmark0003")
    server.send_message(msg)
print("urgent" if urgent else "normal", "alert sent")
