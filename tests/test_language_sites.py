"""A rogue and a legitimate pharmacy in each of German, French, Spanish, Dutch and Italian, read end to end.

Each rogue site sells prescription medicines from a product list, answers "Do I need a prescription?" with "No"
in its own language on its help page, takes Bitcoin and bank transfers only and gives no address and a free-mail
address; each legitimate one requires and checks prescriptions, gives a street address and a phone number and
takes cards. The checks read them with the page's language: every page is reported in it.
"""

from __future__ import annotations

import asyncio

import pytest

from app.page import parse_page
from app.pipeline import Checker, site_from_pages
from checks import payment
from tests.fixture_server import SITES_DIR

PAYMENT_PAGES = {"de": "zahlung", "fr": "paiement", "es": "pago", "nl": "betalen", "it": "pagamento"}

SITES = {
    "de": ("gesund-versand.test", "stadt-apotheke-linden.test", "Brauche ich ein Rezept?", "DE"),
    "fr": ("sante-rapide.test", "pharmacie-du-parc-lyon.test", "Ai-je besoin d’une ordonnance ?", "FR"),
    "es": ("salud-rapida.test", "farmacia-central-madrid.test", "¿Necesito receta?", "ES"),
    "nl": ("snelle-zorg.test", "apotheek-centrum-utrecht.test", "Heb ik een recept nodig?", "NL"),
    "it": ("salute-veloce.test", "farmacia-duomo-milano.test", "Serve la ricetta?", "IT"),
}


@pytest.fixture(scope="module")
def reports(sites):
    hosts = [h for rogue, legit, _, _ in SITES.values() for h in (rogue, legit)]

    async def check_all():
        async with Checker(sites.settings(check_timeout=30.0)) as checker:
            return await asyncio.gather(*(checker.check(sites.url(h)) for h in hosts))

    return dict(zip(hosts, asyncio.run(check_all())))


def finding(report, finding_id):
    return next((f for f in report.findings if f.id == finding_id), None)


@pytest.mark.parametrize("lang", sorted(SITES))
def test_every_page_is_read_in_its_language(reports, lang):
    rogue, legit, _, _ = SITES[lang]
    for host in (rogue, legit):
        read = [p for p in reports[host].pages if p.error is None]
        assert len(read) >= 4, [p.url for p in reports[host].pages]
        assert {p.language for p in read} == {lang}


@pytest.mark.parametrize("lang", sorted(SITES))
def test_rogue_pharmacy_in_its_language(reports, sites, lang):
    rogue, _, question, _ = SITES[lang]
    report = reports[rogue]
    assert report.verdict == "likely_rogue"
    # The help page's question and its "No", read together.
    offer = finding(report, "prescription.no-prescription-offer")
    assert offer is not None, [f.id for f in report.findings]
    assert any(e.snippet.startswith(question) for e in offer.evidence), offer.evidence
    payment = finding(report, "payment.red-flag-only")
    assert payment is not None, [f.id for f in report.findings]
    assert "Cryptocurrency" in " ".join(e.snippet for e in payment.evidence)
    seller = finding(report, "contact.no-accountable-seller")
    assert seller is not None and seller.severity == "high"


@pytest.mark.parametrize("lang", sorted(SITES))
def test_legitimate_pharmacy_in_its_language(reports, lang):
    _, legit, _, country = SITES[lang]
    report = reports[legit]
    assert report.verdict != "likely_rogue"
    assert not [f.id for f in report.findings if f.severity in ("critical", "high", "medium")]
    assert finding(report, "prescription.required-with-verification") is not None
    assert finding(report, "contact.address-street") is not None
    assert finding(report, "contact.phone-found") is not None
    assert finding(report, "payment.cards-via-gateway") or finding(report, "payment.cards-no-gateway-seen")


@pytest.mark.parametrize("lang", sorted(SITES))
def test_payment_channels_and_card_refusal_in_its_language(rules, lang):
    rogue = SITES[lang][0]
    name = PAYMENT_PAGES[lang]
    url = f"https://{rogue}/{name}"
    page = parse_page((SITES_DIR / rogue / f"{name}.html").read_text(encoding="utf-8"), url)
    (outcome,) = [o for o in payment.CHECK.run(site_from_pages(url, [page]), rules.config_for("payment"))]
    # "Kreditkarten werden derzeit nicht akzeptiert", "no aceptamos tarjetas": the cards are refused, not offered.
    assert outcome.outcome == "red-flag-only"
    assert outcome.facts["channels"] == ["Cryptocurrency", "Wire or bank transfer"]
    assert any(e.snippet.startswith("Cards refused") for e in outcome.evidence)
