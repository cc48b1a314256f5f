"""Benchmark: `policydsl serve` under a real load generator (wrk), beside an in-process `evaluate`.

Run with `.venv/bin/python benchmarks/bench_serve.py [--seconds 30] [--soak 300] [--concurrency 1,16,64]`
(needs `pip install 'policydsl[serve]'` and wrk, Debian's `wrk` package: `make bench-serve` installs both and
runs it). In one run on this machine it:

1. starts the real server (`policydsl serve`, on a free port of 127.0.0.1, over the real book) and checks that
   its answer to the benchmark's request is exactly `evaluate(...).to_dict()`: the load measures real work (a
   cart.opening decision that denies, with its reason's message in zh and en);
2. runs wrk for `--seconds` at each concurrency (connections; wrk's threads: one per connection up to 2) and
   reads, from wrk's own summary (a Lua `done` hook that prints JSON), requests/s, p50, p99 and max latency,
   and the failed or non-2xx answers (there must be none);
3. times the same decision in this process: `evaluate` and the JSON text of its decision, what one request's
   handler does (without HTTP), and reports each load's per-request cost (1 / requests per second) as a ratio
   to it;
4. soaks: wrk at concurrency 16 for `--soak` seconds while the server's resident memory (`/proc/PID/status`)
   is sampled every 10 s, and reports the samples: after warm-up they must stay flat, not grow;
5. prices the decision log (`--log-seconds`, 0 to skip): three more servers, without a log, with `--log`, and
   with `--log --mask account.fans` (the fact the deny reason's message shows, so every logged decision is
   the masked copy: hashed values, the message filled again), each under wrk at 16 connections, and reports
   each one's requests/s as a ratio to the server without a log, interleaved: no log, log, masked, and again.

wrk and the server share this machine's cores (2 here), so throughput at 16 and 64 connections is the
server's share of them. A script, not a test: timings are never asserted; compare ratios within a run.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
POLICY = "cart.opening"
FACTS = {"account": {"kind": "personal", "fans": 999, "real_name": True}, "product": {"special_category": False}}
AT = "2023-12-20"

LUA = """
wrk.method = "POST"
wrk.body = [[%s]]
wrk.headers["Content-Type"] = "application/json"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nRESULT {"requests":%%d,"duration_us":%%d,"failed":%%d,"non2xx":%%d,"p50_us":%%d,"p99_us":%%d,"max_us":%%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "policydsl.cli", "serve", "--port", str(port),
                             "--policies", str(ROOT / "policies"), *extra], cwd=ROOT, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(base + "/readyz", timeout=5).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not start")


def wrk(base: str, script: Path, connections: int, seconds: int) -> dict[str, Any]:
    """One wrk run against the decide endpoint; its summary as a dict (latencies in microseconds)."""
    threads = min(connections, 2)
    done = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                           "-s", str(script), f"{base}/v1/policies/{POLICY}/decide"],
                          capture_output=True, text=True, check=True)
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result: dict[str, Any] = json.loads(line[len("RESULT "):])
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit("no VmRSS")


def in_process_seconds(calls: int) -> float:
    """Seconds per decision in this process: what a request's handler does once the body is read."""
    from policydsl.loader import load

    book = load(ROOT / "policies", cached=True)
    at = dt.date.fromisoformat(AT)
    for _ in range(1000):  # warm
        json.dumps(book.evaluate(POLICY, FACTS, at).to_dict(), ensure_ascii=False)
    started = time.perf_counter()
    for _ in range(calls):
        json.dumps(book.evaluate(POLICY, FACTS, at).to_dict(), ensure_ascii=False)
    return (time.perf_counter() - started) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--soak", type=int, default=300)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--log-seconds", type=int, default=15)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (or make bench-serve)")
    body = json.dumps({"facts": FACTS, "at": AT}, ensure_ascii=False)
    proc, base = start_server()
    try:
        from policydsl.loader import load

        expected = load(ROOT / "policies", cached=True).evaluate(POLICY, FACTS, dt.date.fromisoformat(AT)).to_dict()
        answer = httpx.post(f"{base}/v1/policies/{POLICY}/decide", content=body.encode(), timeout=30).json()
        assert answer == expected, (answer, expected)
        per_call = in_process_seconds(args.calls)
        print(f"in-process evaluate + JSON: {per_call * 1e6:.1f} µs per decision ({1 / per_call:,.0f}/s)")
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "post.lua"
            script.write_text(LUA % body, encoding="utf-8")
            print("\n| connections | requests/s | p50 | p99 | max | failed | per request / in-process |")
            print("|---:|---:|---:|---:|---:|---:|---:|")
            for connections in (int(c) for c in args.concurrency.split(",")):
                r = wrk(base, script, connections, args.seconds)
                ratio = (1 / r["rps"]) / per_call
                print(f"| {connections} | {r['rps']:,.0f} | {r['p50_us'] / 1000:.2f} ms | {r['p99_us'] / 1000:.2f} ms "
                      f"| {r['max_us'] / 1000:.1f} ms | {r['failed'] + r['non2xx']} | {ratio:.1f}× |", flush=True)
            if args.soak:
                samples: list[tuple[int, int]] = []
                stop = threading.Event()

                def sample() -> None:
                    started = time.monotonic()
                    while not stop.wait(10):
                        samples.append((round(time.monotonic() - started), rss_kib(proc.pid)))
                sampler = threading.Thread(target=sample)
                before = rss_kib(proc.pid)
                sampler.start()
                soaked = wrk(base, script, 16, args.soak)
                stop.set()
                sampler.join()
                print(f"\nsoak: {args.soak} s at 16 connections, {soaked['requests']:,} requests "
                      f"({soaked['rps']:,.0f}/s, {soaked['failed'] + soaked['non2xx']} failed); resident memory "
                      f"before {before / 1024:.1f} MiB, then (s: MiB):")
                print(", ".join(f"{t}: {kib / 1024:.1f}" for t, kib in samples))
                settled = [kib for t, kib in samples if t >= 30]
                if settled:
                    print(f"after 30 s: min {min(settled) / 1024:.1f} MiB, max {max(settled) / 1024:.1f} MiB, "
                          f"last - first {(settled[-1] - settled[0]) / 1024:+.1f} MiB")
    finally:
        proc.terminate()
        proc.wait(30)
    if args.log_seconds:
        log_cost(body, args.log_seconds)


def log_cost(body: str, seconds: int) -> None:
    """Requests/s at 16 connections without a decision log, with one, and with one masking the fact the
    decision's message shows; two rounds, interleaved, so a slow spell of the machine falls on all three."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(LUA % body, encoding="utf-8")
        variants = {"no log": (), "--log": ("--log", str(Path(tmp) / "plain.jsonl")),
                    "--log --mask account.fans": ("--log", str(Path(tmp) / "masked.jsonl"), "--mask", "account.fans")}
        rps: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(2):
            for name, extra in variants.items():
                proc, base = start_server(*extra)
                try:
                    r = wrk(base, script, 16, seconds)
                    assert r["failed"] + r["non2xx"] == 0, r
                    rps[name].append(r["rps"])
                finally:
                    proc.terminate()
                    proc.wait(30)
        masked = Path(tmp) / "masked.jsonl"
        line = json.loads(masked.read_text(encoding="utf-8").splitlines()[-1])
        assert "999" not in json.dumps(line["decision"], ensure_ascii=False), line  # the masked copy was logged
        base_rps = sum(rps["no log"]) / 2
        print(f"\ndecision log, 16 connections, {seconds} s each, two interleaved rounds:")
        print("| server | requests/s (each round) | ratio to no log |")
        print("|---|---:|---:|")
        for name, values in rps.items():
            print(f"| {name} | {' / '.join(f'{v:,.0f}' for v in values)} | {sum(values) / 2 / base_rps:.2f} |")


if __name__ == "__main__":
    main()
