"""Every finding code is documented (what, why, example, fix safety), used codes exist, and
docs/codes.md is generated from the table."""

from __future__ import annotations

import re
from pathlib import Path

from mailmigrate.codes import CODES, render_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_every_code_has_every_heading() -> None:
    for code in CODES:
        assert re.fullmatch(r"MM\d{3}", code.code), code.code
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)*", code.name), code.name
        for heading in ("what", "why", "example", "fix_safety"):
            assert getattr(code, heading).strip(), f"{code.code} lacks {heading}"


def test_codes_and_names_are_unique() -> None:
    assert len({c.code for c in CODES}) == len(CODES)
    assert len({c.name for c in CODES}) == len(CODES)


def test_every_code_the_source_emits_is_documented() -> None:
    documented = {c.code for c in CODES}
    used: set[str] = set()
    for path in (ROOT / "mailmigrate").rglob("*.py"):
        if path.name == "codes.py":
            continue
        used |= set(re.findall(r'"(MM\d{3})"', path.read_text()))
    assert used, "no codes found: the scan is broken"
    assert used <= documented, f"undocumented: {sorted(used - documented)}"


def test_docs_page_is_generated_from_the_table() -> None:
    page = (ROOT / "docs" / "codes.md").read_text()
    assert page == render_markdown(), "run: python -m mailmigrate.codes > docs/codes.md"
    for code in CODES:
        assert f"## {code.code} {code.name}" in page
