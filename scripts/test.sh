#!/usr/bin/env bash
# `npm test`: installs what is missing, starts a fresh local stack (Postgres + pg_cron, gateway,
# pg_net dispatcher), runs every tier (vitest projects unit, tools, integration, chaos), and stops
# the stack again.
# A stack already running is replaced: tests need a fresh database.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/vitest ] || [ ! -x node_modules/.bin/deno ]; then
  npm install --no-audit --no-fund  # not npm ci: this npm refuses the lockfile for lack of other platforms' optional binaries
fi

# The demo report's browser test opens the page in Debian's Chromium. Installed like the stack's
# Debian packages (scripts/stack/postgres-cluster.ts): by root, or told to the user.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "chromium is missing; run:  sudo apt-get update && sudo apt-get install -y chromium" >&2
    exit 1
  fi
  echo "installing chromium ..."
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium
fi

# The sample-schema clone test (tests/integration/clone-sample-db.test.ts) clones pagila, which
# Debian's pgModeler ships as a model: installed like Chromium, then exported to SQL once into
# .cache/ (scripts/sample-db.sh; never committed). Without it that test skips and says why.
if ! command -v pgmodeler-cli >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing pgmodeler ..."
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgmodeler >/dev/null
  else
    echo "pgmodeler is missing, so clone-sample-db.test.ts will skip; run:  sudo apt-get install -y --no-install-recommends pgmodeler" >&2
  fi
fi
bash scripts/sample-db.sh || [ $? -eq 3 ]  # 3: no pgmodeler (said above; the test says it again)

# Style first: cheap, and needs no stack (deno.json's lint and fmt sections; docs/tests.md "Style").
node_modules/.bin/deno lint --quiet
node_modules/.bin/deno fmt --check --quiet

bash scripts/stack.sh stop >/dev/null 2>&1 || true
# The stack's render worker encodes with x264's fastest preset: on two cores the film tests spent
# most of their CPU in the default `veryfast` encode, and no test reads the file size a preset
# trades for speed (docs/rendering.md, "Encoding speed"). Benchmarks keep the default.
export REELFORGE_RENDER_X264_PRESET="${REELFORGE_RENDER_X264_PRESET:-ultrafast}"
trap 'bash scripts/stack.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/stack.sh start --fresh

node_modules/.bin/vitest run "$@"
