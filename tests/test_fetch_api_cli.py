"""Refused destinations through the API (HTTP 400) and the CLI (exit 2), and a service that keeps answering
/healthz while hostile targets are being checked."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import quote

import httpx
import pytest

from app import cli
from app.api.main import create_app
from app.netpolicy import BLOCKED_MESSAGE
from app.settings import ResolveEntry
from tests.fetch_helpers import hostile_settings


async def _post_checks(app, urls: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service") as client:
        return [await client.post("/api/v1/checks", json={"url": u}) for u in urls]


@pytest.mark.parametrize("url,code", [
    ("http://127.0.0.1:{canary}/", "blocked_destination"),
    ("http://2130706433:{canary}/", "blocked_destination"),
    ("http://[::ffff:127.0.0.1]:{canary}/", "blocked_destination"),
    ("http://169.254.169.254/latest/meta-data/", "blocked_destination"),
    ("http://localhost:{canary}/", "blocked_destination"),
    ("127.0.0.1:{canary}", "blocked_destination"),
    ("http://127.0.0.1:{canary}@pharmacy.test/", "invalid_url"),
    ("file:///etc/passwd", "invalid_url"),
    ("gopher://127.0.0.1:70/", "invalid_url"),
])
def test_api_refuses_with_400_and_reveals_nothing(hostile, canary, url, code):
    app = create_app(hostile_settings(hostile, canary))
    before = canary.connections
    (response,) = asyncio.run(_post_checks(app, [url.format(canary=canary.port)]))
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == code
    assert "127.0.0.1" not in body["error"]["message"] and str(canary.port) not in body["error"]["message"]
    assert canary.connections == before


def test_api_refuses_a_public_site_that_redirects_inside(hostile, canary):
    app = create_app(hostile_settings(hostile, canary))
    target = quote(f"http://127.0.0.1:{canary.port}/admin", safe="")
    before = canary.connections
    (response,) = asyncio.run(_post_checks(app, [hostile.url(f"/redirect?code=302&to={target}")]))
    assert response.status_code == 400
    assert response.json()["error"] == {"code": "blocked_destination", "message": BLOCKED_MESSAGE}
    assert canary.connections == before


def test_api_checks_an_address_url_the_operator_allowed_with_resolve(hostile, canary):
    settings = hostile_settings(hostile, canary, max_pages=1)
    app = create_app(settings.with_(resolve=(*settings.resolve, ResolveEntry(hostile.address, hostile.port, hostile.address))))
    before = canary.connections
    (response,) = asyncio.run(_post_checks(app, [f"http://{hostile.address}:{hostile.port}/ok"]))
    assert response.status_code == 200, response.text
    assert response.json()["pages"][0]["error"] is None
    assert canary.connections == before


def test_cli_exits_2_for_refused_destinations(canary, capsys):
    code = cli.main(["check", "--json", "--allow-port", str(canary.port), f"http://0x7f000001:{canary.port}/"])
    out, err = capsys.readouterr()
    assert code == 2
    assert json.loads(out)["error"]["code"] == "blocked_destination"
    assert "Traceback" not in err
    assert cli.main(["check", "http://user@pharmacy.test/"]) == 2


def test_cli_refuses_resolve_to_a_metadata_address(capsys):
    assert cli.main(["check", "--resolve", "shop.test:80:169.254.169.254", "http://shop.test/"]) == 2
    assert "metadata" in capsys.readouterr().err


def test_healthz_answers_while_50_hostile_targets_are_checked(hostile):
    # Fifty different sites, each a slow or hostile server, all in flight at once.
    # Servers that hold connections open or flood them; CPU-heavy pages are timed in test_fetch_hostile.py and
    # included in bench/healthz_under_load.py.
    paths = ["/slow-body", "/never", "/slow-headers", "/endless", "/bomb", "/big-header", "/lying-length-short", "/loop"]
    hosts = [f"t{i}.hostile.test" for i in range(50)]
    # Smaller byte caps than the service's keep this test's CPU cost down; bench/healthz_under_load.py measures
    # the same thing with the default caps and deadlines.
    settings = hostile_settings(
        hostile, max_pages=2, page_timeout=1.5, check_timeout=3.0, max_bytes=256 * 1024, max_decoded_bytes=256 * 1024
    ).with_(
        resolve=tuple(ResolveEntry(h, hostile.port, hostile.address) for h in hosts),
        max_concurrent_fetches=64,
        rate_limit_anonymous="1000/minute",
    )
    app = create_app(settings)
    app.state.reports.max_running = len(hosts)  # the service's own cap (16 checks at once) would turn most away

    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://service", timeout=30) as client:
            checks = [
                asyncio.ensure_future(client.post("/api/v1/checks", json={"url": f"http://{h}:{hostile.port}{paths[i % len(paths)]}"}))
                for i, h in enumerate(hosts)
            ]
            await asyncio.sleep(0.3)
            latencies = []
            while not all(c.done() for c in checks):
                started = time.monotonic()
                response = await client.get("/healthz")
                latencies.append(time.monotonic() - started)
                assert response.status_code == 200
                await asyncio.sleep(0.1)
            return latencies, [c.result() for c in checks]

    started = time.monotonic()
    latencies, responses = asyncio.run(go())
    assert time.monotonic() - started < 20
    assert len(latencies) >= 5
    assert max(latencies) < 2.0, latencies  # answered, not stalled behind the checks
    assert all(r.status_code in (200, 400) for r in responses), [(r.status_code, r.text[:200]) for r in responses if r.status_code not in (200, 400)][:3]
    assert not any(r.status_code >= 500 for r in responses)
