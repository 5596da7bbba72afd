"""Runs the pipeline on a set of paths: discover → read → locate → plan → edit → verify.

Never prints and never raises for a problem in a user's file: every such problem becomes a
`Finding` on the file, and the run goes on with the others. Writing is a separate step
(`mailmigrate.writer`), taken only after everything here succeeded.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from mailmigrate import formats
from mailmigrate.discovery import discover
from mailmigrate.document import Document, DocumentError, apply_edits, decode, read_bytes
from mailmigrate.filekinds import SECRETS_YAML
from mailmigrate.formats import Located
from mailmigrate.masking import SENSITIVE_KEY, url_credentials
from mailmigrate.model import PENDING, ConfigPlan, Edit, FileInfo, Finding, Setting, Status
from mailmigrate.planner import PlanContext, plan_configuration
from mailmigrate.rules import Ruleset
from mailmigrate.suppression import ignored_at

if TYPE_CHECKING:
    from mailmigrate.tagging import MessagePlan

MAX_FILE_BYTES = 2**20  # larger files that mention mail settings are reported (MM007), not parsed
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*[-\w.]+", re.M)  # PEP 263


@dataclass(frozen=True)
class RunOptions:
    token: str | None = None
    token_env: str = "MAILPACE_API_TOKEN"
    forced_port: int | None = None
    include_local: bool = False
    tags: tuple[str, ...] = ()  # --tags, parsed: every message gets X-MailPace-Tags with them
    list_unsubscribe: bool = False  # rename List-Unsubscribe to X-List-Unsubscribe
    ignored_codes: frozenset[str] = frozenset()  # [tool.mailmigrate] ignore: never reported


@dataclass
class FileOutcome:
    file: FileInfo
    doc: Document
    new_text: str | None = None  # None: unchanged
    edits: list[Edit] = field(default_factory=list)  # what made new_text
    secret_spans: set[tuple[int, int]] = field(default_factory=set)  # password values in doc.text

    @property
    def changed(self) -> bool:
        return self.new_text is not None and self.new_text != self.doc.text

    def masked_texts(self) -> tuple[str, str]:
        """Old and new text with every known secret span replaced by the mask, for a diff
        that hides even a password too short or too common to mask by its text."""
        from mailmigrate.planner import MASK

        def cover(start: int, end: int) -> bool:
            return any(e.start < end and start < e.end for e in self.edits)

        plain = [Edit(a, b, MASK) for a, b in sorted(self.secret_spans)]
        old = apply_edits(self.doc.text, _disjoint(plain))
        # The new text keeps what the edits write (the token is masked by text afterwards, so
        # a changed password still shows as a changed line) and masks the secrets it keeps.
        combined = list(self.edits) + [m for m in plain if not cover(m.start, m.end)]
        new = apply_edits(self.doc.text, _disjoint(combined))
        return old, new


def _disjoint(edits: list[Edit]) -> list[Edit]:
    """Drop edits overlapping an earlier one (a password span inside a masked URL)."""
    kept: list[Edit] = []
    for edit in sorted(edits, key=lambda e: (e.start, e.end)):
        if kept and edit.start < kept[-1].end:
            continue
        kept.append(edit)
    return kept


@dataclass
class RunResult:
    files: list[FileOutcome] = field(default_factory=list)  # every file that was parsed
    plans: list[ConfigPlan] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    secrets: set[str] = field(default_factory=set)  # every SMTP credential seen: masked in all output
    # Other credential-looking values (DB_PASSWORD, SECRET_KEY, unreadable lines): masked
    # when they look like secrets rather than placeholders such as "postgres" or "---".
    sensitive: set[str] = field(default_factory=set)
    blocked: bool = False  # a rewrite failed verification: nothing may be written
    # How values were resolved (env definitions, the token): what `verify` logs in with.
    context: PlanContext = field(default_factory=PlanContext)
    # The configurations as the planned rewrite leaves them, and their context (the same as
    # plans/context when nothing changes): what migrate's dry-run verification checks.
    after: tuple[list[ConfigPlan], PlanContext] = field(default_factory=lambda: ([], PlanContext()))
    messages: list[MessagePlan] = field(default_factory=list)  # what happens to messages' headers

    @property
    def changed_files(self) -> list[FileOutcome]:
        return [f for f in self.files if f.changed]

    @property
    def followups(self) -> list[str]:
        seen: dict[str, None] = {}
        for plan in self.plans:
            for text in plan.followups:
                seen.setdefault(text, None)
        return list(seen)

    @property
    def needs_token(self) -> bool:
        return any(p.needs_token for p in self.plans if p.status is Status.MIGRATE)


def analyse(
    paths: Iterable[Path], rules: Ruleset, options: RunOptions, cwd: Path | None = None,
    exclude: Callable[[Path], bool] | None = None, progress: Callable[[int, int], None] | None = None,
) -> RunResult:
    """Plan a migration of everything under `paths` (raises UsageError for a bad PATH), but the
    files `exclude` names (the project configuration's globs)."""
    found = discover(paths, cwd)
    files = [f for f in found.files if not exclude(f.path)] if exclude is not None else found.files
    result = analyse_files(files, rules, options, progress, context=found.context)
    if "MM001" not in options.ignored_codes:
        result.findings.extend(Finding("MM001", shown, 1, 1, why) for shown, why in found.refused)
    if "MM008" not in options.ignored_codes:
        result.findings.extend(Finding("MM008", shown, 1, 1, why) for shown, why in found.leftovers)
    result.findings.sort(key=Finding.sort_key)
    return result


def analyse_files(
    files: Iterable[FileInfo], rules: Ruleset, options: RunOptions, progress: Callable[[int, int], None] | None = None,
    context: Iterable[FileInfo] = (),
) -> RunResult:
    """Plan a migration of files already discovered (and classified by git). `progress` hears
    (files read, files in all) as the reading goes, the long part of a large scan. `context`:
    env files read only for the variables they define (see Discovery.context)."""
    result = RunResult()
    docs: list[tuple[FileInfo, Document]] = []
    filters: dict[str, Callable[[bytes], bool]] = {}  # compiled for the kinds met only
    files = list(files)
    for count, info in enumerate(files, 1):
        if progress is not None and (count % 200 == 0 or count == len(files)):
            progress(count, len(files))
        if info.kind not in filters:
            filters[info.kind] = _keyword_filter(rules, info.kind, options)
        doc = _read(info, filters[info.kind], result.findings)
        if doc is not None:
            docs.append((info, doc))
    located = _locate_all(docs, rules, result.findings)
    background = _read_context(context, rules, result)
    result.plans, result.context = _plan_all(located, options, background)
    _outside_the_run(result.plans, background)
    result.after = (result.plans, result.context)
    result.plans.sort(key=lambda p: (p.configuration.file.display, p.configuration.line))
    result.files = [FileOutcome(info, doc) for info, doc, _ in located]
    _collect_secrets(result, options, located)
    try:
        edits = _edits(result.plans, {o.file.path: o for o in result.files}, result.secrets)
    except ValueError as exc:  # a handler that cannot place an addition: a planning bug, never a crash
        result.findings.append(Finding("MM005", "(run)", 1, 1, f"a rewrite could not be planned ({exc}); nothing was changed"))
        result.blocked = True
        edits = {}
    result.messages = sorted(_plan_messages(located, options), key=lambda m: (m.file.display, m.line))
    for message in result.messages:
        if message.edits:
            edits.setdefault(message.file.path, []).extend(message.edits)
    for outcome in result.files:
        wanted = edits.get(outcome.file.path)
        if wanted:
            wanted += formats.handler_for(outcome.file.kind).extra_edits(outcome.doc, wanted)
            wanted = [_no_final_newline_added(outcome.doc.text, e) for e in wanted]
            outcome.edits = wanted
            try:
                outcome.new_text = apply_edits(outcome.doc.text, wanted)
            except ValueError:  # two edits on one span: a planning bug, never a half-edited file
                result.findings.append(Finding("MM005", outcome.file.display, 1, 1, "the planned edits overlap; nothing was changed"))
                result.blocked = True
    _verify(result, rules, options, background)
    for plan in result.plans:
        result.findings.extend(plan.findings)
    for message in result.messages:
        result.findings.extend(message.findings)
    # A base class's host is reported once, not once per subclass that inherits it.
    result.findings = sorted({f for f in result.findings if f.code not in options.ignored_codes}, key=Finding.sort_key)
    return result


def _no_final_newline_added(text: str, edit: Edit) -> Edit:
    """Lines appended to a file that ends without a newline start with one (every handler
    writes that lead); they must not end with one too, or the file gains a final newline it
    never had."""
    if text and not text.endswith("\n") and edit.start == edit.end == len(text) and edit.text.endswith("\n"):
        return replace(edit, text=edit.text[: -2 if edit.text.endswith("\r\n") else -1])
    return edit


def _keyword_filter(rules: Ruleset, kind: str, options: RunOptions) -> Callable[[bytes], bool]:
    """The cheap pass for one kind. Python files that name mail are also read when they set a
    mail header mailmigrate knows and, with --tags, when they may build a message at all."""
    if kind != "python":
        return rules.keyword_filter(kind)
    from mailmigrate.formats.pymessages import may_build_messages
    from mailmigrate.mailheaders import mentions_headers

    if not options.tags:
        return rules.keyword_filter(kind, also=mentions_headers)
    return rules.keyword_filter(kind, also=lambda data: mentions_headers(data) or may_build_messages(data))


def _plan_messages(located: list[tuple[FileInfo, Document, Located]], options: RunOptions) -> list[MessagePlan]:
    found = [(info, doc, f.messages) for info, doc, f in located if f.messages is not None]
    if not found:
        return []
    from mailmigrate.tagging import TagOptions, plan_messages

    tag_options = TagOptions(options.tags, options.list_unsubscribe)
    return [plan for info, doc, messages in found for plan in plan_messages(doc, info, messages, tag_options)]


def _read(info: FileInfo, mentions_keys: Callable[[bytes], bool], findings: list[Finding]) -> Document | None:
    try:
        data = read_bytes(info.path)
    except OSError as exc:
        findings.append(Finding("MM001", info.display, 1, 1, f"cannot read the file: {exc.strerror or exc}"))
        return None
    # The cheap pass: a file that names no key of its kind is never parsed. NUL bytes are
    # checked first so a binary file with a config name is reported, not silently passed.
    # Env files are always parsed: one holding only `POSTMARK_TOKEN=...` is where a
    # `${POSTMARK_TOKEN}` elsewhere gets its value.
    # Home Assistant's secrets.yaml likewise (`!secret gmx_password` values live there).
    if b"\0" not in data and info.kind != "env" and info.path.name.lower() not in SECRETS_YAML and not mentions_keys(data):
        return None
    if len(data) > MAX_FILE_BYTES:
        # Configuration is small; a file this size is data (a dump, a generated module), and
        # parsing it would cost minutes in the pure-Python YAML reader.
        findings.append(Finding("MM007", info.display, 1, 1, f"{len(data) / 2**20:.1f} MiB: too large to be a configuration file "
                                f"(the limit is {MAX_FILE_BYTES // 2**20} MiB); not read"))
        return None
    try:
        doc = decode(data)
    except DocumentError as exc:
        findings.append(Finding(exc.code, info.display, 1, 1, exc.message))
        return None
    if doc.encoding != "utf-8" and (info.kind in ("yaml", "toml", "json") or (info.kind == "python" and not _CODING.search(data[:200]))):
        # These formats are UTF-8 by definition (Python without a coding cookie): the
        # application could not load the file either, so it is reported, not edited as Latin-1.
        findings.append(Finding("MM002", info.display, 1, 1, f"not UTF-8 text, which a {info.kind} file must be"))
        return None
    return doc


def _locate_all(
    docs: list[tuple[FileInfo, Document]], rules: Ruleset, findings: list[Finding]
) -> list[tuple[FileInfo, Document, Located]]:
    located = []
    for info, doc in docs:
        try:
            found = formats.handler_for(info.kind).locate(doc, info, rules)
        except (RecursionError, MemoryError, ValueError, UnicodeError) as exc:
            # A parser at its limits (10,000 nested brackets, a 5,000-digit number, a YAML alias
            # that contains itself): the file is reported, the run goes on without it.
            findings.append(Finding("MM003", info.display, 1, 1, f"cannot be read: {_limit_reason(exc)}"))
            continue
        findings.extend(found.findings)
        located.append((info, doc, found))
    _take_over_includes(located, rules)
    return located


def _included(path: Path, rules: Ruleset) -> Located | None:
    """A star-imported settings module outside this run (pre-commit passed production.py
    alone): read only to know what it sets; never planned or written."""
    try:
        doc = decode(read_bytes(path))
    except (OSError, DocumentError):
        return None
    info = FileInfo(path, str(path), "python", tracked=False, ignored=False, in_git=False)
    return formats.handler_for("python").locate(doc, info, rules)


def _take_over_includes(located: list[tuple[FileInfo, Document, Located]], rules: Ruleset) -> None:
    """A settings module that does `from .base import *` reads base's settings: a configuration
    there is planned with the base's values for the keys it does not set itself (so a TLS flag
    set in base.py is not added again, and a contradicting one is overridden here, not edited
    in base.py, which other modules import too). A module that only sets credentials on top of
    base's host (production.py) becomes a configuration of its own."""
    by_path = {info.path: found for info, _, found in located}
    for _, _, found in located:
        bases = [b for b in (by_path.get(path) or _included(path, rules) for path in found.includes) if b is not None]
        if not bases:
            continue
        for base in bases:
            for config in base.configurations:
                # A module others star-import is a base: a missing credential belongs in the
                # module that sends (production.py), not in one dev.py inherits too.
                config.partial = True
        own = {c.family.name for c in found.configurations}
        for partial in found.partials:
            if partial.family.name not in own and any(
                c.family is partial.family for b in bases for c in b.configurations + b.partials
                if set(c.settings) & {"host", "hostport", "url"}
            ):
                found.configurations.append(partial)
        for base in bases:
            for config in found.configurations:
                for inherited in base.configurations + base.partials:
                    if inherited.family is config.family and inherited.scope == config.scope == "module":
                        for role, setting in inherited.settings.items():
                            if role not in config.settings:
                                config.settings[role] = replace(setting, source=setting.source or inherited.file, inherited=True)


def _limit_reason(exc: BaseException) -> str:
    if isinstance(exc, (RecursionError, MemoryError)):
        return "nested too deeply for the parser"
    if isinstance(exc, UnicodeError):
        return "it holds characters that are not valid text (a lone surrogate escape)"
    return "a value exceeds the parser's limits (a number of thousands of digits?)"


def _read_context(context: Iterable[FileInfo], rules: Ruleset, result: RunResult) -> list[tuple[FileInfo, Document, Located]]:
    """The context env files, located for their definitions only; their credentials join the
    secrets every output masks."""
    read: list[tuple[FileInfo, Document, Located]] = []
    for info in context:
        try:
            doc = decode(read_bytes(info.path))
        except (OSError, DocumentError):
            continue  # not this run's file: a problem with it is reported when it is checked
        found = formats.handler_for(info.kind).locate(doc, info, rules)
        result.secrets.update(s.value for s in found.definitions if SENSITIVE_KEY.search(s.key) and s.value.strip())
        result.sensitive.update(found.sensitive)
        # Its own configurations' keys are theirs to report (as in a run that includes it);
        # a plain variable (RELAY=smtp.sendgrid.net) is the reader's.
        claimed = {s.start for c in found.configurations for s in c.settings.values()}
        definitions = [replace(s, quote=PENDING) if s.start in claimed else s for s in found.definitions]
        read.append((info, doc, Located(definitions=definitions)))
    return read


def _outside_the_run(plans: list[ConfigPlan], context: list[tuple[FileInfo, Document, Located]]) -> None:
    """A plan that must change a variable in a context env file cannot do it in this run: its
    findings stay (the verdict does not depend on what was staged) but need that file too."""
    paths = {info.path: info for info, _, _ in context}
    for plan in plans:
        elsewhere = sorted({paths[c.file.path].display for c in plan.changes if c.file.path in paths})
        if elsewhere:
            plan.changes = [c for c in plan.changes if c.file.path not in paths]
            plan.findings = [replace(f, fixable=False) for f in plan.findings]
            if plan.status is Status.MIGRATE and not plan.has_edits:
                plan.status = Status.ATTENTION
            plan.followups.append(f"{', '.join(elsewhere)} define{'s' if len(elsewhere) == 1 else ''} values this "
                                  "configuration reads: run mailmigrate on it too")


def _plan_all(
    located: list[tuple[FileInfo, Document, Located]], options: RunOptions,
    background: list[tuple[FileInfo, Document, Located]] | None = None,
) -> tuple[list[ConfigPlan], PlanContext]:
    index: dict[str, list[tuple[Setting, FileInfo]]] = defaultdict(list)
    for info, _, found in background or []:
        for setting in found.definitions:  # context env files: read, never written
            index[setting.key].append((setting, info))
    for info, _, found in located:
        # A key an env file's own configuration holds is that configuration's to write: a
        # settings module reading EMAIL_HOST sees its value but leaves the edit to it.
        claimed = {s.start for c in found.configurations for s in c.settings.values()}
        for setting in found.definitions:
            entry = replace(setting, quote=PENDING) if setting.start in claimed else setting
            index[setting.key].append((entry, info))
    for entries in index.values():
        # Several env files define one variable: read the secrets file first (the real value),
        # templates last (placeholders such as EMAIL_HOST=localhost).
        entries.sort(key=lambda item: (not item[1].is_secrets_file, item[1].is_template, item[1].tracked))
    ctx = PlanContext(
        token=options.token,
        token_env=options.token_env,
        forced_port=options.forced_port,
        include_local=options.include_local,
        definitions=lambda name: list(index.get(name, ())),
    )
    plans: list[ConfigPlan] = []
    # Env files first: a key one is about to gain (EMAIL_USE_TLS=True) is what a settings
    # module's os.environ.get("EMAIL_USE_TLS", "False") will read, so it needs no edit of its own.
    env_first = sorted(located, key=lambda item: item[0].kind != "env")
    pending_added = False
    for info, doc, found in env_first:
        if info.kind != "env" and not pending_added:
            pending_added = True
            for plan in plans:
                for addition in plan.additions:
                    pending = Setting(addition.key, "", addition.value, -1, -1, 0, 0, quote=PENDING)
                    index[addition.key].append((pending, addition.configuration.file))
        for config in found.configurations:
            plan = plan_configuration(config, ctx)
            # `ignore` in the project configuration works like an inline comment on every line,
            # for a configuration whose every finding it names: check and migrate agree (a
            # configuration with other findings is still migrated, those ignored unreported).
            ignored_everywhere = bool(plan.findings) and all(f.code in options.ignored_codes for f in plan.findings)
            if ignored_everywhere or _suppressed(plan, doc):
                plan.status = Status.SUPPRESSED
                plan.followups.clear()
                plan.findings.clear()
                plan.changes.clear()
                plan.additions.clear()
                plan.needs_token = False
            plans.append(plan)
    return plans, ctx


def _suppressed(plan: ConfigPlan, doc: Document) -> bool:
    """A `mailmigrate: ignore[...]` comment on a finding's line (or on any line of the
    configuration, for findings about missing keys) leaves the whole configuration alone."""
    lines = {s.line for s in plan.configuration.settings.values()}
    for finding in plan.findings:
        candidates = {finding.line} if finding.line in lines else lines
        if any(ignored_at(doc.line_text, line, finding.code) for line in candidates):
            return True
    return False


def _collect_secrets(result: RunResult, options: RunOptions, located: list[tuple[FileInfo, Document, Located]]) -> None:
    """Every credential the run has seen, whatever the planner decided about its configuration,
    both as the application reads it and as it is written in the file (quotes and escapes
    included): a diff shows the written form."""
    if options.token:
        result.secrets.add(options.token)
    texts = {info.path: doc.text for info, doc, _ in located}
    result.sensitive.update(value for _, _, found in located for value in found.sensitive)

    outcomes = {o.file.path: o for o in result.files}

    def add(setting: Setting, file: FileInfo) -> None:
        # `${VAR}` is a name, not a secret; a computed value's text is code (`api_key`)
        # an empty value (`os.environ.get("PW", "")`) hides nothing
        if setting.env_ref is None and setting.known and setting.value.strip():
            result.secrets.add(setting.value)
            text = texts.get(file.path)
            if text is not None:
                result.secrets.add(text[setting.start:setting.end])
            if file.path in outcomes and setting.end > setting.start:
                outcomes[file.path].secret_spans.add((setting.start, setting.end))

    for plan in result.plans:
        result.secrets.update(plan.secrets)
        config = plan.configuration
        settings = config.settings
        password = settings.get("password")
        if password is not None:
            add(password, config.file)
            user = settings.get("user")
            if user is not None and user.value == password.value:
                add(user, config.file)
        if "url" in settings:
            result.secrets.update(url_credentials(settings["url"].value))
        for change in plan.changes:
            # The old value of a password (or of the variable a password reads), never of a
            # username like SendGrid's "apikey" that a token replaces.
            if change.setting.role in ("password", "url") or (change.secret and SENSITIVE_KEY.search(change.setting.key)):
                add(change.setting, change.file)


def _edits(plans: list[ConfigPlan], outcomes: dict[Path, FileOutcome], secrets: set[str]) -> dict[Path, list[Edit]]:
    """Render every planned change as a text edit. Two configurations that share a key (two
    apps reading one env file) and need different values there are both left alone (MM112)."""
    while True:
        edits: dict[tuple[Path, object], tuple[int, Edit, bool]] = {}  # where → (plan, edit, secret)
        conflicts: dict[int, str] = {}
        for index, plan in enumerate(plans):
            if plan.status is not Status.MIGRATE:
                continue
            for where, edit, key, secret in _plan_edits(plan, outcomes):
                earlier = edits.get(where)
                if earlier is not None and earlier[1].text != edit.text:
                    conflicts[index] = conflicts[earlier[0]] = key
                edits.setdefault(where, (index, edit, secret))
        if not conflicts:
            # A plan also relies on the keys it reads and leaves alone: another plan may not
            # change them under it (Mastodon keeps SMTP_PORT=587, Outline wants 465 there).
            for index, plan in enumerate(plans):
                if plan.status is not Status.MIGRATE:
                    continue
                changed = {(c.file.path, (c.setting.start, c.setting.end)) for c in plan.changes}
                for setting in plan.configuration.settings.values():
                    if setting.inherited:
                        continue  # a base's value: overridden here when it does not fit
                    where = (plan.configuration.file.path, (setting.start, setting.end))
                    other = edits.get(where)
                    if where not in changed and other is not None and other[0] != index:
                        conflicts[index] = conflicts[other[0]] = setting.key
        if not conflicts:
            break
        for index, key in conflicts.items():
            _demote(plans[index], key)
    result: dict[Path, list[Edit]] = defaultdict(list)
    for (path, _), (_, edit, secret) in edits.items():
        result[path].append(edit)
        if secret:
            secrets.add(edit.text)  # the token as written: quoted, escaped
    return dict(result)


def _plan_edits(
    plan: ConfigPlan, outcomes: dict[Path, FileOutcome]
) -> Iterator[tuple[tuple[Path, object], Edit, str, bool]]:
    """(where, edit, key, holds the token) for each change and addition of a plan."""
    for change in plan.changes:
        outcome = outcomes.get(change.file.path)
        if outcome is not None:
            edit = formats.handler_for(change.file.kind).render_value(outcome.doc, change.setting, change.new_value)
            yield (change.file.path, (change.setting.start, change.setting.end)), edit, change.setting.key, change.secret
    if plan.additions:
        config = plan.configuration
        outcome = outcomes[config.file.path]
        items = [(a.key, a.value) for a in plan.additions]
        edits = formats.handler_for(config.kind).render_additions(outcome.doc, config, items)
        keys = ", ".join(key for key, _ in items)
        # Two configurations of one scope adding the same keys is one edit (or a conflict);
        # two scopes (two config classes) each get their own.
        for index, edit in enumerate(edits):
            yield (config.file.path, ("add", config.scope, keys, index)), edit, keys, any(a.secret for a in plan.additions)


def _demote(plan: ConfigPlan, key: str) -> None:
    config = plan.configuration
    setting = next((s for s in config.settings.values() if s.key == key), None)
    plan.status = Status.ATTENTION
    plan.changes.clear()
    plan.additions.clear()
    plan.needs_token = False
    plan.findings = [
        Finding(
            "MM112", config.file.display, setting.line if setting else config.line, setting.col if setting else 1,
            f"{key} is shared with another configuration that needs a different value; "
            f"{config.family.title} was left unchanged",
        )
    ]


def _verify(
    result: RunResult, rules: Ruleset, options: RunOptions, background: list[tuple[FileInfo, Document, Located]]
) -> None:
    """Each new text must parse, and planning again on the new texts must change nothing."""
    changed = result.changed_files
    if not changed:
        return
    for outcome in changed:
        assert outcome.new_text is not None
        handler = formats.handler_for(outcome.file.kind)
        # A line that was already invalid (and reported as MM003) is not the rewrite's fault;
        # the old text is only parsed again when the new one has problems.
        try:
            new_problems = Counter(handler.syntax_errors(outcome.new_text))
            if new_problems:
                new_problems -= Counter(handler.syntax_errors(outcome.doc.text))
        except (RecursionError, MemoryError, ValueError) as exc:
            new_problems = Counter([f"the rewrite cannot be proven ({_limit_reason(exc)})"])
        if new_problems:
            problem = next(iter(new_problems))
            result.findings.append(Finding("MM005", outcome.file.display, 1, 1, f"the rewrite does not re-parse: {problem}"))
            result.blocked = True
    if result.blocked:
        return
    docs = []
    for outcome in result.files:
        doc = outcome.doc
        if outcome.changed:
            assert outcome.new_text is not None
            doc = replace(doc, text=outcome.new_text)
        docs.append((outcome.file, doc))
    scratch: list[Finding] = []
    located = _locate_all(docs, rules, scratch)
    again, again_context = _plan_all(located, options, background)
    _outside_the_run(again, background)
    result.after = (again, again_context)  # the configurations as the rewrite leaves them
    # Conflicts are settled the same way as in the first pass (MM112), not called unstable.
    _edits(again, {info.path: FileOutcome(info, doc) for info, doc, _ in located}, set())
    for message in _plan_messages(located, options):
        if message.edits:
            result.findings.append(
                Finding("MM005", message.file.display, message.line, 1,
                        "planning again on the rewritten file still wants header changes (not idempotent)")
            )
            result.blocked = True
    for plan in again:
        if plan.status is Status.MIGRATE and plan.has_edits:
            config = plan.configuration
            result.findings.append(
                Finding("MM005", config.file.display, config.line, 1,
                        "planning again on the rewritten file still wants changes (not idempotent)")
            )
            result.blocked = True
