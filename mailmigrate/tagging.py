"""Decides what happens to each message's headers when it moves to MailPace:

- other providers' tag headers (X-PM-Tag, X-Mailgun-Tag, X-SMTPAPI `category`, ...) and the
  legacy OhMySMTP ones become one `X-MailPace-Tags`, merged with an existing one and with
  `--tags`, duplicates and blanks dropped; the MailPace header takes the place of the first
  provider header, so it sits where the author put tags;
- `--tags` adds `X-MailPace-Tags` to every message that lacks those tags, exactly once;
- `--list-unsubscribe` renames `List-Unsubscribe` to `X-List-Unsubscribe`;
- anything it cannot do faithfully (a computed value, a comma inside a tag, a headers dict
  from elsewhere) is a finding naming the line, and the message is left as it is: a message is
  rewritten whole or not at all.

Pure planning: the positions and spellings come from `formats.pymessages`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from mailmigrate.document import Document
from mailmigrate.formats import pymessages
from mailmigrate.formats.pymessages import HeaderEntry, Messages, MessageSite
from mailmigrate.mailheaders import (
    MAILPACE_TAGS,
    MAILPACE_UNSUBSCRIBE,
    TAG_HEADERS,
    Meaning,
    TagRead,
    describe,
    join_tags,
    meaning_of,
    merge_tags,
    read_json_object,
    read_mailpace_tags,
    read_tags,
)
from mailmigrate.model import Edit, FileInfo, Finding
from mailmigrate.suppression import ignored_at


@dataclass(frozen=True)
class TagOptions:
    tags: tuple[str, ...] = ()  # --tags, parsed
    list_unsubscribe: bool = False


@dataclass
class MessagePlan:
    """What happens to one message's headers."""

    file: FileInfo
    api: str
    line: int
    edits: list[Edit] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    translated: list[str] = field(default_factory=list)  # provider headers folded into X-MailPace-Tags
    tags: list[str] | None = None  # X-MailPace-Tags as planned, when it changes
    renamed: bool = False  # List-Unsubscribe became X-List-Unsubscribe


def plan_messages(doc: Document, file: FileInfo, messages: Messages, options: TagOptions) -> list[MessagePlan]:
    plans: list[MessagePlan] = []
    # X-MailPace-Tags set by a helper (`def tag(msg, *tags): msg["X-MailPace-Tags"] = ...`):
    # adding one to a message the helper also tags would send it twice.
    elsewhere = [s for s in messages.strays if s.name.lower() == MAILPACE_TAGS.lower()]
    for site in messages.sites:
        plan = _plan_site(doc, file, site, options, elsewhere[0] if elsewhere else None)
        _apply_suppressions(doc, plan, site.line)
        if plan.edits or plan.findings:
            plans.append(plan)
    loose = MessagePlan(file, "", 0)
    if elsewhere and (options.tags or any(f.code == "MM203" for p in plans for f in p.findings)):
        for stray in elsewhere:
            loose.findings.append(Finding(
                "MM206", file.display, stray.line, stray.col,
                f"{stray.name} is set here, outside a message mailmigrate reads, so this module's messages were "
                "not re-tagged (a message could carry it twice); merge the tags here by hand",
            ))
    for stray in messages.strays:
        finding = _stray_finding(file, stray)
        if finding is not None and not ignored_at(doc.line_text, finding.line, finding.code):
            loose.findings.append(finding)
    if options.tags:
        for call in messages.untaggable:
            finding = Finding(
                "MM210", file.display, call.line, call.col,
                f"{call.name}() takes no headers, so this mail cannot be tagged: send it as an "
                f"EmailMessage(..., headers={{\"{MAILPACE_TAGS}\": \"{join_tags(options.tags)}\"}}) to tag it",
            )
            if not ignored_at(doc.line_text, call.line, finding.code):
                loose.findings.append(finding)
    if loose.findings:
        plans.append(loose)
    return plans


def _apply_suppressions(doc: Document, plan: MessagePlan, call_line: int) -> None:
    """`mailmigrate: ignore[...]` on a finding's line (or on the line that makes the message)
    drops that finding. Suppressing a change (a translated tag, an added one, a rename) leaves
    the whole message as it is: its headers are rewritten together or not at all."""
    suppressed = [f for f in plan.findings if any(ignored_at(doc.line_text, line, f.code) for line in {f.line, call_line})]
    if any(f.fixable for f in suppressed):
        plan.edits.clear()
        plan.findings = [f for f in plan.findings if not f.fixable and f not in suppressed]
        plan.translated.clear()
        plan.tags, plan.renamed = None, False
    else:
        plan.findings = [f for f in plan.findings if f not in suppressed]


def _stray_finding(file: FileInfo, stray: pymessages.Stray) -> Finding | None:
    meaning = meaning_of(stray.name)
    assert meaning is not None
    kind, owner = meaning
    where = "outside a message mailmigrate can rewrite"
    if kind in (Meaning.TAGS, Meaning.LEGACY_TAGS):
        code = "MM204" if kind is Meaning.LEGACY_TAGS else "MM203"
        text = f"{stray.name} ({owner}'s tag header) is set here, {where}: MailPace reads {MAILPACE_TAGS}; change it by hand"
    elif kind is Meaning.LEGACY:
        code, text = "MM204", f"{stray.name} is OhMySMTP's old API header: it means nothing in a message; remove it"
    elif kind is Meaning.PROVIDER:
        code, text = "MM205", _provider_text(stray.name, owner)
    elif kind is Meaning.UNSUBSCRIBE:
        code = "MM207"
        text = f"{stray.name} is set here, {where}: MailPace reads the unsubscribe link from {MAILPACE_UNSUBSCRIBE}; rename it by hand"
    elif kind is Meaning.UNSUBSCRIBE_POST:
        code, text = "MM208", _one_click_text(stray.name)
    else:
        return None
    return Finding(code, file.display, stray.line, stray.col, text)


def _provider_text(name: str, owner: str) -> str:
    return f"{name} is {owner}'s header for {describe(name)}: MailPace gives it no meaning (remove it when nothing else needs it)"


def _one_click_text(name: str) -> str:
    return (f"{name} asks for RFC 8058 one-click unsubscribe, which MailPace does not document: "
            "check that unsubscribing still works after the move")


# --------------------------------------------------------------------------------------------
# One message


class _Report(Protocol):
    """Adds a finding to the message's plan."""

    def __call__(self, code: str, line: int, col: int, text: str, fixable: bool = False) -> None: ...


@dataclass
class _Tagging:
    """A message's tag headers, read."""

    existing: list[str] = field(default_factory=list)  # from X-MailPace-Tags
    translated: list[str] = field(default_factory=list)  # from provider headers
    removable: list[HeaderEntry] = field(default_factory=list)  # provider headers wholly translated
    trimmed: list[tuple[HeaderEntry, dict[object, object], list[str]]] = field(default_factory=list)  # JSON keeping other keys
    sources: list[HeaderEntry] = field(default_factory=list)  # every provider tag header read
    problems: list[tuple[HeaderEntry | None, str]] = field(default_factory=list)


def _plan_site(doc: Document, file: FileInfo, site: MessageSite, options: TagOptions, elsewhere: pymessages.Stray | None) -> MessagePlan:
    plan = MessagePlan(file, site.api, site.line)

    def finding(code: str, line: int, col: int, text: str, fixable: bool = False) -> None:
        plan.findings.append(Finding(code, file.display, line, col, text, fixable))

    mailpace: list[HeaderEntry] = []
    tag_headers: list[HeaderEntry] = []
    unsubscribe: list[HeaderEntry] = []
    renamed_already = [e for e in site.entries if e.name.lower() == MAILPACE_UNSUBSCRIBE.lower()]
    for entry in site.entries:
        meaning = meaning_of(entry.name)
        if meaning is None:
            continue
        kind, owner = meaning
        if kind is Meaning.MAILPACE_TAGS:
            mailpace.append(entry)
        elif kind in (Meaning.TAGS, Meaning.LEGACY_TAGS):
            tag_headers.append(entry)
        elif kind is Meaning.UNSUBSCRIBE:
            unsubscribe.append(entry)
        elif kind is Meaning.UNSUBSCRIBE_POST:
            finding("MM208", entry.line, entry.col, _one_click_text(entry.name))
        elif kind is Meaning.LEGACY:
            finding("MM204", entry.line, entry.col, f"{entry.name} is OhMySMTP's old API header: it means nothing in a message; remove it")
        else:
            finding("MM205", entry.line, entry.col, _provider_text(entry.name, owner))

    if site.blocked is not None:
        if tag_headers or unsubscribe or options.tags:
            finding("MM206", site.line, site.col,
                    f"{site.api}: {site.blocked}, so mailmigrate cannot read or change its headers; "
                    f"set {MAILPACE_TAGS} there by hand")
        return plan

    branched = [e for e in mailpace + tag_headers + unsubscribe + renamed_already if e.nested]
    if branched and (tag_headers or unsubscribe or options.tags):
        entry = branched[0]
        finding("MM206", entry.line, entry.col,
                f"{entry.name} is set inside a block on line {entry.line}, so which messages carry it depends "
                f"on the path the code takes; set {MAILPACE_TAGS} by hand")
        return plan
    _plan_unsubscribe(plan, unsubscribe, renamed_already, options, finding)
    if elsewhere is not None:
        for entry in tag_headers:
            finding("MM203", entry.line, entry.col,
                    f"{entry.name} was not translated: {MAILPACE_TAGS} is also set on line {elsewhere.line}; merge them by hand")
        return plan
    tagging = _read(site, tag_headers, mailpace, finding)
    if tagging.problems and (tagging.sources or tag_headers or options.tags):
        for source, why in tagging.problems:
            line, col = (source.line, source.col) if source else (site.line, site.col)
            finding("MM206", line, col, f"{why}; the message's tags were left unchanged")
        return plan
    if not tagging.sources and not options.tags:
        if len(mailpace) > 1:
            finding("MM206", mailpace[1].line, mailpace[1].col, f"{MAILPACE_TAGS} is set twice on this message; keep one")
        return plan
    edits = _tag_edits(doc, site, tagging, mailpace, options)
    if isinstance(edits, str):
        finding("MM206", site.line, site.col, f"{site.api}: {edits}; set {MAILPACE_TAGS} by hand")
        return plan
    plan.edits += edits
    for entry in tagging.sources:
        meaning = meaning_of(entry.name)
        assert meaning is not None
        code = "MM204" if meaning[0] is Meaning.LEGACY_TAGS else "MM203"
        finding(code, entry.line, entry.col, f"{entry.name} is {meaning[1]}'s tag header: MailPace reads {MAILPACE_TAGS}", fixable=True)
        plan.translated.append(entry.name)
    missing = [t for t in options.tags if t not in tagging.existing]
    if missing and edits:
        finding("MM209", site.line, site.col, f"{site.api} is not tagged {join_tags(missing)}", fixable=True)
    if edits:
        plan.tags = merge_tags(tagging.existing, tagging.translated, options.tags)
    return plan


def _plan_unsubscribe(plan: MessagePlan, entries: list[HeaderEntry], renamed: list[HeaderEntry], options: TagOptions, finding: _Report) -> None:
    for entry in entries:
        if not options.list_unsubscribe:
            finding("MM207", entry.line, entry.col,
                    f"{entry.name}: MailPace reads the unsubscribe link from {MAILPACE_UNSUBSCRIBE} "
                    "(migrate --list-unsubscribe renames it)")
        elif renamed or len(entries) > 1:
            finding("MM206", entry.line, entry.col,
                    f"this message sets {entry.name} more than once or beside {MAILPACE_UNSUBSCRIBE}: keep one by hand")
        else:
            plan.edits.append(pymessages.render_rename(entry, MAILPACE_UNSUBSCRIBE))
            plan.renamed = True
            finding("MM207", entry.line, entry.col,
                    f"{entry.name}: MailPace reads the unsubscribe link from {MAILPACE_UNSUBSCRIBE}", fixable=True)


def _read(site: MessageSite, tag_headers: list[HeaderEntry], mailpace: list[HeaderEntry], finding: _Report) -> _Tagging:
    tagging = _Tagging()
    for index, entry in enumerate(mailpace):
        if entry.value is None:
            tagging.problems.append((entry, f"{MAILPACE_TAGS} is computed here (`{entry.value_code}`)"))
        elif index and not site.repeatable:
            tagging.problems.append((entry, f"{MAILPACE_TAGS} is set twice on this message, and the headers dict keeps only the last"))
        else:
            tagging.existing += read_mailpace_tags(entry.value)
    seen: set[str] = set()
    for entry in tag_headers:
        header = TAG_HEADERS[entry.name.lower()]
        if not site.repeatable:
            # Django's and Flask-Mail's headers are a dict: a second X-PM-Tag (a repeated key,
            # or `extra_headers["X-PM-Tag"] = ...` later) replaces the first. Which was meant
            # is a guess.
            if entry.name.lower() in seen:
                tagging.problems.append((entry, f"{entry.name} is set twice on this message, and the headers dict keeps only the last"))
                continue
            seen.add(entry.name.lower())
        read = TagRead()
        value: dict[object, object] | None = entry.json_value
        if value is None and entry.value is not None and header.json_keys:
            try:
                loaded = json.loads(entry.value)
            except ValueError:
                loaded = None
            value = loaded if isinstance(loaded, dict) else None
            if value is None:
                tagging.problems.append((entry, f"{entry.name} does not hold a JSON object"))
                continue
        if value is not None:
            read_json_object(header, value, read)
        elif entry.value is not None:
            read = read_tags(header, entry.value)
        else:
            tagging.problems.append((entry, f"{entry.name}'s value is computed (`{entry.value_code}`): write it as {MAILPACE_TAGS} on line {entry.line} by hand"))
            continue
        if read.problems:
            tagging.problems += [(entry, p) for p in read.problems]
            continue
        if value is not None and not read.tag_keys:
            # X-SMTPAPI with unique_args only: no tags in it, just provider settings.
            finding("MM205", entry.line, entry.col, _provider_text(entry.name, header.provider))
            continue
        tagging.sources.append(entry)
        tagging.translated += read.tags
        if read.other_keys:
            assert value is not None
            tagging.trimmed.append((entry, value, read.tag_keys))
            finding("MM205", entry.line, entry.col,
                    f"{entry.name} keeps {', '.join(read.other_keys)}: {header.provider} settings MailPace gives no meaning "
                    "(its tags moved to X-MailPace-Tags; remove the rest when nothing else needs it)")
        else:
            tagging.removable.append(entry)
    return tagging


def _tag_edits(doc: Document, site: MessageSite, tagging: _Tagging, mailpace: list[HeaderEntry], options: TagOptions) -> list[Edit] | str:
    """The edits giving the message one complete X-MailPace-Tags, or why that cannot be done."""
    merged = merge_tags(tagging.existing, tagging.translated, options.tags)
    value = join_tags(merged)
    complete = not tagging.sources and len(mailpace) <= 1 and all(t in tagging.existing for t in options.tags)
    if complete:
        return []
    edits: list[Edit] = []
    remove = list(tagging.removable)
    if not merged:  # provider headers with only blank tags: nothing to carry over
        remove += mailpace
    elif mailpace:
        if read_mailpace_tags(mailpace[0].value or "") != merged:
            edits.append(pymessages.render_value(mailpace[0], value))
        remove += mailpace[1:]
    elif remove:
        # The MailPace header takes the first provider header's place.
        edits += pymessages.render_replacement(remove.pop(0), MAILPACE_TAGS, value)
    elif site.adder is None:
        return "there is no place to add a header without moving code or comments (a line of its own after the message, an empty dict with no comment)"
    else:
        edits.append(pymessages.render_addition(doc, site, MAILPACE_TAGS, value))
    removals = pymessages.render_removals(doc.text, remove)
    if removals is None:
        return "a header statement shares its line with other code"
    edits += removals
    for entry, data, keys in tagging.trimmed:
        edits += pymessages.render_json_without(entry, data, keys, doc.text)
    return edits
