#!/usr/bin/env bash
# Memory under a fuzzing-like run: the release server behind --trust-proxy, hit by
# bench/fuzz_memory.py (random, large and malformed bodies, random paths and addresses,
# sign-in attempts), with its RSS sampled from /proc during the run and after it.
#
#   bench/fuzz-memory.sh                 # SECONDS_=60 CONCURRENCY=32 by default
#   BIN=path/to/fireline bench/fuzz-memory.sh   # measure another build
#
# Loopback only; bounded by time and request count. Needs PostgreSQL (DATABASE_URL's
# server or the local default) and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

RUN_SECONDS=${RUN_SECONDS:-60}
CONCURRENCY=${CONCURRENCY:-32}
MAX_REQUESTS=${MAX_REQUESTS:-200000}
SETTLE=${SETTLE:-20}
PORT=${PORT:-18092}
base_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_url="${base_url%/*}/fireline_bench_fuzz"

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/fireline
fi
work=$(mktemp -d /tmp/fireline-fuzz.XXXXXX)
cleanup() {
  [ -n "${fl_pid:-}" ] && kill "$fl_pid" 2>/dev/null || true
  psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS fireline_bench_fuzz WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS fireline_bench_fuzz WITH (FORCE)" >/dev/null
export DATABASE_URL=$db_url FIRELINE_LOG=error
"$BIN" demo >/dev/null
echo "fuzz-password-1234567" | "$BIN" user create --email fuzz@example.com --name Fuzz --role admin >/dev/null 2>&1
token=$("$BIN" token create --email fuzz@example.com --name fuzz)
"$BIN" serve --bind "127.0.0.1:$PORT" --trust-proxy >"$work/server.log" 2>&1 &
fl_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$PORT/" -o /dev/null && break
  sleep 0.1
done

python3 bench/fuzz_memory.py --port "$PORT" --pid "$fl_pid" --token "$token" \
  --seconds "$RUN_SECONDS" --requests "$MAX_REQUESTS" --concurrency "$CONCURRENCY" --settle "$SETTLE"
if ! kill -0 "$fl_pid" 2>/dev/null; then
  echo "the server died:" >&2
  tail -20 "$work/server.log" >&2
  exit 1
fi
