#!/usr/bin/env bash
# Local Supabase stand-in (Postgres 15 + pg_cron + Deno gateway): start [--fresh] | stop | status.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  if [ -f package-lock.json ]; then npm ci; else npm install; fi
fi
exec node_modules/.bin/deno run -A --no-prompt --config deno.json scripts/stack/cli.ts "$@"
