"""Who may use the API, how fast and how much: keys (environment and store), the documented exceptions, client
addresses behind trusted proxies, rate-limit headers, quotas, usage, and the Redis-backed limiter."""

from __future__ import annotations

import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from app.api.access import PUBLIC_PATHS, is_gated
from app.api.clients import bucket_of, client_address, parse_networks
from app.api.main import create_app
from app.cli import main
from app.settings import ResolveEntry, Settings, SettingsError
from app.store import Database
from app.store.keys import ApiKeyStore, hash_key, key_id_of

RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "ratelimit-policy",
                "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


def _settings(sites, tmp_path, **changes) -> Settings:
    # A data folder of its own: a key in the store makes the API ask every request for one ("auto"). Port 80 of
    # good-pharmacy.test is pinned to the fixture address, where nothing listens on 80 (see _quick).
    base = sites.settings(data_dir=str(tmp_path))
    base = base.with_(resolve=(*base.resolve, ResolveEntry("good-pharmacy.test", 80, sites.address)))
    return base.with_(**changes)


def _store(tmp_path) -> ApiKeyStore:
    return ApiKeyStore(Database(f"sqlite:///{tmp_path / 'pharmacheck.db'}"))


def _fetch_nothing(url: str = "ftp://nothing.example/") -> str:
    # Refused before anything is fetched, but a single check of it still costs one check.
    return url


def _quick(sites, n: int) -> list[str]:
    """n distinct addresses a batch charges for, whose checks end at once: port 80 of a fixture host is pinned to
    a loopback address where nothing listens, so nothing leaves the machine."""
    return [f"http://good-pharmacy.test/?n={i}" for i in range(n)]


# Client addresses behind reverse proxies


PROXIES = parse_networks(["10.0.0.0/8", "2001:db8:ffff::/48"])


def _xff(*values: str) -> list[tuple[bytes, bytes]]:
    return [(b"x-forwarded-for", v.encode()) for v in values]


@pytest.mark.parametrize("peer, headers, header, expected", [
    # No trusted proxies configured: the connection's address, whatever the request claims.
    ("203.0.113.9", _xff("198.51.100.1"), "x-forwarded-for", "203.0.113.9"),
    # A trusted proxy: the right-most address that is not a trusted proxy.
    ("10.0.0.2", _xff("198.51.100.1"), "x-forwarded-for", "198.51.100.1"),
    ("10.0.0.2", _xff("6.6.6.6, 198.51.100.1, 10.0.0.7"), "x-forwarded-for", "198.51.100.1"),
    # Several header lines are one list, in order.
    ("10.0.0.2", _xff("6.6.6.6", "198.51.100.1"), "x-forwarded-for", "198.51.100.1"),
    # Ports and brackets as some proxies write them; IPv4-mapped IPv6 is the IPv4 address.
    ("10.0.0.2", _xff("198.51.100.1:4711"), "x-forwarded-for", "198.51.100.1"),
    ("10.0.0.2", _xff("[2001:db8::1]:4711"), "x-forwarded-for", "2001:db8::1"),
    ("::ffff:10.0.0.2", _xff("::ffff:198.51.100.1"), "x-forwarded-for", "198.51.100.1"),
    # An untrusted peer cannot pretend to be a proxy.
    ("198.51.100.50", _xff("10.0.0.3"), "x-forwarded-for", "198.51.100.50"),
    # Only trusted hops are skipped: a client writing a proxy's address on the left gains nothing.
    ("10.0.0.2", _xff("10.0.0.9, 198.51.100.1"), "x-forwarded-for", "198.51.100.1"),
    # Every hop trusted (the proxies' own health check): the left-most.
    ("10.0.0.2", _xff("10.0.0.5, 10.0.0.6"), "x-forwarded-for", "10.0.0.5"),
    # A proxy that could not name the client: counted as that proxy, never as what the client wrote.
    ("10.0.0.2", _xff("198.51.100.1, unknown"), "x-forwarded-for", "10.0.0.2"),
    # No header at all: the proxy itself.
    ("10.0.0.2", [], "x-forwarded-for", "10.0.0.2"),
    # RFC 7239 Forwarded, with quoting, IPv6 and other parameters.
    ("10.0.0.2", [(b"forwarded", b'for=6.6.6.6, for="[2001:db8::5]:80";proto=https, for=10.0.0.4;by=10.0.0.2')],
     "forwarded", "2001:db8::5"),
    ("10.0.0.2", [(b"forwarded", b"for=_hidden")], "forwarded", "10.0.0.2"),
    # Configured for Forwarded: an X-Forwarded-For the proxy passes through untouched is not read.
    ("10.0.0.2", _xff("198.51.100.1") + [(b"forwarded", b"for=192.0.2.8")], "forwarded", "192.0.2.8"),
    ("10.0.0.2", [(b"forwarded", b"for=192.0.2.8")] + _xff("198.51.100.1"), "x-forwarded-for", "198.51.100.1"),
])
def test_client_address_behind_trusted_proxies(peer, headers, header, expected):
    trusted = () if peer == "203.0.113.9" else PROXIES
    assert client_address(peer, headers, trusted, header) == expected


def test_ipv6_clients_share_the_bucket_of_their_64():
    assert bucket_of("2001:db8:1:2:aaaa::1") == bucket_of("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert bucket_of("198.51.100.1") == "198.51.100.1"


def test_trusted_proxies_and_forwarded_header_settings():
    settings = Settings.from_env({"PHARMACHECK_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1",
                                  "PHARMACHECK_FORWARDED_HEADER": "Forwarded"})
    assert settings.trusted_proxies == ("127.0.0.1/32", "10.0.0.0/8", "::1/128")
    assert settings.forwarded_header == "forwarded"
    with pytest.raises(SettingsError, match="PHARMACHECK_TRUSTED_PROXIES: 'proxy.example' is not an IP address"):
        Settings.from_env({"PHARMACHECK_TRUSTED_PROXIES": "proxy.example"})
    with pytest.raises(SettingsError, match="PHARMACHECK_FORWARDED_HEADER: expected one of"):
        Settings.from_env({"PHARMACHECK_FORWARDED_HEADER": "x-real-ip"})


def test_behind_a_proxy_every_client_has_a_bucket_of_its_own(sites, tmp_path):
    settings = _settings(sites, tmp_path, rate_limit_anonymous="2/minute", trusted_proxies=("127.0.0.1",))
    app = create_app(settings)
    url = _fetch_nothing()
    with TestClient(app, client=("127.0.0.1", 40000)) as proxy:
        def check(client: str):
            return proxy.get("/api/v1/checks", params={"url": url}, headers={"X-Forwarded-For": client})

        assert [check("198.51.100.1").status_code for _ in range(2)] == [400, 400]
        assert check("198.51.100.1").status_code == 429
        # Another client behind the same proxy still has its whole window.
        other = check("198.51.100.2")
        assert other.status_code == 400 and other.headers["ratelimit-remaining"] == "1"
        # A client cannot escape its bucket by writing another address in front of its own.
        assert check("6.6.6.6, 198.51.100.1").status_code == 429
        assert proxy.get("/api/v1/usage", headers={"X-Forwarded-For": "198.51.100.2"}).json()["client_address"] == "198.51.100.2"
    # Without the setting, the proxy's own address is everybody's bucket, and the header is ignored.
    app = create_app(_settings(sites, tmp_path, rate_limit_anonymous="2/minute"))
    with TestClient(app, client=("127.0.0.1", 40000)) as proxy:
        for client in ("198.51.100.1", "198.51.100.2"):
            proxy.get("/api/v1/checks", params={"url": url}, headers={"X-Forwarded-For": client})
        assert proxy.get("/api/v1/checks", params={"url": url}, headers={"X-Forwarded-For": "198.51.100.3"}).status_code == 429


def test_the_web_page_counts_visitors_behind_a_proxy_apart(sites, tmp_path):
    app = create_app(_settings(sites, tmp_path, rate_limit_anonymous="1/minute", trusted_proxies=("127.0.0.1",)))
    with TestClient(app, client=("127.0.0.1", 40000)) as proxy:
        def visit(client: str, n: int):
            return proxy.get("/report", params={"url": sites.url("good-pharmacy.test", f"/?visit={n}")},
                             headers={"X-Forwarded-For": client})

        assert visit("198.51.100.1", 1).status_code != 429
        assert visit("198.51.100.1", 2).status_code == 429
        assert visit("198.51.100.2", 3).status_code != 429


# Keys


def test_keys_from_the_environment_and_the_store_and_the_documented_exceptions(sites, tmp_path):
    record, stored_key = _store(tmp_path).create("Safe Meds Watch", "ops@safemeds.example")
    app = create_app(_settings(sites, tmp_path, api_keys=("env-s3cret",)))
    url = sites.url("rogue-store.test")
    with TestClient(app) as c:
        # The consumer page works without a key by design; so do the other documented exceptions.
        page = c.get("/report", params={"url": url})
        assert page.status_code == 200 and "This report as JSON" not in page.text
        for path in PUBLIC_PATHS:
            answer = c.get(path, params={"url": url} if path.startswith("/report") else None)
            assert answer.status_code == 200, path
        assert c.get("/").status_code == 200 and c.get("/bookmarklet").status_code == 200
        # Every other JSON answer needs a key: /report.json too.
        for path in ("/report.json", "/api/v1/rules", "/api/v1/usage", "/api/v1/checks", "/api/v1/nothing-here"):
            refused = c.get(path, params={"url": url})
            assert refused.status_code == 401, path
            assert refused.json()["error"]["code"] == "api_key_required"
            assert refused.headers["www-authenticate"] == 'Bearer realm="pharmacheck"'
            assert "ratelimit-limit" not in refused.headers
        assert c.post("/api/v1/batches", content=b"x" * 10_000).status_code == 401  # refused on its headers
        for headers in ({"X-API-Key": "env-s3cret"}, {"Authorization": "Bearer env-s3cret"},
                        {"X-API-Key": stored_key}, {"authorization": f"bearer {stored_key}"}):
            assert c.get("/report.json", params={"url": url}, headers=headers).json()["verdict"] == "likely_rogue"
            assert c.get("/api/v1/rules", headers=headers).status_code == 200
        wrong = c.get("/api/v1/rules", headers={"X-API-Key": stored_key[:-1] + ("A" if stored_key[-1] != "A" else "B")})
        assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_api_key"
        assert wrong.headers["www-authenticate"].startswith('Bearer realm="pharmacheck", error="invalid_token"')
        basic = c.get("/api/v1/rules", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        assert basic.status_code == 401 and "Authorization: Bearer KEY instead" in basic.json()["error"]["message"]


def test_gated_paths():
    for path in ("/api/v1/checks", "/api/v1/jobs/7/results", "/api/v1/rules", "/report.json"):
        assert is_gated(path), path
    for path in ("/", "/report", "/report/status", "/healthz", "/openapi.json", "/docs", "/static/app.js", "/bookmarklet"):
        assert not is_gated(path), path


def test_a_key_in_the_store_makes_keys_required_unless_they_are_optional(sites, tmp_path):
    url = _fetch_nothing()
    with TestClient(create_app(_settings(sites, tmp_path))) as c:
        assert c.get("/api/v1/rules").status_code == 200  # no keys anywhere: open at the anonymous rate
        record, key = _store(tmp_path).create("first key")
        c.app.state.access._required = None  # what a running service learns within KEY_CACHE_SECONDS
        assert c.get("/api/v1/rules").status_code == 401
        assert c.get("/api/v1/rules", headers={"X-API-Key": key}).status_code == 200
        _store(tmp_path).revoke(record.key_id)
        c.app.state.access._required = None
        assert c.get("/api/v1/rules").status_code == 200
    _store(tmp_path).create("second key", rate_limit="3/minute")
    _, limited = _store(tmp_path).create("third key", rate_limit="1/minute")
    with TestClient(create_app(_settings(sites, tmp_path, require_api_key="false", rate_limit_anonymous="5/minute"))) as c:
        anonymous = c.get("/api/v1/checks", params={"url": url})
        assert anonymous.headers["ratelimit-limit"] == "5"
        keyed = c.get("/api/v1/checks", params={"url": url}, headers={"X-API-Key": limited})
        assert keyed.headers["ratelimit-limit"] == "1" and keyed.headers["ratelimit-remaining"] == "0"
        assert c.get("/api/v1/checks", params={"url": url}, headers={"X-API-Key": limited}).status_code == 429
        assert c.get("/api/v1/checks", params={"url": url}).status_code == 400  # anonymous has its own bucket
        assert c.get("/api/v1/rules", headers={"X-API-Key": "phk_wrong"}).status_code == 401  # a wrong key is never anonymous
    # Required even before any key exists: nobody gets in, and the answer says why.
    with TestClient(create_app(_settings(sites, tmp_path / "empty", require_api_key="true"))) as c:
        assert c.get("/api/v1/rules").json()["error"]["code"] == "api_key_required"


def test_a_revoked_key_is_refused_and_says_so(sites, tmp_path):
    store = _store(tmp_path)
    record, key = store.create("soon revoked")
    with TestClient(create_app(_settings(sites, tmp_path))) as c:
        assert c.get("/api/v1/usage", headers={"X-API-Key": key}).status_code == 200
        assert main(["keys", "revoke", record.key_id, "--data-dir", str(tmp_path)]) == 0
        c.app.state.access._verified.clear()  # a running service forgets what it knew within KEY_CACHE_SECONDS
        refused = c.get("/api/v1/usage", headers={"X-API-Key": key})
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
        assert f"({record.key_id}) was revoked on" in refused.json()["error"]["message"]
        assert 'error_description="revoked key"' in refused.headers["www-authenticate"]


def test_keys_are_stored_as_keyed_hashes_only(tmp_path):
    store = _store(tmp_path)
    record, key = store.create("hash check")
    assert key.startswith("phk_") and key_id_of(key) == record.key_id and len(key) == 4 + 8 + 1 + 43
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("pharmacheck.db*"))  # the file and its write-ahead log
    assert key.encode() not in raw and key.split("_", 2)[2].encode() not in raw
    assert hash_key(key).encode() in raw
    assert hash_key(key) != hash_key(key, "another secret")
    assert store.verify(key) == record
    assert store.verify(key[:-1] + "x") is None and store.verify("phk_short") is None
    secret_store = ApiKeyStore(store.database, "a secret")
    _, other = secret_store.create("with a secret")
    assert secret_store.verify(other) is not None and store.verify(other) is None


def test_the_keys_command_creates_lists_and_revokes(tmp_path, capsys):
    data = ["--data-dir", str(tmp_path)]
    assert main(["keys", "create", "--name", "Safe Meds Watch", "--owner", "ops@safemeds.example", "--rate", "120/minute",
                 "--quota", "10000/month", *data]) == 0
    out, err = capsys.readouterr()
    key = out.strip()
    assert key.startswith("phk_") and "\n" not in key
    assert "only time the key is shown" in err and "120/minute" in err and "10000/month" in err
    assert main(["keys", "list", *data]) == 0
    table = capsys.readouterr().out
    assert key_id_of(key) in table and "Safe Meds Watch" in table and "ops@safemeds.example" in table
    assert key not in table and "never" in table and "active" in table
    assert main(["keys", "revoke", key, *data]) == 0  # the whole key works as well as its id
    assert "revoked" in capsys.readouterr().out
    assert main(["keys", "revoke", key_id_of(key), *data]) == 0
    assert "already revoked" in capsys.readouterr().out
    assert main(["keys", "list", "--json", *data]) == 0
    listed = json.loads(capsys.readouterr().out)["keys"]
    assert listed[0]["revoked_at"] and listed[0]["quota"] == "10000/month" and "key" not in listed[0]
    assert main(["keys", "list", "--active", *data]) == 0
    assert "No keys in the store" in capsys.readouterr().out
    assert main(["keys", "revoke", "nosuchid", *data]) == 2
    assert "no key with the id 'nosuchid'" in capsys.readouterr().err
    assert main(["keys", "create", "--name", "x", "--quota", "5/week", *data]) == 2
    assert "per day or per month" in capsys.readouterr().err
    assert main(["keys", "create", "--name", "x", "--rate", "fast", *data]) == 2
    assert main(["keys", "create", "--name", "  ", *data]) == 2
    assert "needs a name" in capsys.readouterr().err
    assert main(["keys", "create", "--name", "j", "--json", *data]) == 0
    made = json.loads(capsys.readouterr().out)
    assert made["key"].startswith("phk_") and made["id"] == key_id_of(made["key"])


# Rate limits and their headers


def test_every_api_answer_carries_the_rate_limit_headers(sites, tmp_path):
    app = create_app(_settings(sites, tmp_path, rate_limit_anonymous="5/minute", max_request_bytes=2048))
    url = _fetch_nothing()
    with TestClient(app) as c:
        first = c.get("/api/v1/rules")
        assert first.headers["ratelimit-remaining"] == "5" and first.headers["ratelimit-policy"] == "5;w=60"
        checked = c.get("/api/v1/checks", params={"url": url})
        assert checked.headers["ratelimit-remaining"] == "4"
        reset = int(checked.headers["ratelimit-reset"])
        assert 0 < reset <= 60
        assert abs(int(checked.headers["x-ratelimit-reset"]) - (time.time() + reset)) <= 2
        answers = [
            c.get("/api/v1/nothing"), c.get("/api/v1/batches"), c.post("/api/v1/checks", json={}),
            c.post("/api/v1/checks", content=b"x" * 4096, headers={"content-type": "application/json"}),
            c.get("/report.json", params={"url": "https://never.example/"}), c.get("/api/v1/usage"),
            c.post("/api/v1/batches", json={"urls": _quick(sites, 4)}), c.get("/api/v1/checks", params={"url": url}),
        ]
        assert [a.status_code for a in answers] == [404, 405, 422, 413, 404, 200, 200, 429]
        for answer in answers:
            for name in RATE_HEADERS:
                assert name in answer.headers, (answer.status_code, name)
        assert answers[2].headers["ratelimit-remaining"] == "4"  # a malformed request costs nothing
        assert answers[-1].headers["ratelimit-remaining"] == "0"
        # Browsers' scripts may read them across origins.
        exposed = answers[-1].headers["access-control-expose-headers"].lower()
        assert "ratelimit-remaining" in exposed and "retry-after" in exposed
        assert "ratelimit-limit" not in c.get("/healthz").headers  # outside the API: no bucket


def test_retry_after_is_true(sites, tmp_path):
    app = create_app(_settings(sites, tmp_path, rate_limit_anonymous="2/second"))
    url = _fetch_nothing()
    with TestClient(app) as c:
        quick = _quick(sites, 5)
        assert c.post("/api/v1/batches", json={"urls": quick[:1]}).status_code == 200
        refused = c.post("/api/v1/batches", json={"urls": quick[1:3]})
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert "needs 2" in refused.json()["error"]["message"]
        wait = int(refused.headers["retry-after"])
        assert wait >= 1 and refused.headers["ratelimit-reset"] == str(wait)
        time.sleep(wait)
        again = c.post("/api/v1/batches", json={"urls": quick[3:5]})
        assert again.status_code == 200, again.text


def test_an_anonymous_batch_larger_than_the_whole_window_says_so(sites, tmp_path):
    app = create_app(_settings(sites, tmp_path))  # the default: 30 checks per minute for anonymous clients
    url = _fetch_nothing()
    with TestClient(app) as c:
        quick = _quick(sites, 32)
        refused = c.post("/api/v1/batches", json={"urls": quick[:31]})
        assert refused.status_code == 422
        error = refused.json()["error"]
        assert error["code"] == "batch_exceeds_limit"
        assert "needs 31 checks" in error["message"] and "30 checks per minute" in error["message"]
        assert "could never be accepted" in error["message"] and "API key" in error["message"]
        assert "retry-after" not in refused.headers
        assert refused.headers["ratelimit-remaining"] == "30"  # nothing was spent
        whole = c.post("/api/v1/batches", json={"urls": quick[:30] + [url] * 5})  # refused ones cost nothing
        assert whole.status_code == 200 and len(whole.text.splitlines()) == 35
        after = c.post("/api/v1/batches", json={"urls": quick[31:]})
        assert after.status_code == 429 and 0 < int(after.headers["retry-after"]) <= 60


# Quotas and usage


def test_quota_per_key_and_the_usage_endpoint(sites, tmp_path):
    store = _store(tmp_path)
    record, key = store.create("small quota", quota="3/day")
    url = _fetch_nothing()
    headers = {"X-API-Key": key}
    with TestClient(create_app(_settings(sites, tmp_path))) as c:
        quick = _quick(sites, 6)
        too_big = c.post("/api/v1/batches", json={"urls": quick[:4]}, headers=headers)
        assert too_big.status_code == 422 and too_big.json()["error"]["code"] == "batch_exceeds_limit"
        assert "quota is 3 checks per day" in too_big.json()["error"]["message"]
        assert c.post("/api/v1/batches", json={"urls": quick[:2]}, headers=headers).status_code == 200
        over = c.post("/api/v1/batches", json={"urls": quick[2:4]}, headers=headers)
        assert over.status_code == 429 and over.json()["error"]["code"] == "quota_exceeded"
        message = over.json()["error"]["message"]
        assert "used 2 of its 3 checks today" in message and "needs 2" in message and "(00:00 UTC)" in message
        from datetime import datetime, timedelta, timezone

        now = datetime.now(timezone.utc)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=timezone.utc)
        assert abs(int(over.headers["retry-after"]) - (midnight - now).total_seconds()) <= 5
        assert c.get("/api/v1/checks", params={"url": url}, headers=headers).status_code == 400  # the last one fits
        usage = c.get("/api/v1/usage", headers=headers)
        assert usage.status_code == 200
        body = usage.json()
        assert body["key"]["id"] == record.key_id and body["key"]["name"] == "small quota" and not body["anonymous"]
        assert body["quota"]["limit"] == 3 and body["quota"]["used"] == 3 and body["quota"]["remaining"] == 0
        assert body["quota"]["period"] == "day" and body["quota"]["resets_at"].startswith(midnight.date().isoformat())
        assert body["usage"]["today"]["checks"] == 3
        # Every answered request counts (this one is counted once it is answered).
        assert body["usage"]["today"]["requests"] == 4
        assert body["usage"]["days"][-1]["checks"] == 3
        assert body["rate_limit"]["policy"] == "600 checks per minute" and body["keys_required"] is True
        assert c.get("/api/v1/usage", headers=headers).json()["usage"]["today"]["requests"] == 5
    assert store.get(record.key_id).last_used_at is not None


def test_usage_of_environment_keys_and_of_anonymous_clients(sites, tmp_path):
    url = _fetch_nothing()
    with TestClient(create_app(_settings(sites, tmp_path, api_keys=("k-one", "k-two"), api_quota="100/month"))) as c:
        c.post("/api/v1/batches", json={"urls": _quick(sites, 3)}, headers={"X-API-Key": "k-one"})
        one = c.get("/api/v1/usage", headers={"X-API-Key": "k-one"}).json()
        two = c.get("/api/v1/usage", headers={"Authorization": "Bearer k-two"}).json()
        assert one["key"]["source"] == "environment" and one["key"]["name"] == "PHARMACHECK_API_KEYS key 1"
        assert one["key"]["id"] != two["key"]["id"] and "k-one" not in json.dumps(one)
        assert one["usage"]["this_month"]["checks"] == 3 and two["usage"]["this_month"]["checks"] == 0
        assert one["quota"]["policy"] == "100 checks per month" and one["quota"]["remaining"] == 97
    with TestClient(create_app(_settings(sites, tmp_path / "open"))) as c:
        anonymous = c.get("/api/v1/usage").json()
        assert anonymous["anonymous"] and anonymous["key"] is None and anonymous["usage"] is None
        assert anonymous["rate_limit"]["limit"] == 30 and anonymous["keys_required"] is False


def test_a_quota_is_never_overspent_by_concurrent_requests(database_url):
    store = ApiKeyStore(Database(database_url))
    allowed = []

    def spend():
        for _ in range(5):
            allowed.append(store.spend("k-concurrent", 1, (20, "month")).allowed)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert allowed.count(True) == 20 and allowed.count(False) == 20
    from datetime import date

    assert store.totals("k-concurrent", date(2000, 1, 1), date(2100, 1, 1))[1] == 20


def test_an_unreachable_store_is_503_with_retry_after(sites, tmp_path, monkeypatch):
    from sqlalchemy.exc import OperationalError

    _, key = _store(tmp_path).create("store down")
    app = create_app(_settings(sites, tmp_path))
    with TestClient(app) as c:
        def down(*_args, **_kwargs):
            raise OperationalError("SELECT", {}, Exception("connection refused"))

        monkeypatch.setattr(app.state.access.store, "verify", down)
        answer = c.get("/api/v1/rules", headers={"X-API-Key": key})
        assert answer.status_code == 503 and answer.json()["error"]["code"] == "unavailable"
        assert answer.headers["retry-after"] == "5"


def test_quota_and_rate_settings_are_checked():
    assert Settings.from_env({"PHARMACHECK_API_QUOTA": "5000/Month"}).api_quota == "5000/month"
    with pytest.raises(SettingsError, match="PHARMACHECK_API_QUOTA"):
        Settings.from_env({"PHARMACHECK_API_QUOTA": "lots"})
    assert Settings.from_env({"PHARMACHECK_REQUIRE_API_KEY": "no"}).require_api_key == "false"
    with pytest.raises(SettingsError, match="PHARMACHECK_REQUIRE_API_KEY"):
        Settings.from_env({"PHARMACHECK_REQUIRE_API_KEY": "maybe"})
    with pytest.raises(SettingsError, match="PHARMACHECK_REDIS_URL"):
        Settings.from_env({"PHARMACHECK_REDIS_URL": "localhost:6379"})


# Several API processes sharing one bucket through Redis


def test_api_processes_share_buckets_through_redis(sites, tmp_path, redis_url):
    import uuid

    settings = _settings(sites, tmp_path, rate_limit_anonymous="3/minute", redis_url=redis_url)
    url = _fetch_nothing()
    client = (f"198.51.100.{uuid.uuid4().int % 250 + 1}", 1234)  # a fresh bucket in a shared Redis
    with TestClient(create_app(settings), client=client) as one, TestClient(create_app(settings), client=client) as two:
        assert one.get("/api/v1/checks", params={"url": url}).headers["ratelimit-remaining"] == "2"
        assert two.get("/api/v1/checks", params={"url": url}).headers["ratelimit-remaining"] == "1"
        assert one.get("/api/v1/checks", params={"url": url}).status_code == 400
        refused = two.get("/api/v1/checks", params={"url": url})
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) <= 60


def test_an_unreachable_redis_stops_start_up_with_a_clear_message(sites, tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SettingsError, match="rate-limit storage .* cannot be reached"):
        create_app(_settings(sites, tmp_path, redis_url=f"redis://127.0.0.1:{port}/0"))


def test_a_queued_job_takes_one_unit_of_a_keys_window_and_its_whole_cost_from_the_quota(tmp_path):
    from starlette.requests import Request

    from app.api.access import AccessControl
    from app.api.errors import APIError

    database = Database(f"sqlite:///{tmp_path / 'pharmacheck.db'}")
    _, key = ApiKeyStore(database).create("watchdog", quota="100/month")
    access = AccessControl(Settings(data_dir=str(tmp_path), rate_limit_keyed="5/minute", require_api_key="false"), database)

    def request(headers: dict) -> Request:
        return Request({"type": "http", "method": "POST", "path": "/api/v1/jobs", "client": ("198.51.100.1", 1),
                        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]})

    keyed = request({"X-API-Key": key})
    access.charge(keyed, 60, queued=True)  # more than the window of 5, within the quota of 100
    assert access.window(access.caller(keyed)).remaining == 4
    with pytest.raises(APIError) as over:
        access.charge(request({"X-API-Key": key}), 60, queued=True)
    assert over.value.code == "quota_exceeded" and "used 60 of its 100 checks this month" in over.value.message
    with pytest.raises(APIError) as never:
        access.charge(request({"X-API-Key": key}), 101, queued=True)
    assert never.value.status == 422 and never.value.code == "batch_exceeds_limit"
    # Anonymous callers have no quota: a queued request pays the whole window.
    with pytest.raises(APIError) as anonymous:
        access.charge(request({}), 31, queued=True)
    assert anonymous.value.code == "batch_exceeds_limit" and "30 checks per minute" in anonymous.value.message
    assert access.identify(keyed) == (access.caller(keyed).identity, True)
