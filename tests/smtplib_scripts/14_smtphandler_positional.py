"""Pattern: SMTPHandler called positionally, `SMTPHandler((host, 587), fromaddr, [toaddr], subject, credentials=(...))`, with NO secure= argument."""

import logging
from logging.handlers import SMTPHandler


def configure_logging() -> logging.Logger:
    handler = SMTPHandler(
        ("smtp.sendgrid.net", 587),
        "alerts@example.com",
        ["ops@example.com"],
        "Error",
        credentials=("apikey", "SG.fakeKeyForTests0003.Pl0Ok9Ij8Uh7Yg6Tf5Rd4Es3Wa2Qz1Xc0Vb9Nm8"),
        timeout=10,
    )
    handler.setLevel(logging.ERROR)
    log = logging.getLogger("billing")
    log.addHandler(handler)
    return log


if __name__ == "__main__":
    log = configure_logging()
    try:
        {}["customer_id"]
    except KeyError:
        log.exception("could not charge subscription: missing customer_id")
