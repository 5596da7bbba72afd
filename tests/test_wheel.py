"""The rule files ship inside the built wheel, and the installed package finds them there."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_contains_every_rule_file_and_loads_them(tmp_path: Path) -> None:
    # --no-isolation: hatchling comes with the test extras, so no download is needed.
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("mailmigrate-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for rule in sorted((ROOT / "rules").glob("*.yaml")):
        assert f"mailmigrate/rules/{rule.name}" in names, rule.name
    assert "mailmigrate/cli.py" in names
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    probe = (
        "import mailmigrate.rules as r, sys;"
        "d = r.default_rules_dir(); assert str(d).startswith(sys.argv[1]), d;"
        "print(len(r.load_ruleset().families))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, str(unpacked)],
        cwd=tmp_path, env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin", "MAILMIGRATE_CACHE_DIR": str(tmp_path / "c")},
        capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(list((ROOT / "rules").glob("*.yaml")))
