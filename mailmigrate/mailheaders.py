"""What mail headers mean to MailPace: its own (`X-MailPace-Tags`, `X-List-Unsubscribe`), other
providers' tag headers and how their values hold tags, provider headers MailPace gives no
meaning, and the legacy OhMySMTP names. Facts from ../shared/mailpace.md and the providers'
own documentation; this module only reads values, it never decides what to write.

Header names compare case-insensitively (RFC 5322), so every table is keyed by the lower-cased
name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import StrEnum

MAILPACE_TAGS = "X-MailPace-Tags"
MAILPACE_UNSUBSCRIBE = "X-List-Unsubscribe"


class Meaning(StrEnum):
    """What a header is, for a message about to go through MailPace."""

    MAILPACE_TAGS = "mailpace-tags"  # X-MailPace-Tags itself
    TAGS = "tags"  # another provider's tags: translated into X-MailPace-Tags
    LEGACY_TAGS = "legacy-tags"  # OhMySMTP's old names for X-MailPace-Tags
    LEGACY = "legacy"  # another OhMySMTP-era header with no meaning now
    UNSUBSCRIBE = "unsubscribe"  # List-Unsubscribe: MailPace reads X-List-Unsubscribe instead
    UNSUBSCRIBE_POST = "unsubscribe-post"  # RFC 8058 one-click: MailPace documents no support
    PROVIDER = "provider"  # provider metadata, tracking switches, streams: no MailPace meaning


class Shape(StrEnum):
    """How a tag header's value holds its tags."""

    ONE = "one"  # the whole value is one tag (X-PM-Tag; a repeated header adds more)
    LIST = "list"  # comma-separated tags (X-MC-Tags)
    PAIRS = "pairs"  # `name=value, name2=value2`: each pair is kept as one tag (SES)
    JSON = "json"  # a JSON object; `json_keys` hold a tag or a list of tags (X-SMTPAPI)


@dataclass(frozen=True)
class TagHeader:
    name: str  # the provider's spelling
    provider: str
    shape: Shape
    json_keys: tuple[str, ...] = ()


_TAG_HEADERS = (
    TagHeader("X-PM-Tag", "Postmark", Shape.ONE),
    TagHeader("X-Mailgun-Tag", "Mailgun", Shape.ONE),
    TagHeader("X-MC-Tags", "Mandrill", Shape.LIST),
    TagHeader("X-SMTPAPI", "SendGrid", Shape.JSON, ("category",)),
    TagHeader("X-MSYS-API", "SparkPost", Shape.JSON, ("tags", "campaign_id")),
    TagHeader("X-SES-MESSAGE-TAGS", "Amazon SES", Shape.PAIRS),
    TagHeader("X-Mailin-Tag", "Brevo", Shape.LIST),
    TagHeader("X-MailerSend-Tags", "MailerSend", Shape.LIST),
    TagHeader("X-Mailjet-Campaign", "Mailjet", Shape.ONE),
    # OhMySMTP, MailPace's former name: the same comma list as X-MailPace-Tags.
    TagHeader("X-OMS-Tags", "OhMySMTP", Shape.LIST),
    TagHeader("X-OhMySMTP-Tags", "OhMySMTP", Shape.LIST),
)
TAG_HEADERS: dict[str, TagHeader] = {h.name.lower(): h for h in _TAG_HEADERS}
_LEGACY_TAGS = frozenset({"x-oms-tags", "x-ohmysmtp-tags"})
_LEGACY = frozenset({"ohmysmtp-server-token"})

# Every other header under these prefixes is the provider's own (metadata, tracking switches,
# message streams, templates): meaningless to MailPace, so reported, never dropped unasked.
_PROVIDER_PREFIXES: tuple[tuple[str, str], ...] = (
    ("x-pm-", "Postmark"),
    ("x-mailgun-", "Mailgun"),
    ("x-mc-", "Mandrill"),
    ("x-ses-", "Amazon SES"),
    ("x-msys-", "SparkPost"),
    ("x-mj-", "Mailjet"),
    ("x-mailjet-", "Mailjet"),
    ("x-mailin-", "Brevo"),
    ("x-sib-", "Brevo"),
    ("x-mailersend-", "MailerSend"),
    ("x-sg-", "SendGrid"),
)

# The cheap pass over a Python file's bytes: only files naming one of these are read for headers.
# A header name in code is a string literal, so its quote comes first: `"X-` is rare where `X-`
# and `x-` (`max-width`, `index-`) are everywhere.
_QUOTED_X = (b'"X-', b"'X-", b'"x-', b"'x-")
_NEEDLE = re.compile(
    rb"""(?i)["']x-(?:pm-|mailgun-|mc-|smtpapi|msys-|ses-|mj-|mailjet-|mailin-|sib-|mailersend-|sg-|oms-|ohmysmtp-|mailpace-)"""
)
_UNSUBSCRIBE = (b"-Unsubscribe", b"-unsubscribe", b"-UNSUBSCRIBE", b"OhMySMTP-Server")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 field name: printable ASCII but ':'


def mentions_headers(data: bytes) -> bool:
    """Could this file set a header mailmigrate cares about? Substring tests first (memchr
    speed), the case-insensitive regex only on the few files that quote an X- header."""
    if any(n in data for n in _UNSUBSCRIBE):
        return True
    return any(n in data for n in _QUOTED_X) and _NEEDLE.search(data) is not None


def meaning_of(name: str) -> tuple[Meaning, str] | None:
    """What header `name` is, and whose (the provider's name), or None for an ordinary header."""
    lowered = name.strip().lower()
    if lowered == MAILPACE_TAGS.lower():
        return Meaning.MAILPACE_TAGS, "MailPace"
    if lowered in TAG_HEADERS:
        header = TAG_HEADERS[lowered]
        return (Meaning.LEGACY_TAGS if lowered in _LEGACY_TAGS else Meaning.TAGS), header.provider
    if lowered in _LEGACY:
        return Meaning.LEGACY, "OhMySMTP"
    if lowered == "list-unsubscribe":
        return Meaning.UNSUBSCRIBE, "RFC 2369"
    if lowered == "list-unsubscribe-post":
        return Meaning.UNSUBSCRIBE_POST, "RFC 8058"
    for prefix, provider in _PROVIDER_PREFIXES:
        if lowered.startswith(prefix) and len(lowered) > len(prefix):
            return Meaning.PROVIDER, provider
    return None


def is_header_name(text: str) -> bool:
    return _HEADER_NAME.fullmatch(text) is not None


def describe(name: str) -> str:
    """A few words on what a provider header does (for a finding about it)."""
    lowered = name.lower()
    if "metadata" in lowered or "variables" in lowered or "customid" in lowered or "payload" in lowered:
        return "message metadata"
    if "track" in lowered:
        return "a tracking switch"
    if "stream" in lowered:
        return "a message stream"
    if "configuration-set" in lowered:
        return "a configuration set"
    if "template" in lowered:
        return "a provider template"
    return "a provider setting"


# --------------------------------------------------------------------------------------------
# Reading tags out of values


@dataclass
class TagRead:
    """The tags a header value holds, and what stops a faithful translation."""

    tags: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # each stops the message being rewritten
    # JSON headers: keys besides the tag keys (unique_args, metadata): the header stays for them.
    other_keys: list[str] = field(default_factory=list)
    tag_keys: list[str] = field(default_factory=list)  # the tag keys present


def read_tags(header: TagHeader, value: str) -> TagRead:
    read = TagRead()
    if header.shape is Shape.JSON:
        _read_json(header, value, read)
    elif header.shape is Shape.ONE:
        _add_one(value, header.name, read)
    else:
        for part in value.split(","):
            _add_one(part, header.name, read)
    return read


def read_mailpace_tags(value: str) -> list[str]:
    """MailPace splits X-MailPace-Tags on commas and trims each tag."""
    return [t.strip() for t in value.split(",") if t.strip()]


def _add_one(raw: str, where: str, read: TagRead) -> None:
    tag = raw.strip()
    if not tag:
        return  # blanks are dropped: MailPace would ignore them too
    if "," in tag:
        read.problems.append(f"{where} holds the tag {tag!r}, which has a comma: MailPace splits X-MailPace-Tags on commas")
    elif any(not ch.isprintable() for ch in tag):
        read.problems.append(f"{where} holds a tag with a control character or line break")
    else:
        read.tags.append(tag)


def _read_json(header: TagHeader, value: str, read: TagRead) -> None:
    try:
        data = json.loads(value)
    except ValueError:
        read.problems.append(f"{header.name} is not valid JSON")
        return
    if not isinstance(data, dict):
        read.problems.append(f"{header.name} is not a JSON object")
        return
    read_json_object(header, data, read)


def read_json_object(header: TagHeader, data: dict[object, object], read: TagRead) -> None:
    for key, item in data.items():
        if key not in header.json_keys:
            read.other_keys.append(str(key))
            continue
        read.tag_keys.append(str(key))
        items = item if isinstance(item, list) else [item]
        for tag in items:
            if isinstance(tag, str):
                _add_one(tag, f"{header.name} {key}", read)
            elif isinstance(tag, (int, float)) and not isinstance(tag, bool):
                _add_one(str(tag), f"{header.name} {key}", read)  # SparkPost campaign ids may be numbers
            else:
                read.problems.append(f"{header.name} {key} is computed or holds something other than tag names")


def merge_tags(*groups: list[str] | tuple[str, ...]) -> list[str]:
    """One list, in order of first appearance, without duplicates or blanks."""
    seen: dict[str, None] = {}
    for group in groups:
        for tag in group:
            tag = tag.strip()
            if tag:
                seen.setdefault(tag, None)
    return list(seen)


def parse_tags_option(text: str) -> tuple[str, ...]:
    """`--tags "a, b"` → ("a", "b"). Raises ValueError with a sentence for a user's mistake:
    an empty list, or a control character (a line break would inject a header)."""
    if any(not ch.isprintable() for ch in text):
        raise ValueError("tags may not contain line breaks or control characters")
    tags = tuple(merge_tags(text.split(",")))
    if not tags:
        raise ValueError("give at least one tag, e.g. --tags \"welcome, transactional\"")
    return tags


def join_tags(tags: list[str] | tuple[str, ...]) -> str:
    return ", ".join(tags)
