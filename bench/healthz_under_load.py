"""/healthz latency while 50 hostile targets are being checked, with the service's default deadlines and caps.

Run from the project root:  python -m bench.healthz_under_load [--targets 50]
The service runs under uvicorn on loopback; fifty checks are started at once against fifty different hosts
(all served by the hostile server on 127.0.0.2 through exact --resolve allowances), each misbehaving in one
way; a separate process asks /healthz every 100 ms and records how long each answer took.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import resource
import statistics
import threading
import time

import httpx
import uvicorn

from app.api.main import create_app
from app.settings import ResolveEntry, Settings
from tests.hostile_server import hostile_server_process

PATHS = [
    "/slow-body", "/never", "/slow-headers", "/endless", "/bomb", "/bomb-html", "/big-header", "/loop",
    "/html/nested100k", "/html/links10k", "/html/title1m", "/html/comment2m", "/binary", "/lying-length-short",
]


def _probe(base: str, results, stop) -> None:
    latencies = []
    with httpx.Client(base_url=base, timeout=60) as probe:
        while not stop.is_set():
            t = time.monotonic()
            probe.get("/healthz").raise_for_status()
            latencies.append(time.monotonic() - t)
            time.sleep(0.1)
    results.put(latencies)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=50)
    args = parser.parse_args()
    # The hostile servers run in a process of their own, so their work does not count against the service.
    with hostile_server_process() as (address, hostile_port):
        return _measure(args, address, hostile_port)


def _measure(args: argparse.Namespace, address: str, hostile_port: int) -> int:
    ctx = multiprocessing.get_context("spawn")
    hostile = type("Hostile", (), {"address": address, "port": hostile_port})
    hosts = [f"t{i}.hostile.test" for i in range(args.targets)]
    settings = Settings(
        resolve=tuple(ResolveEntry(h, hostile.port, hostile.address) for h in hosts),
        allowed_ports=(80, 443, hostile.port),
        rate_limit_anonymous="1000/minute",
    )
    app = create_app(settings)
    # The service checks at most 16 sites at once by default; this measures 50 hostile targets in flight.
    app.state.reports.max_running = args.targets
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = f"http://127.0.0.1:{port}"

    idle = []
    with httpx.Client(base_url=base, timeout=30) as probe:
        for _ in range(20):
            t = time.monotonic()
            probe.get("/healthz").raise_for_status()
            idle.append(time.monotonic() - t)

    async def load():
        async with httpx.AsyncClient(base_url=base, timeout=120) as client:
            started = time.monotonic()
            responses = await asyncio.gather(*(
                client.post("/api/v1/checks", json={"url": f"http://{h}:{hostile.port}{PATHS[i % len(PATHS)]}"})
                for i, h in enumerate(hosts)
            ))
            return time.monotonic() - started, responses

    # The prober is a process of its own too: in the service's process it would queue for the same GIL and
    # report its own waits as the service's.
    results, stop_probe = ctx.Queue(), ctx.Event()
    probe_process = ctx.Process(target=_probe, args=(base, results, stop_probe), daemon=True)
    probe_process.start()
    time.sleep(1.0)
    took, responses = asyncio.run(load())
    stop_probe.set()
    latencies = results.get(timeout=60)
    probe_process.join(10)
    server.should_exit = True
    thread.join(10)

    statuses = {}
    for r in responses:
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    q = statistics.quantiles(latencies, n=20)
    print(f"targets: {args.targets}; all checks done in {took:.1f} s; API statuses: {statuses}")
    print(f"/healthz idle:  median {statistics.median(idle) * 1000:.1f} ms")
    print(
        f"/healthz under load ({len(latencies)} probes): median {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {q[18] * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
    print(f"peak RSS of the service process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
