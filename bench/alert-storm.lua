-- wrk script of bench/alert-storm.sh: realistic Alertmanager v4 webhook deliveries.
--
-- 1,000 distinct alerts (fingerprints) in GROUPS groups of ALERTS_PER_GROUP (default
-- 100 x 10, about 8 KB a body), labels alertname/service/instance/job/namespace/pod/
-- severity, annotations summary/description/runbook_url. request() cycles through the
-- groups; every 10th round one alert of the group flips between resolved and firing with
-- a new startsAt (the slow path), the rest are Alertmanager's repeats.
--
-- Environment: STORM_KEY (the integration key, required), ALERTS_PER_GROUP (10),
-- STORM_RATE (deliveries per second over all connections; 0 = as fast as possible),
-- STORM_CONNECTIONS (the -c given to wrk, for the pacing).
-- done() prints one line: "STORM key=value ..." for the shell script.

local key = os.getenv("STORM_KEY") or error("STORM_KEY is required")
local per_group = tonumber(os.getenv("ALERTS_PER_GROUP") or "10")
local groups = math.floor(1000 / per_group)
local rate = tonumber(os.getenv("STORM_RATE") or "0")
local connections = tonumber(os.getenv("STORM_CONNECTIONS") or "1")

local services = { "checkout", "payments", "search", "catalog", "accounts", "gateway", "images", "mailer" }
local alertnames = { "HighErrorRate", "HighLatency", "PodCrashLooping", "DiskFilling", "TargetDown" }

local function alert_json(g, a, status, starts_at)
  local service = services[(g % #services) + 1]
  local name = alertnames[(g % #alertnames) + 1]
  local pod = string.format("%s-%07x-%05d", service, g * 7919 % 0xfffffff, a)
  local instance = string.format("10.%d.%d.%d:9100", g % 250, a % 250, (g + a) % 250)
  local severity = (g % 3 == 0) and "critical" or "warning"
  local ends_at = status == "resolved" and "2026-12-02T15:40:00.000000000Z" or "0001-01-01T00:00:00Z"
  return string.format(
    '{"status":"%s","labels":{"alertname":"%s","service":"%s","instance":"%s","job":"node-exporter",' ..
      '"namespace":"prod-%s","pod":"%s","severity":"%s"},' ..
      '"annotations":{"summary":"%s on %s (pod %s)",' ..
      '"description":"%s has been above its threshold for more than 5 minutes on instance %s in namespace prod-%s. ' ..
      'Current value is well over the objective; check the dashboards and the recent deploys before paging the owning team.",' ..
      '"runbook_url":"https://runbooks.example.com/%s/%s"},' ..
      '"startsAt":"%s","endsAt":"%s",' ..
      '"generatorURL":"http://prometheus.example.com:9090/graph?g0.expr=rate%%28http_requests_total%%7Bservice%%3D%%22%s%%22%%7D%%5B5m%%5D%%29&g0.tab=1",' ..
      '"fingerprint":"%016x"}',
    status, name, service, instance, service, pod, severity,
    name, service, pod,
    name, instance, service,
    service, name,
    starts_at, ends_at,
    service,
    0x5eed000000 + g * 1000 + a)
end

-- flipped: the alert of the group that is currently flipped (nil: none), and its startsAt.
local function group_json(g, flipped, flip_start)
  local service = services[(g % #services) + 1]
  local name = alertnames[(g % #alertnames) + 1]
  local alerts = {}
  local any_firing = false
  for a = 0, per_group - 1 do
    local status, starts = "firing", "2026-12-02T15:00:00.000000000Z"
    if a == flipped then
      status, starts = flip_start.status, flip_start.at
    end
    if status == "firing" then any_firing = true end
    alerts[#alerts + 1] = alert_json(g, a, status, starts)
  end
  local group_key = string.format('{}/{service=~".*"}:{alertname="%s", group="%d", service="%s"}', name, g, service)
  group_key = group_key:gsub('"', '\\"')
  return string.format(
    '{"version":"4","groupKey":"%s","truncatedAlerts":0,"status":"%s","receiver":"fireline",' ..
      '"groupLabels":{"alertname":"%s","service":"%s"},' ..
      '"commonLabels":{"alertname":"%s","service":"%s","job":"node-exporter","namespace":"prod-%s"},' ..
      '"commonAnnotations":{},"externalURL":"http://alertmanager.example.com:9093",' ..
      '"alerts":[%s]}',
    group_key, any_firing and "firing" or "resolved", name, service, name, service, service,
    table.concat(alerts, ","))
end

local bodies = {}
local flips = {}
local counter = 0
-- Globals, so that done() can read them from each thread.
statuses = {}
body_bytes = 0
local path = "/ingest/" .. key .. "/alertmanager"
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  for g = 0, groups - 1 do
    bodies[g] = group_json(g, nil, nil)
    flips[g] = { status = "firing", at = "2026-12-02T15:00:00.000000000Z", n = 0 }
  end
  body_bytes = #bodies[0]
end

function request()
  local g = counter % groups
  local round = math.floor(counter / groups)
  counter = counter + 1
  if round > 0 and round % 10 == 0 then
    -- The slow path: one alert of the group resolves, or fires again with a new start.
    local f = flips[g]
    f.n = f.n + 1
    if f.status == "firing" then
      f.status = "resolved"
    else
      f.status = "firing"
      f.at = string.format("2026-12-02T16:%02d:%02d.000000000Z", math.floor(f.n / 60) % 60, f.n % 60)
    end
    bodies[g] = group_json(g, 0, f)
  end
  return wrk.format("POST", path, headers, bodies[g])
end

-- The pause after each answer: connections / rate to begin with, then corrected once a
-- second by the rate reached (answers and timers take time too, more on a loaded
-- machine), so the storm holds the rate asked for. One wrk thread (-t1) is assumed.
local pause = 1000 * connections / math.max(rate, 1)
local second, answered = 0, 0
if rate > 0 then
  function delay()
    return math.floor(pause)
  end
end

local function pace()
  local now = os.time()
  if second == 0 then
    second, answered = now, 0
  elseif now > second then
    local reached = answered / (now - second)
    if reached > 0 then
      pause = math.max(0, math.min(pause * reached / rate, 10000))
    end
    second, answered = now, 0
  end
  answered = answered + 1
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if rate > 0 then pace() end
end

local threads = {}

function setup(thread)
  threads[#threads + 1] = thread
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local ok = 0
  for status, n in pairs(counts) do
    if status >= 200 and status < 300 then ok = ok + n end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "STORM requests=%d accepted=%d s503=%d s429=%d other=%d errors=%d seconds=%.2f " ..
      "accepted_per_s=%.1f alerts_per_s=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f bytes=%d\n",
    summary.requests, ok, counts[503] or 0, counts[429] or 0,
    summary.requests - ok - (counts[503] or 0) - (counts[429] or 0),
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    seconds, ok / seconds, ok * per_group / seconds,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
    threads[1]:get("body_bytes")))
end
