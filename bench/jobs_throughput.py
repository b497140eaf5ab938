"""A batch job through the Redis queue and worker processes: throughput, nothing lost or doubled, memory of the
service and the workers, and /healthz latency while it runs.

Run from the project root, with PostgreSQL and Redis running (`eval "$(./scripts/test-services start)"`):

    .venv/bin/python -m bench.jobs_throughput [--urls 10000] [--workers 2] [--concurrency 8]

Half the addresses are fixture pharmacies (the sites in tests/sites, served over plain HTTP on loopback under
one host name per registrable domain, ten addresses each), half are unreachable domains (pinned by --resolve
to a loopback address where nothing listens). The service (`pharmacheck serve`) and the workers
(`pharmacheck worker`) run as processes of their own on a fresh PostgreSQL database and a queue name of their
own; a prober process asks /healthz every 100 ms; a sampler reads every process's resident memory each second.
At the end the store is asked whether every item finished exactly once.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SITES = ROOT / "tests" / "sites"
ADDRESS = "127.0.0.61"  # the fixture pharmacies
NOBODY = "127.0.0.62"  # nothing listens here: the unreachable domains


def _serve_fixtures(port_queue) -> None:
    fixtures = sorted(p.name for p in SITES.iterdir() if p.is_dir())

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
            number = int("".join(ch for ch in host if ch.isdigit()) or 0)
            root = SITES / fixtures[number % len(fixtures)]
            path = self.path.split("?", 1)[0].strip("/")
            candidates = [root / "index.html"] if not path else [root / path, root / f"{path}.html"]
            page = next((c for c in candidates if c.is_file()), None)
            body = page.read_bytes() if page else b"<html><body>Not found</body></html>"
            self.send_response(200 if page else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass

    server = ThreadingHTTPServer((ADDRESS, 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_address[1])
    server.serve_forever()


def _probe(base: str, results, stop) -> None:
    latencies = []
    with httpx.Client(base_url=base, timeout=60) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                client.get("/healthz").raise_for_status()
                latencies.append(time.perf_counter() - started)
            except httpx.HTTPError:
                latencies.append(float("inf"))
            time.sleep(0.1)
    results.put(latencies)


def _database(args) -> str:
    if args.database_url:
        return args.database_url
    admin = os.environ.get("PHARMACHECK_TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit("give --database-url, or start the test services: eval \"$(./scripts/test-services start)\"")
    import psycopg

    name = f"pharmacheck_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin.rpartition("/")[0] + "/" + name


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--urls", type=int, default=10_000)
    parser.add_argument("--per-site", type=int, default=10, help="addresses per registrable domain")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8, help="checks at once per worker")
    parser.add_argument("--database-url")
    parser.add_argument("--redis-url", default=os.environ.get("PHARMACHECK_TEST_REDIS_URL"))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--deadline", type=float, default=None, metavar="SECONDS",
                        help="stop waiting after this long: cancel the job and report what was done by then")
    args = parser.parse_args()
    if not args.redis_url:
        raise SystemExit("give --redis-url, or start the test services: eval \"$(./scripts/test-services start)\"")

    import psutil

    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    fixture_server = ctx.Process(target=_serve_fixtures, args=(ports,), daemon=True)
    fixture_server.start()
    site_port = ports.get(timeout=30)

    sites = args.urls // 2 // args.per_site
    fixture_hosts = [f"pharmacy{n:04d}.test" for n in range(sites)]
    gone_hosts = [f"gone{n:04d}.test" for n in range(args.urls // args.per_site - sites)]
    urls = [f"http://{h}:{site_port}/?n={k}" for h in fixture_hosts for k in range(args.per_site)]
    urls += [f"http://{h}:{site_port}/?n={k}" for h in gone_hosts for k in range(args.per_site)]
    resolve = [f"{h}:{site_port}:{ADDRESS}" for h in fixture_hosts] + [f"{h}:{site_port}:{NOBODY}" for h in gone_hosts]

    database_url = _database(args)
    queue_name = f"pharmacheck-bench-{uuid.uuid4().hex[:8]}"
    data_dir = tempfile.mkdtemp(prefix="pharmacheck-bench-")
    env = {**os.environ, "PHARMACHECK_DATA_DIR": data_dir, "PHARMACHECK_QUEUE_NAME": queue_name,
           "PHARMACHECK_RATE_LIMIT": "1000000/minute", "PHARMACHECK_RATE_LIMIT_KEYED": "1000000/minute"}
    resolve_args = [a for r in resolve for a in ("--resolve", r)]
    common = ["--database-url", database_url, "--allow-port", str(site_port), *resolve_args]
    logs = Path(data_dir)
    python = [sys.executable, "-m", "app.cli"]
    processes: dict[str, subprocess.Popen] = {}
    processes["service"] = subprocess.Popen(
        [*python, "serve", "--port", str(args.port), "--redis-url", args.redis_url, *common], cwd=ROOT, env=env,
        stdout=open(logs / "service.log", "wb"), stderr=subprocess.STDOUT)
    for n in range(args.workers):
        processes[f"worker {n + 1}"] = subprocess.Popen(
            [*python, "worker", "--redis-url", args.redis_url, "--concurrency", str(args.concurrency), *common],
            cwd=ROOT, env=env, stdout=open(logs / f"worker-{n + 1}.log", "wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{args.port}"
    try:
        return _measure(args, base, urls, processes, database_url, psutil, ctx, logs)
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        fixture_server.terminate()
        _forget_queue(args.redis_url, queue_name)


def _measure(args, base, urls, processes, database_url, psutil, ctx, logs) -> int:
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(base + "/healthz", timeout=2).raise_for_status()
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise SystemExit(f"the service did not start; see {logs}/service.log")
            time.sleep(0.5)
    time.sleep(3)  # the workers start as well
    memory = {name: psutil.Process(p.pid) for name, p in processes.items()}
    peak = {name: 0 for name in processes}
    cpu = {}

    results, stop = ctx.Queue(), ctx.Event()
    prober = ctx.Process(target=_probe, args=(base, results, stop), daemon=True)
    prober.start()
    submitted = time.monotonic()
    created = httpx.post(base + "/api/v1/jobs", json={"urls": urls}, timeout=300)
    created.raise_for_status()
    job = created.json()
    accepted = time.monotonic() - submitted
    print(f"job {job['id']}: {job['total']} addresses, {job['unique_urls']} distinct; 202 after {accepted:.1f} s",
          flush=True)
    last_report = time.monotonic()
    finished = True
    while True:
        for name, process in memory.items():
            try:
                peak[name] = max(peak[name], process.memory_info().rss)
                times = process.cpu_times()
                cpu[name] = times.user + times.system
            except psutil.Error:
                pass
        view = httpx.get(f"{base}/api/v1/jobs/{job['id']}", timeout=60).json()
        if view["state"] == "done":
            break
        if time.monotonic() - last_report > 60:
            last_report = time.monotonic()
            print(f"  {time.monotonic() - submitted:.0f} s: {json.dumps(view['counts'])}", flush=True)
        if args.deadline and time.monotonic() - submitted > args.deadline:
            view = httpx.post(f"{base}/api/v1/jobs/{job['id']}/cancel", timeout=60).json()
            finished = False
            deadline = time.monotonic() + 120
            while view["counts"]["running"] and time.monotonic() < deadline:
                time.sleep(1.0)
                view = httpx.get(f"{base}/api/v1/jobs/{job['id']}", timeout=60).json()
            print(f"deadline reached: job cancelled after {time.monotonic() - submitted:.0f} s", flush=True)
            break
        if any(p.poll() is not None for p in processes.values()):
            raise SystemExit(f"a process stopped; see the logs in {logs}")
        time.sleep(1.0)
    took = time.monotonic() - submitted
    stop.set()
    latencies = results.get(timeout=60)
    prober.join(10)

    done = view["counts"]["done"] + view["counts"]["failed"]
    counts = _verify(database_url, job["id"], len(urls) if finished else done)
    q = statistics.quantiles([x for x in latencies if x != float("inf")], n=100)
    print(f"{'finished' if finished else 'stopped'} in {took:.0f} s: {done / took:.1f} addresses/s ({counts['checks']} checks, "
          f"{counts['checks'] / took:.1f} checks/s) with {args.workers} workers x {args.concurrency}")
    print(f"items: {json.dumps(view['counts'])}; verdicts: {json.dumps(counts['verdicts'])}")
    print(f"lost: {counts['lost']}, done twice: {counts['doubled']}, checks per address: {counts['per_unit']}")
    print(f"/healthz during the job ({len(latencies)} probes, {sum(1 for x in latencies if x == float('inf'))} failed): "
          f"median {statistics.median(latencies) * 1000:.1f} ms, p99 {q[98] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    print("peak RSS: " + ", ".join(f"{name} {rss / 2**20:.0f} MiB" for name, rss in peak.items()))
    print("CPU time: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in cpu.items()))
    return 0 if counts["lost"] == 0 and counts["doubled"] == 0 else 1


def _verify(database_url: str, job_id: str, total: int) -> dict:
    from sqlalchemy import func, select

    from app.store import Database
    from app.store.models import CheckRun, JobItem, StoredReport

    database = Database(database_url, migrate=False)
    with database.session() as session:
        indexes = [i for (i,) in session.execute(select(JobItem.input_index).where(JobItem.job_id == job_id,
                                                                                   JobItem.state == "done"))]
        per_unit = dict(session.execute(select(CheckRun.canonical_url, func.count()).where(CheckRun.job_id == job_id)
                                        .group_by(CheckRun.canonical_url)).all())
        verdicts = dict(session.execute(
            select(StoredReport.verdict, func.count()).join(JobItem, JobItem.report_id == StoredReport.id)
            .where(JobItem.job_id == job_id).group_by(StoredReport.verdict)).all())
    database.dispose()
    histogram: dict[int, int] = {}
    for n in per_unit.values():
        histogram[n] = histogram.get(n, 0) + 1
    return {
        "lost": total - len(set(indexes)),
        "doubled": sum(1 for n in per_unit.values() if n > 1),
        "checks": sum(per_unit.values()),
        "per_unit": histogram,
        "verdicts": verdicts,
    }


def _forget_queue(redis_url: str, queue_name: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{queue_name}*", count=1000):
        client.delete(key)
    client.close()


if __name__ == "__main__":
    raise SystemExit(main())
