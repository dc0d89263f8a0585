#!/usr/bin/env bash
# Paging storm: 1,000 critical alerts at once across 50 teams, against the release server.
# Each team has one member on duty (an ntfy contact method) and a channel (a Slack-shaped
# webhook), both pointed at a local receiver; the policy counts down 10 s (one tick
# announced at 5 s), pages the person on duty, waits 10 s and pages the team. Measured:
#   - how late each durable step (and countdown announcement) was done against its due time,
#   - how long a notification waited in the outbox before it was sent.
#
#   bench/paging-storm.sh                       # needs PostgreSQL (DATABASE_URL or the local default)
#   BIN=path/to/fireline bench/paging-storm.sh  # another build (no cargo build)
#
# Prints Markdown rows for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

TEAMS=${TEAMS:-50}
ALERTS=${ALERTS:-1000}
PORT=${PORT:-18095}
RECEIVER_PORT=${RECEIVER_PORT:-18096}
base_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
db_name=fireline_bench_paging
db_url="${base_url%/*}/$db_name"

if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=${CARGO_TARGET_DIR:-target}/release/fireline
fi
work=$(mktemp -d /tmp/fireline-paging.XXXXXX)
cleanup() {
  [ -n "${fl_pid:-}" ] && kill "$fl_pid" 2>/dev/null || true
  [ -n "${rx_pid:-}" ] && kill "$rx_pid" 2>/dev/null || true
  psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The receiver: answers every POST with 200, as ntfy and Slack do.
cat >"$work/receiver.py" <<'PY'
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class Ok(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Ok).serve_forever()
PY
python3 "$work/receiver.py" "$RECEIVER_PORT" &
rx_pid=$!

psql "${base_url%/*}/postgres" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null
export DATABASE_URL=$db_url FIRELINE_LOG=warn FIRELINE_WEBHOOK_ALLOW_PRIVATE=true
"$BIN" migrate >/dev/null
echo "paging-password-1234567" | "$BIN" user create --email boss@example.com --name Boss --role admin >/dev/null 2>&1
token=$("$BIN" token create --email boss@example.com --name bench)
"$BIN" serve --bind "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
fl_pid=$!
url=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do
  curl -fs "$url/" -o /dev/null && break
  sleep 0.1
done

echo "setting up $TEAMS teams"
python3 - "$url" "$token" "$TEAMS" "$RECEIVER_PORT" >"$work/key" <<'PY'
import json, sys, urllib.request
url, token, teams, rx = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def call(path, body):
    req = urllib.request.Request(url + "/api/v1" + path, json.dumps(body).encode(), method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req))
policy = call("/escalation-policies", {"name": "Bench", "steps": [
    {"kind": "countdown", "seconds": 10}, {"kind": "page_on_duty"},
    {"kind": "wait", "seconds": 10}, {"kind": "page_team"}]})
for n in range(teams):
    user = call("/users", {"email": f"oncall{n}@example.com", "name": f"Oncall {n}", "role": "responder"})
    call(f"/users/{user['id']}/contact-methods", {"kind": "ntfy",
        "settings": {"server": f"http://127.0.0.1:{rx}", "topic": f"oncall{n}"}})
    team = call("/teams", {"name": f"Team {n}", "user_ids": [user["id"]], "escalation_policy_id": policy["id"],
        "rotation": {"interval": "weekly", "handoff_time": "00:00", "time_zone": "UTC",
                     "starts_on": "2026-01-05", "user_ids": [user["id"]]}})
    call(f"/teams/{team['id']}/channels", {"kind": "slack", "settings": {"url": f"http://127.0.0.1:{rx}/team{n}"}})
    call("/routing-rules", {"name": f"Team {n}", "urgency": "critical", "team_id": team["id"],
        "matchers": [{"label": "team", "op": "=", "value": f"t{n}"}]})
print(call("/integrations", {"name": "Bench", "kind": "generic"})["key"])
PY
key=$(cat "$work/key")

echo "sending $ALERTS critical alerts at once"
python3 - "$url" "$key" "$TEAMS" "$ALERTS" <<'PY'
import json, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, key, teams, alerts = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
def send(i):
    body = {"dedup_key": f"storm-{i}", "title": f"Service {i} is down", "status": "firing",
            "severity": "critical", "labels": {"team": f"t{i % teams}", "service": f"s{i}"}}
    req = urllib.request.Request(f"{url}/ingest/{key}/generic", json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="POST")
    return urllib.request.urlopen(req).status
with ThreadPoolExecutor(64) as pool:
    statuses = list(pool.map(send, range(alerts)))
assert all(s == 202 for s in statuses), set(statuses)
PY

q() { psql "$db_url" -qtAc "$1"; }
deadline=$((SECONDS + 180))
until [ "$(q "SELECT count(*) FROM pages WHERE state = 'exhausted'")" -ge "$ALERTS" ]; do
  [ $SECONDS -lt $deadline ] || { echo "the pages did not finish in time" >&2; q "SELECT state, count(*) FROM pages GROUP BY 1"; exit 1; }
  sleep 1
done
until [ "$(q "SELECT count(*) FROM notifications WHERE state = 'pending'")" -eq 0 ]; do
  [ $SECONDS -lt $deadline ] || { echo "notifications still pending" >&2; exit 1; }
  sleep 1
done

pct() {
  q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY v)::numeric, 3) || ' / ' ||
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY v)::numeric, 3) || ' / ' ||
            round(max(v)::numeric, 3) || ' (' || count(*) || ')'
     FROM ($1) AS x(v)"
}
# A step's lateness: from its due time to the end of its transaction (so it includes the
# step's own work: paging, queueing the notifications, scheduling the next step).
finished=$(pct "SELECT extract(epoch FROM finished_at - run_at) FROM jobs WHERE kind IN ('paging.step', 'paging.tick') AND state = 'done'")
sent=$(pct "SELECT extract(epoch FROM sent_at - created_at) FROM notifications WHERE state = 'sent'")
failed=$(q "SELECT count(*) FROM notifications WHERE state = 'failed'")
echo
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%Y-%m-%d)"
echo "| what (seconds: p50 / p99 / max (n)) | value |"
echo "|---|---|"
echo "| step done after its due time | $finished |"
echo "| notification queued → sent | $sent |"
echo "| notifications failed | $failed |"
