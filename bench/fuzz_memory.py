#!/usr/bin/env python3
"""A fuzzing-like load against a running Fireline, with the server's memory sampled.

Run by bench/fuzz-memory.sh, which starts the server. Loopback only and bounded: it
stops after --seconds or --requests, whichever comes first. Standard library only.

The mix imitates a schemathesis run plus a hostile crowd: every operation of the
OpenAPI document with random path parameters and random, large or malformed JSON
bodies (some up to and over the 1 MiB limit, some with a lying or missing length), with
the good token, a bad one or none; forms with garbage; sign-in attempts with random
addresses (each costs a password hash); random paths, methods and query strings; the
public pages with random query strings and conditional requests. Every request comes
from a random X-Forwarded-For address.
"""

import argparse
import asyncio
import json
import random
import re
import string
import sys
import time

LIMIT = 1024 * 1024
METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]
PUBLIC = [
    "/", "/theme.css", "/history", "/history.atom", "/history.rss", "/subscribe",
    "/api/v2/summary.json", "/api/v2/status.json", "/api/v2/components.json",
    "/api/v2/incidents.json", "/api/v2/incidents/unresolved.json",
    "/api/v2/scheduled-maintenances.json", "/static/status.css", "/static/app.js",
    "/login", "/healthz", "/readyz", "/metrics", "/api/openapi.json",
]


def rand_text(rng, n):
    alphabet = string.printable + "éü中\u0000\u202e😀"
    return "".join(rng.choice(alphabet) for _ in range(n))


def rand_value(rng, depth=0):
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 2**63, -(2**63) - 1, 1e308, rng.randrange(-1000, 1000)])
    if kind == 3:
        return rand_text(rng, rng.choice([0, 1, 10, 200, 5000]))
    if kind == 4:
        return rng.choice(["critical", "investigating", "2026-12-01T00:00:00Z", "admin",
                           "https://127.0.0.1/hook", "not-a-uuid", str(rng.getrandbits(64))])
    if kind in (5, 6):
        return [rand_value(rng, depth + 1) for _ in range(rng.randrange(6))]
    return {rand_key(rng): rand_value(rng, depth + 1) for _ in range(rng.randrange(8))}


def rand_key(rng):
    return rng.choice(["title", "summary", "severity", "status", "version", "name", "email",
                       "role", "url", "body", "components", "starts_at", "ends_at", "text",
                       "kind", "public", "id", rand_text(rng, 5)])


def json_body(rng):
    kind = rng.randrange(10)
    if kind < 5:
        return json.dumps(rand_value(rng)).encode()
    if kind == 5:  # malformed
        return rng.choice([b"{", b'{"title": }', b"\xff\xfe", b"[1,2,", b'{"a":"\\u0000"}', b"nul"])
    if kind == 6:  # deeply nested
        d = rng.randrange(50, 5000)
        return b"[" * d + b"]" * d
    # Large: just under, at, or over the limit.
    size = rng.choice([LIMIT // 2, LIMIT - 100, LIMIT + 1, LIMIT * 3 // 2, rng.randrange(LIMIT * 2)])
    text = "x" * max(size - 40, 0)
    return json.dumps({"title": "t", "summary": text}).encode()


def form_body(rng):
    if rng.random() < 0.2:
        return b"a=" + b"y" * rng.choice([LIMIT - 10, LIMIT + 10, LIMIT * 2])
    pairs = [(rand_key(rng), rand_text(rng, rng.choice([0, 5, 100]))) for _ in range(rng.randrange(6))]
    from urllib.parse import urlencode
    return urlencode(pairs).encode()


def rand_ip(rng):
    if rng.random() < 0.8:
        return ".".join(str(rng.randrange(256)) for _ in range(4))
    return ":".join(f"{rng.getrandbits(16):x}" for _ in range(8))


def rand_query(rng):
    if rng.random() < 0.5:
        return ""
    parts = [f"{rand_key(rng)}={rng.choice(['', '1', '-1', 'x' * rng.randrange(3000), '%00', '%ZZ'])}"
             for _ in range(rng.randrange(1, 5))]
    return "?" + "&".join(parts)


def rand_path(rng):
    segs = [rng.choice(["api", "v1", "v2", "admin", "incidents", rand_text(rng, 6), "%2e%2e", "x" * rng.randrange(1, 500)])
            for _ in range(rng.randrange(1, 6))]
    from urllib.parse import quote
    return "/" + "/".join(quote(s, safe="%") for s in segs)


class Plan:
    def __init__(self, spec, token):
        self.token = token
        self.ops = []
        for path, item in spec.get("paths", {}).items():
            for method in item:
                if method.upper() in METHODS:
                    self.ops.append((method.upper(), path))

    def fill(self, rng, path):
        def param(_m):
            return rng.choice([str(__import__("uuid").uuid4()), "00000000-0000-0000-0000-000000000000",
                               "not-a-uuid", str(rng.randrange(-5, 1 << 40)), "x" * 300])
        return re.sub(r"\{[^}]+\}", param, path)


async def request(host, port, method, target, headers, body=b"", chunked=False, timeout=15):
    reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    try:
        lines = [f"{method} {target} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        for k, v in headers.items():
            lines.append(f"{k}: {v}")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(body)}")
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape"))
        if chunked:
            step = 64 * 1024
            for i in range(0, len(body), step):
                part = body[i:i + step]
                writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        else:
            writer.write(body)
        await writer.drain()
        head = await asyncio.wait_for(reader.readline(), timeout)
        await asyncio.wait_for(reader.read(), timeout)
        parts = head.split()
        return int(parts[1]) if len(parts) > 1 else 0
    finally:
        writer.close()


async def login_form(host, port):
    """An anonymous CSRF cookie and its token, as a browser gets them."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET /login HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = (await reader.read()).decode("utf-8", "replace")
    writer.close()
    cookies = re.findall(r"(?im)^set-cookie:\s*([^;\r\n]+)", raw)
    token = re.search(r'name="csrf_token" value="([^"]+)"', raw)
    return "; ".join(cookies), token.group(1) if token else ""


def make_request(rng, plan, csrf):
    """One request: (method, target, headers, body, chunked)."""
    headers = {"X-Forwarded-For": rand_ip(rng), "Accept": rng.choice(["*/*", "text/html", "application/json"])}
    kind = rng.random()
    if kind < 0.40 and plan.ops:  # the API, schemathesis-style
        method, path = rng.choice(plan.ops)
        auth = rng.random()
        if auth < 0.7:
            headers["Authorization"] = f"Bearer {plan.token}"
        elif auth < 0.9:
            headers["Authorization"] = "Bearer " + rng.choice(["fl_bad", "x" * 2000, rand_text(rng, 20).encode("ascii", "ignore").decode()])
        body = b""
        if method in ("POST", "PATCH", "PUT"):
            body = json_body(rng)
            headers["Content-Type"] = rng.choice(["application/json"] * 8 + ["text/plain", "application/json; charset=latin1"])
        chunked = len(body) > LIMIT // 2 and rng.random() < 0.3
        return method, plan.fill(rng, path) + rand_query(rng), headers, body, chunked
    if kind < 0.55:  # sign-in attempts from everywhere
        cookie, token = csrf
        headers["Cookie"] = cookie
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        from urllib.parse import urlencode
        email = f"{rng.getrandbits(40):x}@example.com" if rng.random() < 0.8 else rand_text(rng, 30)
        body = urlencode({"csrf_token": token if rng.random() < 0.9 else "bad",
                          "email": email, "password": rand_text(rng, rng.choice([1, 20, 2000]))}).encode()
        return "POST", "/login", headers, body, False
    if kind < 0.65:  # forms with garbage, big and small
        headers["Content-Type"] = rng.choice(["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain"])
        target = rng.choice(["/subscribe", "/login", "/setup", "/admin/incidents", "/admin/settings", "/logout"])
        return "POST", target + rand_query(rng), headers, form_body(rng), rng.random() < 0.2
    if kind < 0.80:  # random paths, methods, queries
        method = rng.choice(METHODS + ["FUZZ", "PROPFIND", "TRACE"])
        return method, rand_path(rng) + rand_query(rng), headers, b"", False
    # The public pages, conditional and compressed requests.
    if rng.random() < 0.3:
        headers["If-None-Match"] = rng.choice(['"0"', "*", '"' + "a" * 24 + '"'])
    headers["Accept-Encoding"] = rng.choice(["gzip", "br", "identity", "gzip;q=0, br"])
    return rng.choice(["GET", "HEAD"]), rng.choice(PUBLIC) + rand_query(rng), headers, b"", False


def memory(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:", "Threads:")):
                key, value = line.split(":")
                out[key] = int(value.split()[0])
    return out.get("VmRSS", 0) // 1024, out.get("VmHWM", 0) // 1024, out.get("Threads", 0)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--settle", type=float, default=20, help="seconds idle before the after-run sample")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    host = "127.0.0.1"

    _, spec_raw = None, None
    reader, writer = await asyncio.open_connection(host, args.port)
    writer.write(f"GET /api/openapi.json HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    spec = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    plan = Plan(spec, args.token)
    csrf = await login_form(host, args.port)

    rss_before, _, _ = memory(args.pid)
    peak_threads = 0
    statuses = {}
    sent = 0
    errors = 0
    deadline = time.monotonic() + args.seconds
    peak_rss = rss_before
    samples = []

    async def worker(n):
        nonlocal sent, errors
        rng = random.Random(args.seed * 1000 + n)
        while time.monotonic() < deadline and sent < args.requests:
            sent += 1
            method, target, headers, body, chunked = make_request(rng, plan, csrf)
            try:
                status = await request(host, args.port, method, target, headers, body, chunked)
                statuses[status] = statuses.get(status, 0) + 1
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError):
                errors += 1

    async def sampler():
        nonlocal peak_rss, peak_threads
        start = time.monotonic()
        while time.monotonic() < deadline and sent < args.requests:
            rss, _, threads = memory(args.pid)
            peak_rss = max(peak_rss, rss)
            peak_threads = max(peak_threads, threads)
            samples.append((round(time.monotonic() - start, 1), rss))
            await asyncio.sleep(0.5)

    started = time.monotonic()
    await asyncio.gather(sampler(), *(worker(i) for i in range(args.concurrency)))
    took = time.monotonic() - started
    rss_end, hwm, _ = memory(args.pid)
    await asyncio.sleep(args.settle)
    rss_settled, hwm, threads_settled = memory(args.pid)

    print(f"requests: {sent} in {took:.1f} s ({sent / took:.0f}/s), concurrency {args.concurrency}, "
          f"client-side errors (resets, timeouts): {errors}")
    print("statuses: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())))
    print("RSS over time (s, MiB): " + " ".join(f"{t}:{r}" for t, r in samples[:: max(1, len(samples) // 20)]))
    print(f"RSS before: {rss_before} MiB; peak sampled: {peak_rss} MiB; VmHWM: {hwm} MiB; "
          f"at the end: {rss_end} MiB; after {args.settle:.0f} s idle: {rss_settled} MiB")
    print(f"server threads: peak {peak_threads}, after the run {threads_settled}")
    if statuses.get(500, 0):
        print(f"server errors: {statuses[500]}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
