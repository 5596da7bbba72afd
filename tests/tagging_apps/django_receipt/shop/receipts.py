"""Order receipts, tagged for Postmark's per-tag statistics."""

from django.conf import settings
from django.core.mail import EmailMessage


def send_receipt(address: str, order_id: str = "A-1042") -> int:
    message = EmailMessage(
        f"Your receipt for order {order_id}",
        f"Thank you for your order {order_id}. Total: 42.00 EUR.",
        settings.DEFAULT_FROM_EMAIL,
        [address],
        headers={"X-PM-Tag": "receipt", "Reply-To": "billing@shop.example"},
    )
    return message.send(fail_silently=False)
