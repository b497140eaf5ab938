"""The identity graph: fixture sites that share an operator's accounts, a copied registration number, links to a
listed rogue site; the frequency rule that keeps common facts from linking unrelated sites; `pharmacheck graph`."""

from __future__ import annotations

import asyncio
import json

import pytest
from pathlib import Path

from app.cli import main
from app.graph import Fact, GraphStore, Neighbour, describe
from app.lists.index import ListIndex
from app.page import parse_page
from app.pipeline import site_from_pages
from app.service import open_checker
from app.store import Database
from checks import graph as graph_check


def _check_all(settings, urls):
    async def run():
        async with open_checker(settings) as checker:
            return [await checker.check(u) for u in urls]  # one after another: each sees the ones before
    return asyncio.run(run())


@pytest.fixture
def data(tmp_path, capsys):
    folder = tmp_path / "data"
    lists = tmp_path / "lists"
    lists.mkdir()
    (lists / "rogue.csv").write_text("domain,label\nnetwork-rx-one.test,rogue\n", encoding="utf-8")
    (lists / "accredited.csv").write_text("domain,label,source\nreal-chemist.test,legit,nabp_accredited_2026-11;type=Pharmacy\n",
                                          encoding="utf-8")
    assert main(["lists", "import", "user:watch", str(lists / "rogue.csv"), "--data-dir", str(folder)]) == 0
    assert main(["lists", "import", "nabp_accredited", str(lists / "accredited.csv"), "--data-dir", str(folder)]) == 0
    capsys.readouterr()
    return folder


def _ids(report) -> set[str]:
    return {f.id for f in report.findings}


def test_a_site_sharing_an_operator_account_with_a_listed_rogue_site(sites, data):
    settings = sites.settings().with_data_dir(str(data))
    one, two = _check_all(settings, [sites.url("network-rx-one.test"), sites.url("network-rx-two.test")])
    assert one.verdict == "likely_rogue"
    shared = next(f for f in two.findings if f.id == "graph.shares-operator-id-with-rogue")
    text = " ".join(e.snippet for e in shared.evidence)
    assert "network-rx-one.test" in text and "ga:UA-7700123" in text and "orders@pill-helpdesk.example" in text
    links = next(f for f in two.findings if f.id == "graph.links-to-rogue")
    assert "network-rx-one.test" in links.evidence[0].snippet
    # The other direction: the listed site now has the unlisted one as a neighbour, which is not rogue itself.
    (again,) = _check_all(settings, [sites.url("network-rx-one.test")])
    assert not {i for i in _ids(again) if i.startswith("graph.")}


def test_a_copied_registration_number_and_address_is_a_borrowed_identity(sites, data):
    settings = sites.settings().with_data_dir(str(data))
    real, borrowed = _check_all(settings, [sites.url("real-chemist.test"), sites.url("borrowed-chemist.test")])
    assert "lists.listed-accredited" in _ids(real) and "graph.borrowed-identity" not in _ids(real)
    finding = next(f for f in borrowed.findings if f.id == "graph.borrowed-identity")
    text = " ".join(e.snippet for e in finding.evidence)
    assert "real-chemist.test" in text and "1112233" in text
    # Checking the real pharmacy again after the copy: it is accredited, so sharing is not borrowing.
    (real_again,) = _check_all(settings, [sites.url("real-chemist.test")])
    assert "graph.borrowed-identity" not in _ids(real_again) and real_again.verdict != "likely_rogue"


def test_graph_command_shows_neighbours_and_shared_facts(sites, data, capsys):
    settings = sites.settings().with_data_dir(str(data))
    _check_all(settings, [sites.url("network-rx-one.test"), sites.url("network-rx-two.test")])
    assert main(["graph", "network-rx-two.test", "--json", "--data-dir", str(data)]) == 0
    out = json.loads(capsys.readouterr().out)
    neighbour = next(n for n in out["neighbours"] if n["domain"] == "network-rx-one.test")
    assert neighbour["status"] == "rogue-listed" and neighbour["linked_to"]
    assert {s["kind"] for s in neighbour["shared"]} >= {"tracking", "email"}
    assert main(["graph", "network-rx-two.test", "--data-dir", str(data)]) == 0
    text = capsys.readouterr().out
    assert "neighbour network-rx-one.test [rogue-listed" in text and "shares tracking ga:UA-7700123" in text
    assert main(["graph", "never-checked.example", "--data-dir", str(data)]) == 2


def test_a_fact_many_sites_hold_links_nobody(database_url, rules):
    graph = GraphStore(Database(database_url))
    processor_phone = Fact("phone", "+18005550100", "", "Payments by CardProcessor: +1 800 555 0100")
    for i in range(12):
        graph.record(f"shop{i}.example", f"https://shop{i}.example/", "likely_rogue", False, [processor_phone])
    graph.record("rare-mate.example", "https://rare-mate.example/", "likely_rogue", False,
                 [processor_phone, Fact("tracking", "ga:UA-424242", "", "UA-424242")])

    class Site:
        domain = "newcomer.example"

    context = graph.context(Site(), [processor_phone, Fact("tracking", "ga:UA-424242")], ListIndex())
    url = "https://newcomer.example/"
    site = site_from_pages(url, [parse_page("<p>pharmacy</p>", url)])
    site.identity = context
    outcomes = {o.outcome: o for o in graph_check.CHECK.run(site, rules.config_for("graph"))}
    # The processor's phone is on 13 sites: common, so it ties the newcomer to none of them ...
    assert all("+18005550100" not in e.snippet for o in outcomes.values() for e in o.evidence)
    # ... while the rare analytics account ties it to the one site that has it (judged likely rogue on its own).
    assert outcomes["shares-operator-id-with-rogue"].facts["sites"] == ["rare-mate.example"]


def test_an_accusation_made_by_the_graph_does_not_spread(database_url):
    graph = GraphStore(Database(database_url))
    graph.record("accused-by-graph.example", "https://accused-by-graph.example/", "likely_rogue", True, [])
    neighbour = Neighbour("accused-by-graph.example", "other")
    describe(neighbour, ListIndex(), graph.verdicts(["accused-by-graph.example"])["accused-by-graph.example"])
    assert neighbour.status == "other" and not neighbour.rogue


FIXTURES = Path(__file__).parent / "fixtures" / "graph"


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_each_fixture_gives_its_outcome(path, rules, tmp_path):
    """A neighbourhood in the store (other sites' facts and verdicts, list entries) and the page judged in it."""
    from app.lists.index import build_snapshot
    from app.lists.model import ListEntry, ListInfo
    from app.pipeline import identify_site
    from datetime import datetime, timezone

    spec = json.loads(path.read_text(encoding="utf-8"))
    repo = Path(__file__).resolve().parent.parent
    html = (repo / spec["template_of"]).read_text(encoding="utf-8") if "template_of" in spec else spec["html"]
    page = parse_page(html, spec["url"])
    graph = GraphStore(Database(f"sqlite:///{tmp_path}/graph.db"))
    for other in spec["others"]:
        facts = [Fact(k, page.template_fingerprint if v == "TEMPLATE" else v) for k, v in other["facts"]]
        graph.record(other["domain"], f"https://{other['domain']}/", other["verdict"], False, facts)
    sources = sorted({row[0] for row in spec["lists"]})
    infos = [ListInfo(i, s, s, "mixed", "fixture", "import", datetime.now(timezone.utc), None, None, 1)
             for i, s in enumerate(sources, start=1)]
    entries = [(sources.index(row[0]) + 1, ListEntry(row[1], row[2], row[3] if len(row) > 3 else "")) for row in spec["lists"]]
    index = ListIndex()
    index._snapshot = build_snapshot(infos, entries)
    site = site_from_pages(spec["url"], [page], lists=index)
    site.identity = graph.context(site, identify_site(rules, site), index)
    assert path.stem in {o.outcome for o in graph_check.CHECK.run(site, rules.config_for("graph"))}
