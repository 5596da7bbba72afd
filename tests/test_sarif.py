"""SARIF 2.1.0 output (`mailmigrate.sarif`), validated against the OASIS schema vendored in
tests/data, and the `--format github` workflow commands parsed back the way the Actions runner
parses them."""

from __future__ import annotations

import functools
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlparse
from urllib.request import url2pathname

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import clean_env, make_repo, run_process
from mailmigrate import __version__, sarif
from mailmigrate.cli import CheckFormat
from mailmigrate.codes import BY_CODE, CODES
from mailmigrate.model import Finding
from mailmigrate.output import findings_github

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"


@functools.cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def validate(text: str) -> dict[str, Any]:
    """Parse and validate against the schema with the draft it declares; returns the log."""
    log: dict[str, Any] = json.loads(text)
    validator_class = jsonschema.validators.validator_for(schema())
    validator_class.check_schema(schema())
    validator = validator_class(schema(), format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    return log


# RFC 3986 characters; every "%" starts a percent-encoding. (jsonschema checks "format": "uri"
# only with rfc3987 installed, so the URIs are checked here.)
URI_CHARS = re.compile(r"(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-F]{2})*")


def realistic(tmp_path: Path) -> list[Finding]:
    return [
        Finding("MM101", ".env", 1, 12, "SendGrid host smtp.sendgrid.net is not MailPace (smtp.mailpace.com)", True),
        Finding("MM201", "config/settings.py", 4, 23, "EMAIL_HOST_PASSWORD holds a literal password in a file git tracks", True),
        Finding("MM003", "deploy files/app env.env", 7, 1, "invalid env line: `EMAIL_HOST smtp.sendgrid.net`"),
        Finding("MM202", str(tmp_path / "other project" / "settings.py"), 5, 1,
                "DEFAULT_FROM_EMAIL is built from EMAIL_HOST_USER; set a real sender address on your domain"),
    ]


def results_of(log: dict[str, Any]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = log["runs"][0]["results"]
    return results


def rules_of(log: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = log["runs"][0]["tool"]["driver"]["rules"]
    return rules


def local_path(log: dict[str, Any], location: dict[str, Any]) -> Path:
    """Resolve an artifactLocation the way a SARIF consumer does (SARIF §3.4.4)."""
    artifact = location["physicalLocation"]["artifactLocation"]
    uri = artifact["uri"]
    if "uriBaseId" in artifact:
        base = log["runs"][0]["originalUriBaseIds"][artifact["uriBaseId"]]["uri"]
        assert urlparse(uri).scheme == "", uri  # a relative reference, never read as a scheme
        uri = urljoin(base, uri)
    parsed = urlparse(uri)
    assert parsed.scheme == "file" and parsed.netloc == ""
    return Path(url2pathname(parsed.path))


def test_realistic_findings_are_valid_sarif_and_parse_back(tmp_path: Path) -> None:
    findings = realistic(tmp_path)
    log = validate(sarif.render(findings, version="0.1.0", root=tmp_path))
    assert log["version"] == "2.1.0"
    assert log["$schema"] == schema()["id"]  # the vendored schema's own id: a real URI
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "mailmigrate" and driver["version"] == driver["semanticVersion"] == "0.1.0"
    assert "informationUri" not in driver
    assert run["invocations"] == [{"executionSuccessful": True}]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": tmp_path.as_uri() + "/"}}

    results = results_of(log)
    rules = rules_of(log)
    assert [r["ruleId"] for r in results] == ["MM101", "MM201", "MM003", "MM202"]
    for result, finding in zip(results, findings):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == rules[result["ruleIndex"]]["defaultConfiguration"]["level"]
        assert result["message"] == {"text": finding.message}
        assert result["properties"] == {"fixable": finding.fixable}
        (location,) = result["locations"]
        assert location["physicalLocation"]["region"] == {"startLine": finding.line, "startColumn": finding.col}
        assert local_path(log, location) == tmp_path / finding.path  # an absolute path stays itself
        assert URI_CHARS.fullmatch(location["physicalLocation"]["artifactLocation"]["uri"])
        assert set(result["partialFingerprints"]) == {"mailmigrate/v1"}
    assert [r["level"] for r in results] == ["error", "warning", "error", "warning"]

    artifacts = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in results]
    assert artifacts[:3] == [
        {"uri": ".env", "uriBaseId": "%SRCROOT%"},
        {"uri": "config/settings.py", "uriBaseId": "%SRCROOT%"},
        {"uri": "deploy%20files/app%20env.env", "uriBaseId": "%SRCROOT%"},
    ]
    assert artifacts[3] == {"uri": (tmp_path / "other project" / "settings.py").as_uri()}
    assert "%20" in artifacts[3]["uri"] and artifacts[3]["uri"].startswith("file:///")


@pytest.mark.parametrize("path", ["c:odd.env", "a#b?.env", "100%.env", "we,ird;dir/x=y&z.env", "ünï/cödé.env", "a\\b.env"])
def test_unusual_relative_paths_stay_relative_references(tmp_path: Path, path: str) -> None:
    log = validate(sarif.render([Finding("MM101", path, 1, 1, "m")], version="0.1.0", root=tmp_path))
    (result,) = results_of(log)
    uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert URI_CHARS.fullmatch(uri), uri
    assert unquote(uri) == path
    assert local_path(log, result["locations"][0]) == tmp_path / path


def test_regions_are_never_zero() -> None:
    log = validate(sarif.render([Finding("MM001", "x.env", 0, 0, "cannot read the file")], version="0.1.0"))
    assert results_of(log)[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 1}


def test_no_findings_is_a_valid_empty_run() -> None:
    log = validate(sarif.render([], version="0.1.0"))
    assert results_of(log) == []
    assert len(rules_of(log)) == len(CODES)


def test_every_code_is_a_rule_in_table_order() -> None:
    rules = rules_of(validate(sarif.render([], version="0.1.0")))
    ids = [rule["id"] for rule in rules]
    assert ids == [code.code for code in CODES]
    assert len(set(ids)) == len(ids)
    for rule in rules:
        code = BY_CODE[rule["id"]]
        assert rule["name"] == code.name
        assert rule["shortDescription"]["text"] == code.what
        assert code.why in rule["fullDescription"]["text"]
        assert code.example in rule["help"]["markdown"] and code.fix_safety in rule["help"]["markdown"]
        assert "```" in rule["help"]["markdown"] and code.fix_safety in rule["help"]["text"]
        expected = "warning" if rule["id"].startswith("MM2") else "error"
        assert rule["defaultConfiguration"]["level"] == expected
        tags = rule["properties"]["tags"]
        assert {"mailmigrate", "smtp"} <= set(tags)
        if rule["id"] == "MM201":
            assert "security" in tags
            assert 7.0 <= float(rule["properties"]["security-severity"]) < 9.0  # GitHub: "high"
        else:
            assert "security" not in tags and "security-severity" not in rule["properties"]
        assert "helpUri" not in rule


def test_output_is_deterministic(tmp_path: Path) -> None:
    findings = realistic(tmp_path)
    first = sarif.render(findings, version="0.1.0", root=tmp_path)
    assert first == sarif.render(list(findings), version="0.1.0", root=tmp_path)
    assert first.endswith("}\n") and first.splitlines()[1].startswith('  "')  # indent=2
    assert sarif.render([], version="0.1.0") == sarif.render([], version="0.1.0")


def test_semantic_version_only_when_it_is_one() -> None:
    driver = validate(sarif.render([], version="0.1.0.dev3+g1234"))["runs"][0]["tool"]["driver"]
    assert driver["version"] == "0.1.0.dev3+g1234" and "semanticVersion" not in driver


def test_fingerprints_follow_the_result_not_its_line() -> None:
    def fingerprints(findings: list[Finding]) -> list[str]:
        log = validate(sarif.render(findings, version="0.1.0"))
        return [r["partialFingerprints"]["mailmigrate/v1"] for r in results_of(log)]

    host = Finding("MM101", ".env", 1, 1, "SendGrid host smtp.sendgrid.net is not MailPace (smtp.mailpace.com)", True)
    moved = Finding(host.code, host.path, 9, 3, host.message, True)
    assert fingerprints([host]) == fingerprints([moved])
    assert fingerprints([host]) != fingerprints([Finding("MM102", host.path, 1, 1, host.message)])
    assert fingerprints([host]) != fingerprints([Finding(host.code, "other/.env", 1, 1, host.message)])
    twice = fingerprints([host, moved])
    assert len(set(twice)) == 2 and twice[0] == fingerprints([host])[0]


def test_engine_findings_render_to_valid_sarif(tmp_path: Path) -> None:
    """The function on a real run's findings (the CLI's `--format sarif` calls it the same way)."""
    from helpers import run_file

    _, result = run_file(tmp_path, "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=2587\nEMAIL_HOST_PASSWORD=SG.sentinel-secret-123\n",
                         secrets_file=False)
    assert result.findings
    log = validate(sarif.render(result.findings, version=__version__, root=tmp_path))
    rules = rules_of(log)
    assert [r["ruleId"] for r in results_of(log)] == [f.code for f in result.findings]
    assert {"MM101", "MM103", "MM201"} <= {r["ruleId"] for r in results_of(log)}
    for r in results_of(log):
        assert rules[r["ruleIndex"]]["id"] == r["ruleId"]


@pytest.mark.skipif("sarif" not in {f.value for f in CheckFormat}, reason="`check --format sarif` is not wired in the CLI yet")
@pytest.mark.slow
def test_cli_check_format_sarif(tmp_path: Path) -> None:
    repo = make_repo(
        tmp_path / "repo",
        tracked={".gitignore": ".env\n"},
        untracked={".env": "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_HOST_PASSWORD=SG.sentinel-secret-123\n"},
    )
    done = run_process([sys.executable, "-m", "mailmigrate", "check", "--format", "sarif", "."], cwd=repo,
                       env=clean_env(MAILPACE_API_TOKEN="sentinel-token-xyz"))
    assert done.returncode == 1, done.stderr
    log = validate(done.stdout)
    assert log["runs"][0]["tool"]["driver"]["version"] == __version__
    assert any(
        r["ruleId"] == "MM101" and r["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": ".env", "uriBaseId": "%SRCROOT%"}
        for r in results_of(log)
    )
    for sentinel in ("SG.sentinel-secret-123", "sentinel-secret", "sentinel-token-xyz"):
        assert sentinel not in done.stdout and sentinel not in done.stderr


# ---------------------------------------------------------------------------------------------
# `check --format github`: parsed back with the algorithm of the Actions runner
# (actions/runner ActionCommand.TryParseV2 and its _escapeDataMappings/_escapePropertyMappings).
# ---------------------------------------------------------------------------------------------

_DATA_ESCAPES = (("\r", "%0D"), ("\n", "%0A"), ("%", "%25"))
_PROPERTY_ESCAPES = (("\r", "%0D"), ("\n", "%0A"), (":", "%3A"), (",", "%2C"), ("%", "%25"))
ANNOTATION = re.compile(r"::(error|warning|notice) file=[^,:\r\n]+,line=[1-9]\d*,col=[1-9]\d*,title=MM\d{3} [a-z-]+::[^\r\n]*")


def _unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for token, replacement in mappings:  # in the runner's order: "%25" last
        text = text.replace(replacement, token)
    return text


def parse_workflow_command(line: str) -> tuple[str, dict[str, str], str]:
    """(command, properties, data) as the runner reads `::command k=v,k=v::data`."""
    line = line.lstrip()
    assert line.startswith("::")
    end = line.index("::", 2)
    info = line[2:end]
    name, _, props = info.partition(" ")
    properties = {}
    for prop in (p for p in props.strip().split(",") if p):
        key, sep, value = prop.partition("=")
        if sep and key and value:
            properties[key] = _unescape(value, _PROPERTY_ESCAPES)
    return name, properties, _unescape(line[end + 2:], _DATA_ESCAPES)


def test_github_annotations_parse_back(tmp_path: Path) -> None:
    findings = realistic(tmp_path)
    lines = findings_github(findings).splitlines()
    assert len(lines) == len(findings)
    for line, finding in zip(lines, findings):
        assert ANNOTATION.fullmatch(line), line
        command, properties, data = parse_workflow_command(line)
        assert command in ("error", "warning")
        assert properties == {
            "file": finding.path, "line": str(finding.line), "col": str(finding.col),
            "title": f"{finding.code} {BY_CODE[finding.code].name}",
        }
        assert data == finding.message
    assert findings_github([]) == ""


# The characters (and escapes) the escaping is about, often; then anything but lone surrogates.
_ANNOTATION_PIECES = st.one_of(st.sampled_from(["%", ":", ",", "\r", "\n", "=", " ", "%0A", "%25", "::"]),
                               st.characters(exclude_categories=["Cs"]))


def _annotation_text(min_size: int = 0) -> st.SearchStrategy[str]:
    return st.lists(_ANNOTATION_PIECES, min_size=min_size).map("".join)


@settings(max_examples=200, deadline=None)
@given(path=_annotation_text(min_size=1), message=_annotation_text())
def test_github_annotation_escaping_round_trips(path: str, message: str) -> None:
    """`%`, CR, LF, `:` and `,` in a property, and `%`, CR, LF in the message, survive the
    runner's parser; one finding stays one line whatever the text holds."""
    (line,) = findings_github([Finding("MM101", path, 3, 7, message)]).split("\n")[:-1]
    assert "\r" not in line
    _, properties, data = parse_workflow_command(line)
    assert properties["file"] == path and properties["line"] == "3" and properties["col"] == "7"
    assert properties["title"] == "MM101 non-mailpace-host"
    assert data == message


def test_github_annotation_escaping_examples() -> None:
    text = findings_github([Finding("MM101", "we,ird:dir/100%/a\nb.env", 2, 1, "50% done:: next,\r\nline %0A")])
    assert text == (
        "::error file=we%2Cird%3Adir/100%25/a%0Ab.env,line=2,col=1,title=MM101 non-mailpace-host"
        "::50%25 done:: next,%0D%0Aline %250A\n"
    )
