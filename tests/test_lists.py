"""Reputation lists: parsers on cut-down copies of the published lists, loading and replacing them in the store,
the index that checks read, the `lists` check's outcomes, and the `pharmacheck lists` commands."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

from app.cli import main
from app.lists.domains import normalise_list_domain
from app.lists.index import ListIndex
from app.lists.model import ListEntry, ListInfo
from app.lists.sources import (
    ListFileError, parse_fda_warning_letters, parse_file, parse_nabp_accredited, parse_nabp_not_recommended,
)
from app.lists.store import ListStore
from app.page import parse_page
from app.pipeline import Checker, site_from_pages
from app.store import Database
from checks import lists as lists_check

SOURCES = Path(__file__).parent / "fixtures" / "lists" / "sources"


def _read(name: str) -> bytes:
    return (SOURCES / name).read_bytes()


# ---- parsers -----------------------------------------------------------------------------------------------------

def test_not_recommended_page_gives_its_domains_and_date():
    parsed = parse_nabp_not_recommended(_read("nabp-not-recommended.html"), "text/html; charset=UTF-8",
                                        "https://safe.pharmacy/not-recommended-sites/")
    assert parsed.snapshot_date == date(2024, 1, 30)
    assert [e.domain for e in parsed.entries] == [
        "24hour-meds-nopresc.example", "cheap-pills-overnight.example", "buy-soma-online.example",
        "xn--apotek-prisvrdig-9kb.example", "rx-canada-direct.example", "pharma-offshore.example",
        "pharmacy-discount-rx.example",
    ]
    # Navigation, the footer's own domains and sentences are not entries; each entry keeps its source row.
    assert all(e.label == "rogue" for e in parsed.entries)
    assert "<li>" in parsed.entries[0].source_row


def test_accredited_workbook_gives_types_and_names():
    parsed = parse_nabp_accredited(_read("nabp-accredited.xlsx"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    by_domain = {e.domain: e for e in parsed.entries}
    assert by_domain["good-neighbour-pharmacy.example"].type == "pharmacy"
    assert by_domain["good-neighbour-pharmacy.example"].name == "Good Neighbour Pharmacy, Inc."
    assert by_domain["petmeds-accredited.example"].type == "veterinary"
    assert by_domain["benefits-rx.example"].type == "pbm"
    assert by_domain["drug-facts-resource.example"].type == "resource"
    assert {"mailorder-one.example", "mailorder-one.pharmacy"} <= set(by_domain)
    assert parsed.snapshot_date == date(2023, 2, 14)


def test_fda_table_gives_every_domain_a_letter_names():
    parsed = parse_fda_warning_letters(_read("fda-warning-letters.html"), "text/html", "https://www.fda.gov/x")
    assert [e.domain for e in parsed.entries] == ["generic-tabs-online.example", "rx-express-24.example",
                                                  "meds-without-script.example"]
    assert parsed.snapshot_date == date(2024, 9, 18)
    assert "09/12/2024" in parsed.entries[0].source_row


def test_a_file_with_several_lists_loads_one_at_a_time():
    body = (b"domain,label,source\n"
            b"rogue-one.example,rogue,nabp_not_recommended_2024-01-30\n"
            b"both.example,rogue,nabp_not_recommended_2024-01-30;fda_internet_pharmacy_warning_letters\n"
            b"vet.example,legit,nabp_accredited_2023-02;type=Veterinary Pharmacy\n"
            b"fda-only.example,rogue,fda_internet_pharmacy_warning_letters\n"
            b"not a domain,rogue,nabp_not_recommended_2024-01-30\n")
    rogue = parse_file("nabp_not_recommended", body, "dev.csv")
    assert [e.domain for e in rogue.entries] == ["rogue-one.example", "both.example"]
    assert rogue.snapshot_date == date(2024, 1, 30) and rogue.skipped_other == 2 and rogue.skipped_invalid == 1
    accredited = parse_file("nabp_accredited", body, "dev.csv")
    assert [(e.domain, e.type, e.label) for e in accredited.entries] == [("vet.example", "veterinary", "legit")]
    assert accredited.snapshot_date == date(2023, 2, 1)
    assert [e.domain for e in parse_file("fda_warning_letters", body, "dev.csv").entries] == ["both.example", "fda-only.example"]


def test_user_lists_need_labels():
    assert [e.label for e in parse_file("user:mine", b"domain,label\na.example,rogue\nb.example,legit\n", "f").entries] == ["rogue", "legit"]
    with pytest.raises(ListFileError, match="line 2: label must be rogue or legit"):
        parse_file("user:mine", b"domain,label\na.example,bad\n", "f")
    with pytest.raises(ListFileError, match="needs --label"):
        parse_file("user:mine", b"a.example\nb.example\n", "f")
    assert len(parse_file("user:mine", b"# mine\na.example\nb.example\n", "f", label="rogue").entries) == 2
    with pytest.raises(ListFileError, match="unknown list 'nabp'"):
        parse_file("nabp", b"", "f")
    with pytest.raises(ListFileError, match="not UTF-8"):
        parse_file("user:mine", "domain,label\ná.example,rogue\n".encode("latin-1"), "f")
    with pytest.raises(ListFileError, match="not a readable Excel workbook"):
        parse_file("nabp_accredited", b"PK\x03\x04 broken", "f.xlsx")


@pytest.mark.parametrize("text,expected", [
    ("Https://WWW.Example.com/shop?x=1", "example.com"),
    ("shop.example.co.uk:8443", "shop.example.co.uk"),
    ("apotek-prisværdig.dk", "xn--apotek-prisvrdig-5ob.dk"),
    ("example.com.", "example.com"),
    ("not a domain", None), ("192.168.1.1", None), ("localhost", None), ("-bad-.com", None),
])
def test_one_spelling_for_list_domains(text, expected):
    assert normalise_list_domain(text) == expected


# ---- the store and the index ---------------------------------------------------------------------------------

def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_loading_again_replaces_the_list_whole(database_url):
    store = ListStore(Database(database_url))
    first = parse_file("nabp_not_recommended", b"domain\nold-one.example\nold-two.example\n", "a")
    store.replace("nabp_not_recommended", first, origin="a", method="import", content=b"a")
    second = parse_file("nabp_not_recommended", b"domain\nnew-one.example\n", "b")
    info = store.replace("nabp_not_recommended", second, origin="b", method="import", content=b"b")
    assert info.entry_count == 1 and [i.source for i in store.lists()] == ["nabp_not_recommended"]
    assert [e.domain for _, e in store.entries()] == ["new-one.example"]
    with pytest.raises(ListFileError, match="the list in the store is unchanged"):
        store.replace("nabp_not_recommended", parse_file("nabp_not_recommended", b"domain\n", "c"),
                      origin="c", method="import", content=b"")
    assert [e.domain for _, e in store.entries()] == ["new-one.example"]
    assert store.remove("nabp_not_recommended") and not store.lists() and not list(store.entries())


def test_the_index_sees_what_another_process_loads(database_url):
    reader = ListIndex(ListStore(Database(database_url)), refresh_interval=0)
    reader.refresh(force=True)
    assert reader.stored_lists == ()
    # Another process (its own engine) loads a list; the reader's next refresh finds the change.
    writer = ListStore(Database(database_url))
    writer.replace("nabp_not_recommended", parse_file("nabp_not_recommended", b"domain\nlisted.example\n", "w"),
                   origin="w", method="import", content=b"w")
    assert reader.refresh_due() and reader.refresh()
    matches, consulted = reader.match([("shop.listed.example", "address")])
    assert [m.matched_on for m in matches] == ["registrable domain"] and len(consulted.lists) == 1
    assert not reader.refresh()  # nothing changed since


def _index(*lists: tuple[str, str, list[ListEntry]], snapshot: date | None = None, fresh: int | None = 30) -> ListIndex:
    index = ListIndex()
    from app.lists.index import build_snapshot

    infos = [ListInfo(i, source, title, "mixed", "test", "import", datetime.now(timezone.utc), snapshot, fresh, len(entries))
             for i, (source, title, entries) in enumerate(lists, start=1)]
    index._snapshot = build_snapshot(infos, [(info.id, e) for info, (_, _, es) in zip(infos, lists) for e in es])
    return index


def test_a_redirect_target_on_a_list_is_a_match():
    index = _index(("nabp_not_recommended", "NABP Not Recommended sites", [ListEntry("landing-rx.example", "rogue")]))
    matches, _ = index.match([("clean-front.example", "address"), ("landing-rx.example", "redirect")])
    assert [(m.entry.domain, m.matched_on) for m in matches] == [("landing-rx.example", "redirect")]
    # Leave-one-site-out: the site's own entries are counted, never reported.
    matches, consulted = index.match([("landing-rx.example", "address")], leave_out_own=True)
    assert matches == [] and consulted.left_out_own_entries == 1


# ---- the check ---------------------------------------------------------------------------------------------

def _outcomes(index: ListIndex, url: str, rules) -> dict:
    site = site_from_pages(url, [parse_page("<p>Online pharmacy</p>", url)], lists=index)
    return {o.outcome: o for o in lists_check.CHECK.run(site, rules.config_for("lists"))}


def test_check_outcomes(rules):
    today = date.today()
    index = _index(
        ("nabp_not_recommended", "NABP Not Recommended sites", [ListEntry("rogue-rx.example", "rogue")]),
        ("nabp_accredited", "NABP accredited websites", [ListEntry("good-rx.example", "legit", "pharmacy", "Good Rx Inc"),
                                                         ListEntry("facts.example", "legit", "resource")]),
        ("user:mine", "your list mine", [ListEntry("friend.example", "legit")]),
        snapshot=today - timedelta(days=3),
    )
    rogue = _outcomes(index, "https://www.rogue-rx.example/buy", rules)["listed-rogue"]
    assert f"as of {(today - timedelta(days=3)).isoformat()}" in rogue.evidence[0].snippet
    assert "NABP Not Recommended sites" in rogue.evidence[0].snippet
    accredited = _outcomes(index, "https://good-rx.example/", rules)
    assert "listed-accredited" in accredited and "as pharmacy" in accredited["listed-accredited"].evidence[0].snippet
    assert "listed-accredited-other-type" in _outcomes(index, "https://facts.example/", rules)
    assert "listed-legit" in _outcomes(index, "https://friend.example/", rules)
    quiet = _outcomes(index, "https://elsewhere.example/", rules)
    assert set(quiet) == {"not-listed"} and "NABP Not Recommended sites" in quiet["not-listed"].evidence[0].snippet
    assert set(_outcomes(ListIndex(), "https://elsewhere.example/", rules)) == {"no-lists"}


def test_an_old_list_is_reported_as_stale(rules):
    index = _index(("nabp_not_recommended", "NABP Not Recommended sites", [ListEntry("rogue-rx.example", "rogue")]),
                   snapshot=date(2024, 1, 30), fresh=30)
    got = _outcomes(index, "https://rogue-rx.example/", rules)
    assert "older than the list stays current" in got["listed-rogue"].evidence[0].snippet
    assert "days old" in got["list-stale"].evidence[0].snippet


def test_listed_rogue_forces_the_verdict_and_accredited_vouches(rules):
    from app.pipeline import judge_site

    index = _index(("nabp_not_recommended", "NABP Not Recommended sites", [ListEntry("rogue-rx.example", "rogue")]),
                   ("nabp_accredited", "NABP accredited websites", [ListEntry("good-rx.example", "legit", "pharmacy")]),
                   snapshot=date.today())
    page = "<p>Online pharmacy. Prescription required: upload your prescription and our pharmacist verifies it.</p>"
    rogue = judge_site(rules, site_from_pages("https://rogue-rx.example/", [parse_page(page, "https://rogue-rx.example/")], lists=index))
    assert rogue.verdict == "likely_rogue" and rogue.verdict_rule == "forced-rogue"
    good = judge_site(rules, site_from_pages("https://good-rx.example/", [parse_page(page, "https://good-rx.example/")], lists=index))
    assert "lists.listed-accredited" in {f.id for f in good.findings} and good.verdict != "likely_rogue"


# ---- the commands --------------------------------------------------------------------------------------------

def test_import_status_show_and_remove(tmp_path, capsys):
    data = str(tmp_path / "data")
    dev = _csv(tmp_path, "dev.csv", "domain,label,source\nrogue-one.example,rogue,nabp_not_recommended_2024-01-30\n"
                                    "vet.example,legit,nabp_accredited_2023-02;type=Veterinary Pharmacy\n")
    assert main(["lists", "import", "nabp_not_recommended", str(dev), "--data-dir", data]) == 0
    assert main(["lists", "import", "nabp_accredited", str(dev), "--data-dir", data]) == 0
    out = capsys.readouterr().out
    assert "nabp_not_recommended: 1 domains, as of 2024-01-30" in out and "1 rows of other lists skipped" in out
    assert main(["lists", "status", "--json", "--data-dir", data]) == 0
    status = json.loads(capsys.readouterr().out)
    assert {l["source"]: l["stale"] for l in status["lists"]} == {"nabp_accredited": True, "nabp_not_recommended": True}
    assert main(["lists", "status", "--data-dir", data]) == 0
    assert "STALE" in capsys.readouterr().out
    assert main(["lists", "show", "https://www.vet.example/", "--data-dir", data]) == 0
    assert "legit as veterinary on nabp_accredited" in capsys.readouterr().out
    assert main(["lists", "remove", "nabp_accredited", "--data-dir", data]) == 0
    assert main(["lists", "remove", "nabp_accredited", "--data-dir", data]) == 2


@pytest.mark.parametrize("args,message", [
    (["lists", "import", "nabp", "FILE"], "unknown list 'nabp'"),
    (["lists", "import", "user:mine", "MISSING"], "cannot read file"),
    (["lists", "import", "user:mine", "BAD"], "label must be rogue or legit"),
    (["lists", "import", "nabp_not_recommended", "EMPTY"], "no entries for nabp_not_recommended"),
    (["lists", "update", "nabp"], "unknown source 'nabp'"),
    (["lists", "update", "--from", "https://x.example/"], "name exactly one SOURCE"),
])
def test_bad_files_and_sources_are_one_line_errors_and_lose_nothing(tmp_path, capsys, args, message):
    data = str(tmp_path / "data")
    good = _csv(tmp_path, "good.csv", "domain,label\nkept.example,rogue\n")
    assert main(["lists", "import", "user:mine", str(good), "--data-dir", data]) == 0
    files = {"FILE": str(good), "MISSING": str(tmp_path / "missing.csv"),
             "BAD": str(_csv(tmp_path, "bad.csv", "domain,label\nx.example,maybe\n")),
             "EMPTY": str(_csv(tmp_path, "empty.csv", "domain\n"))}
    capsys.readouterr()
    assert main([files.get(a, a) for a in args] + ["--data-dir", data]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in err[0]
    assert main(["lists", "show", "kept.example", "--data-dir", data]) == 0
    assert "kept.example: rogue on user:mine" in capsys.readouterr().out


class _ListServer:
    """The published lists on loopback HTTPS, as a fixture host (the same --resolve/--cacert a user would use)."""

    HOST = "lists-source.test"

    def __init__(self, tmp: Path):
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(tmp / "ca.pem"))
        self.ca_path = tmp / "ca.pem"
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(self.HOST).configure_cert(ctx)
        files = {"/not-recommended-sites/": ("nabp-not-recommended.html", "text/html; charset=UTF-8"),
                 "/buy-safely/": ("buy-safely.html", "text/html; charset=UTF-8"),
                 "/wp-content/uploads/2023/02/Accredited-Websites.xlsx": (
                     "nabp-accredited.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                 "/warning-letters": ("fda-warning-letters.html", "text/html; charset=utf-8")}

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                name, ctype = files.get(self.path, (None, "text/html"))
                body = (SOURCES / name).read_bytes() if name else b"<html>gone</html>"
                self.send_response(200 if name else 404)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"https://{self.HOST}:{self.port}{path}"

    def args(self) -> list[str]:
        return ["--cacert", str(self.ca_path), "--allow-port", str(self.port),
                "--resolve", f"{self.HOST}:{self.port}:127.0.0.1"]


@pytest.fixture
def list_server(tmp_path):
    server = _ListServer(tmp_path)
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_update_downloads_through_the_fetcher(list_server, tmp_path, capsys):
    data = str(tmp_path / "data")
    for source, path in (("nabp_not_recommended", "/not-recommended-sites/"), ("nabp_accredited", "/buy-safely/"),
                         ("fda_warning_letters", "/warning-letters")):
        assert main(["lists", "update", source, "--from", list_server.url(path), "--data-dir", data, *list_server.args()]) == 0
    out = capsys.readouterr().out
    assert "nabp_not_recommended: 7 domains, as of 2024-01-30" in out
    assert "nabp_accredited: 6 domains, as of 2023-02-14, from https://lists-source.test" in out and "Accredited-Websites.xlsx" in out
    assert "fda_warning_letters: 3 domains, as of 2024-09-18" in out
    # A source that fails is reported and keeps what was loaded.
    assert main(["lists", "update", "nabp_not_recommended", "--from", list_server.url("/gone"), "--data-dir", data,
                 *list_server.args()]) == 2
    assert "HTTP status 404" in capsys.readouterr().err
    assert main(["lists", "status", "--json", "--data-dir", data]) == 0
    assert {l["source"]: l["entries"] for l in json.loads(capsys.readouterr().out)["lists"]}["nabp_not_recommended"] == 7


def test_update_refuses_private_addresses_like_every_fetch(tmp_path, capsys):
    assert main(["lists", "update", "nabp_not_recommended", "--from", "https://127.0.0.1/", "--data-dir", str(tmp_path)]) == 2
    assert "could not download" in capsys.readouterr().err


def test_a_check_through_the_service_cites_the_stored_list(sites, tmp_path, capsys):
    data = str(tmp_path / "data")
    listing = _csv(tmp_path, "mine.csv", "domain,label\nrogue-store.test,rogue\n")
    assert main(["lists", "import", "user:watch", str(listing), "--data-dir", data]) == 0
    capsys.readouterr()
    main(["check", sites.url("rogue-store.test"), "--json", "--data-dir", data, *sites.cli_args()])
    report = json.loads(capsys.readouterr().out)
    listed = next(f for f in report["findings"] if f["id"] == "lists.listed-rogue")
    assert "your list watch" in listed["evidence"][0]["snippet"] and report["verdict"] == "likely_rogue"


def test_the_service_works_with_no_list_loaded(sites):
    async def run():
        async with Checker(sites.settings()) as checker:
            return await checker.check(sites.url("us-pharmacy.test"))

    report = asyncio.run(run())
    assert "lists.no-lists" in {f.id for f in report.findings}


# ---- one fixture per outcome ---------------------------------------------------------------------------------

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "lists"


def _fixture_index(kind: str) -> ListIndex:
    from app.lists.index import build_snapshot

    if kind == "none":
        return ListIndex()
    body = (FIXTURE_DIR / "lists.csv").read_bytes()
    today = date.today()
    snapshot = today - timedelta(days=400) if kind == "stale" else today - timedelta(days=2)
    infos, entries = [], []
    for i, source in enumerate(("nabp_not_recommended", "nabp_accredited"), start=1):
        infos.append(ListInfo(i, source, source, "mixed", "lists.csv", "import", datetime.now(timezone.utc), snapshot, 30, 0))
        entries += [(i, ListEntry(e.domain, e.label, e.type)) for e in parse_file(source, body, "lists.csv").entries]
    infos.append(ListInfo(3, "user:mine", "your list mine", "legit", "mine", "import", datetime.now(timezone.utc), None, None, 1))
    entries.append((3, ListEntry("friendly-rx.example", "legit")))
    index = ListIndex()
    index._snapshot = build_snapshot(infos, entries)
    return index


@pytest.mark.parametrize("path", sorted(FIXTURE_DIR.glob("*.html")), ids=lambda p: p.stem)
def test_each_fixture_gives_its_outcome(path, rules):
    from bs4 import BeautifulSoup

    html = path.read_text(encoding="utf-8")
    soup = BeautifulSoup(html, "lxml")
    url = soup.find("meta", attrs={"name": "fixture-url"})["content"]
    kind = soup.find("meta", attrs={"name": "lists"})["content"]
    assert path.stem in _outcomes(_fixture_index(kind), url, rules)
