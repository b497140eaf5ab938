"""The learned second opinion: what it reads, that the JSON model computes what scikit-learn computed, what it
may and may not do to a verdict, and how it shows in reports."""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace

import pytest

from app.cli import main
from app.page import page_from_text
from app.pipeline import algorithm_version, judge_site, site_from_pages
from app.rules import RulesError, load_rules
from app.scoring import build_findings, score_findings
from app.second_opinion import (
    FORMAT, ModelError, ModelOpinions, Opinion, OpinionTable, SiteDocument, TextModel, apply_second_opinion,
    domain_terms, explain_term, load_model, word_terms,
)
from app.service import open_checker
from checks.base import Outcome


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def tiny_model_data(**changes) -> dict:
    data = {
        "format": FORMAT, "name": "test-lr", "trained": {}, "intercept": -0.5,
        "analyser": {"word_ngrams": 2, "domain_chars": [3, 4], "stop_words": ["the", "a"]},
        "calibration": {"slope": 2.0, "intercept": 0.0},
        "parts": {
            "text": {"block_weight": 1.0, "terms": ["buy", "no prescription", "prescription"],
                     "idf": [1.0, 2.0, 1.0], "weights": [1.0, 3.0, -2.0]},
            "links": {"block_weight": 0.5, "terms": [], "idf": [], "weights": []},
            "domain": {"block_weight": 1.0, "terms": ["^rx", "tld:com"], "idf": [1.0, 1.0], "weights": [0.4, 0.0]},
        },
    }
    data.update(changes)
    return data


def test_words_drop_stop_words_and_one_letter_words_and_keep_phrases():
    assert word_terms("Buy the pills, NO prescription!", 2, frozenset({"the"})) == [
        "buy", "pills", "no", "prescription", "buy pills", "pills no", "no prescription"]
    assert word_terms("a b 2mg x-ray", 1) == ["mg", "x-ray"]


def test_domain_fragments_mark_the_ends_and_the_suffix():
    terms = domain_terms("RX.com", 3, 3)
    assert terms == ["^rx", "rx.", "x.c", ".co", "com", "om$", "tld:com"]
    assert domain_terms("") == []


def test_the_json_model_computes_its_score_by_hand(rules):
    model = TextModel(tiny_model_data())
    doc = SiteDocument("Buy now: no prescription needed. Buy!", (), "rxshop.com")
    # text: buy x2 -> (1 + ln 2) * 1; "no prescription" -> 1 * 2; "prescription" -> 1 * 1; then L2 norm.
    values = {"buy": 1 + math.log(2), "no prescription": 2.0, "prescription": 1.0}
    norm = math.sqrt(sum(v * v for v in values.values()))
    text = (values["buy"] * 1.0 + values["no prescription"] * 3.0 + values["prescription"] * -2.0) / norm
    domain = (1.0 * 0.4 + 1.0 * 0.0) / math.sqrt(2)  # "^rx" and "tld:com" in the vocabulary, tf 1 each
    raw = -0.5 + text + domain
    assert model.raw_score(doc) == pytest.approx(raw)
    opinion = model.opinion(doc)
    assert opinion.probability == pytest.approx(1 / (1 + math.exp(-2.0 * raw)))
    assert opinion.towards_rogue[0].term == "no prescription"
    assert [c.term for c in opinion.towards_legitimate] == ["prescription"]
    # The address's fragments are one feature, named by what moved it.
    domain_item = next(c for c in opinion.towards_rogue if c.part == "domain")
    assert domain_item.weight == pytest.approx(domain)
    assert explain_term(domain_item.part, domain_item.term) == "the address rxshop.com (most of all “rx”)"


def test_the_model_id_names_the_file_and_bad_files_are_refused(tmp_path):
    assert TextModel(tiny_model_data()).id == TextModel(tiny_model_data()).id
    assert TextModel(tiny_model_data()).id != TextModel(tiny_model_data(intercept=0.1)).id
    with pytest.raises(ModelError, match="not a pharmacheck-linear-text/1 model file"):
        TextModel(tiny_model_data(format="other"))
    broken = tiny_model_data()
    broken["parts"]["text"]["weights"] = [1.0]
    with pytest.raises(ModelError, match="3 terms, 3 idf values and 1 weights"):
        TextModel(broken)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ModelError, match="bad.json: not a JSON model file"):
        load_model(tmp_path / "bad.json")
    with pytest.raises(ModelError, match="cannot read model file"):
        load_model(tmp_path / "missing.json")


def test_the_shipped_model_loads_and_reads_a_page():
    model = load_model()
    assert model.describe()["terms"]["text"] > 100
    site = site_from_pages("https://cheap-pills.example/", [page_from_text(
        "Buy Xanax online without prescription. Cheap pills, discreet overnight shipping, pay with bitcoin.",
        "https://cheap-pills.example/")])
    rogue = ModelOpinions(model).opinion_for(site)
    chain = ModelOpinions(model).opinion_for(site_from_pages("https://www.chain.example/", [page_from_text(
        "Our pharmacists check every prescription. Ask your doctor to send your prescription to our pharmacy; "
        "we bill your insurance and deliver your refills.", "https://www.chain.example/")]))
    assert 0.0 <= chain.probability < rogue.probability <= 1.0
    assert ModelOpinions(model).opinion_for(site_from_pages("https://x.example/", [])) is None


def test_the_exported_model_agrees_with_scikit_learn():
    pytest.importorskip("sklearn")
    from tools.train_model import Example, Fitted, Params, all_terms

    texts = [
        ("Buy cheap Xanax without prescription, bitcoin accepted", 1, "pillsnow.com"),
        ("No prescription needed, discreet shipping worldwide", 1, "rxnoscript.net"),
        ("Order Viagra online, no doctor visit, bonus pills", 1, "bonuspills.com"),
        ("Send us your prescription; our pharmacist checks it", 0, "chainpharmacy.com"),
        ("Refill your prescription and our pharmacists deliver", 0, "healthchain.com"),
        ("Prescription required for every order, licensed pharmacy", 0, "citypharmacy.org"),
    ]
    examples = [Example(SiteDocument(t, ("Home", "Contact us"), d), y, d, "test", f"https://{d}/") for t, y, d in texts]
    examples += [Example(SiteDocument("", (), d), y, d, "list", is_page=False)
                 for d, y in [("cheapmeds.ru", 1), ("goodchain.pharmacy", 0), ("rxdeals.com", 1)]]
    params = Params(min_df=(1, 1, 1), max_rogue_domains=10)
    terms = all_terms(examples, params.spec)
    fitted = Fitted(params, examples, terms)
    model = TextModel(fitted.export((1.0, 0.0), {}))
    sk = fitted.raw_scores(terms[:6])
    for example, expected in zip(examples[:6], sk):
        assert model.raw_score(example.document) == pytest.approx(expected, abs=1e-4)


# ---------------------------------------------------------------------------------------------------------------
# What it may do to a verdict

def findings_for(rules, *ids: str):
    outcomes = [(fid.split(".", 1)[0], Outcome(fid.split(".", 1)[1])) for fid in ids]
    return build_findings(rules, outcomes)


def middle(rules, *ids):
    findings = findings_for(rules, *ids)
    scored = score_findings(rules, findings, fetched_anything=True)
    return findings, scored


def opinion(p: float) -> Opinion:
    return Opinion("test-lr-00000000", p, 0.0, (), ())


def test_a_confident_model_with_a_rule_finding_raises_caution_to_likely_rogue(rules):
    findings, scored = middle(rules, "storefront.sells-medicines", "contact.address-po-box-only", "contact.phone-found",
                              "prescription.mentioned-only", "transport.https-valid")
    assert scored.verdict == "caution" and scored.verdict_rule in rules.data.second_opinion.raises_rogue_from
    raised, out = apply_second_opinion(rules, scored, findings, opinion(0.97))
    assert raised.verdict == "likely_rogue" and raised.verdict_rule == "model-raised-rogue"
    po_box = next(f for f in findings if f.id == "contact.address-po-box-only")
    assert "97%" in raised.verdict_reason and po_box.title.rstrip(".") in raised.verdict_reason
    assert out.applied and out.verdict_before == "caution" and out.probability == 0.97
    assert raised.score == scored.score and raised.summary == rules.data.summaries["likely_rogue"].strip()
    assert any(a.id == "report-rogue" for a in raised.advice)


def test_it_never_accuses_alone_and_never_below_its_threshold(rules):
    findings, scored = middle(rules, "storefront.sells-medicines", "contact.phone-found", "contact.email-found",
                              "prescription.mentioned-only", "transport.https-valid")
    assert scored.verdict == "caution" and not any(f.points < 0 for f in findings)
    kept, out = apply_second_opinion(rules, scored, findings, opinion(0.999))
    assert kept.verdict == "caution" and not out.applied and "never decides alone" in out.note
    findings, scored = middle(rules, "storefront.sells-medicines", "contact.address-po-box-only", "contact.phone-found",
                              "prescription.mentioned-only", "transport.https-valid")
    below = rules.data.second_opinion.rogue_min_probability - 0.01
    kept, out = apply_second_opinion(rules, scored, findings, opinion(below))
    assert kept.verdict == "caution" and not out.applied and "below" in out.note


def test_outside_evidence_vouching_for_a_site_stops_it(rules):
    findings, scored = middle(rules, "storefront.sells-medicines", "accreditation.pharmacy-tld",
                              "contact.address-po-box-only", "prescription.mentioned-only")
    if scored.verdict != "caution":
        scored = replace(scored, verdict="caution", verdict_rule="middle-score")
    kept, out = apply_second_opinion(rules, scored, findings, opinion(0.99))
    assert kept.verdict == "caution" and not out.applied and "outside the site" in out.note


def test_it_never_moves_a_verdict_towards_legitimate(rules):
    findings, scored = middle(rules, "storefront.sells-medicines", "accreditation.pharmacy-tld",
                              "prescription.required-with-verification", "contact.address-street", "contact.phone-found",
                              "pharmacist.pharmacist-available", "transport.https-valid")
    assert scored.verdict == "likely_legitimate"
    for p in (0.0, 0.5, 0.99):
        kept, out = apply_second_opinion(rules, scored, findings, opinion(p))
        assert kept == scored and not out.applied
    rogue_findings, rogue = middle(rules, "storefront.sells-medicines", "prescription.no-prescription-offer")
    assert rogue.verdict == "likely_rogue"
    kept, out = apply_second_opinion(rules, rogue, rogue_findings, opinion(0.0))
    assert kept.verdict == "likely_rogue" and not out.applied


def test_too_little_to_judge_becomes_caution_only_with_a_red_flag(rules):
    findings = findings_for(rules, "storefront.sells-medicines", "domain.sales-pitch-in-domain")
    scored = score_findings(rules, findings, fetched_anything=True)
    assert scored.verdict == "unknown" and scored.verdict_rule == "too-few-areas"
    raised, out = apply_second_opinion(rules, scored, findings, opinion(0.9))
    assert raised.verdict == "caution" and raised.verdict_rule == "model-raised-caution" and out.applied
    assert raised.score is None  # too little was read to give a score, whatever the model says
    quiet = findings_for(rules, "storefront.sells-medicines")
    kept, out = apply_second_opinion(rules, score_findings(rules, quiet, fetched_anything=True), quiet, opinion(0.9))
    assert kept.verdict == "unknown" and not out.applied
    nothing = score_findings(rules, [], fetched_anything=False)
    assert apply_second_opinion(rules, nothing, [], opinion(0.99))[0].verdict == "unknown"


def test_the_rules_file_bounds_the_second_opinion(tmp_path, rules):
    text = (rules.path and open(rules.path, encoding="utf-8").read())
    broken = tmp_path / "rules.yaml"
    broken.write_text(text.replace("rogue_min_probability: 0.9", "rogue_min_probability: 0.6"), encoding="utf-8")
    with pytest.raises(RulesError, match="rogue_min_probability"):
        load_rules(broken)
    broken.write_text(text.replace("rogue_needs_severity: [critical, high, medium]", "rogue_needs_severity: [positive]"),
                      encoding="utf-8")
    with pytest.raises(RulesError, match="positive finding cannot be the rule finding"):
        load_rules(broken)
    broken.write_text(text.replace("never_when_any: [accreditation.pharmacy-tld,", "never_when_any: [accreditation.nope,"),
                      encoding="utf-8")
    with pytest.raises(RulesError, match="second_opinion.never_when_any: unknown finding 'accreditation.nope'"):
        load_rules(broken)


# ---------------------------------------------------------------------------------------------------------------
# In reports

def test_reports_carry_the_opinion_and_the_model_in_their_version(sites, rules):
    async def check(**changes):
        async with open_checker(sites.settings(**changes)) as checker:
            return checker, await checker.check(sites.url("rogue-store.test"))

    checker, report = asyncio.run(check())
    so = report.second_opinion
    assert so is not None and 0.0 <= so.probability <= 1.0 and so.towards_rogue
    assert report.algorithm_version == f"{rules.algorithm_version}+{so.model}" == checker.algorithm_version
    assert report.algorithm_version == algorithm_version(rules, checker.opinions)
    _, plain = asyncio.run(check(model_path="off"))
    assert plain.second_opinion is None and plain.algorithm_version == rules.algorithm_version
    assert plain.verdict == report.verdict == "likely_rogue"


def test_no_fixture_pharmacy_is_accused_because_of_the_model(sites):
    async def verdicts(**changes):
        async with open_checker(sites.settings(**changes)) as checker:
            return {h: (await checker.check(sites.url(h))) for h in sites.hosts}

    with_model, without = asyncio.run(verdicts()), asyncio.run(verdicts(model_path="off"))
    for host, report in with_model.items():
        before = without[host].verdict
        if report.verdict != before:  # only ever more careful, and only with a rule finding behind it
            assert (before, report.verdict) in {("unknown", "caution"), ("caution", "likely_rogue")}, host
            assert report.verdict_rule.startswith("model-raised-"), host
            assert any(f.points < 0 for f in report.findings), host
        if "good" in host or "uk-chemist" in host or "us-pharmacy" in host:
            assert report.verdict != "likely_rogue", host


def test_the_cli_shows_the_second_opinion_and_takes_model_off(sites, capsys):
    assert main(["check", sites.url("rogue-store.test"), *sites.cli_args()]) == 0
    out = capsys.readouterr().out
    assert "Second opinion (learned model text-lr-" in out and "chance of a rogue seller" in out
    assert main(["check", sites.url("rogue-store.test"), *sites.cli_args(), "--model", "off", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["second_opinion"] is None
    assert main(["check", sites.url("rogue-store.test"), *sites.cli_args(), "--model", "/nonexistent/m.json"]) == 2
    assert "cannot read model file" in capsys.readouterr().err


def test_an_opinions_table_answers_by_url_and_refuses_bad_lines(tmp_path):
    table = tmp_path / "oof.jsonl"
    table.write_text(json.dumps({"url": "https://a.example/x", "probability": 0.8, "raw_score": 1.2}) + "\n\n")
    opinions = OpinionTable(table)
    site = site_from_pages("https://a.example/x", [page_from_text("text", "https://a.example/x")])
    assert opinions.opinion_for(site).probability == 0.8 and opinions.id.startswith("oof-")
    assert opinions.opinion_for(site_from_pages("https://b.example/", [page_from_text("t", "https://b.example/")])) is None
    table.write_text('{"url": "https://a.example/", "probability": 1.5}\n')
    with pytest.raises(ModelError, match="line 1: probability must be between 0 and 1"):
        OpinionTable(table)
    table.write_text("[1, 2]\n")
    with pytest.raises(ModelError, match="line 1: expected a JSON object with url and probability"):
        OpinionTable(table)


def test_judging_a_page_with_the_model_stays_within_the_rules_order(rules):
    page = page_from_text("Pharmacy terms of use. These terms govern ordering medicines from our online pharmacy.",
                          "https://www.chain.example/terms")
    report = judge_site(rules, site_from_pages(page.url, [page]), opinions=ModelOpinions(load_model()))
    assert report.second_opinion is not None
    assert report.second_opinion.applied == report.verdict_rule.startswith("model-raised-")
