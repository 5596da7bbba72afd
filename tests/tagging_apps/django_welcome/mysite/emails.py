"""Transactional mail sent by the accounts app."""

from django.conf import settings
from django.core.mail import EmailMessage


def send_welcome(address: str) -> int:
    message = EmailMessage(
        subject="Welcome to Acme",
        body="Thanks for signing up! Your account is ready.",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
    )
    return message.send(fail_silently=False)
