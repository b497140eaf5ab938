"""WARC evidence archives: record a check, replay it without the network, same findings and verdict."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from app.api.main import create_app
from app.archive import FETCH_ERROR_CONTENT_TYPE, REPORT_URI_PREFIX, TLS_VERIFIED_HEADER, WarcRecorder
from app.cli import main
from app.fetch import Fetcher
from app.netpolicy import FetchError
from app.service import make_fetcher, open_checker
from app.settings import ResolveEntry, Settings
from tests.fixture_server import site_hosts


def check(settings: Settings, url: str):
    async def run():
        async with open_checker(settings) as checker:
            return await checker.check(url)

    return asyncio.run(run())


def replay_settings(sites, *paths) -> Settings:
    """Only the archive and the fixture port: no --resolve, no CA, so a replay that tried the network would fail."""
    return Settings(replay_paths=tuple(str(p) for p in paths), allowed_ports=(80, 443, sites.port))


def records(path):
    with open(path, "rb") as handle:
        for record in ArchiveIterator(handle):
            yield record.rec_type, record.rec_headers.get_header("WARC-Target-URI"), record, record.content_stream().read()


def fingerprint(report):
    return (
        report.verdict,
        report.score,
        [(f.id, f.counted_points, [(e.url, e.snippet) for e in f.evidence]) for f in report.findings],
        [(p.url, p.error) for p in report.pages],
    )


@pytest.mark.parametrize("host", site_hosts())
def test_recorded_check_replays_to_the_same_findings_and_verdict(sites, tmp_path, host):
    warc = tmp_path / "evidence.warc.gz"
    live = check(sites.settings(record_path=str(warc)), sites.url(host))
    replayed = check(replay_settings(sites, warc), sites.url(host))
    assert not live.from_archive and replayed.from_archive
    assert live.pages[0].error is None and live.findings
    assert fingerprint(replayed) == fingerprint(live)


def test_warc_holds_every_exchange_and_the_report(sites, tmp_path):
    warc = tmp_path / "evidence.warc.gz"
    report = check(sites.settings(record_path=str(warc)), sites.url("rogue-store.test"))
    found = list(records(warc))
    assert found[0][0] == "warcinfo"
    responses = {uri: rec for kind, uri, rec, _ in found if kind == "response"}
    requests = {uri for kind, uri, _, _ in found if kind == "request"}
    fetched = {p.url for p in report.pages if p.error is None}
    assert fetched <= set(responses) and fetched <= requests
    start = responses[sites.url("rogue-store.test")]
    assert start.http_headers.get_statuscode() == "200"
    assert start.rec_headers.get_header("WARC-IP-Address") == sites.address
    assert "text/html" in start.http_headers.get_header("Content-Type")
    saved = [json.loads(body) for kind, uri, _, body in found if kind == "resource" and uri.startswith(REPORT_URI_PREFIX)]
    assert len(saved) == 1 and saved[0] == json.loads(report.model_dump_json())
    assert found[-1][1] == REPORT_URI_PREFIX + report.url


def test_page_missing_from_the_archive_is_not_in_archive(sites, tmp_path):
    warc = tmp_path / "start-only.warc.gz"
    check(sites.settings(record_path=str(warc), max_pages=1), sites.url("rogue-store.test"))
    replayed = check(replay_settings(sites, warc), sites.url("rogue-store.test"))
    crawled = [p for p in replayed.pages if p.kind != "start"]
    assert crawled and all(p.error == "not_in_archive" for p in crawled)
    assert {e.code for e in replayed.errors} == {"not_in_archive"}

    other = check(replay_settings(sites, warc), sites.url("good-pharmacy.test"))
    assert other.verdict == "unknown" and other.pages[0].error == "not_in_archive"
    assert other.from_archive


def test_fetcher_surfaces_not_in_archive(sites, tmp_path):
    warc = tmp_path / "empty.warc.gz"
    WarcRecorder(warc).close()  # an archive with nothing but its warcinfo record

    async def run():
        fetcher = make_fetcher(replay_settings(sites, warc))
        try:
            await fetcher.fetch("https://pharmacy.example/contact")
        finally:
            await fetcher.aclose()

    with pytest.raises(FetchError) as raised:
        asyncio.run(run())
    assert raised.value.code == "not_in_archive"


def test_folder_of_warc_files(sites, tmp_path):
    folder = tmp_path / "archives"
    (folder / "more").mkdir(parents=True)
    live_rogue = check(sites.settings(record_path=str(folder / "rogue.warc.gz")), sites.url("rogue-store.test"))
    live_good = check(sites.settings(record_path=str(folder / "more" / "good.warc")), sites.url("good-pharmacy.test"))
    settings = replay_settings(sites, folder)
    assert fingerprint(check(settings, sites.url("rogue-store.test"))) == fingerprint(live_rogue)
    assert fingerprint(check(settings, sites.url("good-pharmacy.test"))) == fingerprint(live_good)


def test_failed_fetch_replays_as_the_same_error(sites, tmp_path):
    with socket.socket() as probe:  # a loopback port with nobody listening
        probe.bind((sites.address, 0))
        closed_port = probe.getsockname()[1]
    warc = tmp_path / "refused.warc.gz"
    url = f"https://closed.test:{closed_port}/"
    settings = sites.settings(record_path=str(warc), allowed_ports=(80, 443, closed_port),
                              resolve=(ResolveEntry("closed.test", closed_port, sites.address),))
    live = check(settings, url)
    assert live.pages[0].error == "connect_error"
    found = list(records(warc))
    [error] = [rec for _, uri, rec, _ in found if rec.content_type == FETCH_ERROR_CONTENT_TYPE and uri == url]
    [asked] = [rec for kind, uri, rec, _ in found if kind == "request" and uri == url]
    assert asked.rec_headers.get_header("WARC-Concurrent-To") == error.rec_headers.get_header("WARC-Record-ID")
    assert asked.http_headers.protocol == "GET" and asked.http_headers.statusline.startswith("/ ")
    replayed = check(Settings(replay_paths=(str(warc),), allowed_ports=(80, 443, closed_port)), url)
    assert replayed.pages[0].error == "connect_error"


def _handmade_archive(path, url: str, body: bytes, headers: list[tuple[str, str]]) -> None:
    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warc_record(
            url, "response", payload=BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")))


@pytest.mark.parametrize("framing", ["gzip", "chunked+gzip"])
def test_replay_decodes_bodies_as_they_came_off_the_wire(tmp_path, framing):
    html = "<html><body><p>Licensed pharmacy — café</p></body></html>".encode("utf-8")
    body = gzip.compress(html)
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip")]
    if framing == "chunked+gzip":  # how some other archiving tools store a chunked response
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        headers.append(("Transfer-Encoding", "chunked"))
    warc = tmp_path / "handmade.warc.gz"
    _handmade_archive(warc, "https://pharmacy.example/", body, headers)

    async def run():
        async with make_fetcher(Settings(replay_paths=(str(warc),))) as fetcher:
            return await fetcher.fetch("https://pharmacy.example/")

    result = asyncio.run(run())
    assert result.text == html.decode("utf-8") and result.from_archive


def test_cli_record_then_replay(sites, tmp_path, capsys):
    warc = tmp_path / "cli.warc.gz"
    assert main(["check", sites.url("rogue-store.test"), "--json", "--record", str(warc), *sites.cli_args()]) == 0
    live = json.loads(capsys.readouterr().out)
    assert main(["check", sites.url("rogue-store.test"), "--json", "--replay", str(warc),
                 "--allow-port", str(sites.port)]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["from_archive"] is True and live["from_archive"] is False
    assert (replayed["verdict"], [f["id"] for f in replayed["findings"]]) == (live["verdict"], [f["id"] for f in live["findings"]])
    assert main(["check", sites.url("rogue-store.test"), "--replay", str(warc), "--allow-port", str(sites.port)]) == 0
    assert "Replayed from an archive" in capsys.readouterr().out


def test_cli_batch_records_every_report(sites, tmp_path, capsys):
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{sites.url('rogue-store.test')}\n{sites.url('good-pharmacy.test')}\n")
    warc = tmp_path / "batch.warc.gz"
    assert main(["batch", str(urls), "--out", str(tmp_path / "out.jsonl"), "--record", str(warc), *sites.cli_args()]) == 0
    reports = {uri for kind, uri, _, _ in records(warc) if kind == "resource"}
    assert reports == {REPORT_URI_PREFIX + sites.url("rogue-store.test"), REPORT_URI_PREFIX + sites.url("good-pharmacy.test")}


def test_bad_archives_are_clear_errors(tmp_path, capsys):
    assert main(["check", "https://pharmacy.example/", "--replay", str(tmp_path / "missing.warc.gz")]) == 2
    bogus = tmp_path / "bogus.warc.gz"
    bogus.write_bytes(b"this is not a WARC file\n" * 10)
    assert main(["check", "https://pharmacy.example/", "--replay", str(bogus)]) == 2
    (tmp_path / "a-file").write_text("")
    assert main(["check", "https://pharmacy.example/", "--record", str(tmp_path / "a-file" / "x.warc")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("error:") == 3
    assert "missing.warc.gz: no such file" in err and "not a readable WARC file" in err and "cannot write" in err


def test_api_says_reports_come_from_an_archive(sites, tmp_path):
    warc = tmp_path / "api.warc.gz"
    check(sites.settings(record_path=str(warc)), sites.url("rogue-store.test"))
    # The data folder is the test's own: an environment given in full would otherwise fall back to the user's.
    settings = Settings.from_env({"PHARMACHECK_REPLAY": str(warc), "PHARMACHECK_DATA_DIR": str(tmp_path / "data")}).with_(
        allowed_ports=(80, 443, sites.port))
    with TestClient(create_app(settings)) as client:
        report = client.get("/api/v1/checks", params={"url": sites.url("rogue-store.test")}).json()
        assert report["from_archive"] is True and report["verdict"] == "likely_rogue"
        assert client.get("/healthz").json()["from_archive"] is True
        page = client.get("/report", params={"url": sites.url("rogue-store.test")}, headers={"Accept": "text/html"})
        assert page.status_code == 200 and "Replayed from an archive" in page.text


def test_live_fetcher_is_not_from_archive(sites):
    assert Fetcher(sites.settings()).from_archive is False


def test_registry_look_ups_are_recorded_and_replayed(rules, tmp_path_factory):
    """Evidence from asking a registry (here a stand-in on loopback) is kept and replayed like any page."""
    from app.pipeline import Checker
    from app.rules import Rules
    from tests.registry_standin import GPHC, LEGITSCRIPT, StandIn

    fixtures = Path(__file__).parent / "fixtures" / "accreditation"
    standin = StandIn(tmp_path_factory.mktemp("registries"),
                      sites={"quickmedsdirect.co.uk": (fixtures / "copied-gphc-number.html").read_text(encoding="utf-8")})
    try:
        config = rules.config_for("accreditation")
        bases = {"legitscript": standin.base_url(LEGITSCRIPT), "gphc": standin.base_url(GPHC)}
        registries = [r.model_copy(update={"live": r.live.model_copy(update={"base_url": bases[r.id]})})
                      if r.live and r.id in bases else r for r in config.registries]
        local_rules = Rules(rules.data, {**rules.check_configs, "accreditation": config.model_copy(update={"registries": registries})}, rules.path)
        url = f"https://quickmedsdirect.co.uk:{standin.port}/"
        warc = tmp_path_factory.mktemp("evidence") / "registry.warc.gz"

        def run(settings):
            async def go():
                async with Checker(settings, rules=local_rules, fetcher=make_fetcher(settings)) as checker:
                    return await checker.check(url)
            return asyncio.run(go())

        live = run(standin.settings(confirm_registries=True, record_path=str(warc)))
        asked = len(standin.requests)
        replayed = run(Settings(replay_paths=(str(warc),), allowed_ports=(80, 443, standin.port), confirm_registries=True))
    finally:
        standin.close()
    assert len(standin.requests) == asked, "the replay must not reach the registry"
    assert "accreditation.registry-denies" in {f.id for f in live.findings}
    assert fingerprint(replayed) == fingerprint(live)


def test_service_started_with_record_files_each_report(sites, tmp_path):
    warc = tmp_path / "service.warc.gz"
    # A store of its own: the service answers from reports kept by earlier tests, and this one must check.
    settings = sites.settings(record_path=str(warc), data_dir=str(tmp_path / "data"))
    with TestClient(create_app(settings)) as client:
        report = client.get("/api/v1/checks", params={"url": sites.url("rogue-store.test")}).json()
        assert report["from_archive"] is False
    saved = [json.loads(body) for kind, uri, _, body in records(warc) if kind == "resource"]
    assert [r["url"] for r in saved] == [report["url"]] and saved[0]["verdict"] == report["verdict"]


def _https_valid_evidence(report, outcome: str = "https-valid") -> str:
    [finding] = [f for f in report.findings if f.id == f"transport.{outcome}"]
    return finding.evidence[0].snippet


def test_certificate_verification_is_recorded_and_replayed(sites, tmp_path):
    warc = tmp_path / "evidence.warc.gz"
    live = check(sites.settings(record_path=str(warc)), sites.url("good-pharmacy.test"))
    start = {uri: rec for kind, uri, rec, _ in records(warc) if kind == "response"}[sites.url("good-pharmacy.test")]
    assert start.rec_headers.get_header(TLS_VERIFIED_HEADER) == "true"
    replayed = check(replay_settings(sites, warc), sites.url("good-pharmacy.test"))
    assert live.pages[0].tls_valid is True and replayed.pages[0].tls_valid is True
    assert "checked and valid when the page was fetched" in _https_valid_evidence(replayed)


def test_an_archive_without_the_verification_mark_says_the_certificate_was_not_checked(tmp_path):
    # What another archiving tool, or tools/pages_to_warc.py, writes: a plain response record.
    warc = tmp_path / "other-tool.warc.gz"
    _handmade_archive(warc, "https://pharmacy.example/", b"<html><body><p>Our pharmacy</p></body></html>",
                      [("Content-Type", "text/html")])
    report = check(Settings(replay_paths=(str(warc),)), "https://pharmacy.example/")
    assert report.pages[0].https and report.pages[0].tls_valid is None
    assert "transport.https-valid" not in {f.id for f in report.findings}
    assert "not checked" in _https_valid_evidence(report, "https-unverified")
    assert "valid" not in _https_valid_evidence(report, "https-unverified")


def test_batch_replays_without_the_port_it_was_recorded_on(sites, tmp_path, capsys):
    """A replay never connects, so the port a site was recorded on needs no --allow-port to be read back."""
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{sites.url('rogue-store.test')}\n{sites.url('good-pharmacy.test')}\n")
    warc = tmp_path / "batch.warc.gz"
    live_out, replay_out = tmp_path / "live.jsonl", tmp_path / "replay.jsonl"
    assert main(["batch", str(urls), "--out", str(live_out), "--record", str(warc), *sites.cli_args()]) == 0
    assert main(["batch", str(urls), "--out", str(replay_out), "--replay", str(warc)]) == 0
    capsys.readouterr()

    def by_url(path):
        lines = [json.loads(line) for line in path.read_text().splitlines()]
        assert all("error" not in line for line in lines), lines
        return {line["url"]: (line["verdict"], sorted(f["id"] for f in line["findings"])) for line in lines}

    assert by_url(replay_out) == by_url(live_out)


def test_replay_still_refuses_what_is_not_a_web_address_and_misses_what_is_not_archived(sites, tmp_path):
    warc = tmp_path / "one.warc.gz"
    check(sites.settings(record_path=str(warc)), sites.url("rogue-store.test"))
    settings = Settings(replay_paths=(str(warc),))
    other_port = sites.port + 1 if sites.port < 65535 else sites.port - 1
    missing = check(settings, f"https://rogue-store.test:{other_port}/")
    assert missing.verdict == "unknown" and missing.pages[0].error == "not_in_archive"
    for url in ("ftp://rogue-store.test/", f"https://rogue-store.test:{sites.port}:1/", "https://rogue-store.test:0/"):
        with pytest.raises(FetchError) as raised:
            check(settings, url)
        assert raised.value.code == "invalid_url"
