"""Batch jobs through the API with the service's own runner (no Redis): submit a JSON list or a CSV/TXT upload,
poll, page through results by input index, download JSON lines and CSV, cancel; deduplication through the
canonical address and the kept reports; signed webhooks with retries; site history; metrics."""

from __future__ import annotations

import csv
import io
import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.jobs import webhooks
from app.settings import ResolveEntry
from app.store import Database
from app.store.checks import CheckStore


@pytest.fixture
def make_app(sites, tmp_path, monkeypatch):
    def make(**changes):
        app = create_app(sites.settings(data_dir=str(tmp_path), **changes))
        checked: list[str] = []
        real_check = app.state.checker.check

        async def counting(url, *args, **kwargs):
            checked.append(url)
            return await real_check(url, *args, **kwargs)

        monkeypatch.setattr(app.state.checker, "check", counting)
        app.state.checked = checked
        return app

    return make


def wait_for_job(client, job_id: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["state"] in ("done", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)


def test_a_json_job_is_checked_in_the_background_and_read_back_by_input_index(make_app, sites):
    app = make_app()
    good, rogue = sites.url("good-pharmacy.test"), sites.url("rogue-store.test")
    urls = [rogue, good, "ftp://nope.example/", rogue.replace("https://rogue-store", "https://ROGUE-store"), good + "#x"]
    with TestClient(app) as client:
        created = client.post("/api/v1/jobs", json={"urls": urls})
        assert created.status_code == 202, created.text
        body = created.json()
        assert body["total"] == 5 and body["unique_urls"] == 2 and body["source"] == "json"
        assert body["links"]["results"] == f"/api/v1/jobs/{body['id']}/results"
        job = wait_for_job(client, body["id"])
        assert job["state"] == "done" and job["progress"] == 1.0 and job["eta_seconds"] == 0
        assert job["counts"] == {"queued": 0, "running": 0, "done": 4, "failed": 1, "cancelled": 0, "from_cache": 0}

        page = client.get(f"/api/v1/jobs/{body['id']}/results", params={"limit": 2}).json()
        assert [i["index"] for i in page["items"]] == [0, 1] and page["next_after"] == 1
        rest = client.get(page["next"]).json()
        assert [i["index"] for i in rest["items"]] == [2, 3] and rest["next"]
        last = client.get(rest["next"]).json()
        assert [i["index"] for i in last["items"]] == [4] and last["next"] is None and last["next_after"] is None
        items = page["items"] + rest["items"] + last["items"]
        assert [i["input_url"] for i in items] == urls
        assert items[0]["verdict"] == "likely_rogue" and items[0]["report_id"] == items[3]["report_id"]
        assert items[2]["state"] == "failed" and items[2]["error"]["code"] == "invalid_url"
        assert items[0]["report"] is None
        full = client.get(items[0]["report_url"]).json()
        assert full["verdict"] == "likely_rogue"
        with_reports = client.get(f"/api/v1/jobs/{body['id']}/results", params={"reports": "true", "state": "done"}).json()
        assert [i["index"] for i in with_reports["items"]] == [0, 1, 3, 4]
        assert with_reports["items"][1]["report"]["url"].startswith("https://good-pharmacy.test")

        lines = [json.loads(line) for line in client.get(f"/api/v1/jobs/{body['id']}/results.jsonl").text.splitlines()]
        assert [line["index"] for line in lines] == [0, 1, 2, 3, 4] and lines[0]["report"]["verdict"] == "likely_rogue"
        download = client.get(f"/api/v1/jobs/{body['id']}/results.csv")
        assert download.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(download.text)))
        assert [r["index"] for r in rows] == ["0", "1", "2", "3", "4"] and rows[2]["error_code"] == "invalid_url"
        assert rows[0]["input_url"] == rogue and rows[0]["verdict"] == "likely_rogue"
    # Two spellings of each site: two checks for four items.
    assert sorted(app.state.checked) == sorted({sites.url("good-pharmacy.test"), sites.url("rogue-store.test")})


def test_kept_reports_answer_within_max_age_and_force_checks_again(make_app, sites):
    app = make_app()
    url = sites.url("uk-chemist.test")
    with TestClient(app) as client:
        assert client.get("/api/v1/checks", params={"url": url}).status_code == 200
        assert len(app.state.checked) == 1
        cached = wait_for_job(client, client.post("/api/v1/jobs", json={"urls": [url]}).json()["id"])
        assert cached["counts"]["from_cache"] == 1 and len(app.state.checked) == 1
        [item] = client.get(f"/api/v1/jobs/{cached['id']}/results").json()["items"]
        assert item["from_cache"] and item["attempts"] == 0
        fresh = wait_for_job(client, client.post("/api/v1/jobs", json={"urls": [url, url.upper()], "force": True}).json()["id"])
        assert fresh["counts"]["done"] == 2 and fresh["counts"]["from_cache"] == 0 and fresh["force"]
        assert len(app.state.checked) == 2
        too_old = wait_for_job(client, client.post("/api/v1/jobs", json={"urls": [url], "max_age": 0}).json()["id"])
        assert too_old["counts"]["from_cache"] == 0 and len(app.state.checked) == 3


def test_csv_and_text_uploads(make_app, sites):
    app = make_app()
    good = sites.url("good-pharmacy.test")
    table = f"name,Website,notes\nGood,{good},first\nBad,not a url,second\n\n"
    with TestClient(app) as client:
        upload = client.post("/api/v1/jobs", files={"file": ("list.csv", table.encode(), "text/csv")},
                             data={"max_age": "600"})
        assert upload.status_code == 202, upload.text
        job = wait_for_job(client, upload.json()["id"])
        assert job["source"] == "csv" and job["total"] == 2 and job["max_age"] == 600
        items = client.get(f"/api/v1/jobs/{job['id']}/results").json()["items"]
        assert [(i["index"], i["input_url"], i["state"]) for i in items] == [(0, good, "done"), (1, "not a url", "failed")]

        text = f"# my list\n\ufeff{good}\n\n{good}\n"
        plain = client.post("/api/v1/jobs?force=false", content=text.encode(), headers={"content-type": "text/plain"})
        assert plain.status_code == 202 and plain.json()["source"] == "txt" and plain.json()["total"] == 2
        bare = client.post("/api/v1/jobs", content=f"url\n{good}\n".encode(), headers={"content-type": "text/csv"})
        assert bare.status_code == 202 and bare.json()["total"] == 1


@pytest.mark.parametrize("request_kwargs, status, code", [
    ({"json": {"urls": []}}, 422, "invalid_request"),
    ({"json": {"urls": ["a.example"], "max_age": -1}}, 422, "invalid_request"),
    ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, "invalid_request"),
    ({"content": b"\xff\xfe\x00bad", "headers": {"content-type": "text/plain"}}, 422, "invalid_upload"),
    ({"content": b"# nothing\n\n", "headers": {"content-type": "text/plain"}}, 422, "empty_job"),
    ({"files": {"other": ("x.txt", b"a.example", "text/plain")}}, 422, "invalid_request"),
    ({"json": {"urls": ["a.example"], "webhook": {"url": "http://127.0.0.1:9/hook"}}}, 422, "invalid_webhook"),
    ({"json": {"urls": ["a.example"], "webhook": {"url": "https://hooks.example/", "secret": "short"}}}, 422, "invalid_request"),
])
def test_bad_job_requests_say_what_was_wrong(make_app, request_kwargs, status, code):
    with TestClient(make_app()) as client:
        response = client.post("/api/v1/jobs", **request_kwargs)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code and response.json()["error"]["message"]


def test_job_size_is_bounded_and_large_bodies_are_accepted_for_jobs_only(make_app):
    with TestClient(make_app(max_job_urls=3, max_request_bytes=2048)) as client:
        too_many = client.post("/api/v1/jobs", json={"urls": ["a.example"] * 4})
        assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "job_too_large"
        assert "at most 3" in too_many.json()["error"]["message"]
        big = {"urls": ["https://a.example/" + "x" * 3000]}
        assert client.post("/api/v1/jobs", json=big).status_code == 202  # over the general limit, under the job one
        assert client.post("/api/v1/batches", json=big).status_code == 413


def test_unknown_jobs_and_other_keys_jobs_are_not_found(make_app):
    with TestClient(make_app(api_keys=("key-one", "key-two"))) as client:
        created = client.post("/api/v1/jobs", json={"urls": ["ftp://x"]}, headers={"X-API-Key": "key-one"})
        job_id = created.json()["id"]
        assert client.get(f"/api/v1/jobs/{job_id}", headers={"X-API-Key": "key-one"}).status_code == 200
        for path in (f"/api/v1/jobs/{job_id}", f"/api/v1/jobs/{job_id}/results", f"/api/v1/jobs/{job_id}/results.csv"):
            other = client.get(path, headers={"X-API-Key": "key-two"})
            assert other.status_code == 404 and other.json()["error"]["code"] == "job_not_found"
        assert client.get(f"/api/v1/jobs/{job_id}").status_code == 401
        assert client.get("/api/v1/jobs/nonsense", headers={"X-API-Key": "key-one"}).status_code == 404
        assert client.get("/api/v1/jobs/" + "0" * 32, headers={"X-API-Key": "key-one"}).status_code == 404


def test_cancel_stops_what_has_not_started(make_app, sites, monkeypatch):
    app = make_app(job_concurrency=1)
    release = threading.Event()
    real = app.state.checker.check

    async def slow(url, *args, **kwargs):
        import asyncio

        while not release.is_set():
            await asyncio.sleep(0.05)
        return await real(url, *args, **kwargs)

    monkeypatch.setattr(app.state.checker, "check", slow)
    urls = [sites.url(h) for h in ("good-pharmacy.test", "rogue-store.test", "uk-chemist.test")]
    with TestClient(app) as client:
        job_id = client.post("/api/v1/jobs", json={"urls": urls}).json()["id"]
        deadline = time.monotonic() + 10
        while client.get(f"/api/v1/jobs/{job_id}").json()["counts"]["running"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        cancelled = client.post(f"/api/v1/jobs/{job_id}/cancel").json()
        assert cancelled["state"] == "cancelled" and cancelled["counts"]["cancelled"] == 2
        release.set()
        deadline = time.monotonic() + 20
        while client.get(f"/api/v1/jobs/{job_id}").json()["counts"]["running"] and time.monotonic() < deadline:
            time.sleep(0.05)
        states = [i["state"] for i in client.get(f"/api/v1/jobs/{job_id}/results").json()["items"]]
    assert states.count("done") == 1 and states.count("cancelled") == 2


class Receiver:
    """A webhook receiver on loopback: records every request; answers 500 to the first `fail_first` of them."""

    def __init__(self, fail_first: int = 0):
        self.requests: list[tuple[dict, bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                status = 500 if len(receiver.requests) <= receiver.fail_first else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        self.server = ThreadingHTTPServer((self.address, 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def settings(self, sites) -> dict:
        base = sites.settings()
        return {"resolve": (*base.resolve, ResolveEntry("hooks.test", self.port, self.address)),
                "allowed_ports": (*base.allowed_ports, self.port)}

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_webhooks_are_signed_sent_per_item_and_on_completion_and_retried(make_app, sites, monkeypatch):
    monkeypatch.setattr(webhooks, "backoff", lambda attempt: 0.2)
    receiver = Receiver(fail_first=1)
    try:
        app = make_app(**receiver.settings(sites))
        secret = "a-secret-of-twenty-chars"
        urls = [sites.url("good-pharmacy.test"), "ftp://refused.example/"]
        hook = {"url": f"http://hooks.test:{receiver.port}/pharmacheck", "secret": secret, "items": True}
        with TestClient(app) as client:
            created = client.post("/api/v1/jobs", json={"urls": urls, "webhook": hook}).json()
            assert created["webhook"] == {"url": hook["url"], "items": True, "secret": secret}
            assert client.get(f"/api/v1/jobs/{created['id']}").json()["webhook"]["secret"] is None
            wait_for_job(client, created["id"])
            deadline = time.monotonic() + 20

            def sent_for(job_id):
                return [(h, b) for h, b in list(receiver.requests) if json.loads(b)["job_id"] == job_id]

            # Three deliveries, and the second sending of the one answered 500, which comes after its backoff.
            while (len({h["pharmacheck-delivery"] for h, _ in sent_for(created["id"])}) < 3
                   or len(sent_for(created["id"])) < 4) and time.monotonic() < deadline:
                time.sleep(0.1)
            generated = client.post("/api/v1/jobs", json={"urls": ["ftp://x"], "webhook": {"url": hook["url"]}}).json()
            assert generated["webhook"]["secret"].startswith("whsec_")
            wait_for_job(client, generated["id"])
            while not sent_for(generated["id"]) and time.monotonic() < deadline:
                time.sleep(0.1)
        for headers, body in sent_for(generated["id"]):
            assert webhooks.verify(generated["webhook"]["secret"], headers["pharmacheck-signature"], body)
        by_delivery: dict = {}
        for headers, body in sent_for(created["id"]):
            assert webhooks.verify(secret, headers["pharmacheck-signature"], body) or headers["pharmacheck-delivery"] in by_delivery
            assert not webhooks.verify("another-secret-entirely", headers["pharmacheck-signature"], body)
            by_delivery.setdefault(headers["pharmacheck-delivery"], []).append((headers["pharmacheck-event"], json.loads(body)))
        events = sorted((v[0][0], (v[0][1].get("item") or {}).get("index", -1)) for v in by_delivery.values()
                        if v[0][1]["job_id"] == created["id"])
        assert events == [("item.finished", 0), ("item.finished", 1), ("job.finished", -1)]
        assert max(len(v) for v in by_delivery.values()) == 2  # the one answered 500 was sent again
        [job_event] = [v[-1][1] for v in by_delivery.values() if v[0][0] == "job.finished" and v[0][1]["job_id"] == created["id"]]
        assert job_event["job"]["state"] == "done" and job_event["job"]["counts"]["done"] == 1
        item_event = next(v[0][1] for v in by_delivery.values() if v[0][0] == "item.finished")
        assert {"index", "input_url", "state", "verdict"} <= set(item_event["item"])
    finally:
        receiver.close()


def test_a_webhook_whose_name_resolves_to_a_private_address_is_never_contacted(tmp_path):
    import asyncio

    from app.jobs.webhooks import WebhookSender
    from app.settings import Settings
    from app.store.jobs import JobStore, NewItem
    from tests.fetch_helpers import FakeResolver, RecordingDialer, make_fetcher

    settings = Settings(data_dir=str(tmp_path))
    jobs = JobStore(Database(settings.effective_database_url))
    job_id = jobs.create([NewItem("ftp://x", None, None)], source="json", max_age=0,
                         webhook_url="https://hooks.example/in", webhook_secret="s" * 20)
    dialer = RecordingDialer()
    fetcher = make_fetcher(settings, FakeResolver({"hooks.example": ["10.0.0.7"]}), dialer)

    async def send():
        sender = WebhookSender(settings, jobs, fetcher=fetcher)
        try:
            return await sender.send_due()
        finally:
            await sender.aclose()

    assert asyncio.run(send()) == 1
    [delivery] = jobs.deliveries(job_id)
    assert delivery.state == "failed" and delivery.last_error.startswith("blocked_destination")
    assert dialer.attempts == []


def test_signature_verification():
    body = b'{"event": "job.finished"}'
    header = webhooks.signature_header("k" * 20, body, timestamp=1_700_000_000)
    assert header.startswith("t=1700000000,v1=")
    assert webhooks.verify("k" * 20, header, body, now=1_700_000_100)
    assert not webhooks.verify("k" * 20, header, body + b" ", now=1_700_000_100)
    assert not webhooks.verify("k" * 20, header, body, now=1_700_001_000)  # too old
    assert not webhooks.verify("k" * 20, "garbage", body)


def test_a_restarted_service_answers_from_kept_reports(sites, tmp_path):
    url = sites.url("good-pharmacy.test", "/?from=restart")
    settings = sites.settings(data_dir=str(tmp_path))
    with TestClient(create_app(settings)) as client:
        first = client.get("/api/v1/checks", params={"url": url}).json()
    app = create_app(settings)
    checked = []
    app.state.checker.check = lambda *a, **k: checked.append(a)  # a check now would be a failure of the cache
    with TestClient(app) as client:
        again = client.get("/api/v1/checks", params={"url": url}).json()
        page = client.get("/report", params={"url": url}, headers={"Accept": "text/html"})
        assert client.get("/report.json", params={"url": url}).json()["checked_at"] == first["checked_at"]
    assert again["checked_at"] == first["checked_at"] and page.status_code == 200 and checked == []
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/checks", params={"url": url, "max_age": 0})
        assert response.status_code == 200  # max_age 0: checked again
    checks = CheckStore(Database(settings.effective_database_url)).count(canonical_url=url)
    assert checks == 2


def test_site_history_is_paginated_newest_first(make_app, sites):
    app = make_app()
    with TestClient(app) as client:
        for n in range(3):
            client.get("/api/v1/checks", params={"url": sites.url("maple-meds.test", f"/?n={n}")})
        first = client.get("/api/v1/sites/maple-meds.test/reports", params={"limit": 2}).json()
        assert first["domain"] == "maple-meds.test" and len(first["reports"]) == 2 and first["next_before"]
        older = client.get(first["next"]).json()
        assert len(older["reports"]) == 1 and older["next"] is None
        ids = [r["id"] for r in first["reports"] + older["reports"]]
        assert ids == sorted(ids, reverse=True)
        assert client.get(first["reports"][0]["report_url"]).json()["url"].endswith("/?n=2")
        same = client.get("/api/v1/sites/WWW.maple-meds.test/reports").json()
        assert [r["id"] for r in same["reports"]] == ids
        assert client.get("/api/v1/sites/nowhere.example/reports").json()["reports"] == []
        bad = client.get("/api/v1/sites/not_a domain/reports")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_domain"
        assert client.get("/api/v1/reports/999999").json()["error"]["code"] == "report_not_found"


def test_metrics_count_checks_fetch_errors_the_queue_and_requests(make_app, sites):
    app = make_app()
    with TestClient(app) as client:
        client.get("/api/v1/checks", params={"url": sites.url("rogue-store.test", "/?m=1")})
        wait_for_job(client, client.post("/api/v1/jobs", json={"urls": [sites.url("good-pharmacy.test", "/gone?m=1")]}).json()["id"])
        text = client.get("/metrics").text
    assert 'pharmacheck_checks_total{origin="api",verdict="likely_rogue"}' in text
    assert "pharmacheck_check_duration_seconds_bucket" in text
    assert 'pharmacheck_queue_depth{state="queued"}' in text and 'pharmacheck_jobs{state="done"}' in text
    assert "pharmacheck_jobs_created_total" in text and "pharmacheck_job_units_total" in text
    assert 'route="/api/v1/checks"' in text and "process_resident_memory_bytes" in text
    assert "pharmacheck_fetch_errors_total" in text
