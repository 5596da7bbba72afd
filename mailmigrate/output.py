"""Turns results into text for each output format. Returns strings; only the CLI prints them
(through the masker)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from mailmigrate.codes import BY_CODE, level
from mailmigrate.engine import RunResult
from mailmigrate.model import ConfigPlan, Finding, Status
from mailmigrate.planner import MASK

if TYPE_CHECKING:
    from mailmigrate.verification import Outcome
    from mailmigrate.tagging import MessagePlan

SECRET_ROLES = frozenset({"password"})


def printable(text: str) -> str:
    """Text from files, made safe for a terminal and for line-based readers: a newline in a
    file name cannot start a fake finding, an ESC sequence in a value cannot drive the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def findings_concise(findings: list[Finding], summary: bool = True) -> str:
    lines = [f"{printable(f.path)}:{f.line}:{f.col}: {f.code} {printable(f.message)}" for f in findings]
    if findings and summary:
        fixable = sum(f.fixable for f in findings)
        noun = "finding" if len(findings) == 1 else "findings"
        tail = f" ({fixable} fixable with `mailmigrate migrate --write`)" if fixable else ""
        lines.append(f"Found {len(findings)} {noun}{tail}.")
    return "\n".join(lines) + ("\n" if lines else "")


def findings_json(findings: list[Finding]) -> str:
    return json.dumps([_finding_dict(f) for f in findings], indent=2) + "\n"


def _finding_dict(f: Finding) -> dict[str, Any]:
    code = BY_CODE.get(f.code)
    return {
        "code": f.code,
        "name": code.name if code else None,
        "path": f.path,
        "line": f.line,
        "column": f.col,
        "message": f.message,
        "fixable": f.fixable,
    }


def findings_github(findings: list[Finding]) -> str:
    """GitHub workflow commands: one annotation per finding on the PR's diff."""

    def esc(text: str, prop: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if prop else text

    lines = []
    for f in findings:
        name = BY_CODE[f.code].name if f.code in BY_CODE else ""
        lines.append(
            f"::{level(f.code)} file={esc(f.path, True)},line={f.line},col={f.col},"
            f"title={esc(f'{f.code} {name}'.strip(), True)}::{esc(f.message)}"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def _shown_value(plan: ConfigPlan, role: str) -> str:
    setting = plan.configuration.settings[role]
    if role in SECRET_ROLES and setting.value and setting.env_ref is None:
        return MASK
    return setting.value


def _plan_dict(plan: ConfigPlan) -> dict[str, Any]:
    config = plan.configuration
    settings = []
    for role, setting in config.settings.items():
        entry: dict[str, Any] = {
            "role": role,
            "key": setting.key,
            "value": _shown_value(plan, role),
            "line": setting.line,
        }
        if setting.env_ref:
            entry["from_variable"] = setting.env_ref
        settings.append(entry)
    data: dict[str, Any] = {
        "file": config.file.display,
        "line": config.line,
        "family": config.family.name,
        "family_title": config.family.title,
        "scope": config.scope,
        "provider": plan.provider,
        "status": plan.status.value,
        "git": "tracked" if config.file.tracked else ("ignored" if config.file.ignored else "untracked"),
        "settings": settings,
        "findings": [_finding_dict(f) for f in plan.findings],
        "followups": plan.followups,
    }
    if plan.target:
        data["target"] = {"host": "smtp.mailpace.com", "port": plan.target[0], "encryption": plan.target[1].value}
    return data


def scan_json(result: RunResult) -> str:
    payload = {
        "configurations": [_plan_dict(p) for p in result.plans],
        "problems": [_finding_dict(f) for f in result.findings if f.code.startswith("MM0")],
        "messages": [
            {"path": m.file.display, "line": m.line, "api": m.api, "translated": m.translated,
             "tags": m.tags, "renamed_list_unsubscribe": m.renamed}
            for m in result.messages if m.edits
        ],
    }
    return json.dumps(payload, indent=2) + "\n"


_STATUS_WORDS = {
    Status.MIGRATE: "to migrate",
    Status.MAILPACE: "MailPace ✓",
    Status.LOCAL: "local, left alone",
    Status.INACTIVE: "not SMTP, left alone",
    Status.SUPPRESSED: "ignored by comment",
    Status.ATTENTION: "needs a person",
}


def scan_text(result: RunResult) -> str:
    out: list[str] = []
    for plan in result.plans:
        config = plan.configuration
        provider = f" · {plan.provider}" if plan.provider else ""
        scope = "" if config.scope == "file" else f" [{config.scope}]"
        git = "tracked" if config.file.tracked else ("ignored: a secrets file" if config.file.is_secrets_file else "untracked")
        out.append(
            f"{config.file.display}:{config.line}: {config.family.title}{scope}{provider} — "
            f"{_STATUS_WORDS[plan.status]} ({git})"
        )
        for role, setting in config.settings.items():
            if setting.env_ref:  # read from the environment: name the variable and its default
                default = f", default {setting.env_default!r}" if setting.env_default is not None and role not in SECRET_ROLES else ""
                out.append(f"    {role:<16} {setting.key} = ${setting.env_ref}{default}")
            else:
                out.append(f"    {role:<16} {setting.key} = {_shown_value(plan, role)}")
        if plan.target:
            out.append(f"    → smtp.mailpace.com:{plan.target[0]} {plan.target[1].value}")
    problems = [f for f in result.findings if f.code.startswith("MM0")]
    for f in problems:
        out.append(f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}")
    for message in result.messages:
        if message.edits:
            out.append(f"{message.file.display}:{message.line}: {message.api} — {message_change(message)} (migrate rewrites it)")
    counts = Counter(p.status for p in result.plans)
    # "2 need a person", "1 needs a person"
    summary = ", ".join(
        f"{n} {_STATUS_WORDS[s].replace('needs ', 'need ') if n != 1 else _STATUS_WORDS[s]}" for s, n in counts.items()
    )
    out.append(f"{len(result.plans)} SMTP configuration{'s' if len(result.plans) != 1 else ''} found" + (f": {summary}" if summary else ""))
    return "\n".join(out) + "\n"


def moved_from(plan: ConfigPlan) -> str:
    """Where a configuration sent mail before: its provider, else its host."""
    config = plan.configuration
    host = config.settings.get("host") or config.settings.get("hostport") or config.settings.get("url")
    before = plan.provider or (host.value.strip() if host is not None and host.env_ref is None else "") or "no host"
    return "MailPace (settings corrected)" if before == "MailPace" else before


def migrate_summary(result: RunResult, written: list[str] | None, has_token: bool = True) -> str:
    """What happened, and what a person must still do."""
    out: list[str] = []
    migrating = [p for p in result.plans if p.status is Status.MIGRATE]
    for plan in migrating:
        config = plan.configuration
        scope = "" if config.scope in ("file", "module") else f" [{config.scope}]"
        assert plan.target is not None
        out.append(
            f"{config.file.display}:{config.line}: {config.family.title}{scope}: {moved_from(plan)} → "
            f"MailPace smtp.mailpace.com:{plan.target[0]} ({plan.target[1].value})"
        )
    messages = [m for m in result.messages if m.edits]
    for message in messages:
        out.append(f"{message.file.display}:{message.line}: {message.api}: {message_change(message)}")
    if written is not None:
        out.append(f"Wrote {len(written)} file{'s' if len(written) != 1 else ''}." if written else "No file needed changes.")
    else:
        files = len(result.changed_files)
        what = count(len(migrating), "configuration") + " to migrate"
        if messages:
            what += f" and {count(len(messages), 'message')} to re-tag"
        out.append(
            f"{what} in {count(files, 'file')}; run with --write to apply." if files else "Nothing to change."
        )
    if written is None and result.needs_token and not has_token:
        out.append(
            "Secrets files get the MailPace API token itself (shown masked above): set "
            "$MAILPACE_API_TOKEN or pass --token-stdin to write them."
        )
    if result.followups:
        out.append("Still to do by hand:")
        out.extend(f"  - {text}" for text in result.followups)
    return "\n".join(out) + "\n"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"


def message_change(message: MessagePlan) -> str:
    """`X-PM-Tag → X-MailPace-Tags: welcome, newsletter`, `List-Unsubscribe → X-List-Unsubscribe`."""
    parts = []
    if message.tags is not None:
        source = " + ".join(dict.fromkeys(message.translated)) + " → " if message.translated else ""
        parts.append(f"{source}X-MailPace-Tags: {', '.join(message.tags)}")
    if message.renamed:
        parts.append("List-Unsubscribe → X-List-Unsubscribe")
    return "; ".join(parts) or "headers corrected"


def verify_text(outcomes: list[Outcome], *, verbose: bool) -> str:
    """One line per configuration checked, what is missing where it could not be resolved, the
    SMTP transcript with -v (AUTH payloads are masked by the check itself)."""
    lines: list[str] = []
    for outcome in outcomes:
        if outcome.status == "ok":
            lines.append(f"{outcome.where}: logged in ({outcome.against})")
        elif outcome.status == "failed":
            against = f" ({outcome.against})" if outcome.against else ""
            lines.append(f"{outcome.where}: login FAILED at {outcome.stage}{against}: {outcome.reply}")
        elif outcome.status == "unresolved":
            lines.append(f"{outcome.where}: not checked, missing: " + "; ".join(outcome.missing))
        else:
            lines.append(f"{outcome.where}: skipped: {outcome.reply}")
        if verbose:
            lines += [f"    {line}" for line in outcome.transcript]
    lines += list(verify_summary(outcomes))
    return "\n".join(lines) + "\n"


def verify_summary(outcomes: list[Outcome]) -> Iterator[str]:
    """`3 configurations checked: 2 logged in, 1 could not be resolved`."""
    words = {"ok": "logged in", "failed": "failed", "unresolved": "could not be resolved here", "skipped": "skipped"}
    counts: Counter[str] = Counter(o.status for o in outcomes)
    parts = [f"{counts[s]} {w}" for s, w in words.items() if counts[s]]
    plural = "s" if len(outcomes) != 1 else ""
    yield f"{len(outcomes)} configuration{plural} checked: {', '.join(parts)}" if parts else "No configuration to check."
