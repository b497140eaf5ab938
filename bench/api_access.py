"""What the API's gate costs per request: key look-up, rate-limit window, usage counting.

Run from the project root:  python -m bench.api_access [--requests 400] [--redis redis://127.0.0.1:6379/0]
The service runs under uvicorn on loopback with an SQLite store in a fresh folder; one client sends the requests
one after another and the median and 95th percentile of each kind are printed (milliseconds):

- GET /healthz: outside the gate, the baseline of the framework and the loopback round trip;
- GET /api/v1/rules anonymous, and with a stored key (identified, and its request counted in the store);
- GET /api/v1/checks of an address refused before anything is fetched: one check charged to the window
  (anonymous), and to the window and the key's quota in the store (keyed).

--anonymous-only leaves out the keyed rows, so the same script also runs on versions without stored keys.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.api.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402


def _serve(app) -> tuple[uvicorn.Server, int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    return server, port


def _time(client: httpx.Client, n: int, path: str, headers: dict | None = None) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.get(path, headers=headers)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--redis", help="keep the rate-limit windows in this Redis")
    parser.add_argument("--anonymous-only", action="store_true")
    args = parser.parse_args()
    data = tempfile.mkdtemp(prefix="pharmacheck-bench-")
    changes = {"data_dir": data, "rate_limit_anonymous": "1000000/minute", "rate_limit_keyed": "1000000/minute",
               "store_reports": False}
    if args.redis:
        changes["redis_url"] = args.redis
    key = None
    if not args.anonymous_only:
        from app.store import Database
        from app.store.keys import ApiKeyStore

        _, key = ApiKeyStore(Database(f"sqlite:///{data}/pharmacheck.db")).create("bench")
        changes["require_api_key"] = "false"
    settings = Settings(**{k: v for k, v in changes.items() if k in Settings.__dataclass_fields__})
    server, port = _serve(create_app(settings))
    refused = "/api/v1/checks?url=ftp%3A%2F%2Fpharmacy.example%2F"
    rows = [("GET /healthz", "/healthz", None), ("GET /api/v1/rules, anonymous", "/api/v1/rules", None),
            ("GET /api/v1/checks (1 check), anonymous", refused, None)]
    if key:
        rows += [("GET /api/v1/rules, stored key", "/api/v1/rules", {"X-API-Key": key}),
                 ("GET /api/v1/checks (1 check), stored key", refused, {"X-API-Key": key})]
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _, path, headers in rows:  # warm up every path once
                _time(client, 20, path, headers)
            print(f"{'request':45} {'median ms':>10} {'p95 ms':>8}")
            for label, path, headers in rows:
                times = sorted(_time(client, args.requests, path, headers))
                p95 = times[int(len(times) * 0.95) - 1]
                print(f"{label:45} {statistics.median(times):10.2f} {p95:8.2f}")
    finally:
        server.should_exit = True
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
