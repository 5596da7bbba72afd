"""Pattern: `import smtplib as s` alias, SendGrid STARTTLS with the literal "apikey" user and ehlo() around starttls()."""

import smtplib as s
from email.message import EmailMessage

SENDGRID_API_KEY = "SG.fakeKeyForTests0001.q7Xc2mVb9LpA4sD8fG1hJ6kZ3wE5rT0yU2iO4pN8mQ"

msg = EmailMessage()
msg["From"] = "billing@example.com"
msg["To"] = "customer@example.org"
msg["Subject"] = "Invoice INV-2024-0117"
msg.set_content("Thanks for your payment of $49.00. Your invoice is attached to your account page.")

conn = s.SMTP("smtp.sendgrid.net", 587, timeout=10)
conn.ehlo()
conn.starttls()
conn.ehlo()
conn.login("apikey", SENDGRID_API_KEY)
conn.send_message(msg)
conn.quit()
