#!/usr/bin/env bash
# `npm run demo -- [--prompt "..."] [--minutes 1] [--chaos] ...`: a real film made offline on the
# local stack with live progress and an HTML report (scripts/demo/demo.ts). Installs what is
# missing and starts the stack unless one is already running (a running stack is reused, not wiped).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/deno ]; then
  npm install --no-audit --no-fund  # not npm ci: this npm refuses the lockfile for lack of other platforms' optional binaries
fi
bash scripts/stack.sh status >/dev/null 2>&1 || bash scripts/stack.sh start
exec node_modules/.bin/deno run -A --no-prompt --config deno.json scripts/demo/demo.ts "$@"
