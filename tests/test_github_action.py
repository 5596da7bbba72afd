"""The GitHub Action: action.yml's structure, and scripts/github-action.sh run locally with the
environment the runner gives a composite action's step (GITHUB_WORKSPACE, RUNNER_TEMP,
GITHUB_STEP_SUMMARY, GITHUB_OUTPUT, GITHUB_ACTIONS, and the INPUT_* variables action.yml maps
from its inputs: composite actions get none of their own)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from helpers import SUBPROCESS_TIMEOUT, clean_env, make_repo

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
SCRIPT = ROOT / "scripts" / "github-action.sh"
SENTINEL = "5e7t1ne1-70ke-4000-8000-5ent1ne1c0de"

STALE = {
    ".gitignore": ".env\n",
    ".env.example": "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD=\n",
}
CLEAN = {
    ".gitignore": ".env\n",
    ".env.example": "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n",
}
UNDECIDABLE = {
    "legacy/.env.example": "MAIL_MAILER=smtp\nMAIL_HOST=smtp.mailgun.org\nMAIL_PORT=587\nMAIL_ENCRYPTION=starttsl\n",
}


def _action() -> dict:  # type: ignore[type-arg]
    return YAML(typ="safe").load(ACTION.read_text())  # type: ignore[no-any-return]


@dataclass
class Job:
    code: int
    stdout: str
    stderr: str
    summary: str
    outputs: dict[str, str]
    report: Path

    def everything(self) -> str:
        report = self.report.read_text() if self.report.exists() else ""
        return self.stdout + self.stderr + self.summary + report + repr(self.outputs)


def run_action(workspace: Path, tmp_path: Path, **inputs: str) -> Job:
    """The action's last step, as action.yml runs it: `bash $GITHUB_ACTION_PATH/scripts/github-action.sh`
    in the workspace, with the step's env mapping and the runner's variables."""
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir(exist_ok=True)
    summary = runner_temp / "step_summary"
    output = runner_temp / "github_output"
    for f in (summary, output):
        f.write_text("")
    mailmigrate = shutil.which("mailmigrate")
    assert mailmigrate
    env = clean_env(
        GITHUB_ACTIONS="true", CI="true", GITHUB_WORKSPACE=str(workspace), RUNNER_TEMP=str(runner_temp),
        GITHUB_STEP_SUMMARY=str(summary), GITHUB_OUTPUT=str(output), GITHUB_ACTION_PATH=str(ROOT),
        MAILMIGRATE=mailmigrate, MAILPACE_API_TOKEN=SENTINEL,  # a job-level secret the action must not need
        INPUT_PATH=inputs.get("path", "."), INPUT_FAIL_ON_FINDINGS=inputs.get("fail_on_findings", "true"),
    )
    done = subprocess.run(["bash", str(SCRIPT)], cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT * 2, check=False)
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return Job(done.returncode, done.stdout, done.stderr, summary.read_text(), outputs,
               runner_temp / "mailmigrate-report.md")


def _status(repo: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True,
                          check=True, timeout=SUBPROCESS_TIMEOUT).stdout


# ---------------------------------------------------------------------------------------------
# action.yml
# ---------------------------------------------------------------------------------------------


def test_action_yml_structure() -> None:
    action = _action()
    assert action["name"] and action["description"]
    inputs = action["inputs"]
    assert inputs["path"]["default"] == "."
    assert inputs["fail-on-findings"]["default"] == "true"
    assert all(spec.get("description") for spec in inputs.values())
    assert all(isinstance(spec.get("default", ""), str) for spec in inputs.values())  # inputs are strings
    runs = action["runs"]
    assert runs["using"] == "composite"
    ids = {step["id"] for step in runs["steps"] if "id" in step}
    text = ACTION.read_text()
    for step in runs["steps"]:
        assert ("run" in step) != ("uses" in step), step
        if "run" in step:
            assert step["shell"] == "bash", "a composite action's run step must name its shell"
            # Inputs reach run scripts through env, never pasted into the script (injection).
            assert "${{" not in step["run"], step["run"]
        else:
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@v\d+", step["uses"]), "pin actions to a major version"
    # Every `inputs.X` and `steps.X` the file refers to exists.
    assert set(re.findall(r"inputs\.([\w-]+)", text)) <= set(inputs)
    assert set(re.findall(r"steps\.([\w-]+)\.outputs", text)) <= ids
    for output in action["outputs"].values():
        assert output["description"] and output["value"].startswith("${{ steps.")
    # The install step installs this checkout of mailmigrate into its own virtualenv.
    install = next(s for s in runs["steps"] if "pip install" in s.get("run", ""))
    assert '"$GITHUB_ACTION_PATH"' in install["run"] and "-m venv" in install["run"]
    # The last step runs the script with the variables it reads.
    last = runs["steps"][-1]
    assert last["run"] == (
        'MAILMIGRATE="$RUNNER_TEMP/mailmigrate-venv/bin/mailmigrate" bash "$GITHUB_ACTION_PATH/scripts/github-action.sh"'
    )
    assert install["run"].count('"$RUNNER_TEMP/mailmigrate-venv') == 2  # where MAILMIGRATE points
    assert set(last["env"]) == {"INPUT_PATH", "INPUT_FAIL_ON_FINDINGS"}
    assert last["env"]["INPUT_PATH"] == "${{ inputs.path }}"
    assert last["env"]["INPUT_FAIL_ON_FINDINGS"] == "${{ inputs.fail-on-findings }}"
    script = SCRIPT.read_text()
    for name in (*last["env"], "MAILMIGRATE"):
        assert name in script
    assert "MAILPACE_API_TOKEN" not in str(last["env"])


def test_script_is_strict_bash() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert re.search(r"^set -euo pipefail$", text, re.MULTILINE)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True, timeout=SUBPROCESS_TIMEOUT)


# ---------------------------------------------------------------------------------------------
# scripts/github-action.sh
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_stale_repository_fails_the_job(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", tracked=STALE)
    job = run_action(repo, tmp_path)
    assert job.code == 1, job.stdout + job.stderr
    # Annotations on the PR's diff, relative to the repository root.
    assert "::error file=.env.example,line=1,col=1,title=MM101 non-mailpace-host::" in job.stdout
    assert re.search(r"^::error file=\.env\.example,line=\d+,col=\d+,title=MM10[78] ", job.stdout, re.MULTILINE)
    assert "::error title=mailmigrate::Stale SMTP configuration" in job.stdout
    # The job summary is the report: its table and a collapsible diff.
    assert job.summary.startswith("# mailmigrate: move to MailPace")
    assert "| <code>.env.example:1</code> | Django | SendGrid | smtp.mailpace.com | 587 / STARTTLS |" in job.summary
    assert "<details><summary><code>.env.example</code>" in job.summary
    assert "+EMAIL_HOST=smtp.mailpace.com" in job.summary and "</details>" in job.summary
    assert job.outputs == {"stale": "true", "report": str(job.report)}
    assert job.report.read_text() == job.summary
    # The diff in the log is printed with workflow commands stopped: no line of it can act as one.
    stop = re.search(r"^::stop-commands::(\S+)$", job.stdout, re.MULTILINE)
    assert stop
    resume = job.stdout.index(f"::{stop.group(1)}::")
    assert stop.end() < job.stdout.index("+EMAIL_HOST=smtp.mailpace.com") < resume
    assert "configuration to migrate" in job.stdout[stop.end():resume]  # stderr too
    # A dry run: the repository is untouched; the token was never needed nor shown.
    assert _status(repo) == ""
    assert SENTINEL not in job.everything()


@pytest.mark.slow
def test_clean_repository_passes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", tracked=CLEAN)
    job = run_action(repo, tmp_path)
    assert job.code == 0, job.stdout + job.stderr
    assert "::error" not in job.stdout and "::warning" not in job.stdout
    assert job.summary.startswith("### mailmigrate: nothing to change")
    assert job.outputs["stale"] == "false"
    assert _status(repo) == ""
    assert SENTINEL not in job.everything()


@pytest.mark.slow
def test_fail_on_findings_false_annotates_without_failing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", tracked=STALE)
    job = run_action(repo, tmp_path, fail_on_findings="false")
    assert job.code == 0
    assert "::error file=.env.example," in job.stdout
    assert "::warning title=mailmigrate::Stale SMTP configuration" in job.stdout
    assert "| <code>.env.example:1</code> | Django |" in job.summary and job.outputs["stale"] == "true"


@pytest.mark.slow
def test_path_input(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", tracked={**CLEAN, **UNDECIDABLE, "other/.env.example": STALE[".env.example"]})
    # One path per line, blanks ignored; annotations still name files from the repository root.
    job = run_action(repo, tmp_path, path="\n  legacy  \n\n")
    assert job.code == 1
    assert "file=legacy/.env.example,line=4," in job.stdout
    assert "other/" not in job.stdout + job.summary  # not asked for
    assert "MM006" in job.summary and "Other findings that need a person" in job.summary
    both = run_action(repo, tmp_path, path="legacy\nother")
    assert "file=legacy/.env.example," in both.stdout and "file=other/.env.example," in both.stdout


@pytest.mark.slow
def test_errors_fail_the_job(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", tracked=CLEAN)
    missing = run_action(repo, tmp_path, path="no/such/dir")
    assert missing.code == 2
    assert "::error title=mailmigrate::mailmigrate could not run" in missing.stdout
    assert "no such file or directory" in missing.stderr
    bad = run_action(repo, tmp_path, fail_on_findings="yes")
    assert bad.code == 2 and "fail-on-findings must be true or false" in bad.stdout
