"""The analysis on real, labelled data (../shared/data), when it is present.

The page texts in pages-dev are judged one page at a time at their original URL; the NABP domain list is judged
on the address alone. The numbers asserted here are the targets the project is held to; the full tables are
printed by bench/dev_pages_report.py and recorded in docs/accuracy.md.
"""

from __future__ import annotations

import csv
from collections import Counter

import pytest

from app.domains import split_host
from app.page import page_from_text, parse_page
from app.pipeline import judge_site, site_from_pages
from checks import accreditation, domain
from tests.conftest import shared_data_or_skip


@pytest.fixture(scope="module")
def dev_pages(rules):
    pages_dir = shared_data_or_skip("pages-dev")
    rows = []
    with (pages_dir / "sources.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            text = (pages_dir / row["file"]).read_text(encoding="utf-8", errors="replace")
            report = judge_site(rules, site_from_pages(row["url"], [page_from_text(text, row["url"])]))
            rows.append((row["file"], row["label"], report))
    return rows


@pytest.fixture(scope="module")
def nabp_domains():
    path = shared_data_or_skip("nabp", "domains-dev.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        return [(r["domain"].strip().lower(), r["label"].strip()) for r in csv.DictReader(handle)]


def test_no_legitimate_page_is_called_rogue(dev_pages):
    accused = [(f, [x.id for x in r.findings if x.points < 0]) for f, label, r in dev_pages if label == "legit" and r.verdict == "likely_rogue"]
    assert not accused


def _html_pages():
    pages_dir = shared_data_or_skip("pages-html")
    with (pages_dir / "sources.csv").open(newline="", encoding="utf-8") as handle:
        return [(pages_dir / row["file"], row["label"]) for row in csv.DictReader(handle)]


def test_real_html_pages_of_legitimate_pharmacies_are_neither_rogue_nor_not_a_pharmacy(rules):
    # Full saved pages (markup and scripts), all of NABP-accredited sites; walmart.com's home page is a script-built
    # retail page that names no medicine in its text.
    judged = []
    for path, label in _html_pages():
        assert label == "legit", path.name
        url = f"https://www.{path.name.split('__')[1]}/"
        report = judge_site(rules, site_from_pages(url, [parse_page(path.read_bytes(), url)]))
        judged.append((path.name, report.verdict))
    assert judged
    assert not [(name, v) for name, v in judged if v in ("likely_rogue", "not_a_pharmacy")], judged


def test_rogue_pages_are_caught_and_rarely_passed(dev_pages):
    verdicts = Counter(r.verdict for _, label, r in dev_pages if label == "rogue")
    total = sum(verdicts.values())
    assert verdicts["likely_rogue"] / total >= 0.60, verdicts
    assert verdicts["likely_legitimate"] / total <= 0.05, verdicts


def _domain_red_flags(rules, host: str):
    site = site_from_pages(f"https://{host}/", [])
    config = rules.config_for("domain")
    return [o for o in domain.CHECK.run(site, config) if rules.outcome_rule("domain", o.outcome).points < 0]


def test_domain_red_flags_on_the_nabp_lists(rules, nabp_domains):
    flagged = Counter()
    totals = Counter()
    serious_on_legit = []
    for host, label in nabp_domains:
        totals[label] += 1
        flags = _domain_red_flags(rules, host)
        if flags:
            flagged[label] += 1
        if label == "legit":
            serious_on_legit += [(host, o.outcome) for o in flags if rules.outcome_rule("domain", o.outcome).severity in ("high", "critical")]
    assert not serious_on_legit
    assert flagged["legit"] / totals["legit"] <= 0.005, flagged
    assert flagged["rogue"] / totals["rogue"] >= 0.30, flagged


def test_no_legitimate_domain_is_called_rogue_on_its_address_alone(rules, nabp_domains):
    for host, label in nabp_domains:
        if label == "legit":
            assert judge_site(rules, site_from_pages(f"https://{host}/", [])).verdict != "likely_rogue", host


def test_every_legitimate_dot_pharmacy_domain_gets_the_positive(rules, nabp_domains):
    config = rules.config_for("accreditation")
    dot_pharmacy = [h for h, label in nabp_domains if label == "legit" and split_host(h)[2] == "pharmacy"]
    assert dot_pharmacy
    missing = [
        h for h in dot_pharmacy
        if "pharmacy-tld" not in {o.outcome for o in accreditation.CHECK.run(site_from_pages(f"https://{h}/", []), config)}
    ]
    assert not missing
