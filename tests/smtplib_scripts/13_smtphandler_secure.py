"""Pattern: logging.handlers.SMTPHandler with mailhost=(host, 587), credentials=(USER, PASSWORD), secure=(); logger.error() sends one mail."""

import logging
import logging.handlers

USER = "alerts@example.com"
PASSWORD = "tgvc mzoa qrlx wpen"  # Gmail app password

mail_handler = logging.handlers.SMTPHandler(
    mailhost=("smtp.gmail.com", 587),
    fromaddr="alerts@example.com",
    toaddrs=["oncall@example.org"],
    subject="[worker] unhandled error",
    credentials=(USER, PASSWORD),
    secure=(),  # STARTTLS with no key/cert file
    timeout=10,
)
mail_handler.setLevel(logging.ERROR)
mail_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s\n\n%(message)s"))

logger = logging.getLogger("worker")
logger.setLevel(logging.INFO)
logger.addHandler(mail_handler)

logger.info("worker started")  # below ERROR: not mailed
logger.error("job 5521 failed: upstream returned HTTP 502 three times")
