"""The data every stage passes along: files, settings, configurations, edits and findings.

Everything here is a plain, frozen-where-possible dataclass so that stages stay decoupled: a format
handler produces `Configuration`s, the planner turns them into `ConfigPlan`s, the engine turns
those into `Edit`s, and only the CLI turns results into text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailmigrate.rules import Family


class Mode(StrEnum):
    """How a client encrypts the SMTP session."""

    STARTTLS = "starttls"
    IMPLICIT = "implicit"
    NONE = "none"


ALL_MODES: frozenset[Mode] = frozenset(Mode)


class Status(StrEnum):
    """What the planner concluded about one configuration."""

    MIGRATE = "migrate"  # not MailPace yet: edits planned
    MAILPACE = "mailpace"  # already MailPace-consistent
    LOCAL = "local"  # points at a local server or mail catcher: left alone
    INACTIVE = "inactive"  # the family's switch says mail is not sent over SMTP (MAIL_MAILER=log)
    SUPPRESSED = "suppressed"  # a mailmigrate: ignore comment asks us to leave it
    ATTENTION = "attention"  # needs a person: findings without an automatic fix


@dataclass(frozen=True)
class FileInfo:
    """A file discovered for processing, with what git says about it."""

    path: Path  # absolute
    display: str  # as shown to the user: relative to the working directory when possible
    kind: str  # format handler name ("env", ...)
    tracked: bool  # git tracks it: it never receives the token
    ignored: bool  # git ignores it (an env file here is a secrets file)
    in_git: bool  # inside a git work tree at all

    @property
    def is_template(self) -> bool:
        return is_template_name(self.path.name)

    @property
    def is_secrets_file(self) -> bool:
        """May hold the token itself: an env file ignored by git (or outside git), not a template.
        Code and structured config files never hold it: they refer to the token variable."""
        # Home Assistant's secrets.yaml is its env file: `!secret name` values live there.
        secrets_yaml = self.kind == "yaml" and self.path.name in ("secrets.yaml", "secrets.yml")
        if not (self.kind == "env" or secrets_yaml) or self.tracked or self.is_template:
            return False
        return self.ignored or not self.in_git


TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".tpl")
TEMPLATE_WORDS = ("example", "sample", "template", "dist", "tpl")


def is_template_name(name: str) -> bool:
    """`.env.example`, `settings.py.dist`, `env.sample`, `.env-template`, `example.env`."""
    lowered = name.lower()
    if lowered.endswith(TEMPLATE_SUFFIXES):
        return True
    parts = [p for p in lowered.replace("-", ".").replace("_", ".").split(".") if p]
    return any(part in TEMPLATE_WORDS for part in parts)


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] (character offsets in the decoded file) with `text`."""

    start: int
    end: int
    text: str


@dataclass
class Setting:
    """One key's value as written in a file."""

    key: str  # as written, e.g. EMAIL_HOST or BULK_SMTP_PORT
    role: str  # host, port, user, password, url, hostport, or a family-declared name
    value: str  # the value the application sees (quotes and escapes removed)
    start: int  # span of the value's text inside the file (inside any quotes)
    end: int
    line: int  # 1-based
    col: int  # 1-based
    quote: str = ""  # '', '"' or "'": how the value is quoted in the file
    env_ref: str | None = None  # the value is `${NAME}`: it comes from variable NAME
    env_default: str | None = None  # `${NAME:-default}`
    default_span: tuple[int, int] | None = None  # where that default is written
    default_quote: str | None = None  # how the default is written (Python: a string, a number)
    default_outer: tuple[int, int] | None = None  # the default's whole literal (for a reference)
    outer: tuple[int, int] | None = None  # the whole literal, quotes included (to put code there)
    opaque: str | None = None  # why the value cannot be edited here (computed: `get_host()`)
    known: bool = True  # False when the value is computed and cannot be read statically
    source: FileInfo | None = None  # written in another file than its configuration's (base.py)
    is_default: bool = False  # the default inside an environment lookup, not a value of its own
    inherited: bool = False  # comes from a base class / star-imported module: override, never edit
    covered: bool = False  # inherited from a base that is migrated itself: no override needed
    # A flag read through a comparison (`os.environ.get("X", "false") == "True"`): the spellings
    # that make it true, and whether the comparison ignores case (`.lower() in (...)`).
    true_words: tuple[str, ...] | None = None
    fold_case: bool = False
    # The value it reads is read by other code too (SENDER is the login user and the From
    # address): a credential is replaced here, where it is passed, never at its source.
    shared: bool = False
    # The format handler's own notes on how this value is written (smtplib: the spellings of
    # the SMTP classes in this module; a call statement to drop).
    handler_data: object = None

    def default_setting(self) -> Setting | None:
        """The default of `${NAME:-default}` (or os.environ.get's) as a setting of its own."""
        if self.default_span is None or self.env_default is None:
            return None
        start, end = self.default_span
        return Setting(f"{self.key} (default of ${{{self.env_ref}}})", self.role, self.env_default,
                       start, end, self.line, self.col, quote=self.default_quote or RAW,
                       outer=self.default_outer, is_default=True)


def port_number(text: str | None) -> int | None:
    """A TCP port written as ASCII digits (1-65535), or None: never int() of arbitrary text,
    which accepts "²" and "٣" and refuses 5,000 digits with an exception."""
    digits = (text or "").strip()
    if not digits or len(digits) > 5 or not digits.isascii() or not digits.isdigit():
        return None
    number = int(digits)
    return number if 0 < number < 65536 else None


RAW = "raw"  # Setting.quote of a value written inside another construct: replaced verbatim
PENDING = "pending"  # Setting.quote of a key another configuration is adding in this run


@dataclass
class Configuration:
    """One family's settings in one scope (here: one env file, one prefix, one URL)."""

    family: Family
    kind: str  # the form the family is written in: "env", ...
    file: FileInfo
    scope: str  # human words for the scope: "BULK_ settings", "EMAIL_URL"
    prefix: str
    settings: dict[str, Setting]  # by role
    insert_at: int  # character offset where a missing setting is added
    line: int  # first line of the configuration
    handler_data: object = None  # the format handler's own notes (where additions go)
    # Only part of the app's configuration (app.config.update(...), get_connection(host=...)):
    # the rest may be set elsewhere, so missing credentials are a follow-up, not an addition.
    partial: bool = False
    # Credentials here are read by other configurations too (a base class): refer to the token
    # softly, so a TestingConfig beside it still imports where the variable is unset.
    soft_credentials: bool = False
    # The port the client uses when none is written, when it differs from the family's
    # (smtplib.SMTP_SSL connects to 465, smtplib.SMTP to 25).
    default_port: int | None = None
    # Roles the handler cannot add here, with the reason (a chained `SMTP(host).sendmail(...)`
    # has no statement to put `starttls()` after): planning them blocks the configuration.
    cannot_add: dict[str, str] = field(default_factory=dict)
    # Env variables inside another format (docker-compose `environment:`): the family's env form
    # names the keys, and the container's own syntax refers to the token (`${MAILPACE_API_TOKEN}`).
    form_kind: str | None = None
    secret_reference: str | None = None

    def get(self, role: str) -> Setting | None:
        return self.settings.get(role)

    def key_for(self, role: str) -> str:
        """The key a missing setting of `role` gets, in this configuration's naming."""
        return self.prefix + self.family.form(self.form_kind or self.kind).primary_key(role)


@dataclass(frozen=True)
class Finding:
    """A problem to show: a code, where, and a sentence. Never holds a secret unmasked."""

    code: str
    path: str
    line: int
    col: int
    message: str
    fixable: bool = False  # `migrate --write` fixes it

    def sort_key(self) -> tuple[str, int, int, str, str]:
        # the message last: two findings of one code at one place print in a stable order
        return (self.path, self.line, self.col, self.code, self.message)


@dataclass(frozen=True)
class ValueChange:
    """Set an existing setting's value (already rendered for the file's syntax)."""

    setting: Setting
    file: FileInfo
    new_value: str
    secret: bool = False


@dataclass(frozen=True)
class Addition:
    """Add a key the family needs but the configuration lacks."""

    configuration: Configuration
    key: str
    value: str
    secret: bool = False  # the value is the token itself


@dataclass
class ConfigPlan:
    """What the planner decided for one configuration."""

    configuration: Configuration
    status: Status
    provider: str | None  # "SendGrid", "MailPace", "MailPace (legacy name)", None when unknown
    findings: list[Finding] = field(default_factory=list)
    changes: list[ValueChange] = field(default_factory=list)
    additions: list[Addition] = field(default_factory=list)
    followups: list[str] = field(default_factory=list)
    target: tuple[int, Mode] | None = None  # planned MailPace port and mode
    needs_token: bool = False  # a change writes the token itself
    secrets: set[str] = field(default_factory=set)  # passwords seen: masked in every output

    @property
    def has_edits(self) -> bool:
        return bool(self.changes or self.additions)
