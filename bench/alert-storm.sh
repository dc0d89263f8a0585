#!/usr/bin/env bash
# Alert storm: Alertmanager v4 deliveries (bench/alert-storm.lua, 1,000 distinct alerts)
# against the release server with its processor running, and the public status page's
# rate with and without the storm, in one run:
#   1. the status page alone (`/` and `/api/v2/summary.json`, wrk -t1 -c64);
#   2. the storm paced at TARGET_ALERTS alerts/s while (1) runs again;
#   3. the storm alone, unthrottled (wrk -t1 -c32): accepted/s, intake p50/p99, then
#      the time until the processor's backlog is empty (processed/s).
# An nginx serving the same summary bytes is measured first, as the machine's reference.
#
#   bench/alert-storm.sh                          # needs PostgreSQL (DATABASE_URL or the local default)
#   ALERTS_PER_GROUP=1 bench/alert-storm.sh       # 1,000 one-alert groups
#   BIN=path/to/fireline bench/alert-storm.sh     # another build (no cargo build)
#   PACED_ONLY=1 BEFORE_PACED='cmd' ...           # profiling: cmd, then only the paced storm
#
# It installs wrk and nginx from the distribution's packages if missing and prints
# Markdown rows for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-20}
ALERTS_PER_GROUP=${ALERTS_PER_GROUP:-10}
TARGET_ALERTS=${TARGET_ALERTS:-2000}
STORM_CONNECTIONS=${STORM_CONNECTIONS:-32}
PACED_CONNECTIONS=${PACED_CONNECTIONS:-$((ALERTS_PER_GROUP >= 10 ? 8 : 32))}
PAGE_CONNECTIONS=${PAGE_CONNECTIONS:-64}
PORT=${PORT:-18093}
NGINX_PORT=${NGINX_PORT:-18094}
base_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_name=fireline_bench_storm
db_url="${base_url%/*}/$db_name"

need() { command -v "$1" >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null; }; }
need wrk wrk
need nginx nginx-light

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/fireline
fi
work=$(mktemp -d /tmp/fireline-storm.XXXXXX)
cleanup() {
  [ -n "${fl_pid:-}" ] && kill "$fl_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null
export DATABASE_URL=$db_url FIRELINE_LOG=warn
"$BIN" demo >/dev/null
echo "storm-password-1234567" | "$BIN" user create --email storm@example.com --name Storm --role admin >/dev/null 2>&1
token=$("$BIN" token create --email storm@example.com --name storm)
"$BIN" serve --bind "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
fl_pid=$!
url=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do
  curl -fs "$url/" -o /dev/null && break
  sleep 0.1
done

key=$(curl -fsS -X POST "$url/api/v1/integrations" -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"name":"Storm","kind":"alertmanager"}' |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')

# The reference: nginx serving Fireline's own summary bytes.
mkdir -p "$work/root/api/v2"
curl -fs "$url/api/v2/summary.json" -o "$work/root/api/v2/summary.json"
cat >"$work/nginx.conf" <<CONF
worker_processes 2;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  keepalive_requests 1000000;
  types { application/json json; }
  server { listen 127.0.0.1:$NGINX_PORT; root $work/root; }
}
CONF
nginx -c "$work/nginx.conf"
sleep 0.5

page() { # url -> "req/s p99"
  local out
  out=$(wrk -t1 -c"$PAGE_CONNECTIONS" -d"${DURATION}s" --latency "$1")
  echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(awk '$1 == "99%" {print $2}' <<<"$out")"
}
storm() { # seconds connections rate -> the STORM line
  STORM_KEY=$key ALERTS_PER_GROUP=$ALERTS_PER_GROUP STORM_RATE=$3 STORM_CONNECTIONS=$2 \
    wrk -t1 -c"$2" -d"$1s" --timeout 10s -s bench/alert-storm.lua "$url" | grep '^STORM'
}
field() { # name line -> value
  sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}
metric() { # the sum of a metric's samples whose line matches $1
  curl -fs "$url/metrics" | awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { print s + 0 }'
}
drain() { # -> seconds until the backlog is 0
  local start=$1
  while [ "$(metric 'fireline_alert_intake_backlog ')" != 0 ]; do sleep 0.2; done
  awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}
processed() { # accepted deliveries, seconds from the storm's start to an empty backlog
  awk -v n="$1" -v a="$ALERTS_PER_GROUP" -v s="$2" 'BEGIN { printf "%.0f", n * a / s }'
}

cpu() { # -> CPU seconds used so far by fireline, by postgres (every process of each) and by
  # the finished children of this script (the page's wrk)
  local children
  children=$(awk '{ print $16 + $17 }' "/proc/$$/stat")
  awk -v hz="$(getconf CLK_TCK)" -v kids="$children" '{ c = $2; gsub(/[()]/, "", c); t[c] += $14 + $15 }
    END { printf "%.1f %.1f %.1f", t["fireline"] / hz, t["postgres"] / hz, kids / hz }' \
    /proc/[0-9]*/stat 2>/dev/null
}
spent() { # before after -> "fireline / postgres / page wrk" seconds between them
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "%.1f / %.1f / %.1f", y[1] - x[1], y[2] - x[2], y[3] - x[3] }'
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
read -r nginx_rps nginx_p99 < <(page "http://127.0.0.1:$NGINX_PORT/api/v2/summary.json")

# 1. The status page alone.
cpu_before=$(cpu)
read -r home_rps home_p99 < <(page "$url/")
read -r sum_rps sum_p99 < <(page "$url/api/v2/summary.json")
cpu_alone=$(spent "$cpu_before" "$(cpu)")

[ -n "${BEFORE_PACED:-}" ] && eval "$BEFORE_PACED"
# 2. The storm at the target rate, with the status page measured again meanwhile.
rate=$(awk -v t="$TARGET_ALERTS" -v a="$ALERTS_PER_GROUP" 'BEGIN { printf "%.0f", t / a }')
start=$(date +%s.%N)
storm $((2 * DURATION + 2)) "$PACED_CONNECTIONS" "$rate" >"$work/paced" &
storm_pid=$!
sleep 1
cpu_before=$(cpu)
read -r home_rps2 home_p992 < <(page "$url/")
read -r sum_rps2 sum_p992 < <(page "$url/api/v2/summary.json")
cpu_during=$(spent "$cpu_before" "$(cpu)")
wait "$storm_pid"
paced_line=$(cat "$work/paced")
drained=$(drain "$start")
paced_processed=$(processed "$(field accepted "$paced_line")" "$drained")
# 3. The storm alone, as fast as it goes, after the paced one (PACED_ONLY=1 skips it).
# Last, so the cleanup after its hundreds of thousands of alerts (autovacuum on the alert
# tables) does not run during the status page's measurement.
max_line="STORM accepted=0" max_processed=0
if [ -z "${PACED_ONLY:-}" ]; then
  start=$(date +%s.%N)
  line=$(storm "$DURATION" "$STORM_CONNECTIONS" 0)
  drained=$(drain "$start")
  max_line=$line
  max_processed=$(processed "$(field accepted "$line")" "$drained")
fi

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

received=$(metric 'fireline_alert_intake_requests_total{format="alertmanager",outcome="accepted"}')
sent=$(($(field accepted "$max_line") + $(field accepted "$paced_line")))
[ "$received" = "$sent" ] || echo "warning: wrk saw $sent accepted, the server counted $received" >&2
grep -iE 'error|panic' "$work/server.log" | head -5 >&2 || true

echo
echo "Alerts per delivery: $ALERTS_PER_GROUP ($(field bytes "$max_line") bytes a body); nginx reference on the summary: $nginx_rps req/s (p99 $nginx_p99)."
echo
echo "| storm | deliveries/s accepted | alerts/s accepted | intake p50 | intake p99 | 503 | 429 | other | alerts/s processed |"
echo "|---|---|---|---|---|---|---|---|---|"
for which in max paced; do
  if [ $which = max ]; then l=$max_line p=$max_processed label="unthrottled, -c$STORM_CONNECTIONS"; else l=$paced_line p=$paced_processed label="paced at $TARGET_ALERTS alerts/s, -c$PACED_CONNECTIONS, with the status page"; fi
  echo "| $label | $(field accepted_per_s "$l") | $(field alerts_per_s "$l") | $(field p50_ms "$l") ms | $(field p99_ms "$l") ms | $(field s503 "$l") | $(field s429 "$l") | $(field other "$l") | $p |"
done
echo
echo "| status page | alone req/s | p99 | during the paced storm req/s | p99 | during / alone |"
echo "|---|---|---|---|---|---|"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo "| \`/\` | $home_rps | $home_p99 | $home_rps2 | $home_p992 | $(ratio "$home_rps" "$home_rps2") |"
echo "| \`/api/v2/summary.json\` | $sum_rps | $sum_p99 | $sum_rps2 | $sum_p992 | $(ratio "$sum_rps" "$sum_rps2") |"
echo
echo "CPU seconds over the two page measurements (fireline / postgres / the page's wrk): alone $cpu_alone; during the paced storm $cpu_during."
