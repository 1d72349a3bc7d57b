#!/usr/bin/env bash
# `npm test`: installs what is missing, starts a fresh local stack (Postgres + pg_cron, gateway,
# pg_net dispatcher), runs the unit, integration and chaos tests, and stops the stack again.
# A stack already running is replaced: tests need a fresh database.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/vitest ] || [ ! -x node_modules/.bin/deno ]; then
  npm install --no-audit --no-fund  # not npm ci: this npm refuses the lockfile for lack of other platforms' optional binaries
fi

bash scripts/stack.sh stop >/dev/null 2>&1 || true
trap 'bash scripts/stack.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/stack.sh start --fresh

node_modules/.bin/vitest run "$@"
