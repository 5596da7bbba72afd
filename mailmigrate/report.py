"""The pull-request report of a migration (`migrate --report FILE`): Markdown for a PR comment or
GitHub's job summary, JSON for other tools.

Markdown: a summary table (file, configuration, provider → MailPace, port and TLS mode), the
messages re-tagged, the follow-ups a person must do (variables to set in deployment, call sites
that could not be tagged, From addresses to fix, other findings), then one collapsible diff per
file. GitHub refuses a job summary over 1 MiB, so diffs are added while they fit and the rest
are named in a note. Everything passes through `mask` before it is measured: the report holds
no secret, and its size is the size of what is written.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from mailmigrate.engine import RunResult
from mailmigrate.model import ConfigPlan, Finding, Status
from mailmigrate.output import count, message_change, moved_from

# GitHub: "The maximum size of the job summary is 1 MiB"; a margin for what the workflow adds.
SUMMARY_LIMIT = 1024 * 1024 - 16 * 1024
_NOT_TAGGED = ("MM206", "MM209", "MM210")
_FROM_ADDRESS = ("MM202",)


@dataclass(frozen=True)
class FileDiff:
    path: str
    diff: str  # masked unified diff


def markdown(
    result: RunResult, diffs: list[FileDiff], mask: Callable[[str], str], *, written: bool, limit: int = SUMMARY_LIMIT,
    login: str = "",
) -> str:
    """The report; `login`: how the planned result logged in to the emulator (the CLI's line)."""
    migrating = [p for p in result.plans if p.status is Status.MIGRATE]
    messages = [m for m in result.messages if m.edits]
    people = [f for f in result.findings if not f.fixable]
    head: list[str] = ["# mailmigrate: move to MailPace", ""]
    one = len(migrating) == 1
    verb = ("was moved" if one else "were moved") if written else ("moves" if one else "move")
    head.append(
        f"{count(len(migrating), 'SMTP configuration')} in {count(len(diffs), 'file')} {verb} to MailPace"
        + (f"; {count(len(messages), 'message')} re-tagged" if messages else "")
        + (f"; {count(len(people), 'finding')} {'needs' if len(people) == 1 else 'need'} a person." if people else ".")
    )
    head.append("")
    if login:
        head += [f"**Login check of the planned result** (built-in MailPace emulator): {_cell(login)}", ""]
    # The tables and lists get at most half the budget; the diffs what is left.
    budget = limit // 2
    if migrating:
        head += _bounded(["| File | Configuration | Before | After | Port / TLS |", "|---|---|---|---|---|"],
                         [mask(_plan_row(plan)) for plan in migrating], budget // 3, "configurations")
        head.append("")
    if messages:
        head += _bounded(["| File | Message | Headers |", "|---|---|---|"],
                         [mask(f"| {_code(f'{m.file.display}:{m.line}')} | {_cell(m.api)} | {_cell(message_change(m))} |") for m in messages],
                         budget // 6, "messages")
        head.append("")
    head += [mask(line) for line in _followups(result, people, budget // 2)]
    text = mask("\n".join(head) + "\n")
    if not diffs:
        return text
    body = ["## Changes", ""]
    omitted: list[str] = []
    size = len(text.encode()) + len("## Changes\n\n")
    reserve = 600 + sum(len(_code(d.path).encode()) + 2 for d in diffs)  # the note naming what did not fit
    for item in diffs:
        block = _details(item)
        cost = len(block.encode())
        if omitted or size + cost + reserve > limit:
            omitted.append(item.path)
            continue
        body.append(block)
        size += cost
    if omitted:
        body.append(
            f"> **Report truncated** to stay under GitHub's 1 MiB summary limit: the diffs of "
            f"{count(len(omitted), 'more file')} are not shown ({', '.join(_code(p) for p in omitted)}). "
            "Run `mailmigrate migrate` to see them."
        )
    return text + "\n".join(body) + "\n"


def as_json(result: RunResult, diffs: list[FileDiff], mask: Callable[[str], str], *, written: bool, login: str = "") -> str:
    payload = {
        "version": 1,
        "written": written,
        "login_check": login,
        "configurations": [
            {
                "path": p.configuration.file.display, "line": p.configuration.line, "family": p.configuration.family.name,
                "title": p.configuration.family.title, "scope": p.configuration.scope, "provider": p.provider,
                "port": p.target[0] if p.target else None, "tls": p.target[1].value if p.target else None,
            }
            for p in result.plans if p.status is Status.MIGRATE
        ],
        "messages": [
            {"path": m.file.display, "line": m.line, "api": m.api, "translated": m.translated, "tags": m.tags,
             "renamed_list_unsubscribe": m.renamed}
            for m in result.messages if m.edits
        ],
        "followups": result.followups,
        "findings": [_finding(f) for f in result.findings if not f.fixable],
        "files": [{"path": d.path, "diff": d.diff} for d in diffs],
    }
    return mask(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


# --------------------------------------------------------------------------------------------


def _plan_row(plan: ConfigPlan) -> str:
    config = plan.configuration
    before = moved_from(plan)
    scope = "" if config.scope in ("file", "module") else f" ({config.scope})"
    assert plan.target is not None
    port, mode = plan.target
    return (f"| {_code(f'{config.file.display}:{config.line}')} | {_cell(config.family.title + scope)} | {_cell(before)} | "
            f"smtp.mailpace.com | {port} / {'implicit TLS' if mode.value == 'implicit' else 'STARTTLS'} |")


def _followups(result: RunResult, people: list[Finding], budget: int) -> list[str]:
    out: list[str] = []
    if result.followups:
        out += ["## To do by hand", ""]
        out += _bounded(["**Settings to make in deployment**", ""], [f"- {_cell(text)}" for text in result.followups], budget // 2, "items")
        out.append("")
    groups = (
        ("**Mail that could not be tagged**", [f for f in people if f.code in _NOT_TAGGED]),
        ("**From addresses to fix**", [f for f in people if f.code in _FROM_ADDRESS]),
        ("**Other findings that need a person**", [f for f in people if f.code not in _NOT_TAGGED + _FROM_ADDRESS]),
    )
    for title, findings in groups:
        if not findings:
            continue
        if not out:
            out += ["## To do by hand", ""]
        out += _bounded([title, ""], [f"- {_code(f'{f.path}:{f.line}:{f.col}')} {f.code} {_cell(f.message)}" for f in findings],
                        budget // 4, "findings")
        out.append("")
    return out


def _bounded(head: list[str], rows: list[str], budget: int, noun: str) -> list[str]:
    """`head` and as many `rows` as fit in `budget` bytes, then a line saying how many did not."""
    out = list(head)
    size = 0
    for index, row in enumerate(rows):
        size += len(row.encode()) + 1
        if size > budget:
            left = len(rows) - index
            out.append(f"| … {left} more {noun} not shown (report kept under GitHub's size limit) | | | | |"
                       if row.startswith("|") else f"- … {left} more {noun} not shown (report kept under GitHub's size limit)")
            return out
        out.append(row)
    return out


def _details(item: FileDiff) -> str:
    added = sum(1 for line in item.diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in item.diff.splitlines() if line.startswith("-") and not line.startswith("---"))
    fence = "```"
    while fence in item.diff:  # a diff holding ``` (a Markdown file) gets a longer fence
        fence += "`"
    return (f"<details><summary><code>{_html(item.path)}</code> (+{added} −{removed})</summary>\n\n"
            f"{fence}diff\n{item.diff}{'' if item.diff.endswith(chr(10)) else chr(10)}{fence}\n\n</details>\n")


def _finding(f: Finding) -> dict[str, object]:
    return {"path": f.path, "line": f.line, "col": f.col, "code": f.code, "message": f.message}


def _cell(text: str) -> str:
    """Text inside a Markdown table cell or list item: one line, HTML and pipes escaped (GitHub
    strips raw tags such as `<${VAR}>`, and a pipe splits a table row)."""
    return " ".join(_html(text).replace("|", "&#124;").split())


def _code(text: str) -> str:
    """A path as code that no character in it can break (a backtick, a pipe, `<`)."""
    return f"<code>{_cell(text)}</code>"


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


