"""The organisation-wide recipes in recipes/: the multi-gitter script run the way multi-gitter
runs it (a fresh clone on the feature branch, cwd = the clone, the caller's environment plus
REPOSITORY), with multi-gitter's --manual-commit rule for the PR title and body applied to the
result; and the Sourcegraph batch spec, parsed and its step run the way src runs it."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from helpers import SUBPROCESS_TIMEOUT, clean_env, make_repo

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "recipes" / "multi-gitter" / "mailmigrate.sh"
CONFIG = ROOT / "recipes" / "multi-gitter" / "config.yml"
BATCH_SPEC = ROOT / "recipes" / "sourcegraph" / "mailmigrate.batch.yaml"

SENTINEL = "5e7t1ne1-70ke-4000-8000-5ent1ne1c0de"  # MAILPACE_API_TOKEN: must show up nowhere
BRANCH = "mailmigrate/mailpace"
TITLE = "Move outgoing mail to MailPace"

# A Django shop on SendGrid: the template env file and the settings module are tracked, the real
# .env is git-ignored (a fresh clone has none).
STALE = {
    ".gitignore": ".env\n__pycache__/\n",
    ".env.example": (
        "# Copy to .env and fill in.\n"
        "DJANGO_SECRET_KEY=change-me\n"
        "EMAIL_HOST=smtp.sendgrid.net\n"
        "EMAIL_PORT=587\n"
        "EMAIL_HOST_USER=apikey\n"
        "EMAIL_HOST_PASSWORD=\n"
        "DEFAULT_FROM_EMAIL=orders@shop.example.com\n"
    ),
    "shop/settings.py": (
        '"""Django settings for the shop (mail part)."""\n'
        "import os\n\n"
        'EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"\n'
        'EMAIL_HOST = os.environ.get("EMAIL_HOST", "smtp.sendgrid.net")\n'
        'EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 587))\n'
        'EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "apikey")\n'
        "EMAIL_USE_TLS = True\n"
    ),
}
# Already on MailPace: nothing to do.
CLEAN = {
    ".gitignore": ".env\n",
    ".env.example": (
        "EMAIL_HOST=smtp.mailpace.com\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n"
    ),
}
# A Laravel app whose encryption value mailmigrate cannot decide (MM006): a person must fix it.
UNDECIDABLE = {
    "legacy/.env.example": (
        "MAIL_MAILER=smtp\nMAIL_HOST=smtp.mailgun.org\nMAIL_PORT=587\nMAIL_ENCRYPTION=starttsl\n"
        "MAIL_USERNAME=\nMAIL_PASSWORD=\n"
    ),
}
SECRETS_ENV = "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_HOST_USER=apikey\nEMAIL_HOST_PASSWORD=SG.local-secret\n"


def _env(**extra: str) -> dict[str, str]:
    """The environment multi-gitter gives the script: its own (git identity included) + REPOSITORY."""
    env = clean_env(
        GIT_AUTHOR_NAME="Migration Bot", GIT_AUTHOR_EMAIL="bot@example.invalid",
        GIT_COMMITTER_NAME="Migration Bot", GIT_COMMITTER_EMAIL="bot@example.invalid",
        GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,  # no signing or hooks from this machine
    )
    env.pop("DRY_RUN", None)
    env.update(extra)
    return env


def _out(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT, check=True
    ).stdout


@dataclass
class Run:
    clone: Path
    code: int
    stdout: str
    stderr: str
    before: str  # HEAD before the script ran
    after: str

    @property
    def committed(self) -> bool:
        return self.before != self.after

    def pull_request(self) -> tuple[str, str]:
        """multi-gitter --manual-commit without --pr-title: the first commit's first line is the
        title, the rest (trimmed) the body (internal/multigitter/run.go, getPRBodyAndTitle)."""
        first = _out(["git", "rev-list", "--reverse", f"{self.before}..HEAD"], self.clone).split()[0]
        message = _out(["git", "log", "-1", "--format=%B", first], self.clone).rstrip("\n")
        title, _, body = message.partition("\n")
        return title.strip(), body.strip()

    def status(self) -> str:
        return _out(["git", "status", "--porcelain", "--ignored"], self.clone)


def clone(origin: Path, into: Path) -> Path:
    """What multi-gitter does before running the script: clone the base branch, shallow, and
    switch to the feature branch."""
    env = _env()
    subprocess.run(
        ["git", "clone", "-q", "--branch", "main", "--single-branch", "--depth", "1", origin.as_uri(), str(into)],
        env=env, check=True, capture_output=True, timeout=SUBPROCESS_TIMEOUT,
    )
    subprocess.run(["git", "checkout", "-q", "-b", BRANCH], cwd=into, env=env, check=True, timeout=SUBPROCESS_TIMEOUT)
    return into


def run_script(repo: Path, *args: str, **env: str) -> Run:
    before = _out(["git", "rev-parse", "HEAD"], repo).strip()
    done = subprocess.run(
        [str(SCRIPT), *args], cwd=repo, env=_env(REPOSITORY=f"acme/{repo.name}", **env),
        capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT * 2, check=False,
    )
    after = _out(["git", "rev-parse", "HEAD"], repo).strip()
    return Run(repo, done.returncode, done.stdout, done.stderr, before, after)


def assert_token_nowhere(run: Run, *texts: str) -> None:
    """The sentinel token is in no output, no commit message, no tracked file of any commit."""
    for text in (run.stdout, run.stderr, *texts):
        assert SENTINEL not in text
    log = _out(["git", "log", "--all", "--format=%B"], run.clone)
    assert SENTINEL not in log
    found = subprocess.run(["git", "grep", "-q", "-F", SENTINEL, "HEAD"], cwd=run.clone, check=False, timeout=SUBPROCESS_TIMEOUT)
    assert found.returncode == 1, "the token is in a tracked file"


@pytest.fixture
def origins(tmp_path: Path) -> dict[str, Path]:
    return {
        "shop": make_repo(tmp_path / "origin" / "shop", tracked=STALE),
        "mailer": make_repo(tmp_path / "origin" / "mailer", tracked=CLEAN),
    }


# ---------------------------------------------------------------------------------------------
# multi-gitter
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_two_repositories_as_multi_gitter_runs_them(origins: dict[str, Path], tmp_path: Path) -> None:
    shop = run_script(clone(origins["shop"], tmp_path / "clones" / "shop"), MAILPACE_API_TOKEN=SENTINEL)
    mailer = run_script(clone(origins["mailer"], tmp_path / "clones" / "mailer"), MAILPACE_API_TOKEN=SENTINEL)

    # The stale repository: migrated, committed, nothing left in the working tree.
    assert shop.code == 0, shop.stderr
    assert shop.committed and shop.status() == ""
    example = (shop.clone / ".env.example").read_text()
    assert "EMAIL_HOST=smtp.mailpace.com\n" in example and "EMAIL_USE_TLS=True\n" in example
    assert "EMAIL_HOST_USER=\n" in example and "sendgrid" not in example
    assert '"smtp.mailpace.com"' in (shop.clone / "shop" / "settings.py").read_text()
    changed = set(_out(["git", "diff", "--name-only", shop.before, "HEAD"], shop.clone).split())
    assert changed == {".env.example", "shop/settings.py"}  # the report is not committed
    # The pull request multi-gitter opens from that commit: the report is its body.
    title, body = shop.pull_request()
    assert title == TITLE
    assert body.startswith("# mailmigrate: move to MailPace")
    assert "| File | Configuration | Before | After | Port / TLS |" in body
    assert "| <code>.env.example:3</code> | Django | SendGrid | smtp.mailpace.com | 587 / STARTTLS |" in body
    assert "## To do by hand" in body and "EMAIL_HOST_PASSWORD" in body
    assert "<details><summary><code>.env.example</code>" in body and "+EMAIL_HOST=smtp.mailpace.com" in body
    assert "mailmigrate: migrated" in shop.stdout
    # The migration is complete: check is clean on the branch.
    assert subprocess.run(["mailmigrate", "check"], cwd=shop.clone, env=_env(), capture_output=True,
                          timeout=SUBPROCESS_TIMEOUT, check=False).returncode == 0

    # The repository already on MailPace: exit 0 and no commit, so multi-gitter skips it
    # ("no data was changed").
    assert mailer.code == 0, mailer.stderr
    assert not mailer.committed and mailer.status() == ""
    assert "nothing to change" in mailer.stdout
    assert (mailer.clone / ".env.example").read_text() == CLEAN[".env.example"]

    for run in (shop, mailer):
        assert_token_nowhere(run)
        assert not list(run.clone.rglob("*.md")), "no report is left in the clone"

    # Running the recipe again on the migrated branch changes nothing.
    again = run_script(shop.clone, MAILPACE_API_TOKEN=SENTINEL)
    assert again.code == 0 and not again.committed and "nothing to change" in again.stdout


@pytest.mark.slow
def test_findings_for_a_person(tmp_path: Path) -> None:
    # Something to migrate and something a person must fix: the migration is committed and the
    # PR body lists the finding.
    mixed = run_script(clone(make_repo(tmp_path / "o1", tracked={**STALE, **UNDECIDABLE}), tmp_path / "mixed"))
    assert mixed.code == 0, mixed.stderr
    assert mixed.committed and mixed.status() == ""
    _, body = mixed.pull_request()
    assert "**Other findings that need a person**" in body
    assert "<code>legacy/.env.example:4:1</code> MM006" in body
    assert "findings that need a person are listed in the pull request" in mixed.stdout
    assert "starttsl" in (mixed.clone / "legacy" / ".env.example").read_text()  # left for the person

    # Only a finding, nothing to migrate: exit 3 (no pull request), the report in the log.
    only = run_script(clone(make_repo(tmp_path / "o2", tracked=UNDECIDABLE), tmp_path / "only"))
    assert only.code == 3
    assert not only.committed and only.status() == ""
    assert "# mailmigrate: move to MailPace" in only.stdout and "MM006" in only.stdout


@pytest.mark.slow
def test_errors_skip_the_repository_with_nothing_written(origins: dict[str, Path], tmp_path: Path) -> None:
    # A checkout with its git-ignored .env (a secrets file, which needs the token) and no token:
    # mailmigrate refuses (exit 2), the script exits 2, nothing is written or committed.
    repo = clone(origins["shop"], tmp_path / "dev")
    (repo / ".env").write_text(SECRETS_ENV)
    refused = run_script(repo, MAILPACE_API_TOKEN="")
    assert refused.code == 2
    assert not refused.committed
    assert refused.status() == "!! .env\n"
    assert (repo / ".env").read_text() == SECRETS_ENV
    assert (repo / ".env.example").read_text() == STALE[".env.example"]
    assert "nothing was written" in refused.stderr

    # A working tree with changes of its own is not the clean clone the script expects.
    (repo / "notes.txt").write_text("work in progress\n")
    dirty = run_script(repo, MAILPACE_API_TOKEN=SENTINEL)
    assert dirty.code == 2 and "working tree has changes" in dirty.stderr and not dirty.committed


@pytest.mark.slow
def test_ignored_secrets_file_gets_the_token_and_is_never_committed(origins: dict[str, Path], tmp_path: Path) -> None:
    repo = clone(origins["shop"], tmp_path / "dev")
    (repo / ".env").write_text(SECRETS_ENV)
    run = run_script(repo, MAILPACE_API_TOKEN=SENTINEL)
    assert run.code == 0, run.stderr
    assert run.committed and run.status() == "!! .env\n"
    assert f"EMAIL_HOST_PASSWORD={SENTINEL}" in (repo / ".env").read_text()  # where it belongs
    assert ".env" not in _out(["git", "ls-files"], repo).split()
    assert_token_nowhere(run)


@pytest.mark.slow
def test_the_token_never_reaches_a_commit(origins: dict[str, Path], tmp_path: Path) -> None:
    """The script's own guard, should a tool ever write the token into a tracked file: a stand-in
    mailmigrate that does just that is refused before anything is committed."""
    repo = clone(origins["shop"], tmp_path / "clone")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "mailmigrate"
    fake.write_text('#!/bin/sh\nprintf "EMAIL_HOST_PASSWORD=%s\\n" "$MAILPACE_API_TOKEN" >> .env.example\nexit 0\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    run = run_script(repo, MAILPACE_API_TOKEN=SENTINEL, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert run.code == 2
    assert "token is in a file or message about to be committed" in run.stderr
    assert not run.committed
    assert _out(["git", "diff", "--cached", "--name-only"], repo) == ""  # unstaged again
    assert SENTINEL not in run.stdout + run.stderr
    assert SENTINEL not in _out(["git", "log", "--all", "--format=%B"], repo)


@pytest.mark.slow
def test_long_report_loses_its_diffs_in_the_pr_body(origins: dict[str, Path], tmp_path: Path) -> None:
    # GitHub refuses a PR body over 65536 characters; a lower limit shows the same cut.
    run = run_script(clone(origins["shop"], tmp_path / "clone"), MAILMIGRATE_PR_BODY_LIMIT="1500")
    assert run.code == 0, run.stderr
    _, body = run.pull_request()
    assert len(body) <= 1500
    assert body.startswith("# mailmigrate: move to MailPace") and "| File | Configuration |" in body
    assert "## To do by hand" in body
    assert "## Changes" not in body and "<details>" not in body
    assert "its diffs are not repeated here" in body


@pytest.mark.slow
def test_without_manual_commit_the_changes_stay_in_the_tree(origins: dict[str, Path], tmp_path: Path) -> None:
    """MAILMIGRATE_COMMIT=false: for a run without --manual-commit, where multi-gitter commits what
    the script leaves (git add .) under one -m / --pr-body. The report goes to the log."""
    run = run_script(clone(origins["shop"], tmp_path / "clone"), MAILMIGRATE_COMMIT="false", DRY_RUN="true")
    assert run.code == 0, run.stderr
    assert not run.committed
    assert run.status() == " M .env.example\n M shop/settings.py\n"
    assert run.stdout.startswith("# mailmigrate: move to MailPace")


@pytest.mark.slow
def test_multi_gitter_dry_run_prints_the_pull_request(origins: dict[str, Path], tmp_path: Path) -> None:
    # `multi-gitter run --dry-run` still runs the script (DRY_RUN=true) and logs its output.
    run = run_script(clone(origins["shop"], tmp_path / "clone"), DRY_RUN="true")
    assert run.code == 0 and run.committed
    assert f"{TITLE}\n\n# mailmigrate: move to MailPace" in run.stdout


def test_script_is_posix_sh() -> None:
    text = SCRIPT.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert re.search(r"^set -eu$", text, re.MULTILINE)
    assert SCRIPT.stat().st_mode & stat.S_IXUSR, "multi-gitter runs the script directly: it must be executable"
    for shell in ("sh", "dash", "bash"):
        if shutil.which(shell):
            subprocess.run([shell, "-n", str(SCRIPT)], check=True, timeout=SUBPROCESS_TIMEOUT)
    # The token is never handed to a command on its command line (the process list shows those).
    for line in text.splitlines():
        if "MAILPACE_API_TOKEN" in line and not line.lstrip().startswith("#"):
            assert line.strip().startswith(("if [ -n", "printf '%s\\n' \"$MAILPACE_API_TOKEN\" >")), line


# Every multi-gitter `run` flag config.yml may use, as in multi-gitter's cmd/cmd-run.go, cmd/git.go,
# cmd/platform.go and cmd/filtering.go (the config file's keys are the flag names).
MULTI_GITTER_RUN_FLAGS = {
    "branch", "base-branch", "pr-title", "pr-body", "commit-message", "reviewers", "team-reviewers", "assignees",
    "max-reviewers", "max-team-reviewers", "concurrent", "skip-pr", "push-only", "manual-commit", "api-push",
    "push-option", "interactive", "dry-run", "conflict-strategy", "draft", "pr-auto-merge", "merge-type", "labels",
    "author-name", "author-email", "clone-dir", "fetch-depth", "git-type", "org", "group", "user", "repo",
    "repo-search", "code-search", "topic", "skip-repo", "skip-forks", "repo-include", "repo-exclude", "platform",
    "base-url", "token", "ssh-auth", "fork", "fork-owner", "log-level", "log-format", "log-file", "output",
}


def test_multi_gitter_config() -> None:
    config = YAML(typ="safe").load(CONFIG.read_text())
    assert set(config) <= MULTI_GITTER_RUN_FLAGS
    assert config["manual-commit"] is True
    # Any of these would replace the per-repository report as the PR's title/body.
    assert not {"commit-message", "pr-title", "pr-body"} & set(config)
    assert config["branch"] == BRANCH


# ---------------------------------------------------------------------------------------------
# Sourcegraph batch changes
# ---------------------------------------------------------------------------------------------


def _spec() -> dict:  # type: ignore[type-arg]
    return YAML(typ="safe").load(BATCH_SPEC.read_text())  # type: ignore[no-any-return]


def _migrate_command(script: str) -> list[str]:
    """The `mailmigrate migrate ...` invocation in a shell script, as words, up to its redirection,
    `||` or the script's pass-through arguments."""
    lines = [line for line in script.splitlines() if line.strip().startswith("mailmigrate migrate ")]
    assert len(lines) == 1, lines
    words = []
    for word in shlex.split(lines[0]):
        if word in ("||", ">&2", "$@", "2>&1"):
            break
        words.append(word)
    return words


def test_batch_spec_shape_and_same_command_as_the_script() -> None:
    spec = _spec()
    assert spec["version"] == 2
    assert re.fullmatch(r"[\w.-]+", spec["name"])
    assert spec["on"] and all("repositoriesMatchingQuery" in item or "repository" in item for item in spec["on"])
    (step,) = spec["steps"]
    assert set(step) <= {"run", "container", "env", "files", "outputs", "mount", "if"}
    assert step["container"].startswith("python:3.")
    assert step["outputs"]["report"]["value"] == "${{ step.stdout }}"
    template = spec["changesetTemplate"]
    assert template["body"] == "${{ outputs.report }}"
    assert template["title"] == TITLE and template["branch"] == BRANCH and template["commit"]["message"]
    assert template["published"] in (False, True, "draft") or isinstance(template["published"], list)
    # The same migration as the multi-gitter recipe.
    assert _migrate_command(step["run"]) == _migrate_command(SCRIPT.read_text())
    assert _migrate_command(step["run"]) == [
        "mailmigrate", "migrate", "--write", "--report", "$report", "--report-format", "markdown"
    ]
    # The token is not handed to the step: the migration never needs it.
    assert "MAILPACE_API_TOKEN" not in str(step.get("env", ""))


def _src_workspace(files: dict[str, str], where: Path) -> Path:
    """src's workspace: the repository archive unzipped, `git init`, everything added with
    --force and committed (docs: "How src executes a batch spec")."""
    where.mkdir(parents=True)
    for rel, content in files.items():
        (where / rel).parent.mkdir(parents=True, exist_ok=True)
        (where / rel).write_text(content)
    env = _env()
    for args in (["init", "-q"], ["add", "--force", "--all"], ["commit", "--quiet", "--all", "-m", "sourcegraph-batch-changes"]):
        subprocess.run(["git", *args], cwd=where, env=env, check=True, timeout=SUBPROCESS_TIMEOUT)
    return where


def _run_step(workspace: Path, home: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    """The step's `run`, as src runs it (a script file given to bash, cwd = the workspace), then
    src's `git add --all` and `git diff --cached`: the changeset's diff."""
    script = home / "step.sh"
    script.write_text(_spec()["steps"][0]["run"])
    env = _env(HOME=str(home), MAILPACE_API_TOKEN=SENTINEL, MAILMIGRATE_PIP_SPEC="never-used")
    env.pop("GIT_CONFIG_GLOBAL")  # the step writes safe.directory into the (temporary) global config
    done = subprocess.run(["bash", str(script)], cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=SUBPROCESS_TIMEOUT * 2, check=False)
    subprocess.run(["git", "add", "--all"], cwd=workspace, env=_env(), check=True, timeout=SUBPROCESS_TIMEOUT)
    diff = _out(["git", "diff", "--cached", "--no-prefix", "--binary"], workspace, _env())
    return done, diff


@pytest.mark.slow
def test_batch_spec_step_runs_as_src_runs_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    stale, stale_diff = _run_step(_src_workspace(STALE, tmp_path / "shop"), home)
    assert stale.returncode == 0, stale.stderr
    assert stale.stdout.startswith("# mailmigrate: move to MailPace")  # the changeset body
    assert "| <code>.env.example:3</code> | Django | SendGrid | smtp.mailpace.com | 587 / STARTTLS |" in stale.stdout
    assert "<details>" in stale.stdout
    assert "+EMAIL_HOST=smtp.mailpace.com" in stale_diff and "+EMAIL_USE_TLS=True" in stale_diff
    files = set(re.findall(r"^diff --git (\S+) ", stale_diff, re.MULTILINE))
    assert files == {".env.example", "shop/settings.py"}  # the report stays out of the changeset
    assert f"directory = {tmp_path / 'shop'}" in (home / ".gitconfig").read_text()  # [safe] directory

    clean, clean_diff = _run_step(_src_workspace(CLEAN, tmp_path / "mailer"), home)
    assert clean.returncode == 0, clean.stderr
    assert clean_diff == ""  # no diff: src creates no changeset for this repository

    for text in (stale.stdout, stale.stderr, stale_diff, clean.stdout, clean.stderr):
        assert SENTINEL not in text


@pytest.mark.slow
def test_batch_spec_step_fails_where_mailmigrate_cannot_run(tmp_path: Path) -> None:
    # A repository whose own mailmigrate configuration is invalid: exit 2, nothing written, no
    # body; src reports the step as failed (or skips the repository with -skip-errors).
    home = tmp_path / "home"
    home.mkdir()
    workspace = _src_workspace({**STALE, "mailmigrate.toml": "port = 2526\n"}, tmp_path / "shop")
    done, diff = _run_step(workspace, home)
    assert done.returncode == 2
    assert "nothing was written" in done.stderr and done.stdout == ""
    assert diff == ""
