"""The JSON API: reports, the published rules, health, keys, rate limits, batches and clean errors."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.api.main import create_app


@pytest.fixture()
def client(sites):
    with TestClient(create_app(sites.settings())) as c:
        yield c


def test_get_and_post_return_the_report_contract(client, sites):
    url = sites.url("rogue-store.test")
    for response in (client.get("/api/v1/checks", params={"url": url}), client.post("/api/v1/checks", json={"url": url})):
        assert response.status_code == 200, response.text
        report = response.json()
        for key in ("url", "final_url", "checked_at", "algorithm_version", "verdict", "score", "grade", "summary",
                    "categories", "findings", "pages", "redirects", "errors"):
            assert key in report
        assert report["verdict"] == "likely_rogue"
        finding = report["findings"][0]
        for key in ("id", "check", "category", "outcome", "severity", "points", "title", "explanation", "advice", "evidence"):
            assert key in finding
        assert finding["evidence"][0]["url"].startswith("https://rogue-store.test")


def test_rules_table_and_health(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    rules = client.get("/api/v1/rules").json()
    assert rules["algorithm_version"] == health.json()["algorithm_version"]
    assert any(o["id"] == "prescription.no-prescription-offer" for o in rules["outcomes"])


@pytest.mark.parametrize(
    "url, code",
    [
        ("ftp://pharmacy.example/", "invalid_url"),
        ("https://user:pw@pharmacy.example/", "invalid_url"),
        ("https://pharmacy.example:8443/", "invalid_url"),
        ("http://127.0.0.1/", "blocked_destination"),
        ("http://169.254.169.254/latest/meta-data/", "blocked_destination"),
    ],
)
def test_refused_urls_are_400_with_error_object(client, url, code):
    response = client.get("/api/v1/checks", params={"url": url})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_malformed_requests_are_4xx_with_error_object(client):
    for response in (
        client.post("/api/v1/checks", json={}),
        client.post("/api/v1/checks", content=b"{not json", headers={"content-type": "application/json"}),
        client.get("/api/v1/checks"),
        client.post("/api/v1/checks", json={"url": 12}),
    ):
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]["code"] in ("invalid_request", "invalid_url")
    missing = client.get("/nope")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_batch_streams_one_line_per_url_with_its_input_index(client, sites):
    urls = [sites.url("rogue-store.test"), sites.url("good-pharmacy.test"), "ftp://nope.example/"]
    response = client.post("/api/v1/batches", json={"urls": urls})
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert len(lines) == 3
    by_index = {line["index"]: line for line in lines}
    assert sorted(by_index) == [0, 1, 2] and [by_index[i]["input_url"] for i in range(3)] == urls
    assert by_index[0]["state"] == "done" and by_index[0]["report"]["verdict"] == "likely_rogue"
    assert by_index[0]["verdict"] == "likely_rogue"
    assert by_index[2]["state"] == "failed" and by_index[2]["error"]["code"] == "invalid_url"
    assert by_index[2]["report"] is None


def test_batch_spellings_of_one_site_cost_one_check(sites, tmp_path, monkeypatch):
    app = create_app(sites.settings(data_dir=str(tmp_path)))
    checked = []
    real_check = app.state.checker.check

    async def counting(url, *args, **kwargs):
        checked.append(url)
        return await real_check(url, *args, **kwargs)

    monkeypatch.setattr(app.state.checker, "check", counting)
    base = sites.url("uk-chemist.test")
    spellings = [base, base.replace("https://uk-chemist", "https://UK-Chemist"), base.rstrip("/") + "#top"]
    with TestClient(app) as c:
        lines = [json.loads(line) for line in c.post("/api/v1/batches", json={"urls": spellings}).text.splitlines()]
    assert len(checked) == 1
    assert sorted(line["index"] for line in lines) == [0, 1, 2]
    assert {line["report"]["checked_at"] for line in lines} == {lines[0]["report"]["checked_at"]}


def test_batch_size_is_bounded(sites):
    with TestClient(create_app(sites.settings(max_batch_urls=2))) as c:
        response = c.post("/api/v1/batches", json={"urls": ["https://a.example"] * 3})
    assert response.status_code == 422 and response.json()["error"]["code"] == "batch_too_large"


def test_api_keys_are_required_when_configured(sites):
    with TestClient(create_app(sites.settings(api_keys=("s3cret",)))) as c:
        url = sites.url("good-pharmacy.test")
        assert c.get("/api/v1/checks", params={"url": url}).json()["error"]["code"] == "api_key_required"
        wrong = c.get("/api/v1/checks", params={"url": url}, headers={"X-API-Key": "guess"})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        ok = c.get("/api/v1/checks", params={"url": url}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert c.get("/healthz").status_code == 200  # health never needs a key


def test_rate_limit_answers_429_with_retry_after(sites):
    with TestClient(create_app(sites.settings(rate_limit_anonymous="2/minute"))) as c:
        url = sites.url("good-pharmacy.test")
        codes = [c.get("/api/v1/checks", params={"url": url}).status_code for _ in range(3)]
        assert codes[:2] == [200, 200] and codes[2] == 429
        limited = c.get("/api/v1/checks", params={"url": url})
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1


def test_openapi_is_published(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/checks" in spec["paths"] and "/api/v1/batches" in spec["paths"]


def test_deeply_nested_json_is_an_invalid_request(client):
    response = client.post("/api/v1/checks", content=b"[" * 100_000, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def test_request_bodies_over_the_limit_are_refused_with_413(sites):
    with TestClient(create_app(sites.settings(max_request_bytes=2048))) as small:
        big = json.dumps({"urls": ["https://pharmacy.example/" + "a" * 100] * 50})
        response = small.post("/api/v1/batches", content=big, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "request_too_large"

        def chunks():  # no Content-Length: counted as it arrives
            for _ in range(10):
                yield b" " * 1000

        response = small.post("/api/v1/checks", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
        ok = small.post("/api/v1/checks", json={"url": "ftp://pharmacy.example/"})
        assert ok.status_code == 400 and ok.json()["error"]["code"] == "invalid_url"


def test_the_default_body_limit_is_one_mebibyte():
    from app.settings import Settings

    assert Settings().max_request_bytes == 1024 * 1024
    assert Settings.from_env({"PHARMACHECK_MAX_REQUEST_BYTES": "4096"}).max_request_bytes == 4096


def test_head_answers_like_get_without_a_body(client, sites):
    for path in ("/healthz", "/api/v1/rules", f"/report/status?url={sites.url('rogue-store.test')}"):
        got, head = client.get(path), client.head(path)
        assert head.status_code == got.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-type"] == got.headers["content-type"]
        assert head.headers["content-length"] == str(len(got.content))
        assert head.headers["content-security-policy"] == got.headers["content-security-policy"]
    refused = client.head("/api/v1/batches")
    assert refused.status_code == 405 and refused.content == b""
    # HEAD is answered by the GET routes, not published as operations of its own.
    assert not any("head" in methods for methods in client.get("/openapi.json").json()["paths"].values())


def test_readme_lists_every_error_code_the_api_answers_with():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    source = "\n".join(p.read_text(encoding="utf-8") for p in sorted((root / "app" / "api").glob("*.py")))
    codes = set(re.findall(r'(?:APIError|error_response)\(\s*\d{3},\s*"([a-z_]+)"', source))
    codes |= set(re.findall(r'"code":\s*"([a-z_]+)"', source))
    codes |= set(re.findall(r'\d{3}:\s*"([a-z_]+)"', source))  # the status-to-code table for HTTP errors
    codes |= {"invalid_url", "blocked_destination"}  # FetchError's codes for a refused address
    assert {"batch_too_large", "busy", "request_too_large", "method_not_allowed"} <= codes
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## JSON API"):]
    section = section[: section.index("\n## ", 1)] if "\n## " in section[1:] else section
    assert sorted(c for c in codes if f"`{c}`" not in section) == []
