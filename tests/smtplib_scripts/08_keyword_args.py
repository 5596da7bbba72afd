"""Pattern: keyword arguments only, `smtplib.SMTP(host=..., port=..., timeout=30)`, then starttls(context=...) and login(user=..., password=...)."""

import smtplib
import ssl
from email.message import EmailMessage

if __name__ == "__main__":
    message = EmailMessage()
    message["From"] = "orders@example.com"
    message["To"] = "frank@example.org"
    message["Subject"] = "Order #10023 shipped"
    message.set_content("Your order #10023 left our warehouse today.")

    context = ssl.create_default_context()
    smtp = smtplib.SMTP(host="email-smtp.eu-west-1.amazonaws.com", port=587, timeout=30)
    smtp.starttls(context=context)
    smtp.login(user="AKIAEXAMPLESESUSER02", password="BFakeSesSmtpPasswordForTests1111111111111111")
    smtp.send_message(message)
    smtp.quit()
