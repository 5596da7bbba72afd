#!/bin/sh
# Moves one repository's SMTP configuration to MailPace; multi-gitter runs it in each clone.
#
#   multi-gitter run "$PWD/recipes/multi-gitter/mailmigrate.sh" \
#       --config recipes/multi-gitter/config.yml --org my-org
#
# The working directory is the fresh clone, on the feature branch. Arguments are passed on to
# `mailmigrate migrate` (`--port 2525`, `--tags "a, b"`, `--no-verify`, paths).
#
# It commits the migration itself, so that each repository's pull request carries its own
# report: with `--manual-commit` (config.yml sets it) and no --pr-title / -m, multi-gitter takes
# the PR title from the commit message's first line and the PR body from the rest.
# MAILMIGRATE_COMMIT=false leaves the changes in the working tree instead (for a run without
# --manual-commit: multi-gitter commits them with -m and one --pr-body for every repository) and
# prints the report.
#
# Exit codes (multi-gitter opens no pull request where the script fails, and groups the failed
# repositories by exit status in its summary):
#   0  migrated and committed, even when findings remain for a person (the PR body lists them);
#      or nothing to change (multi-gitter reports "no data was changed")
#   2  mailmigrate could not run here, or the token would have been committed: nothing committed
#   3  findings need a person and nothing could be migrated (the report is printed)
#
# The token: a fresh clone has no git-ignored secrets file, so the migration never needs
# $MAILPACE_API_TOKEN; when it is set, it is checked against everything about to be committed.
set -eu

title=${MAILMIGRATE_PR_TITLE:-Move outgoing mail to MailPace}
commit=${MAILMIGRATE_COMMIT:-true}
# GitHub refuses a pull-request body over 65536 characters; the report may be up to ~1 MiB.
body_limit=${MAILMIGRATE_PR_BODY_LIMIT:-60000}

fail() {
    printf 'mailmigrate.sh: %s\n' "$*" >&2
    exit 2
}

case $commit in true | false) ;; *) fail "MAILMIGRATE_COMMIT must be true or false, not '$commit'" ;; esac
git rev-parse --is-inside-work-tree >/dev/null 2>&1 || fail "$PWD is not inside a git work tree"
[ -z "$(git status --porcelain)" ] || fail "the working tree has changes already: run on a clean clone"
command -v mailmigrate >/dev/null 2>&1 || fail "mailmigrate is not on PATH"
if [ "$commit" = true ]; then
    git var GIT_COMMITTER_IDENT >/dev/null 2>&1 ||
        fail "git has no identity to commit with: set GIT_AUTHOR_NAME/GIT_AUTHOR_EMAIL/GIT_COMMITTER_NAME/GIT_COMMITTER_EMAIL or user.name/user.email"
fi

# Outside the clone: multi-gitter (and git add -A) would commit a report left in it.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mailmigrate.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
report="$tmp/report.md"

status=0
mailmigrate migrate --write --report "$report" --report-format markdown "$@" || status=$?
case $status in
    0 | 1) ;;
    *) fail "mailmigrate migrate --write exited $status: nothing was written" ;;
esac

if [ -z "$(git status --porcelain)" ]; then
    if [ "$status" -eq 0 ]; then
        echo "mailmigrate: nothing to change"
        exit 0
    fi
    echo "mailmigrate: findings need a person, and nothing could be migrated:"
    if [ -s "$report" ]; then cat "$report"; fi
    exit 3
fi

# The pull-request body: the report, or (when it is too long for one) everything before its
# diffs, which are the pull request's own changes anyway.
pr_body() {
    if [ ! -s "$report" ]; then
        echo "\`mailmigrate migrate --write\` changed the files of this pull request; run \`mailmigrate migrate\` on the base branch for its report."
        return
    fi
    if [ "$(($(wc -c <"$report")))" -le "$body_limit" ]; then
        cat "$report"
        return
    fi
    awk -v max="$((body_limit - 400))" '/^## Changes$/ { exit } { n += length($0) + 1; if (n > max) exit; print }' "$report"
    printf '\n> The whole report is longer than a pull-request description may be: its diffs are not repeated here (they are the changes of this pull request).\n'
}

if [ "$commit" = false ]; then
    if [ -s "$report" ]; then cat "$report"; fi
    exit 0
fi

git add -A
message="$tmp/message"
{
    printf '%s\n\n' "$title"
    pr_body
} >"$message"

# Belt and braces: the token must not reach a tracked file or the commit message. The pattern
# goes through a file, never the command line (the process list would show it).
if [ -n "${MAILPACE_API_TOKEN:-}" ]; then
    pattern="$tmp/pattern"
    printf '%s\n' "$MAILPACE_API_TOKEN" >"$pattern"
    if git grep --cached -q -F -f "$pattern" || grep -q -F -f "$pattern" "$message"; then
        git reset -q
        fail "the MailPace API token is in a file or message about to be committed; nothing was committed"
    fi
fi

git commit --quiet --no-verify --cleanup=whitespace --file "$message"
if [ "$status" -eq 1 ]; then
    echo "mailmigrate: migrated; findings that need a person are listed in the pull request"
else
    echo "mailmigrate: migrated"
fi
if [ "${DRY_RUN:-}" = true ]; then
    cat "$message"
fi
