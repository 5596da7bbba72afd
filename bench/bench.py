#!/usr/bin/env python3
"""Speed and memory benchmark for `mailmigrate check`, as ratios against baselines.

The machines this runs on are shared and noisy (2 cores), so absolute milliseconds mean little
from one day to the next. Every case therefore times mailmigrate (the candidate) and a baseline
in the same run, interleaved A B A B ..., and reports the ratio of the medians. See
bench/README.md for the cases, targets and caveats.

This is a measurement, not a test: it exits 0 whatever the PASS/FAIL verdicts, and non-zero
only when the benchmark itself cannot run (a child crashed, bad arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RG_KEYWORDS = ("smtp", "mail")  # the rg baseline's pattern; see _check_keywords for why it suffices
MEMORY_TARGET_MIB = 80.0
DEFAULT_RUNS = 7
QUICK_RUNS = 3

# A realistic pre-commit input: Django SMTP settings as a project would keep them in a .env.
# It has findings (not MailPace yet), so `check` does the full locate/plan/verify work and exits 1.
SAMPLE_ENV = """\
# Django settings read by django-environ
DEBUG=False
SECRET_KEY=change-me-in-production
DATABASE_URL=postgres://app:app@db:5432/app
ALLOWED_HOSTS=example.com,www.example.com

EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
EMAIL_HOST=smtp.sendgrid.net
EMAIL_PORT=587
EMAIL_USE_TLS=True
EMAIL_HOST_USER=apikey
EMAIL_HOST_PASSWORD=SG.not-a-real-key.abcdefghijklmnopqrstuvwxyz
DEFAULT_FROM_EMAIL=noreply@example.com
SERVER_EMAIL=errors@example.com
"""


class BenchError(Exception):
    """The benchmark itself could not run (as opposed to a target being missed)."""


# --------------------------------------------------------------------------------------------
# Running one child


@dataclass
class Sample:
    seconds: float
    exit_code: int
    maxrss_kib: int  # this child's own peak RSS (Linux reports ru_maxrss in KiB)


def run_child(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, ok_codes: frozenset[int], label: str
) -> Sample:
    """Run `argv` once with stdout discarded; time it and read its own rusage.

    os.wait4 returns the rusage of exactly the child it reaps. RUSAGE_CHILDREN would not do:
    its ru_maxrss is the maximum over *all* children so far, so per-run deltas are meaningless
    once an earlier child was bigger.
    """
    # stderr goes to a file, not a pipe: a pipe could fill while we block in wait4, and we only
    # read it to explain a crash.
    with tempfile.TemporaryFile() as errfile:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errfile, env=dict(env), cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        proc.returncode = code  # we reaped it ourselves; tell Popen so it does not try again
        if code not in ok_codes:
            errfile.seek(0)
            tail = errfile.read().decode("utf-8", "replace").strip().splitlines()[-15:]
            raise BenchError(f"{label}: exit code {code} from {' '.join(argv)}\n" + "\n".join("    " + line for line in tail))
    return Sample(elapsed, code, usage.ru_maxrss)


@dataclass
class Command:
    label: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    ok_codes: frozenset[int]

    def run(self) -> Sample:
        return run_child(self.argv, env=self.env, cwd=self.cwd, ok_codes=self.ok_codes, label=self.label)


# --------------------------------------------------------------------------------------------
# Cases


@dataclass
class CaseResult:
    name: str
    target_ratio: float
    candidate_cmd: str
    baseline_cmd: str | None
    candidate_ms: list[float] = field(default_factory=list)
    baseline_ms: list[float] = field(default_factory=list)
    candidate_maxrss_kib: list[int] = field(default_factory=list)  # timed runs and warm-up
    note: str = ""

    @property
    def candidate_median(self) -> float:
        return statistics.median(self.candidate_ms)

    @property
    def baseline_median(self) -> float | None:
        return statistics.median(self.baseline_ms) if self.baseline_ms else None

    @property
    def ratio(self) -> float | None:
        base = self.baseline_median
        return self.candidate_median / base if base else None

    @property
    def pair_ratios(self) -> list[float]:
        # Adjacent A/B runs share the machine's momentary load, so their ratio is steadier than
        # either timing alone; the spread shows how much to trust a verdict near the target.
        return [a / b for a, b in zip(self.candidate_ms, self.baseline_ms) if b > 0]

    @property
    def status(self) -> str:
        if self.ratio is None:
            return "SKIP"
        return "PASS" if self.ratio <= self.target_ratio else "FAIL"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(
            candidate_median_ms=self.candidate_median,
            baseline_median_ms=self.baseline_median,
            ratio=self.ratio,
            pair_ratios=self.pair_ratios,
            candidate_peak_rss_mib=max(self.candidate_maxrss_kib) / 1024,
            status=self.status,
        )
        return data


def measure(name: str, target: float, candidate: Command, baseline: Command | None, runs: int, note: str = "") -> CaseResult:
    result = CaseResult(
        name, target, " ".join(candidate.argv), " ".join(baseline.argv) if baseline else None, note=note
    )
    # Warm-up: fills mailmigrate's rule cache and __pycache__, and the OS page cache for the
    # tree (the first rg over the stdlib folder can take seconds from a cold disk).
    result.candidate_maxrss_kib.append(candidate.run().maxrss_kib)
    if baseline is not None:
        baseline.run()
    for _ in range(runs):
        # Interleaved, so a burst of load from a neighbour hits both sides about equally.
        sample = candidate.run()
        result.candidate_ms.append(sample.seconds * 1000)
        result.candidate_maxrss_kib.append(sample.maxrss_kib)
        if baseline is not None:
            result.baseline_ms.append(baseline.run().seconds * 1000)
    return result


# --------------------------------------------------------------------------------------------
# Environment discovery


def django_tree() -> Path | None:
    try:
        import django
    except ImportError:
        return None
    return Path(django.__file__).resolve().parent


def stdlib_tree() -> Path:
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


def find_rg() -> str | None:
    if os.access("/usr/bin/rg", os.X_OK):
        return "/usr/bin/rg"
    return shutil.which("rg")


def git_toplevel(directory: Path, env: Mapping[str, str]) -> Path | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], cwd=directory, env=dict(env), capture_output=True, text=True, check=False
        )
    except OSError:  # no git: mailmigrate behaves as outside git too
        return None
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def walk_env_for_tree(tree: Path, base_env: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The environment under which mailmigrate *walks* `tree`, and a note for the report.

    These trees are meant to be outside git, but an interpreter installed with pyenv lives
    inside the pyenv git checkout (~/.pyenv/.git, with /versions ignored). mailmigrate would
    then ask git, get back no tracked or untracked files, and scan nothing: the benchmark would
    time `git ls-files`, not the walk. GIT_CEILING_DIRECTORIES stops git's upward search at the
    tree, so mailmigrate sees "not a git repository" and walks, as intended.
    """
    env = dict(base_env)
    top = git_toplevel(tree, env)
    if top is None:
        return env, ""
    ceiling = os.path.realpath(tree.parent)  # git compares ceilings with resolved paths
    env["GIT_CEILING_DIRECTORIES"] = ceiling
    if git_toplevel(tree, env) is not None:
        raise BenchError(f"{tree} is inside the git repository {top} and GIT_CEILING_DIRECTORIES did not hide it")
    return env, f"inside git repo {top}; GIT_CEILING_DIRECTORIES={ceiling} set so mailmigrate walks it"


@dataclass
class TreeStats:
    files: int  # every regular file name under the tree (what rg may look at)
    walked: int  # names mailmigrate's walk classifies (its SKIP_DIRS pruned)
    env_kind: int  # of those, files of a kind mailmigrate reads and keyword-scans


def tree_stats(tree: Path) -> TreeStats:
    # Reuses mailmigrate's own name rules so the numbers describe what `check` really reads.
    from mailmigrate.discovery import SKIP_DIRS
    from mailmigrate.filekinds import kind_of

    files = walked = env_kind = 0
    for here, dirs, names in os.walk(tree):
        files += len(names)
        inside_skipped = any(part in SKIP_DIRS or part.endswith(".egg-info") for part in Path(here).relative_to(tree).parts)
        if inside_skipped:
            continue
        walked += len(names)
        env_kind += sum(1 for name in names if kind_of(name) is not None)
    return TreeStats(files, walked, env_kind)


def check_keywords(scratch_cache: Path) -> tuple[int, list[str]]:
    """mailmigrate's cheap-pass keywords, and those the rg pair smtp|mail would not match.

    rg gets the short pair instead of the ~170-key alternation: every key contains one of the
    two words, so rg's file set is a superset of the files mailmigrate's pass would keep, and the
    baseline is not handicapped by a long pattern.
    """
    # Loading rules in-process writes a cache; point it at a scratch folder so the warm-up
    # child, not this process, is what fills the cache the timed runs use.
    previous = os.environ.get("MAILMIGRATE_CACHE_DIR")
    os.environ["MAILMIGRATE_CACHE_DIR"] = str(scratch_cache)
    try:
        from mailmigrate.rules import load_ruleset

        pattern = load_ruleset().keyword_pattern("env")
    finally:
        if previous is None:
            del os.environ["MAILMIGRATE_CACHE_DIR"]
        else:
            os.environ["MAILMIGRATE_CACHE_DIR"] = previous
    words = [re.sub(r"\\(.)", r"\1", w) for w in pattern.pattern.decode().split("|")]
    pair = re.compile("|".join(RG_KEYWORDS), re.IGNORECASE)
    return len(words), [w for w in words if not pair.search(w)]


def make_sample_repo(root: Path) -> Path:
    """A temp folder with one .env, as a git repo where git is available.

    pre-commit always runs inside git, and then mailmigrate spends three git calls on a named
    file (rev-parse, ls-files, check-ignore); outside git it would spend only one.
    """
    repo = root / "sample-repo"
    repo.mkdir()
    (repo / ".env").write_text(SAMPLE_ENV, "utf-8")
    if shutil.which("git"):
        for args in (["init", "-q"], ["add", ".env"]):
            subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return repo


# --------------------------------------------------------------------------------------------
# Report


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def print_table(cases: list[CaseResult], memory_row: tuple[str, float, str]) -> None:
    header = ("case", "mailmigrate ms", "baseline ms", "ratio", "target", "result", "peak RSS MiB")
    rows = [
        (
            c.name,
            fmt_ms(c.candidate_median),
            fmt_ms(c.baseline_median),
            "n/a" if c.ratio is None else f"{c.ratio:.2f}x",
            f"<= {c.target_ratio:g}x",
            c.status,
            f"{max(c.candidate_maxrss_kib) / 1024:.1f}",
        )
        for c in cases
    ]
    label, peak_mib, status = memory_row
    rows.append((label, "", "", "", f"<= {MEMORY_TARGET_MIB:g} MiB", status, f"{peak_mib:.1f}"))
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join("{:<%d}" % w if i == 0 else "{:>%d}" % w for i, w in enumerate(widths))
    print(line.format(*header))
    print(line.format(*("-" * w for w in widths)))
    for row in rows:
        print(line.format(*row))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=None, help=f"timed runs per side (default {DEFAULT_RUNS})")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs (a --runs value wins)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (QUICK_RUNS if args.quick else DEFAULT_RUNS)
    if runs < 1:
        parser.error("--runs must be at least 1")
    try:
        return run(runs, args.json)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2


def run(runs: int, json_path: Path | None) -> int:
    py = sys.executable
    rg = find_rg()
    cases: list[CaseResult] = []
    notes: list[str] = []  # printed as they arise, kept for the JSON
    late_notes: list[str] = []  # printed after the table
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "runs": runs,
    }
    print(f"mailmigrate bench: python {info['python']}, {info['cpus']} CPUs, {runs} timed runs per side, medians")

    with tempfile.TemporaryDirectory(prefix="mailmigrate-bench-") as tmp:
        root = Path(tmp)
        warm_cache, cold_cache, scratch_cache = root / "cache-warm", root / "cache-cold", root / "cache-scratch"
        # Every candidate run uses a cache folder of ours: MAILMIGRATE_CACHE_DIR beats
        # XDG_CACHE_HOME, so a value in the caller's environment cannot send a run elsewhere,
        # and we can check the warm-up really filled it (a read-only ~/.cache would otherwise
        # make every "warm" run silently cold). The user's own cache is left untouched.
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHONPROFILE")}
        # An installed wheel has its bytecode compiled by pip; an editable checkout run with
        # PYTHONDONTWRITEBYTECODE (set on these machines) would recompile every module on every
        # start and time the compiler instead. Compile once, like an install does.
        import compileall

        import mailmigrate

        compileall.compile_dir(str(Path(mailmigrate.__file__).parent), quiet=1)
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        warm_env = {**base_env, "MAILMIGRATE_CACHE_DIR": str(warm_cache)}

        n_keys, uncovered = check_keywords(scratch_cache)
        kw_note = f"rg baseline pattern: -i -e {' -e '.join(RG_KEYWORDS)} (not mailmigrate's {n_keys}-key pattern; "
        kw_note += "every key contains smtp or mail)" if not uncovered else f"NOT covered by it: {', '.join(uncovered)})"
        print(kw_note)
        notes.append(kw_note)
        if rg is None:
            msg = (
                "ripgrep not found (looked for /usr/bin/rg and rg on PATH): the tree comparisons are skipped.\n"
                "  Install it with `sudo apt-get install ripgrep` (Debian/Ubuntu package `ripgrep`)."
            )
            print(msg)
            notes.append(msg)
        else:
            rg_version = subprocess.run([rg, "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
            info["rg"] = f"{rg} ({rg_version})"

        trees: list[tuple[str, Path | None, float]] = [
            ("django tree", django_tree(), 5.0),
            ("stdlib tree", stdlib_tree(), 3.0),
        ]
        for name, tree, target in trees:
            if tree is None or not tree.is_dir():
                msg = f"{name}: not found (is Django installed? `pip install -e '.[test]'`); skipped"
                print(msg)
                notes.append(msg)
                continue
            env, git_note = walk_env_for_tree(tree, warm_env)
            stats = tree_stats(tree)
            desc = (
                f"{name}: {tree} - {stats.files} files, {stats.walked} after mailmigrate's skip dirs, "
                f"{stats.env_kind} of a kind mailmigrate reads"
            )
            print(desc + (f"\n  {git_note}" if git_note else ""))
            candidate = Command(
                f"mailmigrate check ({name})", [py, "-m", "mailmigrate", "check", str(tree), "--exit-zero"], env, root, frozenset({0})
            )
            baseline = None
            if rg is not None:
                rg_argv = [rg, "-l", "-i", *(a for w in RG_KEYWORDS for a in ("-e", w)), str(tree)]
                # rg: 0 matches, 1 none; 2 means some file could not be read, which still
                # leaves a valid timing of the rest.
                baseline = Command(f"rg ({name})", rg_argv, dict(base_env), root, frozenset({0, 1, 2}))
            print(f"  measuring {name} ...", flush=True)
            cases.append(measure(f"{name} vs rg", target, candidate, baseline, runs, note="; ".join(filter(None, [desc, git_note]))))
            info.setdefault("trees", {})[name] = {"path": str(tree), **asdict(stats), "git": git_note or None}

        repo = make_sample_repo(root)
        check_one = [py, "-m", "mailmigrate", "check", ".env"]
        print(f"one file: {repo / '.env'} ({len(SAMPLE_ENV.splitlines())} lines, Django SMTP settings; "
              f"{'a git repo' if (repo / '.git').is_dir() else 'no git'})")
        print("  measuring one file ...", flush=True)
        one = measure(
            "one .env vs import typer",
            2.0,
            # Exit 1 is expected: the sample has findings, as a not-yet-migrated project would.
            Command("mailmigrate check (one file)", check_one, warm_env, repo, frozenset({0, 1})),
            Command("python -c 'import typer'", [py, "-c", "import typer"], dict(base_env), repo, frozenset({0})),
            runs,
        )
        cases.append(one)

        if not any(warm_cache.glob("rules-*.json")):
            raise BenchError(f"the warm-up runs left no rule cache in {warm_cache}: the timed runs were not warm")

        # Cold start: what the first pre-commit run after an install or a rules change pays
        # (YAML parsing and validation), measured once in a fresh cache folder.
        cold = run_child(
            check_one, env={**base_env, "MAILMIGRATE_CACHE_DIR": str(cold_cache)}, cwd=repo, ok_codes=frozenset({0, 1}), label="cold start"
        )
        if not any(cold_cache.glob("rules-*.json")):
            late_notes.append("the cold-start run wrote no rule cache (it was cold, but the next run will be too)")

    # Memory: the largest peak RSS of any mailmigrate check child we ran, warm-up and cold included.
    peaks = [(max(c.candidate_maxrss_kib) / 1024, c.name) for c in cases] + [(cold.maxrss_kib / 1024, "cold start")]
    peak_mib, peak_case = max(peaks)
    mem_status = "PASS" if peak_mib <= MEMORY_TARGET_MIB else "FAIL"

    print()
    print_table(cases, (f"peak RSS, any check run ({peak_case})", peak_mib, mem_status))
    print()
    for c in cases:
        pr = c.pair_ratios
        if pr:
            print(f"{c.name}: per-pair ratios min {min(pr):.2f}x / median {statistics.median(pr):.2f}x / max {max(pr):.2f}x; "
                  f"mailmigrate {min(c.candidate_ms):.0f}-{max(c.candidate_ms):.0f} ms")
    cold_ms = cold.seconds * 1000
    print(
        f"info: cold-start one-file check (empty rule cache): {cold_ms:.0f} ms, "
        f"{cold_ms / one.candidate_median:.1f}x the warm median, "
        f"{cold_ms / one.baseline_median:.1f}x the typer import, peak RSS {cold.maxrss_kib / 1024:.1f} MiB"
        if one.baseline_median else f"info: cold-start one-file check: {cold_ms:.0f} ms"
    )
    for note in late_notes:
        print(f"note: {note}")
    notes.extend(late_notes)

    if json_path is not None:
        payload = {
            **info,
            "notes": notes,
            "cases": [c.as_json() for c in cases],
            "cold_start": {"ms": cold_ms, "maxrss_kib": cold.maxrss_kib, "command": " ".join(check_one)},
            "memory": {"peak_mib": peak_mib, "case": peak_case, "target_mib": MEMORY_TARGET_MIB, "status": mem_status},
        }
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(payload, indent=2) + "\n", "utf-8")
        print(f"wrote {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
