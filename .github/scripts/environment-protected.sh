#!/usr/bin/env bash
# environment-protected.sh — run by deploy.yml before any job names the
# environment: refuses (exit 1, one line on stderr) when the GitHub
# environment $ENVIRONMENT of $REPOSITORY does not exist, or exists without a
# required-reviewers protection rule that names at least one reviewer.
# A job that names a missing environment would make GitHub create it
# unprotected, and `pulumi up` would run without anyone's approval.
#
# GitHub REST API: GET /repos/{owner}/{repo}/environments/{environment_name}
# answers 404 for a missing environment, else JSON with `protection_rules`, a
# list of {type: required_reviewers|wait_timer|branch_policy, …}, where a
# required_reviewers rule carries `reviewers` (a list of users and teams).
#
# Environment: GH_TOKEN (the job's token, `actions: read`), REPOSITORY
# (owner/name), ENVIRONMENT; GITHUB_API_URL as GitHub sets it (defaults to
# https://api.github.com).
set -euo pipefail

me=${0##*/}
die() {
    printf '%s: %s\n' "$me" "$*" >&2
    exit 1
}

: "${GH_TOKEN:?GH_TOKEN is not set}" "${REPOSITORY:?REPOSITORY is not set}" "${ENVIRONMENT:?ENVIRONMENT is not set}"
[[ $REPOSITORY =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]] || die "unexpected repository name '$REPOSITORY'"
[[ $ENVIRONMENT =~ ^[A-Za-z0-9_.-]+$ ]] || die "unexpected environment name '$ENVIRONMENT'"
api=${GITHUB_API_URL:-https://api.github.com}

body=$(mktemp)
trap 'rm -f "$body"' EXIT
# The token goes to curl on stdin (a config line), never on its command line.
status=$(printf 'header = "Authorization: Bearer %s"\n' "$GH_TOKEN" |
    curl --silent --show-error --config - --output "$body" --write-out '%{http_code}' \
        --header 'Accept: application/vnd.github+json' --header 'X-GitHub-Api-Version: 2022-11-28' \
        "$api/repos/$REPOSITORY/environments/$ENVIRONMENT") || die "cannot reach the GitHub API at $api"

case $status in
    200) ;;
    404) die "environment '$ENVIRONMENT' does not exist: create it (Settings → Environments) with required reviewers and deployments from main only; refusing to let this deploy create it unprotected" ;;
    *) die "GitHub API answered HTTP $status for environment '$ENVIRONMENT': $(head -c 200 "$body" | tr '\n' ' ')" ;;
esac

reviewers=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
n = sum(len(r.get("reviewers") or []) for r in d.get("protection_rules") or [] if r.get("type") == "required_reviewers")
print(n)
' "$body") || die "unexpected answer of the GitHub API for environment '$ENVIRONMENT'"

((reviewers > 0)) || die "environment '$ENVIRONMENT' has no required reviewers: add at least one (Settings → Environments → $ENVIRONMENT → Required reviewers); refusing to deploy without approval"
printf 'environment %s: %d required reviewer(s)\n' "$ENVIRONMENT" "$reviewers"
