#!/usr/bin/env bash
# Generates the public sample schema that tests/integration/clone-sample-db.test.ts clones: pagila
# (the PostgreSQL port of MySQL's sakila, PostgreSQL licence), as modelled in the samples that
# Debian's pgmodeler-common package ships, exported to SQL by Debian's pgmodeler-cli. Neither the
# model nor its SQL is ours, so neither is committed: this script makes it at install/test time.
#
# Writes .cache/sample-db/pagila.sql (gitignored). Idempotent: does nothing when it is there.
# Exit 3: the generator is not installed (the test then skips and says so); other non-zero: it
# failed.
set -euo pipefail
cd "$(dirname "$0")/.."

out=.cache/sample-db/pagila.sql
[ -s "$out" ] && exit 0

model=/usr/share/pgmodeler/samples/pagila.dbm
if ! command -v pgmodeler-cli >/dev/null 2>&1 || [ ! -r "$model" ]; then
  echo "pgmodeler is missing; run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends pgmodeler" >&2
  exit 3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# pgmodeler-cli is a Qt program: no display (offscreen), and its config and runtime files in a
# scratch home rather than the user's.
mkdir -m 700 "$work/run"
if ! QT_QPA_PLATFORM=offscreen XDG_RUNTIME_DIR="$work/run" HOME="$work" \
  pgmodeler-cli --export-to-file --input "$model" --output "$work/pagila.sql" --pgsql-ver 15.0 --silent \
  >"$work/log" 2>&1; then
  cat "$work/log" >&2
  exit 1
fi
# It has exited 0 having written nothing before; a schema without its aggregate is not the sample.
if ! grep -q '^CREATE AGGREGATE public.group_concat' "$work/pagila.sql"; then
  echo "pgmodeler-cli wrote no usable pagila schema:" >&2
  cat "$work/log" >&2
  exit 1
fi
mkdir -p "$(dirname "$out")"
mv "$work/pagila.sql" "$out"
