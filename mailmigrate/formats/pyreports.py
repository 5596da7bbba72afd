"""What the Python handler reports but never edits: names one typo away from a setting, and
sender addresses built from the SMTP username or host."""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterator

from mailmigrate.formats.pysource import Module, assignments, opened, string
from mailmigrate.model import Configuration, FileInfo, Finding
from mailmigrate.rules import Ruleset

# Keys whose value is a sender address: derived from the username or host, it breaks once the
# username is an API token (families.md, trap 5).
FROM_KEYS = frozenset({
    "DEFAULT_FROM_EMAIL", "SERVER_EMAIL", "MAIL_DEFAULT_SENDER", "SMTP_MAIL_FROM", "EMAIL_FROM",
    "MAIL_FROM", "MAIL_FROM_ADDRESS", "FROM_EMAIL", "SMTP_FROM",
})

def misspelled(module: Module, file: FileInfo, rules: Ruleset) -> Iterator[Finding]:
    """EMAIL_USE_TSL: a name one typo away from a real key is a bug the framework ignores."""
    known = {k for f in rules.families for form in f.forms.values() for k in form.keys if k.isupper()}
    for node in opened(module.tree.body):
        for target, _ in assignments(node):
            if isinstance(target, ast.Name) and target.id.isupper() and target.id not in known:
                close = difflib.get_close_matches(target.id, known, n=1, cutoff=0.9)
                if close and close[0].split("_")[0] == target.id.split("_")[0]:
                    yield Finding(
                        "MM114", file.display, target.lineno, target.col_offset + 1,
                        f"{target.id} looks like a misspelling of {close[0]}; the framework ignores it",
                    )


def derived_from(module: Module, file: FileInfo, configs: list[Configuration]) -> Iterator[Finding]:
    """A sender built from the username or host: `DEFAULT_FROM_EMAIL = EMAIL_HOST_USER`,
    `MAIL_DEFAULT_SENDER = MAIL_USERNAME` in a config class, `app.config["MAIL_DEFAULT_SENDER"] =
    app.config["MAIL_USERNAME"]`, `f"Site <{EMAIL_HOST_USER}>"`."""
    sources = {s.key for c in configs for role, s in c.settings.items() if role in ("user", "host")}
    if not sources:
        return
    for node in ast.walk(module.tree):
        for target, value in assignments(node):
            name = target.id if isinstance(target, ast.Name) else string(getattr(target, "slice", None))
            if name not in FROM_KEYS:
                continue
            used = set()
            for inner in ast.walk(value):
                if isinstance(inner, ast.Name):
                    used.add(inner.id)
                elif isinstance(inner, ast.Attribute):
                    used.add(inner.attr)
                elif isinstance(inner, ast.Subscript) and string(inner.slice):
                    used.add(str(string(inner.slice)))
            if used & sources:
                yield Finding(
                    "MM202", file.display, target.lineno, target.col_offset + 1,
                    f"{name} is built from {sorted(used & sources)[0]}; with MailPace the username is an API "
                    "token and the host is smtp.mailpace.com: set a real sender address on your domain",
                )
