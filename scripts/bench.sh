#!/usr/bin/env bash
# Benchmarks: `npm run bench -- <name>` runs bench/<name>.ts against the local stack (started if
# needed); with no name, lists them. BENCH_DB_URL skips the stack: database-only parts, that Postgres.
set -euo pipefail
cd "$(dirname "$0")/.."

list() {
  echo "benchmarks (npm run bench -- <name>):"
  for file in bench/*.ts; do
    # The first line of the file's doc comment says what it measures.
    printf '  %-12s %s\n' "$(basename "$file" .ts)" "$(sed -n '2s/^ \* //p' "$file")"
  done
}

name="${1:-}"
if [ -z "$name" ]; then list; exit 0; fi
if [ ! -f "bench/$name.ts" ]; then
  echo "no benchmark named '$name'" >&2
  list >&2
  exit 2
fi
shift

if [ ! -x node_modules/.bin/deno ]; then
  npm install --no-audit --no-fund  # not npm ci: this npm refuses the lockfile for lack of other platforms' optional binaries
fi
if [ -z "${BENCH_DB_URL:-}" ]; then
  bash scripts/stack.sh status >/dev/null 2>&1 || bash scripts/stack.sh start
fi
exec node_modules/.bin/deno run -A --no-prompt --config deno.json "bench/$name.ts" "$@"
