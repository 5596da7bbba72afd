"""A file's kind from its name alone: cheap enough to run on every file of a large tree.

Kept apart from the format handlers so that classifying a name never imports a parser. A new
format adds its predicate here and its handler in mailmigrate/formats/.
"""

from __future__ import annotations

from collections.abc import Callable

_NOT_ENV_SUFFIXES = tuple(
    "." + ext
    for ext in (
        "yml yaml json js mjs cjs ts tsx jsx py toml ini cfg conf sh bash zsh fish ps1 md rst txt "
        "php rb go rs java kt xml html properties j2 jinja jinja2 erb lock bak swp orig"
    ).split()
)
_ENV_NAMES = frozenset({".env", ".envrc", ".flaskenv", "env", "dotenv", "env.example", "env.sample"})


def is_env_name(name: str) -> bool:
    """`.env`, `.env.local`, `.env-sample`, `prod.env`, `app.env.example`, `.envrc`."""
    lowered = name.lower()
    if lowered in _ENV_NAMES:
        return True
    if lowered.endswith(_NOT_ENV_SUFFIXES):
        return False  # docker-compose.env.yml, config.env.js: another format's file
    if lowered.startswith((".env.", ".env-", ".env_")):
        return True
    return lowered.endswith(".env") or ".env." in lowered


def is_python_name(name: str) -> bool:
    return name.endswith(".py")


def is_json_config_name(name: str) -> bool:
    """Only JSON files named as configuration (Mattermost `config.json`, Ghost
    `config.production.json`, `appsettings.json`): lock files, fixtures and data are not."""
    lowered = name.lower()
    if not lowered.endswith(".json") or lowered.endswith((".lock.json", "-lock.json", ".min.json")):
        return False
    stem = lowered[: -len(".json")]
    if stem.startswith(("tsconfig", "jsconfig")):
        return False  # JSON with comments, for the TypeScript compiler
    return stem.startswith(("config", "settings", "appsettings")) or stem.endswith(("config", "settings"))


# (kind, predicate on the file name), first match wins.
_KINDS: tuple[tuple[str, Callable[[str], bool]], ...] = (
    ("env", is_env_name),
    ("python", is_python_name),
    ("yaml", lambda name: name.lower().endswith((".yml", ".yaml"))),
    # airflow.cfg, grafana.ini, Gitea's app.ini, CTFd's config.ini (not setup.cfg / tox.ini)
    ("ini", lambda name: name.lower().endswith((".ini", ".cfg")) and name.lower() not in ("setup.cfg", "tox.ini", "pytest.ini", "mypy.ini")),
    ("toml", lambda name: name.lower().endswith(".toml")),
    ("json", is_json_config_name),
    ("properties", lambda name: name.lower().endswith(".properties")),
)
_STRUCTURED_SUFFIXES = (".yml", ".yaml", ".ini", ".cfg", ".toml", ".json", ".properties")


_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".tpl")


def kind_of(name: str) -> str | None:
    # Called for every file of a walked tree: the common answers first, cheaply.
    if name.endswith(".py"):
        return "python"
    lowered = name.lower()
    if lowered.endswith(_TEMPLATE_SUFFIXES) and not is_env_name(name):
        # application.yml.example, airflow.cfg.sample, config.json.dist: read as what they
        # template (they never receive the token: FileInfo.is_template)
        base = name[: name.rindex(".")]
        return kind_of(base) if base and base != name and kind_of(base) != "python" else None
    if "env" not in lowered and not lowered.endswith(_STRUCTURED_SUFFIXES):
        return None
    for kind, matches in _KINDS:
        if matches(name):
            return kind
    return None


def kind_of_path(path: str) -> str | None:
    """A file's kind from its path ("/"-separated): cookiecutter-django keeps its env files as
    `.envs/.production/.django`, names without ".env" that only their folder gives away."""
    name = path.rsplit("/", 1)[-1]
    kind = kind_of(name)
    if kind == "json" and (path.startswith(".vscode/") or "/.vscode/" in path):
        return None  # editor settings: JSON with comments, never SMTP configuration
    if kind is None and (path.startswith(".envs/") or "/.envs/" in path) and not name.lower().endswith(_NOT_ENV_SUFFIXES):
        return "env"
    return kind


SECRETS_YAML = ("secrets.yaml", "secrets.yml")  # Home Assistant's: `!secret name` values live there


def holds_secrets(path: str) -> bool:
    """A file where secrets live when git ignores it: an env file, or Home Assistant's
    secrets.yaml. Discovery lists these even when ignored; they are parsed without the keyword
    pass (a secrets file may hold only `gmx_password: ...`)."""
    return kind_of_path(path) == "env" or path.rsplit("/", 1)[-1].lower() in SECRETS_YAML
