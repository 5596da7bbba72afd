"""[tool.mailmigrate] in pyproject.toml and mailmigrate.toml (issue 8): found from the PATHs,
validated with errors naming the file and the key, command-line options winning, and every key
taking effect on a real run."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import make_repo
from typer.testing import CliRunner

from mailmigrate.cli import app
from mailmigrate.projectconfig import ProjectConfig, glob_regex, load

STALE_ENV = "EMAIL_HOST=smtp.sendgrid.net\nEMAIL_PORT=587\nEMAIL_USE_TLS=True\nEMAIL_HOST_USER=\nEMAIL_HOST_PASSWORD=\n"


def _cli(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    import os

    before = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        result = CliRunner().invoke(app, list(args), env={"MAILPACE_API_TOKEN": ""})
    finally:
        os.chdir(before)
    return result.exit_code, result.stdout, result.stderr


def _repo(tmp_path: Path, config: str, name: str = "pyproject.toml", **files: str) -> Path:
    return make_repo(tmp_path / "r", {name: config, ".env.example": STALE_ENV, **files})


@pytest.mark.parametrize(("config", "words"), [
    ('[tool.mailmigrate]\nport = 588\n', "[tool.mailmigrate] port: must be one of 25, 587, 2525, 465, not 588"),
    ('[tool.mailmigrate]\nport = true\n', "port: must be one of"),
    ('[tool.mailmigrate]\ntoken-env = "MY-TOKEN"\n', "token-env: must be a variable name"),
    ('[tool.mailmigrate]\ntags = ["a,b"]\n', "tags: a tag may not hold a comma"),
    ('[tool.mailmigrate]\ntags = ""\n', "tags: give at least one tag"),
    ('[tool.mailmigrate]\ntags = 3\n', "tags: must be a string"),
    ('[tool.mailmigrate]\nignore = ["MM999"]\n', "ignore: no such code: MM999"),
    ('[tool.mailmigrate]\nignore = "MM101"\n', "ignore: must be a list of non-empty strings"),
    ('[tool.mailmigrate]\nexclude = [""]\n', "exclude: must be a list of non-empty strings"),
    ('[tool.mailmigrate]\nextra-rules = ["nope.yaml"]\n', "extra-rules: nope.yaml: no such file"),
    ('[tool.mailmigrate]\nlist-unsubscribe = "yes"\n', "list-unsubscribe: must be true or false"),
    ('[tool.mailmigrate]\nexlude = ["x"]\n', "exlude: unknown key (did you mean 'exclude'?)"),
    ('[tool.mailmigrate\nport = 25\n', "not valid TOML"),
])
def test_invalid_configuration_is_exit_2_naming_file_and_key(tmp_path: Path, config: str, words: str) -> None:
    repo = _repo(tmp_path, config)
    before = (repo / ".env.example").read_bytes()
    for command in (["check", str(repo)], ["migrate", str(repo), "--write"], ["scan", str(repo)]):
        code, out, err = _cli(*command)
        assert code == 2, (command, out, err)
        assert "invalid project configuration" in err and "pyproject.toml" in err and words in err, err
        assert "Traceback" not in err
    assert (repo / ".env.example").read_bytes() == before


def test_mailmigrate_toml_has_the_keys_at_the_top(tmp_path: Path) -> None:
    repo = _repo(tmp_path, 'port = 2525\nexlude = []\n', name="mailmigrate.toml")
    code, _, err = _cli("check", str(repo))
    assert code == 2 and "mailmigrate.toml: exlude: unknown key" in err
    (repo / "mailmigrate.toml").write_text("port = 2525\n")
    code, out, _ = _cli("migrate", str(repo))
    assert code == 1 and "+EMAIL_PORT=2525" in out


def test_found_from_file_names_in_a_subfolder_and_cli_options_win(tmp_path: Path) -> None:
    repo = _repo(tmp_path, "[tool.poetry]\nname = 'x'\n\n[tool.mailmigrate]\nport = 465\n", **{"deploy/.env.example": STALE_ENV})
    # pre-commit runs from the root with relative names; a run from a subfolder finds it too
    code, out, _ = _cli("migrate", "deploy/.env.example", cwd=repo)
    assert code == 1 and "+EMAIL_PORT=465" in out
    code, out, _ = _cli("migrate", ".env.example", cwd=repo / "deploy")
    assert code == 1 and "+EMAIL_PORT=465" in out
    code, out, _ = _cli("migrate", str(repo / "deploy"), "--port", "587")
    assert code == 1 and "+EMAIL_USE_SSL" not in out and "EMAIL_PORT=465" not in out


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    outer = tmp_path / "mailmigrate.toml"
    outer.write_text("port = 2525\n")
    inner = tmp_path / "proj"
    inner.mkdir()
    (inner / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert load([inner], inner).source == outer


def test_exclude_ignore_tags_token_env_and_extra_rules_take_effect(tmp_path: Path) -> None:
    rule = (Path(__file__).resolve().parent.parent / "rules" / "outline.yaml").read_text()
    acme = rule.replace("family: outline", "family: acme-mailer").replace("title: Outline", "title: ACME mailer").replace("SMTP_", "ACME_SMTP_")
    repo = _repo(
        tmp_path,
        '[tool.mailmigrate]\nexclude = ["legacy/", "*.sample"]\nignore = ["MM201"]\ntags = "shop, receipts"\n'
        'token-env = "SHOP_MAILPACE_TOKEN"\nextra-rules = ["ci/acme.yaml"]\n',
        **{
            "legacy/.env.example": STALE_ENV, "old.env.sample": STALE_ENV, "ci/acme.yaml": acme,
            "acme.env.example": "ACME_SMTP_HOST=smtp.gmail.com\nACME_SMTP_PORT=587\nACME_SMTP_SECURE=false\nACME_SMTP_USERNAME=\nACME_SMTP_PASSWORD=\n",
            "settings.py": 'EMAIL_HOST = "smtp.sendgrid.net"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\nEMAIL_HOST_USER = "apikey"\nEMAIL_HOST_PASSWORD = "SG.literal-secret"\n',
            "mail.py": "from django.core.mail import EmailMessage\n\nEmailMessage('s', 'b', to=['x@example.com']).send()\n",
        },
    )
    code, out, _ = _cli("check", str(repo))
    assert code == 1
    assert "legacy/" not in out and "old.env.sample" not in out  # excluded
    assert "MM201" not in out  # ignored
    assert "acme.env.example:1:1: MM101 Gmail host" in out  # the extra family
    assert "MM209 Django EmailMessage is not tagged shop, receipts" in out  # configured tags are checked
    code, out, _ = _cli("migrate", str(repo))
    assert "+EmailMessage('s', 'b', to=['x@example.com'], headers={'X-MailPace-Tags': 'shop, receipts'}).send()" in out
    assert '+EMAIL_HOST_PASSWORD = os.environ["SHOP_MAILPACE_TOKEN"]' in out
    assert "+ACME_SMTP_HOST=smtp.mailpace.com" in out
    assert "legacy/" not in out


@pytest.mark.parametrize(("pattern", "yes", "no"), [
    ("legacy/", ["legacy/.env", "legacy/a/b.py"], ["src/legacy.py", "xlegacy/.env"]),
    ("*.sample", ["a.sample", "deep/er/b.sample"], ["a.sample.py"]),
    ("docs/**/*.yml", ["docs/a.yml", "docs/x/y/a.yml"], ["a/docs/a.yml", "docs/a.yaml"]),
    ("vendor", ["vendor/x.py", "a/vendor/y.env"], ["vendors/x.py"]),
    ("/build", ["build/x"], ["src/build/x"]),
])
def test_exclude_globs_are_gitignore_style(pattern: str, yes: list[str], no: list[str]) -> None:
    regex = glob_regex(pattern)
    assert all(regex.fullmatch(p) for p in yes), [p for p in yes if not regex.fullmatch(p)]
    assert not any(regex.fullmatch(p) for p in no), [p for p in no if regex.fullmatch(p)]


def test_no_configuration_is_the_defaults(tmp_path: Path) -> None:
    assert load([tmp_path], tmp_path) == ProjectConfig()


def test_ignored_codes_leave_a_configuration_alone_in_check_and_migrate_alike(tmp_path: Path) -> None:
    repo = _repo(tmp_path, '[tool.mailmigrate]\nignore = ["MM101"]\n', **{"settings.py": (
        'import os\nEMAIL_HOST = "smtp.mailgun.org"\nEMAIL_PORT = 587\nEMAIL_USE_TLS = True\n'
        'EMAIL_HOST_USER = os.environ["MAILPACE_API_TOKEN"]\nEMAIL_HOST_PASSWORD = os.environ["MAILPACE_API_TOKEN"]\n'
    )})
    (repo / ".env.example").unlink()
    assert _cli("check", str(repo)) == (0, "", "")
    code, out, _ = _cli("migrate", str(repo))
    assert (code, out) == (0, "")


def test_a_port_written_as_a_float_or_a_non_ascii_token_variable_is_refused(tmp_path: Path) -> None:
    for config, words in (("port = 465.0\n", "port: must be one of"), ('token-env = "ÄTOKEN"\n', "token-env: must be a variable name")):
        repo = make_repo(tmp_path / f"r{len(words)}", {"mailmigrate.toml": config, ".env.example": STALE_ENV})
        code, _, err = _cli("migrate", str(repo), "--write")
        assert code == 2 and words in err
        assert (repo / ".env.example").read_text() == STALE_ENV


def test_search_stops_at_the_repository_root_and_reads_every_spelling_of_the_table(tmp_path: Path) -> None:
    (tmp_path / "mailmigrate.toml").write_text('ignore = ["MM101", "MM104", "MM107"]\n')  # above the repository
    repo = _repo(tmp_path, "[project]\nname = 'x'\n")
    assert _cli("check", str(repo))[0] == 1
    (repo / "pyproject.toml").write_text('[tool]\nmailmigrate = {port = 588}\n')
    code, _, err = _cli("check", str(repo))
    assert code == 2 and "port: must be one of" in err
    (repo / "pyproject.toml").write_text('[tool."mailmigrate"]\nport = 2525\n')
    assert "+EMAIL_PORT=2525" in _cli("migrate", str(repo))[1]


@pytest.mark.parametrize("glob", ["!legacy/", "[l]egacy", "./legacy", "..\\\\x"])
def test_unsupported_globs_are_refused(tmp_path: Path, glob: str) -> None:
    repo = _repo(tmp_path, f"[tool.mailmigrate]\nexclude = [{glob!r}]\n".replace("'", '"') if '"' not in glob else "")
    code, _, err = _cli("check", str(repo))
    assert code == 2 and "not supported" in err


def test_an_extra_rule_file_without_credential_keys_is_refused_by_its_path(tmp_path: Path) -> None:
    rule = "family: acme\ntitle: Acme\nforms:\n  env:\n    keys:\n      ACME_HOST: host\n    markers: [ACME_HOST]\n"
    repo = _repo(tmp_path, '[tool.mailmigrate]\nextra-rules = ["ci/acme.yaml"]\n', **{"ci/acme.yaml": rule, "acme.env": "ACME_HOST=smtp.sendgrid.net\n"})
    code, _, err = _cli("check", str(repo))
    assert code == 2 and "internal error" not in err
    assert str(repo / "ci" / "acme.yaml") in err and "needs a key with role user and password" in err
