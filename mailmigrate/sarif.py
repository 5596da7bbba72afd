"""SARIF 2.1.0 output for `check --format sarif`: one run, one rule per finding code.

GitHub code scanning (and other SARIF readers) show `shortDescription`/`fullDescription`/`help`
of the rule beside each result, so every code of `mailmigrate.codes.CODES` is a rule, in table
order: a code's `ruleIndex` is the same in every run. Relative paths are relative to `%SRCROOT%`
(the working directory, where the CLI runs); `partialFingerprints["mailmigrate/v1"]` lets a
result management system follow a result across runs when lines move.

Like every output format this returns a string; only the CLI prints it, through the masker.
The log holds nothing read from files except what the findings already say (their messages,
which never hold a secret unmasked).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import Counter
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from mailmigrate.codes import CODES, Code, level
from mailmigrate.model import Finding

# The `id` of the OASIS schema (errata01, the current OASIS Standard), vendored for the tests
# in tests/data/sarif-schema-2.1.0.json.
SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
# A versioned hierarchical name (SARIF §3.5.4.2): bump the version when the hashed input changes.
FINGERPRINT_KEY = "mailmigrate/v1"
# GitHub reads `security-severity` (a CVSS-like score as a string) on rules tagged "security":
# 7.0-8.9 is "high". A password committed to git is readable by everyone with the repository.
SECURITY_SEVERITY = {"MM201": "7.5"}
_CATEGORY = {"MM0": "input-problem", "MM1": "migration", "MM2": "hygiene"}
# Semantic Versioning 2.0.0 (semver.org's regular expression): `semanticVersion` must be one.
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


def render(findings: list[Finding], *, version: str, root: Path | None = None) -> str:
    """A SARIF 2.1.0 log of `findings` (one run), as JSON text ending in a newline.

    `root` is the directory relative finding paths are relative to (default: the working
    directory); it becomes `originalUriBaseIds["%SRCROOT%"]`."""
    index = {code.code: i for i, code in enumerate(CODES)}
    seen: Counter[tuple[str, str, str]] = Counter()
    results = []
    for finding in findings:
        location = _artifact_location(finding.path)
        identity = (finding.code, location["uri"], finding.message)
        seen[identity] += 1
        results.append(_result(finding, index.get(finding.code), location, _fingerprint(identity, seen[identity])))
    driver: dict[str, Any] = {"name": "mailmigrate", "version": version}
    if _SEMVER.fullmatch(version):
        driver["semanticVersion"] = version
    driver["rules"] = [_rule(code) for code in CODES]
    log = {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": driver},
                "invocations": [{"executionSuccessful": True}],
                "originalUriBaseIds": {SRCROOT: {"uri": _directory_uri(root if root is not None else Path.cwd())}},
                # Columns count characters of the decoded text (Python str offsets).
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    # ensure_ascii (the default) on purpose: the masker also matches secrets spelled the way
    # json.dumps escapes them.
    return json.dumps(log, indent=2) + "\n"


def _rule(code: Code) -> dict[str, Any]:
    tags = ["mailmigrate", "smtp", _CATEGORY.get(code.code[:3], "other")]
    properties: dict[str, Any] = {"tags": tags}
    if code.code in SECURITY_SEVERITY:
        tags.append("security")
        properties["security-severity"] = SECURITY_SEVERITY[code.code]
    return {
        "id": code.code,
        "name": code.name,
        "shortDescription": {"text": code.what},
        "fullDescription": {"text": f"{code.what} {code.why}"},
        "help": {"text": _help_text(code), "markdown": _help_markdown(code)},
        "defaultConfiguration": {"level": level(code.code)},
        "properties": properties,
    }


def _help_text(code: Code) -> str:
    example = "\n".join("    " + line for line in code.example.splitlines())
    return f"What: {code.what}\n\nWhy: {code.why}\n\nExample:\n{example}\n\nFix safety: {code.fix_safety}"


def _help_markdown(code: Code) -> str:
    # A fence longer than any run of backticks in the example, so the example cannot close it.
    longest = max((len(run) for run in re.findall(r"`+", code.example)), default=0)
    fence = "`" * max(3, longest + 1)
    language = "diff" if code.example.startswith(("-", "+", " ")) else ""
    return (
        f"**What** {code.what}\n\n**Why** {code.why}\n\n**Example**\n\n"
        f"{fence}{language}\n{code.example}\n{fence}\n\n**Fix safety** {code.fix_safety}"
    )


def _result(finding: Finding, rule_index: int | None, location: dict[str, str], fingerprint: str) -> dict[str, Any]:
    result: dict[str, Any] = {"ruleId": finding.code}
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    result["level"] = level(finding.code)
    result["message"] = {"text": finding.message}
    result["locations"] = [
        {
            "physicalLocation": {
                "artifactLocation": location,
                # SARIF lines and columns are 1-based: 0 would be invalid (schema minimum 1).
                "region": {"startLine": max(1, finding.line), "startColumn": max(1, finding.col)},
            }
        }
    ]
    result["partialFingerprints"] = {FINGERPRINT_KEY: fingerprint}
    result["properties"] = {"fixable": finding.fixable}
    return result


def _artifact_location(path: str) -> dict[str, str]:
    """A relative path becomes a relative URI reference against %SRCROOT% (percent-encoded, forward
    slashes); an absolute one a file: URI without a base id (SARIF §3.4.4)."""
    pure = PurePath(path)
    if pure.is_absolute():
        return {"uri": Path(path).as_uri()}
    # Bytes, so a file name that is not UTF-8 (surrogate-escaped) still encodes. A ":" is
    # encoded too: `c:x.env` must not read as a URI scheme.
    return {"uri": quote(os.fsencode(pure.as_posix()), safe="/"), "uriBaseId": SRCROOT}


def _directory_uri(root: Path) -> str:
    """file:///abs/dir/ — absolute, no `..` segments, one trailing slash (SARIF §3.14.14)."""
    uri = Path(os.path.abspath(root)).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def _fingerprint(identity: tuple[str, str, str], occurrence: int) -> str:
    """What the result is (code, file, message), not where in the file: a result keeps its
    fingerprint when lines above it move. `occurrence` tells apart identical results in one file."""
    digest = hashlib.sha256("\0".join(identity).encode("utf-8", "surrogateescape")).hexdigest()
    return f"{digest[:32]}:{occurrence}"
