"""Pattern: plain SMTP on port 25 with a login and NO starttls() call (credentials cross the wire unencrypted today)."""

import smtplib
from email.message import EmailMessage

# Mailjet relay; port 25 accepts unencrypted sessions, so this script never bothered with TLS.
RELAY_HOST = "in-v3.mailjet.com"
RELAY_PORT = 25
MJ_APIKEY_PUBLIC = "fake0public0key0000000000000001"
MJ_APIKEY_PRIVATE = "fake0private0key000000000000001"

msg = EmailMessage()
msg["Subject"] = "Disk usage above 90% on db-2"
msg["From"] = "monitoring@example.com"
msg["To"] = "sysadmin@example.org"
msg.set_content("/var/lib/postgresql is at 91% on db-2.")

relay = smtplib.SMTP(RELAY_HOST, RELAY_PORT, timeout=10)
relay.login(MJ_APIKEY_PUBLIC, MJ_APIKEY_PRIVATE)
relay.send_message(msg)
relay.quit()
