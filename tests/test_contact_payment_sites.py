"""End to end through the pipeline: the address is only on the contact page and the payment methods only on the
FAQ page, so the findings must come from the pages the crawl reached and name them."""

from __future__ import annotations

import asyncio

from app.pipeline import Checker


def check(sites, host: str):
    async def go():
        async with Checker(sites.settings()) as checker:
            return await checker.check(sites.url(host))

    return asyncio.run(go())


def finding(report, finding_id: str):
    matches = [f for f in report.findings if f.id == finding_id]
    assert matches, f"{finding_id} not in {sorted(f.id for f in report.findings)}"
    return matches[0]


def test_address_on_contact_page_and_cards_on_faq_page(sites):
    report = check(sites, "quiet-front-pharmacy.test")
    address = finding(report, "contact.address-street")
    assert address.evidence[0].url == sites.url("quiet-front-pharmacy.test", "/contact")
    assert "450 Elm Avenue" in address.evidence[0].snippet
    assert finding(report, "contact.phone-found").evidence[0].url.endswith("/contact")
    payment = finding(report, "payment.cards-via-gateway")
    assert payment.evidence[0].url == sites.url("quiet-front-pharmacy.test", "/faq")
    assert "Stripe" in payment.evidence[0].snippet
    ids = {f.id for f in report.findings}
    # The FAQ's safety advice names Western Union and Bitcoin; advice is not an offer.
    assert not {"payment.red-flag-only", "payment.red-flag-with-cards", "payment.transfer-with-cards"} & ids
    assert {"pharmacist.pharmacist-available", "pharmacist.pharmacist-in-charge", "pharmacist.licence-number"} <= ids
    assert report.verdict != "likely_rogue"


def test_po_box_free_mail_and_money_transfers_found_on_inner_pages(sites):
    report = check(sites, "offshore-pills.test")
    contact_url = sites.url("offshore-pills.test", "/contact")
    faq_url = sites.url("offshore-pills.test", "/faq")
    assert finding(report, "contact.address-po-box-only").evidence[0].url == contact_url
    assert finding(report, "contact.email-free-mail-only").evidence[0].url == contact_url
    red = finding(report, "payment.red-flag-only")
    assert {e.url for e in red.evidence} == {faq_url}
    assert "no chargeback" in red.explanation
    assert finding(report, "payment.incentive-outside-cards").evidence[0].url == faq_url


def test_red_flag_payment_brings_card_advice(sites):
    report = check(sites, "offshore-pills.test")
    assert "pay-by-card" in {a.id for a in report.advice}
