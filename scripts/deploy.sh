#!/usr/bin/env bash
# The whole deploy, in order: link, push migrations, buckets, secrets, deploy functions, doorbell
# settings (engine.configure_dispatch), and a probe task that proves the doorbell rings.
#
#   bash scripts/deploy.sh --project-ref <ref>   # a hosted project: SUPABASE_ACCESS_TOKEN, SUPABASE_DB_URL
#   bash scripts/deploy.sh --local               # the running local stack, each platform step replaced
#                                                # by its local equivalent (tests/integration/deploy-script.test.ts)
# Options: --sweep-every-ms N (default 5000 hosted, 1000 local), --probe-timeout-s N (default 30).
# Running it again changes nothing: secrets are kept, the bucket and migrations are already there,
# the doorbell settings are rewritten only when they differ. See docs/deploy.md.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: bash scripts/deploy.sh --project-ref <ref> | --local [--sweep-every-ms N] [--probe-timeout-s N]"
}
fail() {
  echo "deploy: $*" >&2
  exit 2
}

mode="" ref="" step_options=()
while [ $# -gt 0 ]; do
  case "$1" in
    --local) [ -z "$mode" ] || fail "give either --local or --project-ref, not both"; mode=local ;;
    --project-ref | --project-ref=*)
      [ -z "$mode" ] || fail "give either --local or --project-ref, not both"
      if [ "$1" = --project-ref ]; then ref="${2:-}"; [ $# -lt 2 ] || shift; else ref="${1#*=}"; fi
      mode=hosted ;;
    --sweep-every-ms | --probe-timeout-s)
      [[ "${2:-}" =~ ^[0-9]+$ ]] || fail "$1 needs a whole number"
      step_options+=("$1" "$2"); shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; fail "unknown argument: $1" ;;
  esac
  shift
done
[ -n "$mode" ] || { usage >&2; fail "say where to deploy: --project-ref <ref> (hosted) or --local (the running local stack)"; }

# Everything a hosted deploy needs is checked before anything is done.
if [ "$mode" = hosted ]; then
  missing=()
  [[ "$ref" =~ ^[a-z]{20}$ ]] || missing+=("a project ref (--project-ref <ref>: the 20 lowercase letters of https://<ref>.supabase.co; got '${ref}')")
  [ -n "${SUPABASE_ACCESS_TOKEN:-}" ] || missing+=("SUPABASE_ACCESS_TOKEN (a personal access token: Dashboard → Account → Access Tokens)")
  [ -n "${SUPABASE_DB_URL:-}" ] || missing+=("SUPABASE_DB_URL (the project's direct database URL, postgresql://postgres:<password>@db.<ref>.supabase.co:5432/postgres, for the migration and SQL steps)")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "deploy: nothing done; a hosted deploy needs:" >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 2
  fi
fi

if [ ! -d node_modules ]; then
  npm install --no-audit --no-fund
fi
DENO=node_modules/.bin/deno
SUPABASE=node_modules/.bin/supabase # what `npx supabase` runs: the CLI pinned in package.json

if [ "$mode" = hosted ]; then target=(--project-ref "$ref"); else target=(--local); fi
# One SQL/HTTP step of scripts/deploy/deploy-step.ts; it prints the step's line.
step() {
  "$DENO" run -A --no-prompt --config deno.json scripts/deploy/deploy-step.ts "$@" "${target[@]}" "${step_options[@]}"
}
# A CLI command whose output is shown indented; on failure the step is named.
cli() {
  local name="$1"; shift
  local output
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" | sed 's/^/    /' >&2
    echo "$name: FAILED: $(basename "$1") ${2:-} ${3:-} exited non-zero" >&2
    exit 1
  fi
  [ -z "$output" ] || printf '%s\n' "$output" | sed 's/^/    /'
}

if [ "$mode" = hosted ]; then
  secrets_file="supabase/.deploy/$ref.env"

  cli link "$SUPABASE" link --project-ref "$ref"
  echo "link: supabase link --project-ref $ref"
  # The anon key (the doorbell's Authorization) and service role key (Storage) unless given.
  if [ -z "${SUPABASE_ANON_KEY:-}" ] || [ -z "${SUPABASE_SERVICE_ROLE_KEY:-}" ]; then
    DEPLOY_API_KEYS_JSON=$("$SUPABASE" projects api-keys --remote="$ref" --reveal -o json) ||
      fail "link: supabase projects api-keys failed: set SUPABASE_ANON_KEY and SUPABASE_SERVICE_ROLE_KEY instead"
    export DEPLOY_API_KEYS_JSON
  fi

  cli "push migrations" "$SUPABASE" db push --remote="$SUPABASE_DB_URL" --yes
  echo "push migrations: supabase db push (migrations/ applied over SUPABASE_DB_URL)"

  step bucket

  # Names of the secrets the project already has: an encryption key it has is never replaced.
  DEPLOY_REMOTE_SECRETS_JSON=$("$SUPABASE" secrets list --remote="$ref" -o json) || fail "secrets: supabase secrets list failed"
  export DEPLOY_REMOTE_SECRETS_JSON
  step secrets
  cli secrets "$SUPABASE" secrets set --env-file "$secrets_file" --remote="$ref" --yes
  echo "secrets: supabase secrets set --env-file $secrets_file --project-ref $ref"

  functions=$(step functions)
  for fn in $functions; do
    # --use-api: bundled by the platform from the uploaded files (the deploy set), no Docker.
    cli deploy "$SUPABASE" functions deploy "$fn" --remote="$ref" --use-api --yes
    echo "deploy: supabase functions deploy $fn --project-ref $ref"
  done
  step functions-served
else
  stack_dir="${REELFORGE_STACK_DIR:-.stack}"
  step link
  db_url=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).DB_URL)' "$stack_dir/env.json")

  cli "push migrations" "$SUPABASE" migration up --db-url "$db_url" --yes
  echo "push migrations: supabase migration up --db-url ${db_url/:postgres@/@} --yes, the real CLI (hosted: supabase db push)"

  step bucket
  step secrets

  # The local `functions deploy`: rebuild every set as the CLI uploads it, beside the served ones
  # (never over them: other callers' workers start from those), then check the gateway serves the same.
  built=$(mktemp -d "$stack_dir/deploy-check.XXXXXX")
  trap 'rm -rf "$built"' EXIT
  cli deploy "$DENO" run -A --no-prompt --config deno.json scripts/deploy-sets.ts --out "$built"
  step functions-served --built "$built"
fi

step dispatch
step probe
echo "deployed: $([ "$mode" = hosted ] && echo "project $ref" || echo "local stack") (secrets in $([ "$mode" = hosted ] && echo "$secrets_file" || echo "$stack_dir/secrets.json"), never printed)"
