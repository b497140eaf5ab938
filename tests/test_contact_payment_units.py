"""Sentence reading, transport outcomes that depend on how the site was fetched, and the labelled-data guard."""

from __future__ import annotations

import pytest

from app.page import Form, FormInput, page_from_text, parse_page
from app.pipeline import run_checks, site_from_pages
from app.site import PageRecord, Site
from checks._offers import negated, refused
from checks.transport import classify_form
from tests.conftest import shared_data_or_skip


def _at(text: str, phrase: str) -> tuple[str, int, int]:
    start = text.index(phrase)
    return text, start, start + len(phrase)


@pytest.mark.parametrize(
    "text,phrase,is_negated",
    [
        ("We accept Bitcoin and Visa.", "Bitcoin", False),
        ("Never pay with Bitcoin.", "Bitcoin", True),
        ("Avoid any pharmacy that asks for payment by Western Union.", "Western Union", True),
        ("We do not accept credit cards, we accept Bitcoin.", "Bitcoin", False),
        ("We do not accept credit cards, we accept Bitcoin.", "credit cards", True),
        ("We accept Visa; no cheques.", "Visa", False),
        ("No prescription needed!\nWe accept Bitcoin.", "Bitcoin", False),
        ("Bitcoin is not accepted.", "Bitcoin", True),
        ("Free shipping, no hidden fees, but we accept Zelle.", "Zelle", False),
    ],
)
def test_negation_reads_the_sentence(text, phrase, is_negated):
    assert negated(*_at(text, phrase)) is is_negated


def test_refusal_is_about_accepting_not_any_negation():
    assert refused(*_at("Sorry, no credit cards are accepted at this time.", "credit cards"))
    assert not refused(*_at("We accept Visa and we never store your credit card details.", "Visa"))


def _form(*inputs) -> Form:
    return Form(action="http://x.example/post", method="post", inputs=tuple(FormInput(*i) for i in inputs))


def test_form_fields_are_read_as_words(rules):
    config = rules.config_for("transport")
    assert classify_form(_form(("ccNumber", "text")), config) == ["card"]
    assert classify_form(_form(("discard_reason", "text")), config) == []
    assert classify_form(_form(("login", "text"), ("secret", "password")), config) == ["password"]
    assert classify_form(_form(("email", "email", "", "Your email address")), config) == []
    assert classify_form(_form(("dob", "date"), ("allergies", "textarea")), config) == ["health"]


def _site(url: str, upgrades=None, error=None, tls_valid=None) -> Site:
    pages = [] if error else [page_from_text("Pharmacy", url)]
    site = site_from_pages(url, pages)
    if pages:
        site.records[0].tls_valid = tls_valid
    if error:
        site.records = [PageRecord(url=url, error=error, error_message="The site's HTTPS certificate is not valid.")]
    site.http_upgrades_to_https = upgrades
    return site


@pytest.mark.parametrize(
    "fields",
    [
        '<input id="cardNumber" name="f1">',
        '<label>Card number</label><input name="f1">',
        '<label for="a">Card number</label><input id="a" name="f1">',
        '<label>Card number <input name="f1"></label>',
        '<input name="ccnum">',
        '<input name="pan"><input name="exp_month">',
        '<input name="cvn">',
        '<input aria-label="Credit card number" name="f1">',
        '<span id="l1">Card number</span><input aria-labelledby="l1" name="f1">',
        '<input autocomplete="cc-csc" name="x">',
        '<input autocomplete="billing cc-exp" name="x">',
    ],
)
def test_card_fields_are_read_from_ids_labels_and_autocomplete(rules, fields):
    config = rules.config_for("transport")
    page = parse_page(f'<form action="/pay">{fields}</form>', "http://x.example/checkout")
    assert classify_form(page.forms[0], config) == ["card"]


@pytest.mark.parametrize(
    "fields",
    ['<input name="pan">', '<label><input type="checkbox" name="save"> Save my credit card</label>',
     '<input name="licence_expiry">'],
)
def test_one_ambiguous_field_or_a_checkbox_sentence_is_not_a_card_form(rules, fields):
    config = rules.config_for("transport")
    page = parse_page(f'<form action="/pay">{fields}</form>', "http://x.example/checkout")
    assert "card" not in classify_form(page.forms[0], config)


@pytest.mark.parametrize(
    "site,expected",
    [
        (_site("https://shop.example/", upgrades=True), {"https-unverified", "http-redirects-to-https"}),
        (_site("https://shop.example/", upgrades=False), {"https-unverified", "http-not-upgraded"}),
        (_site("https://shop.example/"), {"https-unverified"}),
        (_site("https://shop.example/", tls_valid=True), {"https-valid"}),
        (_site("http://shop.example/"), {"no-https"}),
        (_site("https://shop.example/", error="tls_invalid"), {"tls-invalid"}),
    ],
)
def test_transport_outcomes(rules, site, expected):
    outcomes, _ = run_checks(rules, site)
    assert {o.outcome for c, o in outcomes if c == "transport"} == expected


def test_checks_read_only_pages_that_loaded(rules):
    missing = parse_page("<p>Not found. We accept Bitcoin.</p>", "https://shop.example/faq", status=404, kind="faq")
    home = parse_page("<p>Pharmacy</p>", "https://shop.example/")
    outcomes, _ = run_checks(rules, site_from_pages("https://shop.example/", [home, missing]))
    payment = [o for c, o in outcomes if c == "payment"]
    assert [o.outcome for o in payment] == ["none-found"]
    assert "faq" not in payment[0].evidence[0].snippet


def test_labelled_pages_never_made_likely_rogue_by_these_checks():
    data = shared_data_or_skip("pages-dev", "sources.csv").parent.parent
    from bench.contact_payment import evaluate

    result = evaluate(data)
    assert result["worsened"] == []
    counts = result["counts"]
    # Red flags that fire on legitimate pages must stay low (see docs/contact-payment.md).
    from app.rules import load_rules

    rules = load_rules()
    for key, c in counts.items():
        check_id, outcome = key.split(".", 1)
        rule = rules.outcome_rule(check_id, outcome)
        if c["legit"] and rule.points < 0 and rule.determined:
            assert rule.severity in ("low", "info") or key == "contact.address-not-found", (key, c)


@pytest.mark.parametrize(
    "footer,jsonld_name,conflict",
    [
        ("© Copyright 2024 Good Pharmacy LLC. All rights reserved.", "Good Pharmacy", False),
        ("Copyright © 2019–2024 GoodPharmacy Holdings Inc", "Good Pharmacy", False),  # both in the domain name
        ("© 2024 Maple Leaf Drugs Inc. All rights reserved.", "Sunrise Wellness Trading Ltd", True),
    ],
)
def test_business_names_agree_or_conflict(rules, footer, jsonld_name, conflict):
    html = (
        '<html><head><script type="application/ld+json">{"@type":"Pharmacy","name":"%s"}</script></head>'
        "<body><p>Order online.</p><footer>%s</footer></body></html>" % (jsonld_name, footer)
    )
    site = site_from_pages("https://www.goodpharmacy.com/", [parse_page(html, "https://www.goodpharmacy.com/")])
    outcomes, _ = run_checks(rules, site)
    assert ("names-conflict" in {o.outcome for c, o in outcomes if c == "contact"}) is conflict


def test_city_only_is_a_finding_only_once_the_contact_page_was_read(rules):
    text = "We are a family pharmacy based in Vancouver, Canada."
    start_only = site_from_pages("https://shop.example/", [page_from_text(text, "https://shop.example/")])
    with_contact = site_from_pages("https://shop.example/", [page_from_text(text, "https://shop.example/about", kind="about")])
    first, _ = run_checks(rules, start_only)
    second, _ = run_checks(rules, with_contact)
    partial = next(o for c, o in first if c == "contact" and o.outcome.startswith("address"))
    assert partial.outcome == "address-not-found-partial"
    assert any("Vancouver" in e.snippet for e in partial.evidence)
    assert "address-locality-only" in {o.outcome for c, o in second}
