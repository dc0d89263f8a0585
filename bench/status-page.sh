#!/usr/bin/env bash
# Load benchmark of the public status page: Fireline and nginx serving the very same
# bytes, side by side in one run, with wrk at 256 connections on loopback.
#
#   bench/status-page.sh            # needs PostgreSQL (DATABASE_URL's server or the local default)
#   BIN=path/to/fireline bench/status-page.sh   # measure another build (no cargo build)
#
# It installs wrk and nginx from the distribution's packages if missing, builds the
# release binary, fills a throwaway database with `fireline demo`, and prints a Markdown
# table for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-256}
THREADS=${THREADS:-2}
FIRELINE_PORT=${FIRELINE_PORT:-18090}
NGINX_PORT=${NGINX_PORT:-18091}
base_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_url="${base_url%/*}/fireline_bench_status"

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx-light

if [ -n "${BIN:-}" ]; then
  bin=$BIN # another build, e.g. the previous release, for a comparison in the same conditions
else
  cargo build --release --quiet
  bin=${CARGO_TARGET_DIR:-target}/release/fireline
fi
work=$(mktemp -d /tmp/fireline-bench.XXXXXX)
cleanup() {
  [ -n "${fl_pid:-}" ] && kill "$fl_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS fireline_bench_status WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS fireline_bench_status WITH (FORCE)" >/dev/null
DATABASE_URL=$db_url FIRELINE_LOG=warn "$bin" demo
DATABASE_URL=$db_url FIRELINE_LOG=warn "$bin" serve --bind "127.0.0.1:$FIRELINE_PORT" --no-jobs >"$work/fireline.log" 2>&1 &
fl_pid=$!
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$FIRELINE_PORT/" -o /dev/null && break
  sleep 0.1
done

# The same bytes, as static files for nginx.
mkdir -p "$work/root/api/v2"
curl -fs "http://127.0.0.1:$FIRELINE_PORT/" -o "$work/root/index.html"
curl -fs "http://127.0.0.1:$FIRELINE_PORT/api/v2/summary.json" -o "$work/root/api/v2/summary.json"
# Fireline's own gzip variants, for nginx's gzip_static: the same compressed bytes.
curl -fs -H 'Accept-Encoding: gzip' "http://127.0.0.1:$FIRELINE_PORT/" -o "$work/root/index.html.gz"
curl -fs -H 'Accept-Encoding: gzip' "http://127.0.0.1:$FIRELINE_PORT/api/v2/summary.json" -o "$work/root/api/v2/summary.json.gz"
cat > "$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  types { text/html html; application/json json; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $work/root;
    index index.html;
    gzip_static on;
  }
}
CONF
nginx -c "$work/nginx.conf"
sleep 0.5

run() { # url [header] -> "requests/s p99"
  local out
  if [ -n "${2:-}" ]; then
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency -H "$2" "$1")
  else
    out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$1")
  fi
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  echo "$rps $p99"
}

echo "| path | encoding | bytes | nginx req/s | nginx p99 | Fireline req/s | Fireline p99 | Fireline / nginx |"
echo "|---|---|---|---|---|---|---|---|"
for encoding in identity gzip; do
  for path in / /api/v2/summary.json; do
    file=$work/root${path}
    [ "$path" = / ] && file=$work/root/index.html
    header=""
    if [ "$encoding" = gzip ]; then file="$file.gz"; header="Accept-Encoding: gzip"; fi
    bytes=$(stat -c %s "$file")
    read -r n_rps n_p99 < <(run "http://127.0.0.1:$NGINX_PORT$path" "$header")
    read -r f_rps f_p99 < <(run "http://127.0.0.1:$FIRELINE_PORT$path" "$header")
    ratio=$(awk -v f="$f_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", f / n }')
    echo "| \`$path\` | $encoding | $bytes | $n_rps | $n_p99 | $f_rps | $f_p99 | $ratio |"
  done
done
