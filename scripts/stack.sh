#!/usr/bin/env bash
# Local Supabase stand-in (Postgres 15 + pg_cron + Deno gateway): start [--fresh] | stop | status.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  npm install --no-audit --no-fund  # not npm ci: this npm refuses the lockfile for lack of other platforms' optional binaries
fi
exec node_modules/.bin/deno run -A --no-prompt --config deno.json scripts/stack/cli.ts "$@"
