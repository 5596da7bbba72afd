"""mailmigrate: move a codebase's outgoing mail to MailPace's SMTP service."""

__version__ = "0.1.0"
