"""Workers beyond one process, with a real Redis queue and both databases: the service enqueues, `pharmacheck
worker` processes check. A worker killed mid-job (SIGKILL) loses no item and none is done twice; two workers
never check one site at the same time."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app
from app.settings import ResolveEntry, Settings
from app.store import Database
from app.store.checks import CheckStore
from app.store.jobs import JobStore

ROOT = Path(__file__).resolve().parent.parent
PAGE = """<html><head><title>{host} pharmacy</title></head><body><h1>{host} online pharmacy</h1>
<p>Prescription medicines are dispensed only against a valid prescription checked by our pharmacist.</p>
<a href="/contact">Contact us</a></body></html>"""


class SlowSites:
    """Plain-HTTP pharmacy pages on loopback, each answer after `delay` seconds, for any host name; records when
    each request to each host started and ended."""

    def __init__(self, hosts: list[str], delay: float = 0.4):
        self.hosts = hosts
        self.visits: list[tuple[str, float, float]] = []
        sites = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                started = time.time()
                time.sleep(delay)
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
                body = PAGE.format(host=host).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:  # the worker killed mid-request
                    return
                sites.visits.append((host, started, time.time()))

        self.address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        self.server = ThreadingHTTPServer((self.address, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def settings(self, **changes) -> Settings:
        return Settings(resolve=tuple(ResolveEntry(h, self.port, self.address) for h in self.hosts),
                        allowed_ports=(80, 443, self.port), **changes)

    def cli_args(self) -> list[str]:
        args = ["--allow-port", str(self.port)]
        for host in self.hosts:
            args += ["--resolve", f"{host}:{self.port}:{self.address}"]
        return args

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def slow_sites():
    sites = SlowSites([f"slow{n}.test" for n in range(8)])
    yield sites
    sites.close()


@pytest.fixture
def queue_name(redis_url):
    name = f"pharmacheck-test-{uuid.uuid4().hex[:10]}"
    yield name
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"*{name}*", count=1000):
        client.delete(key)
    client.close()


class Workers:
    def __init__(self, args: list[str], logs: Path):
        self.args, self.logs = args, logs
        self.processes: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        log = open(self.logs / f"worker-{len(self.processes)}.log", "wb")
        # A check ends within 10 s here: arq then holds a job the killed worker had just taken for 55 s at most.
        process = subprocess.Popen([sys.executable, "-m", "app.cli", "worker", *self.args], cwd=ROOT,
                                   stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "PHARMACHECK_CHECK_TIMEOUT": "10"})
        self.processes.append(process)
        return process

    def output(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.logs.glob("worker-*.log")))

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def workers(database_url, redis_url, queue_name, slow_sites, tmp_path):
    group = Workers(["--redis-url", redis_url, "--database-url", database_url, "--queue-name", queue_name,
                     "--lease-seconds", "5", "--concurrency", "3", *slow_sites.cli_args()], tmp_path)
    yield group
    group.stop()


def _wait(condition, timeout: float, what: str, workers: Workers):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; worker output:\n{workers.output()}")


def test_a_worker_killed_mid_job_loses_no_item_and_none_is_done_twice(
    database_url, redis_url, queue_name, slow_sites, workers
):
    # Two addresses on each of eight sites, and a second spelling of some: 16 units of work for 21 items.
    urls = [slow_sites.url(h, f"/?page={p}") for h in slow_sites.hosts for p in ("a", "b")]
    urls += [u.replace("http://slow", "http://SLOW") for u in urls[:5]]
    settings = slow_sites.settings(redis_url=redis_url, database_url=database_url, queue_name=queue_name)
    with TestClient(create_app(settings)) as client:
        created = client.post("/api/v1/jobs", json={"urls": urls})
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        assert created.json()["unique_urls"] == 16
    jobs = JobStore(Database(database_url))

    first = workers.start()
    marker = f":{first.pid}:"

    def mid_job():
        items = jobs.results(job_id)
        done = [i for i in items if i.state == "done"]
        return len(done) >= 2 and _held_by(jobs, job_id, marker, started=True)

    _wait(mid_job, 90, "the first worker to finish two items while checking others", workers)
    first.send_signal(signal.SIGKILL)
    held = _held_by(jobs, job_id, marker)
    started = _held_by(jobs, job_id, marker, started=True)
    first.wait(10)
    workers.start()
    workers.start()

    view = _wait(lambda: (v := jobs.view(job_id)).state == "done" and v, 120, "the job to finish", workers)
    items = jobs.results(job_id)
    assert view.counts == {"done": len(urls)}, workers.output()
    assert [i.input_index for i in items] == list(range(len(urls))) and [i.input_url for i in items] == urls
    assert all(i.report_id for i in items)
    # One finished check per unit: nothing was done twice, though the killed worker's units were started twice.
    checks = CheckStore(jobs.database).for_job(job_id)
    per_unit: dict[str, int] = {}
    for check in checks:
        per_unit[check.canonical_url] = per_unit.get(check.canonical_url, 0) + 1
    assert len(per_unit) == 16 and set(per_unit.values()) == {1}, per_unit
    by_unit = {i.canonical_url: i for i in items}
    # What the killed worker was checking was started again and finished by the others.
    assert started and all(by_unit[c].attempts >= 2 for c in started), [(c, by_unit[c].attempts) for c in started]
    finished_by = {c.canonical_url: c.worker for c in checks}
    assert all(marker not in finished_by[c] for c in held)
    assert {i.report_id for i in items if i.canonical_url == items[0].canonical_url} == {items[0].report_id}
    assert len({c.worker for c in checks}) >= 2  # the survivors shared the rest
    # One site at a time across the workers: the checks of a site never overlap.
    for site in {c.domain for c in checks}:
        spans = sorted((c.started_at, c.finished_at) for c in checks if c.domain == site)
        for (_, end), (start, _) in zip(spans, spans[1:]):
            assert start >= end, (site, spans)
    jobs.database.dispose()


def _held_by(jobs: JobStore, job_id: str, marker: str, started: bool = False) -> list[str]:
    """Units the worker holds (`started`: and has begun checking)."""
    from sqlalchemy import select

    from app.store.models import JobItem

    query = select(JobItem.canonical_url).where(JobItem.job_id == job_id, JobItem.state == "running",
                                                JobItem.lease_owner.contains(marker))
    if started:
        query = query.where(JobItem.attempts >= 1)
    with jobs.database.session() as session:
        return sorted({c for (c,) in session.execute(query)})


def test_the_worker_command_needs_a_redis_url(capsys, monkeypatch):
    from app.cli import main

    monkeypatch.delenv("PHARMACHECK_REDIS_URL", raising=False)
    assert main(["worker"]) == 2
    assert "needs a Redis queue" in capsys.readouterr().err
