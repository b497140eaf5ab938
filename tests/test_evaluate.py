"""`pharmacheck eval`: labels, the rank-formula AUC, the measures, and the tools that build evaluation sets."""

from __future__ import annotations

import asyncio
import csv
import json
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.cli import main
from app.evaluate import LabelledSite, LabelsError, evaluate, miss_kind, read_labels, roc_auc
from app.service import open_checker
from app.settings import Settings
from tools import domains_to_labels, pages_to_warc


def pairwise_auc(legit, rogue):
    """The definition: the share of (legit, rogue) pairs ordered correctly, ties counting one half."""
    wins = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a, b in product(legit, rogue))
    return wins / (len(legit) * len(rogue))


def test_auc_separates_perfectly_and_inverts():
    assert roc_auc([80, 90, 70], [10, 20]) == 1.0
    assert roc_auc([10, 20], [80, 90, 70]) == 0.0


def test_auc_ties_count_one_half():
    assert roc_auc([50, 50], [50, 50, 50]) == 0.5
    # Pairs: (3,2) (3,1) right, (2,2) twice a tie, (2,1) twice right: 5 of 6.
    assert roc_auc([3, 2, 2], [2, 1]) == pytest.approx(5 / 6)


def test_auc_is_undefined_without_both_labels():
    assert roc_auc([], [1, 2]) is None
    assert roc_auc([1, 2], []) is None


@given(st.lists(st.integers(0, 10), min_size=1, max_size=30), st.lists(st.integers(0, 10), min_size=1, max_size=30))
def test_auc_rank_formula_matches_the_pairwise_definition(legit, rogue):
    assert roc_auc(legit, rogue) == pytest.approx(pairwise_auc(legit, rogue))


def test_miss_kinds():
    assert miss_kind("legit", "likely_rogue") == "false_accusation"
    assert miss_kind("rogue", "likely_legitimate") == "rogue_passed"
    assert miss_kind("rogue", "caution") == "rogue_not_caught"
    assert miss_kind("legit", "unknown") == "legit_not_recognised"
    assert miss_kind("legit", "likely_legitimate") is None and miss_kind("rogue", "likely_rogue") is None


def test_labels_file_is_checked(tmp_path):
    good = tmp_path / "labels.csv"
    good.write_text("URL,Label\nhttps://a.example/,legit\nhttps://b.example/, Rogue \n\nhttps://a.example/,legit\n")
    assert read_labels(good) == [LabelledSite("https://a.example/", "legit", 2), LabelledSite("https://b.example/", "rogue", 3)]
    bad_label = tmp_path / "bad.csv"
    bad_label.write_text("url,label\nhttps://a.example/,maybe\n")
    with pytest.raises(LabelsError, match="line 2: label must be legit or rogue"):
        read_labels(bad_label)
    no_header = tmp_path / "noheader.csv"
    no_header.write_text("https://a.example/,legit\n")
    with pytest.raises(LabelsError, match="columns url,label"):
        read_labels(no_header)
    with pytest.raises(LabelsError, match="cannot read"):
        read_labels(tmp_path / "missing.csv")


@pytest.fixture()
def tiny_set(sites, tmp_path):
    """A recorded archive of both fixture sites and labels: both as they are, plus one site not in the archive."""
    warc = tmp_path / "tiny.warc.gz"

    async def record():
        async with open_checker(sites.settings(record_path=str(warc))) as checker:
            return {h: await checker.check(sites.url(h)) for h in ("good-pharmacy.test", "rogue-store.test")}

    live = asyncio.run(record())
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "url,label\n"
        f"{sites.url('good-pharmacy.test')},legit\n"
        f"{sites.url('rogue-store.test')},rogue\n"
        f"https://absent-pharmacy.test:{sites.port}/,legit\n"
    )
    return warc, labels, live


def test_eval_measures_a_tiny_labelled_set(sites, tiny_set):
    warc, labels, live = tiny_set
    good, rogue = live["good-pharmacy.test"], live["rogue-store.test"]
    assert rogue.verdict == "likely_rogue" and good.verdict != "likely_rogue" and good.score > rogue.score
    settings = Settings(replay_paths=(str(warc),), allowed_ports=(80, 443, sites.port))
    summary = asyncio.run(evaluate(settings, read_labels(labels), concurrency=2)).summary()

    assert summary["sites"] == 3
    assert summary["verdicts"]["legit"][good.verdict] == 1 and summary["verdicts"]["legit"]["unknown"] == 1
    assert summary["verdicts"]["rogue"]["likely_rogue"] == 1
    assert summary["false_accusations"] == {"count": 0, "of": 2, "rate": 0.0}
    assert summary["rogue_caught"] == {"count": 1, "of": 1, "rate": 1.0}
    assert summary["rogue_passed"]["count"] == 0
    # The absent site has no score and is left out of the AUC, which is said.
    assert summary["roc_auc"]["value"] == 1.0
    assert (summary["roc_auc"]["legit_scored"], summary["roc_auc"]["rogue_scored"], summary["roc_auc"]["unscored_left_out"]) == (1, 1, 1)
    unrecognised = summary["misses"]["legit_not_recognised"]["sites"]
    absent = next(m for m in unrecognised if "absent-pharmacy" in m["url"])
    assert absent["page_errors"] == ["not_in_archive"]
    assert summary["findings"]["prescription.no-prescription-offer"]["rogue"] == 1


def test_eval_cli_lists_a_false_accusation_with_its_findings(sites, tiny_set, tmp_path, capsys):
    warc, _, live = tiny_set
    mislabelled = tmp_path / "mislabelled.csv"
    mislabelled.write_text(f"url,label\n{sites.url('rogue-store.test')},legit\n")
    args = ["eval", str(mislabelled), "--replay", str(warc), "--allow-port", str(sites.port)]
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["false_accusations"]["count"] == 1
    accused = summary["misses"]["false_accusation"]["sites"][0]
    decided = [f["id"] for f in accused["findings"]]
    critical = [f.id for f in live["rogue-store.test"].findings if f.severity == "critical"]
    assert decided and set(critical) <= set(decided)

    assert main([*args, "--max-false-accusations", "0"]) == 1
    captured = capsys.readouterr()
    assert "false accusations (legit called likely_rogue): 1 of 1 (100.0%)" in captured.out
    assert f"{sites.url('rogue-store.test')}  [legit -> likely_rogue" in captured.out
    assert "1 legit sites called likely_rogue" in captured.err


def test_eval_cli_rejects_bad_labels(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("url,label\nhttps://a.example/,unsure\n")
    assert main(["eval", str(bad)]) == 2
    assert "label must be legit or rogue" in capsys.readouterr().err
    assert main(["eval", str(bad), "--show-misses", "-1"]) == 2
    assert "must be 0 or more" in capsys.readouterr().err


def test_pages_to_warc_builds_a_replayable_set(tmp_path, capsys):
    data = tmp_path / "data"
    pages = data / "pages-dev"
    pages.mkdir(parents=True)
    (pages / "rogue__pills.example__buy.txt").write_text(
        "Buy Xanax online without a prescription\nNo prescription needed, discreet overnight shipping\n")
    (pages / "legit__chain.example__faq.txt").write_text(
        "Pharmacy FAQ\nWe dispense only against a valid prescription <b>.\nCall us on +44 117 496 0123.\n")
    with open(pages / "sources.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "label", "url", "how_labeled", "notes"])
        writer.writerow(["rogue__pills.example__buy.txt", "rogue", "https://pills.example/buy", "", ""])
        writer.writerow(["legit__chain.example__faq.txt", "legit", "https://www.chain.example/faq", "", ""])
    out = tmp_path / "out"
    assert pages_to_warc.main(["--data", str(data), "--out", str(out)]) == 0
    assert "2 pages" in capsys.readouterr().out
    assert main(["eval", str(out / "pages-dev-labels.csv"), "--replay", str(out / "pages-dev.warc.gz"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["sites"] == 2 and summary["verdicts"]["legit"]["error"] == 0
    # Both pages were found in the archive (only pages the texts do not cover, such as a home page, are missing).
    assert summary["verdicts"]["legit"]["unknown"] == 0 and summary["verdicts"]["rogue"]["unknown"] == 0
    assert summary["rogue_caught"]["count"] == 1 and summary["false_accusations"]["count"] == 0


def test_domains_to_labels_gives_home_pages_and_an_empty_archive(tmp_path, capsys):
    data = tmp_path / "data"
    (data / "nabp").mkdir(parents=True)
    (data / "nabp" / "domains-dev.csv").write_text("domain,label,source\nchain.pharmacy,legit,x\ncheap-xanax-online.com,rogue,y\n")
    out = tmp_path / "out"
    assert domains_to_labels.main(["--data", str(data), "--out", str(out)]) == 0
    assert "2 domains" in capsys.readouterr().out
    assert (out / "domains-dev-labels.csv").read_text().splitlines() == [
        "url,label", "https://chain.pharmacy/,legit", "https://cheap-xanax-online.com/,rogue"]
    assert main(["eval", str(out / "domains-dev-labels.csv"), "--replay", str(out / "empty.warc.gz"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert sum(summary["verdicts"]["legit"].values()) == 1 and sum(summary["verdicts"]["rogue"].values()) == 1
    assert summary["findings"]["domain.plain-domain"] == {"legit": 1, "rogue": 0}
    for kind in summary["misses"].values():  # judged without a page: nothing was fetched
        assert all(m["page_errors"] == ["not_in_archive"] for m in kind["sites"])


def test_every_check_has_a_kind_of_evidence():
    from app.rules import load_rules
    from checks import ALL_CHECKS

    rules = load_rules()
    unclassified = [f"{c.id}.{o}" for c in ALL_CHECKS for o in c.outcomes
                    if rules.evidence_kind(f"{c.id}.{o}") == "unclassified"]
    assert not unclassified, f"add these to evidence_kinds in rules.yaml: {', '.join(unclassified)}"
    assert rules.evidence_kind("accreditation.pharmacy-tld") == "domain"  # a finding id wins over its check
    assert rules.evidence_kind("accreditation.unbacked-claim") == "page"


def test_the_frozen_split_is_by_registrable_domain():
    from app.evaluate import frozen_half
    import hashlib

    for domain in ("walgreens.com", "canadadrugs.com", "well.co.uk"):
        expected = "tuning" if hashlib.sha256(domain.encode()).digest()[0] % 2 == 0 else "held-out"
        assert frozen_half(domain) == expected
        assert frozen_half(f"https://shop.www.{domain}/faq") == expected


def test_eval_splits_the_halves_and_attributes_what_caught_the_rogue_site(sites, tiny_set, capsys):
    warc, labels, _ = tiny_set
    args = ["eval", str(labels), "--replay", str(warc), "--allow-port", str(sites.port), "--model", "off"]
    assert main([*args, "--json", "--split"]) == 0
    summary = json.loads(capsys.readouterr().out)
    halves = summary["halves"]
    assert halves["tuning"]["sites"] + halves["held-out"]["sites"] == 3
    assert sum(h["rogue_caught"]["count"] for h in halves.values()) == 1
    att = summary["attribution"]
    assert att["caught"] == 1 and att["second_opinion_needed"] == 0 and att["not_replayed"] == 0
    # rogue-store.test offers controlled medicines without a prescription: page evidence alone catches it.
    assert att["by_kind"]["page"]["present"] == 1 and att["by_kind"]["page"]["alone"] == 1
    assert att["by_kind"]["list"] == {"present": 0, "alone": 0, "needed": 0}
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "rogue sites caught (1) by kind of evidence" in out and "frozen-rules split" not in out
    assert main([*args, "--split"]) == 0
    assert "held-out half (no rule changed from it)" in capsys.readouterr().out
