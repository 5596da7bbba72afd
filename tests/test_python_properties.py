"""Property tests for Python settings: the result parses (ast and libcst), a second run
changes nothing, lines that hold no SMTP setting survive, and modules without SMTP settings
never change."""

from __future__ import annotations

import ast
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import TOKEN, run_file

KEYS = ["EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "EMAIL_USE_TLS", "EMAIL_USE_SSL",
        "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USERNAME", "MAIL_PASSWORD"]
OTHER = ["DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "TIME_ZONE", "EMAIL_SUBJECT_PREFIX"]
HOSTS = ["smtp.sendgrid.net", "smtp.gmail.com", "localhost", "mailpit", "smtp.mailpace.com", ""]


@st.composite
def value(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["str", "int", "bool", "env", "env_default", "none"]))
    if kind == "int":
        return str(draw(st.sampled_from([25, 465, 587, 2525, 1025])))
    if kind == "bool":
        return draw(st.sampled_from(["True", "False"]))
    if kind == "none":
        return "None"
    text = draw(st.sampled_from(HOSTS + ["apikey", "SG.abc", "me@example.com"]))
    quote = draw(st.sampled_from(['"', "'"]))
    literal = f"{quote}{text}{quote}"
    if kind == "env":
        return f'os.environ.get("X_{draw(st.integers(0, 3))}")'
    if kind == "env_default":
        return f'os.environ.get("X_{draw(st.integers(0, 3))}", {literal})'
    return literal


@st.composite
def module(draw: st.DrawFn, keys: list[str]) -> str:
    lines = ["import os", ""]
    for _ in range(draw(st.integers(1, 10))):
        shape = draw(st.sampled_from(["assign", "assign", "comment", "blank", "annotated"]))
        if shape == "comment":
            lines.append("# " + draw(st.sampled_from(["mail", "EMAIL_HOST = 'x'", "settings"])))
        elif shape == "blank":
            lines.append("")
        else:
            key = draw(st.sampled_from(keys))
            annotation = ": str" if shape == "annotated" else ""
            comment = draw(st.sampled_from(["", "  # note"]))
            lines.append(f"{key}{annotation} = {draw(value())}{comment}")
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    return newline.join(lines) + newline


COMMON = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@COMMON
@given(text=module(OTHER))
def test_modules_without_smtp_settings_never_change(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        new, _ = run_file(Path(tmp), text, name="settings.py", secrets_file=False)
    assert new == text


@COMMON
@given(text=module(KEYS + OTHER), port=st.sampled_from([None, 587, 465]))
def test_rewrites_parse_are_stable_and_touch_only_smtp_lines(text: str, port: int | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        new, _ = run_file(Path(tmp), text, name="settings.py", secrets_file=False, port=port)  # not blocked
        again, _ = run_file(Path(tmp), new, name="settings.py", secrets_file=False, port=port)
    assert again == new
    ast.parse(new)
    assert TOKEN not in new
    kept = [line for line in text.splitlines() if line and not any(line.startswith(k) for k in KEYS) and not line.startswith("X_")]
    new_lines = new.splitlines()
    for line in kept:
        assert line in new_lines, f"lost {line!r}"
    if "\r\n" in text:
        assert new.count("\n") == new.count("\r\n")
