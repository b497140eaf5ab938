"""How long the web page and the JSON API take to answer for a site checked recently (a kept report).

Runs the app in-process against the fixture pharmacy sites on loopback; nothing leaves the machine.
Usage: python -m bench.web_pages [--rounds 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient

from app.api.main import create_app
from tests.fixture_server import FixtureSites


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    sites = FixtureSites(Path(tempfile.mkdtemp()))
    app = create_app(sites.settings(rate_limit_anonymous="1000000/minute"))
    try:
        with TestClient(app) as client:
            for host in ("rogue-store.test", "good-pharmacy.test"):
                url = sites.url(host)
                fresh = _timed(lambda: client.get("/report", params={"url": url}))
                page = sorted(_timed(lambda: client.get("/report", params={"url": url})) for _ in range(args.rounds))
                api = sorted(_timed(lambda: client.get("/api/v1/checks", params={"url": url})) for _ in range(args.rounds))
                size = len(client.get("/report", params={"url": url}).content)
                print(
                    f"{host}: fresh check {fresh:.0f} ms; kept report page median {statistics.median(page):.1f} ms, "
                    f"p95 {page[int(len(page) * 0.95) - 1]:.1f} ms, {size} bytes; "
                    f"JSON API median {statistics.median(api):.1f} ms"
                )
    finally:
        sites.close()


if __name__ == "__main__":
    main()
