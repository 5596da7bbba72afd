"""Django settings for the shop: order mail goes out through Postmark."""

SECRET_KEY = "not-a-secret-test-only"
DEBUG = False
INSTALLED_APPS: list[str] = []
DEFAULT_FROM_EMAIL = "Shop Orders <orders@shop.example>"

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "smtp.postmarkapp.com"
EMAIL_PORT = 587
EMAIL_USE_TLS = True
EMAIL_HOST_USER = "9d2c4b1a-0e6f-4a3b-8c7d-postmark0002"
EMAIL_HOST_PASSWORD = "9d2c4b1a-0e6f-4a3b-8c7d-postmark0002"
EMAIL_TIMEOUT = 10
