"""Decides, per configuration, what MailPace wants: the semantic half of a migration.

The planner never sees file syntax. It reads a `Configuration`'s values, applies the port policy,
the family's encryption rules and the secret rules, and returns a `ConfigPlan` of plain values
("set EMAIL_USE_TLS to True", "add SPRING_MAIL_PROPERTIES_MAIL_SMTP_AUTH=true"). Format handlers
then decide how each value is written in place.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from mailmigrate import providers
from mailmigrate.filekinds import SECRETS_YAML
from mailmigrate.model import (
    PENDING,
    Addition,
    ConfigPlan,
    Configuration,
    FileInfo,
    Finding,
    Mode,
    Setting,
    Status,
    ValueChange,
    port_number,
)
from mailmigrate.encryption import Slot, plan_slots, read_mode, target_port_mode
from mailmigrate.rules import parse_bool, spell_bool
from mailmigrate.smtpurl import SmtpUrl, parse_url

MASK = "********"
COMPUTED = "<computed>"  # a flag's value read from code mailmigrate cannot follow
DEFAULT_TOKEN_ENV = "MAILPACE_API_TOKEN"

# Usernames that belong to one provider's scheme, never to MailPace's (username = token).
PROVIDER_USERS = frozenset({"apikey", "smtp_injection", "resend", "api", "loops"})
_PLACEHOLDER = re.compile(
    r"(<[^>]*>|\{\{[^}]*\}\}|x{3,}|\*{3,}|\.{3}|your[-_ ].*|change[-_ ]?me|replace[-_ ]?me|"
    r"todo|secret|password|token|none|null|~)",
    re.IGNORECASE,
)

Definitions = Callable[[str], list[tuple[Setting, FileInfo]]]


def _no_definitions(name: str) -> list[tuple[Setting, FileInfo]]:
    return []


@dataclass(frozen=True)
class PlanContext:
    token: str | None = None
    token_env: str = DEFAULT_TOKEN_ENV
    forced_port: int | None = None
    include_local: bool = False
    definitions: Definitions = field(default=_no_definitions)

    @property
    def token_text(self) -> str:
        """What a secrets file receives: the token, or the mask in a dry run without one."""
        return self.token if self.token else MASK

    def is_token(self, value: str) -> bool:
        return value == self.token_text


# --------------------------------------------------------------------------------------------


class _Planner:
    """Plans one configuration. Kept as a small class so the steps share the findings list."""

    def __init__(self, config: Configuration, ctx: PlanContext) -> None:
        self.config = config
        self.family = config.family
        self.ctx = ctx
        self.plan = ConfigPlan(configuration=config, status=Status.MIGRATE, provider=None)
        self.bool_like = self._bool_spelling()
        self.on_mailpace = False  # the configuration already points at smtp.mailpace.com
        # the host or port cannot be written here: nothing else may change either (the token
        # must never go to the old provider's server)
        self.blocked = False
        # a change this configuration needs is made by the env file's own configuration
        self.deferred = False
        # credentials left empty in tracked files: named in a follow-up when the config moves
        self.deployment_credentials: list[str] = []
        # variables this configuration reads whose env-file values change: deployment needs them too
        self.deployment_variables: dict[str, str] = {}

    # -- values ------------------------------------------------------------------------------

    def targets(self, setting: Setting) -> list[tuple[Setting, FileInfo]]:
        """Where a setting's value is really written: the setting itself, or the env files that
        define the variable it refers to and the lookup's default (`os.environ.get("MAIL_SERVER",
        "smtp.googlemail.com")` is what runs wherever the variable is unset), definitions first."""
        if setting.env_ref is None:
            return [] if setting.opaque else [(setting, setting.source or self.config.file)]
        found = [
            (definition, file)
            for definition, file in self.ctx.definitions(setting.env_ref)
            # `EMAIL_HOST=${EMAIL_HOST:-smtp.sendgrid.net}` refers to the environment, not itself
            if not (file.path == self.config.file.path and definition.start == setting.start)
        ]
        default = setting.default_setting()
        if default is not None and (not found or self._provider_defaults()):
            found.append((default, self.config.file))
        return found

    def _provider_defaults(self) -> bool:
        """The lookups' defaults form a provider configuration of their own (a host default
        such as smtp.googlemail.com): rewritten together with the env files. Defaults behind a
        required host variable, or pointing at a local server, stay as they are."""
        host = self.config.get("host")
        fallback = host.env_default if host is not None and host.env_ref else None
        if fallback is None or not fallback.strip():
            return False
        return not (providers.catcher_of(fallback) or providers.is_loopback(fallback))

    def value(self, role: str) -> str | None:
        """The effective value; None when it cannot be known here (set only in deployment)."""
        setting = self.config.get(role)
        if setting is None or (setting.env_ref is None and not setting.known):
            return None
        if setting.env_ref is None:
            return self._normal(setting.value)
        targets = self.targets(setting)
        if not targets:
            return None
        raw = self._normal(targets[0][0].value)
        if setting.true_words is not None:  # read through `== "True"` / `.lower() in (...)`
            words = {w.lower() for w in setting.true_words} if setting.fold_case else set(setting.true_words)
            return "true" if (raw.lower() if setting.fold_case else raw) in words else "false"
        return raw

    def _normal(self, value: str) -> str:
        return "" if value.strip().lower() in self.family.empty_values else value

    def _bool_spelling(self) -> str | None:
        for setting in self.config.settings.values():
            if setting.role in self.family.encryption or setting.role in self.family.switches:
                if parse_bool(setting.value) is not None and setting.value.strip() not in ("", "0", "1"):
                    return setting.value.strip()
        return None

    def spell(self, value: str | bool) -> str:
        if isinstance(value, bool):
            return spell_bool(value, self.bool_like, self.family.booleans)
        return value

    # -- output helpers ----------------------------------------------------------------------

    def finding(self, code: str, setting: Setting | None, message: str, fixable: bool = True) -> None:
        line, col = (setting.line, setting.col) if setting else (self.config.line, 1)
        path = self.config.file.display
        self.plan.findings.append(Finding(code, path, line, col, message, fixable))

    def set_value(self, role: str, value: str | bool, *, secret: bool = False) -> bool:
        """Write `value` where the setting's value lives; False when it cannot be written here.
        A boolean is spelled like the value it replaces (`false` → `true`), else like its
        siblings, or as the settings module compares it (`== "True"`)."""
        setting = self.config.settings[role]
        if setting.inherited and setting.covered and role in ("host", "hostport"):
            return True  # the base class's own configuration moves the host
        if setting.inherited:
            # From a base class or a star-imported module that others use too: override here.
            self.add(role, self.spell(value) if isinstance(value, bool) else value)
            return True
        targets = self.targets(setting)
        if not targets and setting.env_ref:
            self.finding(
                "MM111", setting,
                f"{setting.key} comes from ${{{setting.env_ref}}}, which no file here defines: "
                f"set it to {self.spell(value)} where the app is deployed",
                fixable=False,
            )
            return False
        if not targets:
            todo = "remove it by hand" if setting.key.endswith("()") else f"set it to {self.spell(value)} by hand"
            self.finding("MM115", setting, f"{setting.key} is {setting.opaque}: {todo}", fixable=False)
            return False
        if setting.env_ref:
            shown = self.spell(value) if setting.true_words is None or not isinstance(value, bool) else self._compared(setting, value)
            if any(file.kind == "env" for _, file in targets):
                self.deployment_variables.setdefault(setting.env_ref, shown)
            else:  # only the lookup's default changes: deployment may set the variable too
                self.deployment_variables.setdefault(setting.env_ref, f"{shown} (if it is set)")
        for target, file in targets:
            if isinstance(value, bool) and setting.true_words is not None:
                text = self._compared(setting, value)
            elif isinstance(value, bool):
                like = target.value.strip() if parse_bool(target.value) is not None and target.value.strip() else self.bool_like
                text = spell_bool(value, like, self.family.booleans)
            else:
                text = value
            # A key another configuration adds or holds is that configuration's to write.
            if target.value != text and target.quote == PENDING:
                self.deferred = True
            elif target.value != text:
                self.plan.changes.append(ValueChange(target, file, text, secret))
        return True

    def _compared(self, setting: Setting, value: bool) -> str:
        """The spelling that makes `== "True"` / `in ("true", "1")` say `value`."""
        assert setting.true_words is not None
        first = setting.true_words[0] if setting.true_words else "true"
        return first if value else spell_bool(False, first, ("true", "false"))

    def add(self, role: str, value: str, *, secret: bool = False) -> bool:
        """Plan an addition; False (and the configuration blocked) where the handler cannot
        write one: then the rest would only move the token to a login that cannot work."""
        reason = self.config.cannot_add.get(role)
        if reason is not None:
            if not any(reason in f.message for f in self.plan.findings):  # one finding per reason
                self.finding("MM107", None, f"{self.config.key_for(role)} is needed but cannot be added: {reason}", fixable=False)
            self.blocked = True
            return False
        self.plan.additions.append(Addition(self.config, self.config.key_for(role), value, secret))
        return True

    def followup(self, text: str) -> None:
        if text not in self.plan.followups:
            self.plan.followups.append(text)

    # -- the plan ----------------------------------------------------------------------------

    def run(self) -> ConfigPlan:
        if "url" in self.config.settings:
            return self.run_url()
        if self.inactive():
            return self.plan
        host, port_text = self.host_and_port()
        if host is None:
            return self.unresolved("host")
        if self.left_local(host):
            return self.plan
        # The legacy OhMySMTP name is MailPace with the same tokens: only the host changes.
        self.on_mailpace = providers.is_mailpace(host) or providers.is_legacy_mailpace(host)
        port = self.parse_port(port_text)
        if port is None:  # computed or set only in deployment: say what is known, change nothing
            if not self.on_mailpace and host.strip():
                provider = providers.provider_of(host)
                setting = self.config.settings.get("host") or self.config.settings.get("hostport")
                self.finding(
                    "MM101", setting,
                    f"{provider + ' host' if provider else 'host'} {host.strip()} is not MailPace; its port cannot be "
                    "read here, so nothing was changed",
                    fixable=False,
                )
            self.report_credentials()
            self.plan.status = Status.ATTENTION
            return self.plan
        slots = self.slots(port)
        reading = read_mode(self.family, slots, port)
        if reading.unknown:
            self.report_credentials()  # a literal secret in git is flagged whatever else is wrong
            return self.unknown_values(reading.unknown)
        target_port, target_mode = self.target(port, reading.mode)
        if target_mode not in self.family.modes:
            return self.unsupported(target_port, target_mode)

        self.plan_host(host, port, target_port)
        self.plan_port_mirrors(target_port)
        self.plan_encryption(slots, reading.mode, target_mode, target_port)
        self.plan_switches()
        self.plan_credentials()
        return self.finish(host)

    def unsupported(self, port: int, mode: Mode) -> ConfigPlan:
        """--port asks for a mode this client cannot speak (SMTPHandler has no implicit TLS)."""
        self.finding(
            "MM105", self.config.get("port") or self.config.get("host"),
            f"{self.family.title} cannot use {mode.value} TLS (port {port}); nothing was changed here: "
            f"migrate it without --port {port}",
            fixable=False,
        )
        self.plan.status = Status.ATTENTION
        return self.plan

    def inactive(self) -> bool:
        for name, switch in self.family.switches.items():
            if switch.is_inactive(self.value(name)):
                self.plan.status = Status.INACTIVE  # shown by scan; nothing for a person to do
                return True
        return False

    def host_and_port(self) -> tuple[str | None, str | None]:
        if "hostport" in self.config.settings:
            combined = self.value("hostport")
            if combined is None:
                return None, None
            return split_hostport(combined)
        port = self.value("port") if "port" in self.config.settings else None
        if "host" not in self.config.settings:
            return "", port  # a preset (SMTP_SERVICE, MAIL_MAILER=mailgun) stands for the host
        return self.value("host"), port

    def left_local(self, host: str) -> bool:
        if not host.strip():
            return False  # an empty host is a template waiting for values: filled in
        catcher = providers.catcher_of(host)
        # --include-local covers the `localhost:25` placeholders templates commit, nothing else.
        placeholder = providers.normalise_host(host) in ("localhost", "127.0.0.1") and self.value("port") != "1025"
        if catcher or (providers.is_loopback(host) and not (self.ctx.include_local and placeholder)):
            self.plan.status = Status.LOCAL
            self.plan.provider = f"local ({catcher or host.strip()})"
            return True
        return False

    def parse_port(self, text: str | None) -> int | None:
        if text is None or not text.strip():
            if "port" in self.config.settings and self.value("port") is None:
                self.unresolved("port")
                return None
            if text is not None:
                return 0  # `EMAIL_PORT=` in a template: no port yet; the policy picks MailPace's
            return self.config.default_port or self.family.default_port
        number = port_number(text)
        if number is not None:
            return number
        role = "port" if "port" in self.config.settings else "hostport"
        self.finding("MM006", self.config.settings.get(role), f"port {text.strip()!r} is not a port number", False)
        self.plan.status = Status.ATTENTION
        return None

    def slots(self, port: int) -> dict[str, Slot]:
        slots = {}
        for name, spec in self.family.encryption.items():
            value = self.value(name)
            setting = self.config.get(name)
            if value is None and setting is not None and setting.env_ref is None and not setting.known:
                value = COMPUTED  # computed by code: unknown, never taken for "not set"
            slots[name] = Slot(spec, setting is not None, value)
        return slots

    def target(self, port: int, mode: Mode | None) -> tuple[int, Mode]:
        if mode is None:  # conflicting flags: the port decides which one stays
            mode = Mode.IMPLICIT if port == providers.MAILPACE_IMPLICIT_PORT else Mode.STARTTLS
        target = target_port_mode(port, mode, self.ctx.forced_port)
        self.plan.target = target
        return target

    def plan_host(self, host: str, port: int, target_port: int) -> None:
        hostport = "hostport" in self.config.settings
        if not providers.is_mailpace(host):
            setting = self.config.settings.get("hostport" if hostport else "host")
            provider = providers.provider_of(host)
            if providers.is_legacy_mailpace(host):
                self.finding("MM102", setting, f"legacy MailPace host {host.strip()}: use {providers.MAILPACE_HOST}")
            elif setting is None:
                pass  # the MM107 for the missing host says it
            elif not host.strip():
                self.finding("MM101", setting, f"{setting.key} is empty: MailPace's host will be filled in")
            else:
                named = f"{provider} host" if provider else "host"
                self.finding("MM101", setting, f"{named} {host.strip()} is not MailPace ({providers.MAILPACE_HOST})")
        if not hostport and "host" not in self.config.settings:
            if self.add("host", providers.MAILPACE_HOST):
                self.finding("MM107", None, f"{self.config.key_for('host')} is missing: MailPace's host is added")
        elif hostport:
            wanted = f"{providers.MAILPACE_HOST}:{target_port}"
            if self.value("hostport") != wanted:
                self.blocked |= not self.set_value("hostport", wanted)
                if port != target_port:
                    self.port_finding(self.config.settings["hostport"], port, target_port)
            # Gitea 1.18+ reads SMTP_ADDR/SMTP_PORT before the old HOST = host:port: both move.
            if "host" in self.config.settings and self.value("host") != providers.MAILPACE_HOST:
                self.blocked |= not self.set_value("host", providers.MAILPACE_HOST)
            if "port" in self.config.settings and self.value("port") != str(target_port):
                self.blocked |= not self.set_value("port", str(target_port))
            return
        elif not providers.is_mailpace(host) or host != host.strip():
            self.blocked |= not self.set_value("host", providers.MAILPACE_HOST)
        port_setting = self.config.get("port")
        if port_setting is not None and port == 0:
            self.set_value("port", str(target_port))  # an empty EMAIL_PORT= in a template: fill it in
        elif port != target_port:
            if port_setting is not None:
                self.blocked |= not self.set_value("port", str(target_port))
                self.port_finding(port_setting, port, target_port)
            elif self.add("port", str(target_port)):
                self.finding(
                    "MM107", None,
                    f"{self.config.key_for('port')} is missing ({self.family.title} uses {port}); "
                    f"MailPace needs {target_port}",
                )

    def plan_port_mirrors(self, target_port: int) -> None:
        """Keys that repeat the port (JavaMail's socketFactory.port) follow the planned one."""
        for role in self.family.port_mirrors:
            setting = self.config.get(role)
            if setting is not None and self.value(role) != str(target_port):
                self.blocked |= not self.set_value(role, str(target_port))
                self.finding("MM105", setting, f"{setting.key}={self.value(role)} must repeat the port: {target_port}")

    def port_finding(self, setting: Setting, port: int, target_port: int) -> None:
        if port not in providers.MAILPACE_STARTTLS_PORTS and port != providers.MAILPACE_IMPLICIT_PORT:
            self.finding("MM103", setting, f"port {port} is not a MailPace port: use {target_port}")
        else:
            self.finding("MM105", setting, f"port {port} does not fit the encryption: use {target_port}")

    def plan_encryption(self, slots: dict[str, Slot], mode: Mode | None, target: Mode, port: int) -> None:
        chosen = plan_slots(self.family, slots, target, port)
        for name, value in chosen.items():
            text = self.spell(value)
            setting = self.config.get(name)
            if setting is not None and setting.key.endswith("()"):  # a call: starttls()
                # A call the tool cannot remove blocks the rest: SMTP_SSL plus starttls() fails.
                self.blocked |= not self.set_value(name, value)
                self.finding("MM105" if mode is not None else "MM106", setting, f"{setting.key} is called: STARTTLS does not fit implicit TLS on port {port}; it is removed")
            elif setting is not None:
                self.set_value(name, value)
                current = self.value(name) if self.value(name) is not None else setting.value
                if mode is None:
                    code, why = "MM106", "STARTTLS and implicit TLS are both switched on"
                elif mode is Mode.NONE:
                    code, why = "MM104", "mail is sent without TLS; MailPace needs TLS before AUTH"
                else:
                    code, why = "MM105", f"{mode.value} does not fit port {port}"
                self.finding(code, setting, f"{setting.key}={current}: {why}; set {text}")
            elif self.config.key_for(name).endswith("()"):
                key = self.config.key_for(name)
                if self.add(name, text):
                    self.finding("MM104", None, f"{key} is never called, so {self.family.title} sends without TLS; MailPace on port {port} needs it")
            elif self.add(name, text):
                key = self.config.key_for(name)
                if mode is Mode.NONE:
                    consequence = f"so {self.family.title} sends without TLS"
                elif mode is not target and mode is not None:
                    consequence = f"so {self.family.title} uses {mode.value}"
                else:
                    consequence = f"and {self.family.title}'s default does not fit"
                self.finding("MM107", None, f"{key} is missing, {consequence}; MailPace on port {port} needs {key}={text}")

    def plan_switches(self) -> None:
        for name, switch in self.family.switches.items():
            ok = switch.is_ok(self.value(name))
            if ok is not False:
                continue
            text = self.spell(switch.write)
            setting = self.config.get(name)
            if setting is not None:
                self.set_value(name, switch.write)
                self.finding("MM109", setting, f"{setting.key}={self.value(name)}: SMTP with login needs {text or 'it empty'}")
            elif self.add(name, text):
                self.finding("MM107", None, f"{self.config.key_for(name)} is missing: SMTP with login needs {text or 'it empty'}")

    def credential_for(self, file: FileInfo) -> tuple[str, bool]:
        """(value, is_the_token) a credential gets in `file` under the secret rules: the token in
        a secrets file, else a reference in the file's own syntax, else an empty value."""
        if file.is_secrets_file:
            return self.ctx.token_text, True
        if self.config.secret_reference is not None and file.path == self.config.file.path:
            return self.config.secret_reference.format(var=self.ctx.token_env, var_lower=self.ctx.token_env.lower()), False
        form = self.family.forms.get(file.kind)
        # Home Assistant's secrets.yaml holds values, not references (`!secret` cannot nest):
        # tracked by git, its credential is emptied like an env template's.
        if form is not None and form.secret_reference and file.path.name.lower() not in SECRETS_YAML:
            return form.secret_reference.format(var=self.ctx.token_env, var_lower=self.ctx.token_env.lower()), False
        return "", False

    def credential_ok(self, value: str, file: FileInfo, wanted: str, is_token: bool) -> bool:
        if value == wanted:
            return True
        if is_token:
            # Without a token we cannot tell a correct one: on a MailPace host, user == password
            # (not a provider's fixed user) counts as migrated. Moving off another provider,
            # its credentials are that provider's whatever they look like (Postmark's are equal).
            return (
                not self.ctx.token
                and self.on_mailpace
                and bool(value)
                and value.lower() not in PROVIDER_USERS
                and self.value("user") == self.value("password")
            )
        return not value.strip() or bool(_PLACEHOLDER.fullmatch(value.strip()))

    def sender_from_username(self) -> None:
        """A sender written as the username (Home Assistant's `sender: !secret gmx_username`,
        `from: CI <${{ secrets.MAIL_USERNAME }}>`): once the username is the token, so is the From."""
        sender, user = self.config.get("sender"), self.config.get("user")
        if sender is None or user is None:
            return
        if user.env_ref is None:
            return  # a literal username: the sender written beside it stays what it is
        # The same variable or secret, alone or inside the sender (`CI <${{ secrets.MAIL_USERNAME }}>`)
        if user.env_ref == sender.env_ref or user.value.strip() in sender.value:
            self.finding(
                "MM202", sender,
                f"{sender.key} is the SMTP username: with MailPace the username is the API token, so set a "
                "sender address on the token's domain",
                fixable=False,
            )

    def plan_credentials(self) -> None:
        self.sender_from_username()
        if not self.family.credentials_required:
            return
        user = self.value("user")
        if user is not None and user.strip().lower() in PROVIDER_USERS:
            self.finding(
                "MM108", self.config.settings["user"],
                f"username {user.strip()!r} is another provider's convention; MailPace's username is the API token",
            )
        for role in ("user", "password"):
            setting = self.config.get(role)
            if setting is None:
                self.missing_credential(role)
                continue
            if setting.env_ref == self.ctx.token_env:  # already the token variable (any default)
                self.followup(self.token_followup())
                continue
            if setting.inherited and setting.covered:
                continue  # the base class's own configuration replaces it
            if setting.shared:
                self.plan_credential(role, setting, self.config.file)
                continue
            if setting.inherited:
                wanted, is_token = self.credential_for(self.config.file)
                if wanted and not is_token and setting.env_ref is None:
                    self.add(role, wanted)  # override the base's literal in this scope
                continue
            targets = self.targets(setting)
            if not targets and setting.opaque and setting.outer and setting.env_ref is None:
                targets = [(setting, self.config.file)]  # a literal with escapes: replaced whole
            if not targets and setting.env_ref == self.ctx.token_env:
                self.followup(self.token_followup())
            elif not targets and setting.env_ref:
                self.followup(
                    f"{setting.env_ref} (read by {setting.key} in {self.config.file.display}) is not "
                    f"defined in the repository: set it to the MailPace API token in deployment"
                )
            elif not targets:
                self.followup(f"{setting.key} ({self.config.file.display}) is {setting.opaque}: make it the MailPace API token")
            if setting.env_ref and targets:
                self.deployment_variables.setdefault(setting.env_ref, "the MailPace API token")
            for target, file in targets:
                self.plan_credential(role, target, file)

    def plan_credential(self, role: str, setting: Setting, file: FileInfo) -> None:
        if setting.quote == PENDING:
            return  # being added by its own configuration in this run
        wanted, is_token = self.credential_for(file)
        current = self._normal(setting.value)
        if role == "password" or current == self.value("password"):
            self.plan.secrets.add(current)
        if file.tracked and role == "password" and current.strip() and not _PLACEHOLDER.fullmatch(current.strip()):
            if current != wanted or is_token:
                self.finding_at(file, "MM201", setting, f"{setting.key} holds a literal password in a file git tracks")
        if not is_token and not wanted and file.path == self.config.file.path:
            # (an env file another configuration reads reports its own keys)
            self.deployment_credentials.append(f"{setting.key} ({file.display})")
        if wanted and not is_token:
            # A reference is code, not a value: it replaces the whole literal (quotes included).
            if setting.outer is None or current == wanted:
                return
            self.followup(self.token_followup())
            if setting.is_default or self.config.soft_credentials:
                # Inside os.environ.get("EMAIL_HOST_USER", <here>) a KeyError would defeat the
                # outer lookup; in a base class, TestingConfig beside it must still import.
                wanted = self.soft_reference(file) or wanted
            setting = replace(setting, start=setting.outer[0], end=setting.outer[1], quote="code")
            current = ""
        elif self.credential_ok(current, file, wanted, is_token):
            return
        if is_token and self.ctx.token and self.value("user") == self.value("password") and current:
            if providers.is_mailpace(self.value("host") or split_hostport(self.value("hostport") or "")[0] or ""):
                self.finding_at(file, "MM108", setting, f"{setting.key} is not the MailPace API token given")
        self.plan.changes.append(ValueChange(setting, file, wanted, secret=is_token))
        self.plan.needs_token |= is_token and not self.ctx.token


    def soft_reference(self, file: FileInfo) -> str | None:
        form = self.family.forms.get(file.kind)
        return form.secret_fallback.format(var=self.ctx.token_env, var_lower=self.ctx.token_env.lower()) if form and form.secret_fallback else None

    def token_followup(self) -> str:
        form = self.family.forms.get(self.config.kind)
        if form is not None and form.secret_note:  # `!secret mailpace_api_token` lives in secrets.yaml
            return form.secret_note.format(var=self.ctx.token_env, var_lower=self.ctx.token_env.lower())
        return f"{self.ctx.token_env}: set it to the MailPace API token where the app runs"

    def finding_at(self, file: FileInfo, code: str, setting: Setting, message: str) -> None:
        self.plan.findings.append(Finding(code, file.display, setting.line, setting.col, message, True))

    def missing_credential(self, role: str) -> None:
        key = self.config.key_for(role)
        # Kept in another env file (compose's `env_file: [app.env, secrets/app.env]`)? Only env
        # files share a namespace this way; a settings module reads what it names.
        elsewhere = [
            (s, f) for s, f in self.ctx.definitions(key)
            # only a secrets file beside it (secrets/app.env), never a template for another file
            if f.path != self.config.file.path and f.is_secrets_file and s.quote != PENDING
        ] if self.config.kind == "env" else []
        if elsewhere:
            for setting, file in elsewhere:
                self.plan_credential(role, setting, file)
            return
        wanted, is_token = self.credential_for(self.config.file)
        if is_token:
            if self.add(role, self.ctx.token_text, secret=True):
                self.plan.needs_token |= not self.ctx.token
                self.finding("MM107", None, f"{key} is missing: MailPace logs in with the API token")
        elif wanted and not self.config.partial:  # code: EMAIL_HOST_USER = os.environ.get(...)
            # An added line must not break an import where the variable is unset (a base.py that
            # development settings import too).
            if self.add(role, self.soft_reference(self.config.file) or wanted):
                self.finding("MM107", None, f"{key} is missing: MailPace logs in with the API token")
                self.followup(self.token_followup())
        else:
            where = self.config.file.display + (f" [{self.config.scope}]" if self.config.scope != "file" else "")
            self.followup(f"{key} ({where}): set it to the MailPace API token in deployment")

    def unresolved(self, role: str) -> ConfigPlan:
        setting = self.config.settings.get(role) or self.config.settings.get("hostport")
        self.plan.status = Status.ATTENTION
        if setting is not None and setting.opaque and not setting.env_ref:
            self.finding("MM115", setting, f"{setting.key} is {setting.opaque}: mailmigrate cannot tell where it sends; nothing was changed", fixable=False)
            self.report_credentials()
        if setting is not None and setting.env_ref:
            self.followup(
                f"{setting.key} comes from {setting.env_ref}, which is not defined in the "
                "repository: check its value in deployment"
            )
        return self.plan

    def report_credentials(self) -> None:
        """What is wrong with the credentials, said even when nothing can be changed."""
        user, password = self.config.get("user"), self.config.get("password")
        if user is not None and user.env_ref is None and user.value.strip().lower() in PROVIDER_USERS:
            self.finding("MM108", user, f"username {user.value.strip()!r} is another provider's convention", fixable=False)
        if (
            password is not None and password.env_ref is None and self.config.file.tracked
            and password.value.strip() and not _PLACEHOLDER.fullmatch(password.value.strip())
        ):
            self.finding("MM201", password, f"{password.key} holds a literal password in a file git tracks", fixable=False)

    def unknown_values(self, names: tuple[str, ...]) -> ConfigPlan:
        for name in names:
            setting = self.config.settings.get(name)
            if setting is not None and setting.opaque:
                self.finding("MM115", setting, f"{setting.key} is {setting.opaque}: mailmigrate cannot tell how it encrypts; nothing was changed", fixable=False)
                continue
            shown = setting.value if setting else ""
            self.finding(
                "MM006", setting,
                f"{setting.key if setting else name}={shown!r}: {self.family.title} does not know this value; "
                "fix it by hand, then run again",
                fixable=False,
            )
        self.plan.status = Status.ATTENTION
        return self.plan

    def finish(self, host: str) -> ConfigPlan:
        self.plan.provider = providers.provider_of(host) if host.strip() else None
        if self.blocked:
            self.plan.changes.clear()
            self.plan.additions.clear()
            self.plan.needs_token = False
            self.plan.findings = [replace(f, fixable=False) for f in self.plan.findings]
            self.plan.status = Status.ATTENTION
            return self.plan
        if self.plan.has_edits and self.config.kind != "env":
            for name, value in self.deployment_variables.items():
                self.followup(f"{name} ({self.config.file.display} reads it): set it to {value} where the app runs too")
        if self.plan.has_edits and self.deployment_credentials:
            self.followup(
                f"{' and '.join(self.deployment_credentials)}: set to the MailPace API token where the "
                "app is deployed; tracked files and templates never hold it"
            )
        if self.deferred and not self.plan.has_edits:
            # settings.py reads EMAIL_HOST from .env, whose own configuration moves it: that
            # configuration reports and fixes it; this one is migrated through it.
            self.plan.findings = [f for f in self.plan.findings if not f.fixable]
        if self.plan.has_edits or self.deferred:
            self.plan.status = Status.MIGRATE
        elif any(not f.fixable for f in self.plan.findings):
            self.plan.status = Status.ATTENTION
        else:
            self.plan.status = Status.MAILPACE
        return self.plan

    # -- URLs --------------------------------------------------------------------------------

    def run_url(self) -> ConfigPlan:
        setting = self.config.settings["url"]
        dialect = self.family.url
        assert dialect is not None
        raw = self.value("url")
        if raw is None:
            return self.unresolved("url")
        if not raw.strip():
            url = parse_url("smtp://")
        else:
            url = parse_url(raw)
        if url is None:
            self.finding("MM003", setting, f"{setting.key} is not a URL", fixable=False)
            self.plan.status = Status.ATTENTION
            return self.plan
        provider_part, scheme = dialect.split_scheme(url.scheme)
        if scheme in dialect.inactive or (provider_part is None and scheme not in dialect.ports and raw.strip()):
            self.plan.status = Status.INACTIVE
            return self.plan
        host = url.host
        if provider_part is None and self.left_local(host):
            return self.plan
        self.on_mailpace = provider_part is None and (providers.is_mailpace(host) or providers.is_legacy_mailpace(host))
        if provider_part is not None and providers.bridge_provider(provider_part) == "MailPace":
            self.plan.provider = "MailPace"  # MailPace's own Symfony bridge: already migrated
            self.plan.status = Status.MAILPACE
            return self.plan
        if url.port:
            number = port_number(url.port)
            if number is None:
                self.finding("MM006", setting, f"port {url.port[:12]!r} is not a port number", False)
                self.plan.status = Status.ATTENTION
                return self.plan
            port = number
        elif provider_part is not None:  # a bridge's `@default` host: its port means nothing here
            port = providers.MAILPACE_IMPLICIT_PORT if scheme == "smtps" else 587
        else:
            port = dialect.ports.get(scheme, self.family.default_port)
        slots = {"scheme": Slot(dialect.scheme, True, scheme)}
        slots.update({n: Slot(spec, url.query_value(n) is not None, url.query_value(n)) for n, spec in dialect.query.items()})
        reading = read_mode(self.family, slots, port)
        if reading.unknown and provider_part is None:
            return self.unknown_values(("url",))
        target_port, target_mode = self.target(port, reading.mode)

        new = url
        if provider_part is not None:
            named = providers.bridge_provider(provider_part)
            self.finding("MM110", setting, f"{url.scheme}:// sends through {named}; MailPace needs plain SMTP")
            slots["scheme"] = Slot(dialect.scheme, True, None)
        else:
            self.url_findings(setting, url, port, target_port, reading.mode)
        chosen = plan_slots(self.family, slots, target_mode, target_port)
        if provider_part is not None and "scheme" not in chosen:
            chosen["scheme"] = dialect.scheme.value_for(target_mode, must_indicate=False) or scheme
        for name, value in chosen.items():
            if name == "scheme":
                new = SmtpUrl(str(value), new.userinfo, new.host, new.port, new.tail)
            else:
                new = new.with_query_value(name, self.spell(value))
        new = SmtpUrl(new.scheme, new.userinfo, providers.MAILPACE_HOST, str(target_port), new.tail)
        self.plan.provider = providers.bridge_provider(provider_part) if provider_part else providers.provider_of(host)
        for target, file in self.targets(setting):
            self.plan_url_target(target, file, new, url)
        if self.plan.has_edits:
            self.plan.status = Status.MIGRATE
        else:
            self.plan.status = Status.MAILPACE
        return self.plan

    def url_findings(self, setting: Setting, url: SmtpUrl, port: int, target_port: int, mode: Mode | None) -> None:
        if providers.is_legacy_mailpace(url.host):
            self.finding("MM102", setting, f"legacy MailPace host {url.host}: use {providers.MAILPACE_HOST}")
        elif not providers.is_mailpace(url.host):
            provider = providers.provider_of(url.host)
            named = f"{provider} host" if provider else "host"
            shown = url.host or "(empty)"
            self.finding("MM101", setting, f"{setting.key}: {named} {shown} is not MailPace ({providers.MAILPACE_HOST})")
        if mode is None:
            self.finding("MM106", setting, f"{setting.key} asks for STARTTLS and implicit TLS at once")
        elif mode is Mode.NONE:
            self.finding("MM104", setting, f"{setting.key} sends without TLS; MailPace needs TLS before AUTH")
        elif port != target_port:
            self.port_finding(setting, port, target_port)

    def plan_url_target(self, setting: Setting, file: FileInfo, new: SmtpUrl, old: SmtpUrl) -> None:
        wanted, is_token = self.credential_for(file)
        if old.password:
            self.plan.secrets.add(old.password)
            if old.user == old.password:
                self.plan.secrets.add(old.user)
        if is_token:
            current_ok = self.credential_ok(old.user or "", file, wanted, True) and self.credential_ok(
                old.password or "", file, wanted, True
            ) and old.user == old.password
            if current_ok and old.userinfo is not None:
                new = SmtpUrl(new.scheme, old.userinfo, new.host, new.port, new.tail)
            else:
                new = new.with_credentials(wanted, wanted)
        elif wanted and file.kind not in ("python", "env"):
            # A format that interpolates (compose's ${VAR}, a workflow's ${{ secrets.X }}): the
            # reference goes into the URL as written, not percent-encoded.
            if old.password and file.tracked and old.password != wanted:
                self.finding_at(file, "MM201", setting, f"{setting.key} holds a literal password in a file git tracks")
            new = SmtpUrl(new.scheme, f"{wanted}:{wanted}", new.host, new.port, new.tail)
            self.followup(self.token_followup())
        else:
            new = new.with_credentials(None, None)
            if old.password and file.tracked:
                self.finding_at(file, "MM201", setting, f"{setting.key} holds a literal password in a file git tracks")
            if old.userinfo is not None or not new.userinfo:
                self.followup(
                    f"{setting.key} ({file.display}): set it in deployment with the MailPace API token "
                    f"as user and password, for example {SmtpUrl(new.scheme, 'TOKEN:TOKEN', new.host, new.port, new.tail).render()}"
                )
        text = new.render()
        if text != setting.value:
            self.plan.changes.append(ValueChange(setting, file, text, secret=is_token))
            self.plan.needs_token |= is_token and not self.ctx.token


def split_hostport(value: str) -> tuple[str, str | None]:
    """`host:587`, `[::1]:25`, `host` → (host, port or None)."""
    text = value.strip()
    if text.startswith("["):
        host, _, rest = text.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else None
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return host, port
    return text, None


def plan_configuration(config: Configuration, ctx: PlanContext) -> ConfigPlan:
    return _Planner(config, ctx).run()




# --------------------------------------------------------------------------------------------
# Effective values: what a configuration logs in with as the files stand (`verify`)


@dataclass(frozen=True)
class Effective:
    """Where and how a configuration connects, resolved as far as the repository, the
    environment and the token allow. `missing` names what could not be resolved."""

    host: str | None
    port: int | None
    mode: Mode | None
    user: str | None
    password: str | None
    missing: tuple[str, ...] = ()


def effective_values(config: Configuration, ctx: PlanContext, environ: Mapping[str, str]) -> Effective:
    planner = _Planner(config, ctx)
    missing: list[str] = []

    def resolve(role: str) -> str | None:
        setting = config.get(role)
        if setting is None:
            return None
        if setting.env_ref is not None and setting.env_ref in environ and setting.true_words is None:
            # A variable set in the environment wins over the env files (python-dotenv, Laravel,
            # Symfony and django-environ never override it): what the running app would read.
            return environ[setting.env_ref]
        value = planner.value(role)
        if value is not None:
            return value
        if setting.env_ref is not None:
            if setting.env_ref == ctx.token_env and ctx.token:
                return ctx.token
            if setting.env_ref in environ:
                return environ[setting.env_ref]
            if setting.env_default is not None:
                return setting.env_default
            missing.append(f"{setting.env_ref} (read by {setting.key} in {config.file.display}; set where the app runs)")
            return None
        missing.append(f"{setting.key} in {config.file.display} is {setting.opaque or 'not readable'}")
        return None

    if "url" in config.settings:
        raw = resolve("url")
        url = parse_url(raw) if raw else None
        dialect = config.family.url
        if url is None or dialect is None:
            return Effective(None, None, None, None, None, tuple(missing) or (f"{config.settings['url'].key} is not a URL",))
        _, scheme = dialect.split_scheme(url.scheme)
        url_port = (port_number(url.port) or 0) if url.port else dialect.ports.get(scheme, config.family.default_port)
        url_slots = {"scheme": Slot(dialect.scheme, True, scheme)}
        url_slots.update({n: Slot(spec, url.query_value(n) is not None, url.query_value(n)) for n, spec in dialect.query.items()})
        mode = read_mode(config.family, url_slots, url_port).mode
        return Effective(url.host, url_port, mode, url.user, url.password, tuple(missing))
    if "hostport" in config.settings:
        combined = resolve("hostport")
        host, port_text = split_hostport(combined) if combined is not None else (None, None)
    else:
        host = resolve("host") if "host" in config.settings else None
        port_text = resolve("port") if "port" in config.settings else None
    port = port_number(port_text) if port_text and port_text.strip() else (
        config.default_port or config.family.default_port if not port_text else None
    )
    if port_text and port is None:
        missing.append(f"port {port_text.strip()!r} in {config.file.display} is not a port number")
    mode = read_mode(config.family, planner.slots(port), port).mode if port is not None else None
    user, password = resolve("user"), resolve("password")
    return Effective(host, port, mode, user, password, tuple(missing))


__all__ = ["MASK", "Effective", "PlanContext", "effective_values", "plan_configuration"]
