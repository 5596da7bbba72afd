#!/usr/bin/env bash
# The work of mailmigrate's GitHub Action (action.yml runs it; tests run it with the same
# environment): annotate stale SMTP settings, put the migration report in the job summary, and
# fail the job when the configuration is stale.
#
# Environment (action.yml maps the inputs; composite actions get no INPUT_* variables of their own):
#   INPUT_PATH              files or directories to look at, one per line (default ".")
#   INPUT_FAIL_ON_FINDINGS  "true" (default): fail the job when `mailmigrate check` finds anything
#   MAILMIGRATE             the mailmigrate command (default: mailmigrate on PATH)
#   GITHUB_WORKSPACE, RUNNER_TEMP, GITHUB_STEP_SUMMARY, GITHUB_OUTPUT (optional): set by GitHub
#
# Exit: 0 clean (or findings with fail-on-findings false), 1 stale configuration, 2 mailmigrate
# could not run. Nothing is ever written to the repository: `migrate` runs as a dry run.
set -euo pipefail

: "${GITHUB_WORKSPACE:?GITHUB_WORKSPACE is not set}"
: "${RUNNER_TEMP:?RUNNER_TEMP is not set}"
: "${GITHUB_STEP_SUMMARY:?GITHUB_STEP_SUMMARY is not set}"
mailmigrate=${MAILMIGRATE:-mailmigrate}

case ${INPUT_FAIL_ON_FINDINGS:-true} in
    true) fail_on_findings=true ;;
    false) fail_on_findings=false ;;
    *)
        echo "::error title=mailmigrate::fail-on-findings must be true or false, not '${INPUT_FAIL_ON_FINDINGS}'"
        exit 2
        ;;
esac

paths=()
while IFS= read -r line; do
    line=${line#"${line%%[![:space:]]*}"}    # trim leading
    line=${line%"${line##*[![:space:]]}"}    # and trailing blanks
    if [[ -n $line ]]; then paths+=("$line"); fi
done <<<"${INPUT_PATH:-.}"
if ((${#paths[@]} == 0)); then paths=(.); fi

# A dry run never needs the API token: keep it out of mailmigrate's reach altogether.
unset MAILPACE_API_TOKEN

# Annotations name files relative to the working directory; GitHub wants them relative to the
# repository root, which is the workspace.
cd "$GITHUB_WORKSPACE"
report="$RUNNER_TEMP/mailmigrate-report.md"
rm -f "$report"

check=0
"$mailmigrate" check --format github -- "${paths[@]}" || check=$?

# The diff and summary quote the repository's files: stop workflow commands while they are
# printed (standard error too), so no line of theirs can act as one.
stop="mailmigrate-$RANDOM$RANDOM$RANDOM"
echo "::group::mailmigrate migrate (dry run)"
echo "::stop-commands::$stop"
migrate=0
"$mailmigrate" migrate --report "$report" --report-format markdown -- "${paths[@]}" 2>&1 || migrate=$?
echo "::$stop::"
echo "::endgroup::"

if ((check > 1 || migrate > 1)); then
    echo "::error title=mailmigrate::mailmigrate could not run (check exited $check, migrate exited $migrate); see the log above"
    exit 2
fi

# GitHub drops a step summary over 1 MiB; the report keeps itself under that with a margin.
limit=$((1024 * 1024 - 4096))
{
    if ((check == 0 && migrate == 0)); then
        echo "### mailmigrate: nothing to change"
        echo
        echo "Every SMTP configuration found is on MailPace already, and nothing needs a person."
    elif [[ ! -s $report ]]; then
        echo "### mailmigrate: stale SMTP configuration"
        echo
        echo "The report was not written; the job log has the findings and the diff."
    elif (($(wc -c <"$report") > limit)); then
        echo "### mailmigrate: stale SMTP configuration"
        echo
        echo "The report is too large for the job summary; run \`mailmigrate migrate\` to see it."
    else
        cat "$report"
    fi
} >>"$GITHUB_STEP_SUMMARY"

stale=$([[ $check == 1 ]] && echo true || echo false)
if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    {
        echo "stale=$stale"
        if [[ -s $report ]]; then echo "report=$report"; else echo "report="; fi
    } >>"$GITHUB_OUTPUT"
fi

if [[ $stale == true ]]; then
    if [[ $fail_on_findings == true ]]; then
        echo "::error title=mailmigrate::Stale SMTP configuration: see the annotations, and the job summary for the migration diff (run \`mailmigrate migrate --write\` to apply it)"
        exit 1
    fi
    echo "::warning title=mailmigrate::Stale SMTP configuration (fail-on-findings is false): see the job summary"
fi
exit 0
