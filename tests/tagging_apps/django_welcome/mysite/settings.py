"""Django settings: outgoing mail through Postmark's SMTP server."""

from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "not-a-secret-test-only"
DEBUG = False
INSTALLED_APPS: list[str] = []
DEFAULT_FROM_EMAIL = "Acme <hello@acme.example>"

# Postmark: the server API token is both the SMTP user name and the password.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "smtp.postmarkapp.com"
EMAIL_PORT = 587
EMAIL_USE_TLS = True
EMAIL_HOST_USER = "3f1b9c2e-5a7d-4e8f-9b0c-postmark0001"
EMAIL_HOST_PASSWORD = "3f1b9c2e-5a7d-4e8f-9b0c-postmark0001"
EMAIL_TIMEOUT = 10
