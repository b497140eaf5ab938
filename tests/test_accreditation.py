"""Accreditation claims: found wherever they are, judged against the registry they name, confirmed live on request."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest

from app.fetch import Fetcher
from app.page import page_from_text, parse_page
from app.pipeline import Checker, site_from_pages
from app.rules import Rules
from checks import _registry_lookup, accreditation
from checks._registries import ClaimReader
from tests.conftest import shared_data_or_skip
from tests.registry_standin import (
    ENTRY_REGISTERS, GPHC, LEGITSCRIPT, MISSING, NABP, NONE, OTHER, OWN, SITE, StandIn,
)

FIXTURES = Path(__file__).parent / "fixtures" / "accreditation"

# fixture file -> (the address it is served at, the accreditation outcomes it must produce, exactly)
CASES = {
    "pharmacy-tld": ("https://www.goodcare.pharmacy/", {"pharmacy-tld"}),
    "verified-link": ("https://www.brightwellrx.com/", {"verified-link"}),
    "verified-link-script-seal": ("https://brightwellrx.com/", {"verified-link"}),
    "link-to-wrong-host": ("https://www.cheapmedsexpress.com/", {"link-to-wrong-host"}),
    "link-for-other-site": ("https://northernrxsupply.com/", {"link-for-other-site"}),
    # Shops on one hosting platform share a public suffix, not an owner.
    "link-for-other-site--shared-hosting": ("https://mypharm.myshopify.com/", {"link-for-other-site"}),
    # The same name under another public suffix: the brand's other country site, or a look-alike of it.
    "link-for-sister-domain": ("https://goodrx-pharmacy.com/", {"link-for-sister-domain"}),
    "unbacked-claim": ("https://mapleleafmeds.com/", {"unbacked-claim"}),
    # Claims worded in the ways real pages word them (test_every_wording_is_a_claim says which registries).
    "unbacked-claim--wordings": ("https://meridianmeds.com/", {"unbacked-claim"}),
    # A seal that links to the registry's front page over plain HTTP: no proof, and the evidence says why.
    "unbacked-claim--plain-http-seal": ("https://cedarrx.com/", {"unbacked-claim"}),
    # Seal images whose words claim a verification but name no register ("Verified pharmacy seal", "Certified
    # Online Pharmacy" in a file name): nothing can back them.
    "unbacked-claim--seal-naming-no-register": ("https://quickmeds-example.com/", {"unbacked-claim"}),
    # The same words on a seal that links to a registry: judged as that registry's seal.
    "registry-link-unspecific--seal-words-name-no-registry": ("https://lakesidepharmacy-example.com/",
                                                              {"registry-link-unspecific"}),
    # A telehealth service whose partner pharmacy holds the accreditation: the partner's claim, not the site's.
    "partner-claim": ("https://bloomhealth.com/", {"partner-claim"}),
    "invalid-number": ("https://ukmedsdirect.co.uk/", {"invalid-number"}),
    # Registers that do not exist, named without a number: a warning sign, not a false registration.
    "fake-register-name": ("https://northernlightdrugs.com/", {"fake-register-name"}),
    # A register link is no better than the number in it.
    "invalid-number--in-link": ("https://quickukpharmacy.co.uk/", {"invalid-number"}),
    "number-link-mismatch": ("https://riversidechemist.co.uk/", {"number-link-mismatch"}),
    "eu-logo-wrong-flag": ("https://euroapotheke24.com/", {"eu-logo-wrong-flag", "eu-logo-no-link"}),
    "eu-logo-no-link": ("https://rhein-apotheke-versand.de/", {"eu-logo-no-link"}),
    "eu-logo-no-link--file-names": ("https://apotheke-lindenhof.de/", {"eu-logo-no-link"}),
    "eu-logo-linked": ("https://rhein-apotheke-versand.de/", {"registry-entry-link"}),
    "eu-logo-flag-mismatch": ("https://pharma-outlet.eu/", {"eu-logo-wrong-flag", "registry-entry-link"}),
    "registry-entry-link": ("https://harbourside-chemist.co.uk/", {"registry-entry-link"}),
    "number-given": ("https://parksidepharmacy.co.uk/", {"number-given"}),
    # The GPhC number written right after the register's name, with or without separators.
    "number-given--gphc-forms": ("https://kingswaychemist.co.uk/", {"number-given"}),
    # Offline, a copied number that links to a real entry looks like any other entry link: only the live
    # look-up can see that the entry belongs to another pharmacy (see test_copied_gphc_number_is_denied_live).
    "copied-gphc-number": ("https://quickmedsdirect.co.uk/", {"registry-entry-link"}),
    "checklist-mention": ("https://pillguide-blog.com/how-to-spot-a-safe-online-pharmacy", set()),
    "registry-link-unspecific": ("https://www.petcarepharmacy.com/", {"registry-link-unspecific"}),
    # A search the site built for its own domain is not the registry's entry for it: it must not pass as verified.
    "registry-link-unspecific--search-for-own-domain": ("https://sunrisemeds.com/", {"registry-link-unspecific"}),
    "registry-link-unspecific--eu-logo-search-page": ("https://apotheke-am-markt.de/", {"registry-link-unspecific"}),
}

LIVE_OUTCOMES = {
    "registry-confirms", "registry-confirms-number", "registry-denies", "registry-unreachable", "registry-inconclusive",
}


@pytest.fixture(scope="module")
def config(rules):
    return rules.config_for("accreditation")


def site_for(name: str):
    url, _ = CASES[name]
    page = parse_page((FIXTURES / f"{name}.html").read_text(encoding="utf-8"), url)
    return site_from_pages(url, [page])


def outcomes(site, config) -> dict[str, accreditation.Outcome]:
    return {o.outcome: o for o in accreditation.run(site, config)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_fixture_produces_exactly_its_outcomes(name, config):
    _, expected = CASES[name]
    found = outcomes(site_for(name), config)
    assert set(found) == expected
    for outcome in found.values():
        assert outcome.evidence, f"{outcome.outcome} has no evidence"
        assert all(e.url and e.snippet for e in outcome.evidence)


def test_every_outcome_has_a_fixture_or_a_live_test():
    covered = set().union(*(expected for _, expected in CASES.values())) | LIVE_OUTCOMES
    assert covered == set(accreditation.OUTCOMES)


def test_every_fixture_file_is_in_the_table():
    assert {p.stem for p in FIXTURES.glob("*.html")} == set(CASES)


def test_every_wording_is_a_claim(config):
    found = outcomes(site_for("unbacked-claim--wordings"), config)
    assert set(found["unbacked-claim"].facts["registries"]) == {
        "nabp", "register-fr", "register-es", "register-it", "register-se", "register-nl", "register-de",
    }


@pytest.mark.parametrize(
    "sentence, registry",
    [
        ("Nous sommes enregistrés auprès de l'Ordre des pharmaciens.", "register-fr"),
        ("Notre pharmacie est enregistrée auprès de l'Ordre des pharmaciens.", "register-fr"),
        ("Nous sommes autorisés par l'Ordre des pharmaciens.", "register-fr"),
        ("Notre pharmacie est agréée par l'Ordre national des pharmaciens.", "register-fr"),
        ("Estamos registrados en distafarma.", "register-es"),
        ("Nuestras farmacias están registradas en la AEMPS.", "register-es"),
        ("Somos una farmacia autorizada por la AEMPS.", "register-es"),
        ("Nosotros estamos autorizados por la AEMPS.", "register-es"),
        ("Vi är registrerade hos Läkemedelsverket.", "register-se"),
        ("Våra apotek är godkända av Läkemedelsverket.", "register-se"),
        ("Wir sind eine beim BfArM registrierte Versandapotheke.", "register-de"),
        ("Unsere zugelassene Versandapotheke steht im Versandhandelsregister.", "register-de"),
        ("Siamo iscritti presso il Ministero della Salute.", "register-it"),
        ("Siamo autorizzati dal Ministero della Salute.", "register-it"),
        ("Wij zijn geregistreerd bij het CIBG.", "register-nl"),
        ("Wij staan als geregistreerde aanbieder in het Landelijk register.", "register-nl"),
        ("Onze apotheek is ingeschreven in het register aanbieders geneesmiddelen.", "register-nl"),
    ],
)
def test_plural_and_feminine_claim_verbs(sentence, registry, config):
    site = site_from_pages("https://meridianmeds.eu/", [page_from_text(sentence, "https://meridianmeds.eu/about")])
    assert outcomes(site, config)["unbacked-claim"].facts["registries"] == [registry]


def test_verified_link_gives_the_exact_lookup_for_this_domain(config):
    found = outcomes(site_for("verified-link"), config)
    urls = [link.url for link in found["verified-link"].links]
    assert "https://www.legitscript.com/websites/?checker_keywords=brightwellrx.com" in urls


def test_seal_pointing_at_the_sites_own_verify_page(config):
    wrong = outcomes(site_for("link-to-wrong-host"), config)["link-to-wrong-host"]
    text = " ".join(e.snippet for e in wrong.evidence)
    assert "cheapmedsexpress.com/verify" in text and "the site itself" in text
    assert "legitscript-verify.com" in text  # the look-alike host is caught too
    assert set(wrong.facts["registries"]) == {"legitscript", "nabp"}
    # The consumer is sent to the real look-up for this domain, not to the site's page.
    assert any(l.url == "https://www.legitscript.com/websites/?checker_keywords=cheapmedsexpress.com" for l in wrong.links)


def test_borrowed_legitscript_entry_names_both_domains(config):
    borrowed = outcomes(site_for("link-for-other-site"), config)["link-for-other-site"]
    snippet = borrowed.evidence[0].snippet
    assert "hillsidefamilypharmacy.com" in snippet and "northernrxsupply.com" in snippet
    assert borrowed.links[0].url.endswith("checker_keywords=northernrxsupply.com")


@pytest.mark.parametrize(
    "site_url, named, expected",
    [
        ("https://goodrx-pharmacy.com/", "goodrx-pharmacy.co.uk", "link-for-sister-domain"),
        ("https://www.meds-direct.de/", "meds-direct.at", "link-for-sister-domain"),
        ("https://goodrx-pharmacy.com/", "goodrx-pharmacy-uk.co.uk", "link-for-other-site"),
        ("https://goodrx-pharmacy.com/", "shop.goodrx-pharmacy.com", None),
    ],
)
def test_a_link_for_the_same_name_under_another_suffix_is_not_critical(site_url, named, expected, config, rules):
    html = SEAL.format(domain=named)
    found = outcomes(html_site(site_url, html), config)
    if expected is None:
        assert not {"link-for-other-site", "link-for-sister-domain"} & set(found)
    else:
        assert expected in found and not ({"link-for-other-site", "link-for-sister-domain"} - {expected}) & set(found)
    assert rules.outcome_rule("accreditation", "link-for-sister-domain").severity == "medium"


def test_search_links_for_the_own_domain_are_not_entries(config):
    found = outcomes(site_for("registry-link-unspecific--search-for-own-domain"), config)
    assert set(found["registry-link-unspecific"].facts["registries"]) == {"nabp", "legitscript", "cipa"}
    assert "only searches for sunrisemeds.com" in found["registry-link-unspecific"].evidence[0].snippet
    # The consumer still gets the registry's real look-up for this domain.
    assert any(l.url.endswith("checker_keywords=sunrisemeds.com") for l in found["registry-link-unspecific"].links)


def test_search_link_for_another_domain_on_a_seal_is_still_borrowed(config):
    html = '<a href="https://safe.pharmacy/?q=cvs.com"><img src="/img/vipps.png" alt="VIPPS accredited"></a>'
    assert set(outcomes(html_site("https://sunrisemeds.com/", html), config)) == {"link-for-other-site"}


def test_eu_flag_logo_without_link(config):
    found = outcomes(site_for("eu-logo-wrong-flag"), config)
    assert "EU flag" in found["eu-logo-wrong-flag"].evidence[0].snippet


def test_an_eu_logo_with_no_flag_and_no_link_points_to_the_eus_list_of_registers(config, rules):
    html = '<footer><img src="/img/siegel.png" alt="EU common logo"></footer>'
    found = outcomes(html_site("https://meridianmeds.eu/", html), config)
    assert [l.url for l in found["eu-logo-no-link"].links] == [rules.config_for("accreditation").eu_logo.registers_list_url]
    assert found["eu-logo-no-link"].links[0].url.startswith("https://")


def test_eu_logo_file_names_and_wordings(config):
    found = outcomes(site_for("eu-logo-no-link--file-names"), config)
    shown = [e.snippet.rsplit("/", 1)[-1] for e in found["eu-logo-no-link"].evidence]
    # The site's own "common-logo" in its header shows no flag, so it is not the EU logo.
    assert shown == ["commonlogo_de.png", "siegel.png", "logo-fr.png", "logo-es.png"]


@pytest.mark.parametrize(
    "src, alt, expected",
    [
        # The country named in words counts, even beside a code in the file name of the same country.
        ("/img/eu-logo_de.png", "Flag of Germany", {"eu-logo-wrong-flag"}),
        ("/img/eu-logo_nl.png", "Flag of Germany", {"eu-logo-wrong-flag"}),
        ("/img/eu-logo_nl.png", "Flag of the Netherlands", {"registry-entry-link"}),
        # A code in the file name alone is too weak to contradict the register.
        ("/img/eu-logo_de.png", "EU common logo", {"registry-entry-link"}),
    ],
)
def test_a_named_flag_is_read_before_a_file_name_code(src, alt, expected, config):
    html = f'<footer><a href="https://www.aanbiedersmedicijnen.nl/aanbieders/1234"><img src="{src}" alt="{alt}"></a></footer>'
    assert set(outcomes(html_site("https://apotheek-online.nl/", html), config)) == expected


def test_flag_mismatch_is_named_and_ordinary_words_are_not_flags(config):
    found = outcomes(site_for("eu-logo-flag-mismatch"), config)
    assert [e.snippet for e in found["eu-logo-wrong-flag"].evidence] == [
        "EU common logo shows the flag of DE but links to the register of NL: https://www.aanbiedersmedicijnen.nl/aanbieders/12345"
    ]
    assert found["registry-entry-link"].facts["registries"] == ["register-fr"]


@pytest.mark.parametrize(
    "href, expected",
    [
        ("https://versandhandel.dimdi.de/eintrag?id=105511", "registry-entry-link"),
        ("https://www.bfarm.de/SharedDocs/Pressemitteilungen/DE/2023/pm12-2023.html", "registry-link-unspecific"),
        ("https://www.hpra.ie/homepage/about-us/publications-forms/newsletters/item?id=4512", "registry-link-unspecific"),
        ("https://www.thepsi.ie/gns/pharmacy-practice/online-sales-register/registered-retailers.aspx?id=1234", "registry-entry-link"),
        ("https://medicine-seller-register.mhra.gov.uk/", "registry-link-unspecific"),
        ("http://versandhandel.dimdi.de/eintrag?id=105511", "unbacked-claim"),
    ],
)
def test_eu_logo_entries_are_recognised_by_each_registers_own_shapes(href, expected, config):
    html = f'<footer><a href="{href}"><img src="/img/eu-common-logo.png" alt="EU common logo"></a></footer>'
    found = outcomes(html_site("https://versand-apotheke.de/", html), config)
    assert set(found) == {expected}
    if href.startswith("http:"):
        assert "plain HTTP" in found[expected].evidence[0].snippet


def test_plain_http_seal_links_that_name_no_site_are_in_the_evidence(config):
    found = outcomes(site_for("unbacked-claim--plain-http-seal"), config)["unbacked-claim"]
    assert set(found.facts["registries"]) == {"legitscript", "nabp"}
    evidence = " ".join(e.snippet for e in found.evidence)
    assert "plain HTTP, so it cannot be trusted: http://www.legitscript.com/" in evidence
    assert "plain HTTP, so it cannot be trusted: http://safe.pharmacy/" in evidence


def test_uk_logo_is_judged_against_the_uk_register(config):
    found = outcomes(site_for("registry-entry-link"), config)
    assert set(found["registry-entry-link"].facts["registries"]) == {"gphc", "mhra"}


def test_invalid_number_and_nonexistent_registers(config):
    evidence = " ".join(e.snippet for e in outcomes(site_for("invalid-number"), config)["invalid-number"].evidence)
    assert "48765432 cannot exist" in evidence
    assert "12345678 cannot exist" in evidence  # "GPhC reg. no. 12345678"
    assert "General Health Pharmaceutical Council" in evidence
    # One finding for a licence of a board that does not exist: the number is part of it, not a number given.
    assert "Texsa State Board of Pharmacy" in evidence


def test_a_register_that_does_not_exist_named_without_a_number_is_medium(config, rules):
    found = outcomes(site_for("fake-register-name"), config)["fake-register-name"]
    evidence = " ".join(e.snippet for e in found.evidence)
    assert "General Health Pharmaceutical Council" in evidence and "Canadian State Board of Pharmacy" in evidence
    assert rules.outcome_rule("accreditation", "fake-register-name").severity == "medium"


@pytest.mark.parametrize(
    "sentence",
    [
        "Maple Pharmacy is licensed by the Alberta College of Pharmacists.",
        "Maple Pharmacy is licensed by the Alberta College of Pharmacy.",
        "Our pharmacists are registered with the British Columbia College of Pharmacists.",
        "Harbour Chemist is registered with the Pharmacy Council of NSW.",
        "Our pharmacists are certified by the Pharmacy Examining Board of Canada.",
        "We are licensed by the Pharmacy Board of Sierra Leone.",
        "Our pharmacists are registered with the Pharmacy Board of Australia and AHPRA.",
        "We are regulated by the Pharmaceutical Society of Ireland.",
        "We are registered with the South African Pharmacy Council, licence number 12345.",
        "Registered with the Maharashtra State Pharmacy Council.",
        "Licensed by the Ohio State Board of Pharmacy, license number 02-1234567.",
        "We are registered with the Pharmacy Council of New Zealand.",
        # Real regulators not listed in rules.yaml: another place or word order is no imitation.
        "We are licensed by the Pharmacy Council of Tasmania.",
        "Licensed by the Manitoba Pharmaceutical Council of Pharmacists.",
    ],
)
def test_real_regulators_are_not_fake_registers(sentence, config):
    site = site_from_pages("https://maplepharmacy.ca/", [page_from_text(sentence, "https://maplepharmacy.ca/about")])
    found = outcomes(site, config)
    assert not {"invalid-number", "fake-register-name"} & set(found), found


def test_a_country_qualified_order_is_not_the_french_register(config):
    text = "Our pharmacy is regulated by the Ordre des pharmaciens du Québec. Nous sommes enregistrés auprès de l'Ordre des pharmaciens du Québec."
    site = site_from_pages("https://pharmaciemaple.ca/", [page_from_text(text, "https://pharmaciemaple.ca/")])
    assert outcomes(site, config) == {}
    # The French order itself is still the French register.
    text = "Nous sommes enregistrés auprès de l'Ordre des pharmaciens."
    site = site_from_pages("https://pharmaciemaple.fr/", [page_from_text(text, "https://pharmaciemaple.fr/")])
    assert outcomes(site, config)["unbacked-claim"].facts["registries"] == ["register-fr"]


def test_a_partner_pharmacys_accreditation_is_information_with_the_registry_link(config, rules):
    found = outcomes(site_for("partner-claim"), config)["partner-claim"]
    assert len(found.evidence) == 2
    assert found.links and found.links[0].url.startswith("https://safe.pharmacy/")
    assert (rules.outcome_rule("accreditation", "partner-claim").severity, rules.outcome_rule("accreditation", "partner-claim").points) == ("info", 0)
    # The site's own claim beside it is still its own.
    html = "<p>We partner with pharmacies that are VIPPS accredited.</p><p>We are LegitScript certified.</p>"
    found = outcomes(html_site("https://bloomhealth.com/", html), config)
    assert set(found) == {"partner-claim", "unbacked-claim"}
    assert found["unbacked-claim"].facts["registries"] == ["legitscript"]


def test_a_register_name_of_fillers_and_generic_words_is_invented(config):
    text = "We are a member of the International Online Pharmacy Accreditation Board."
    site = site_from_pages("https://rxcare.com/", [page_from_text(text, "https://rxcare.com/about")])
    assert set(outcomes(site, config)) == {"fake-register-name"}


def test_findings_about_registers_carry_the_real_registers_link(config):
    found = outcomes(site_for("invalid-number"), config)["invalid-number"]
    urls = {l.url for l in found.links}
    assert "https://www.pharmacyregulation.org/registers/pharmacy" in urls  # GPhC, imitated and cited
    assert "https://nabp.pharmacy/about/boards-of-pharmacy/" in urls  # the Texsa board: the real boards


def test_the_state_board_link_says_what_it_opens(config):
    given = outcomes(site_for("number-given"), config)["number-given"]
    board = next(l for l in given.links if "boards-of-pharmacy" in l.url)
    assert board.label.startswith("Find your state board of pharmacy")


@pytest.mark.parametrize(
    "text, number",
    [
        ("Illinois pharmacy license no. 054.012345", "054.012345"),
        ("Ohio State Board of Pharmacy, license number 02-1234567.", "021234567"),
        ("California Board of Pharmacy license #PHY 12345.", "PHY12345"),
        ("Texas pharmacy license number 28741.", "28741"),
    ],
)
def test_state_licence_numbers_are_read_whole(text, number, config):
    site = site_from_pages("https://riversiderx.com/", [page_from_text(text, "https://riversiderx.com/")])
    given = outcomes(site, config)["number-given"]
    assert f"number {number}:" in given.evidence[0].snippet


@pytest.mark.parametrize(
    "html, note",
    [
        ("<footer><p>.pharmacy verified</p></footer>", ".pharmacy web address itself"),
        ("<footer><p>FDA Approved Pharmacy</p></footer>", "the FDA approves medicines, not pharmacies"),
        ("<p>We are an FDA-approved online pharmacy.</p>", "the FDA approves medicines, not pharmacies"),
    ],
)
def test_claims_that_cannot_be_true_say_why(html, note, config):
    found = outcomes(html_site("https://rxcare.com/", html), config)
    assert set(found) == {"unbacked-claim"}
    assert note in found["unbacked-claim"].evidence[0].snippet


def test_fda_approved_medicines_are_no_claim(config):
    html = "<p>We only sell FDA-approved medicines from licensed US pharmacies.</p>"
    assert outcomes(html_site("https://rxcare.com/", html), config) == {}


def test_gphc_numbers_after_the_registers_name(config):
    given = outcomes(site_for("number-given--gphc-forms"), config)["number-given"]
    urls = {l.url for l in given.links}
    assert urls == {
        "https://www.pharmacyregulation.org/registers/pharmacy/registrationnumber/1123456",
        "https://www.pharmacyregulation.org/registers/pharmacist/registrationnumber/2034567",
        "https://www.pharmacyregulation.org/registers/pharmacy/registrationnumber/1123457",
    }
    # "GPhC 2019 standards" is a year, not a number: the fixture's outcomes would include invalid-number.


def test_an_unlinked_number_is_information_not_a_bonus(rules):
    outcome = rules.outcome_rule("accreditation", "number-given")
    assert (outcome.severity, outcome.points) == ("info", 0)


def test_numbers_open_the_right_register_entry(config):
    given = outcomes(site_for("number-given"), config)["number-given"]
    urls = {l.url for l in given.links}
    assert "https://www.pharmacyregulation.org/registers/pharmacy/registrationnumber/1123456" in urls
    assert "https://www.pharmacyregulation.org/registers/pharmacist/registrationnumber/2041287" in urls
    assert set(given.facts["registries"]) == {"gphc", "us-state-board"}


@pytest.mark.parametrize(
    "sentence, bogus",
    [
        ("We are registered with the General Health Pharmaceutical Council.", True),
        # One word swapped for another that is no filler: perhaps a muddled real name, so left alone.
        ("Licensed by the General Pharmaceutical Board.", False),
        ("Licensed by the Global Pharmaceutical Council.", True),
        ("We are members of the General Pharmaceutical Online Council.", True),
        ("We are registered with the UK General Pharmaceutical Council.", False),
        ("Our pharmacists are members of the Royal Pharmaceutical Society of Great Britain.", False),
        ("We are licensed by the Global Pharmacy Council.", False),  # unknown, not an imitation: left alone
        ("Licensed by the Puerto Rico State Board of Pharmacy.", False),
        ("Licensed by the Canadian State Board of Pharmacy.", True),
        ("Texsa State Board of Pharmacy, license number 28741.", True),
        ("Fully Licensed Texas State Board of Pharmacy, license number 28741.", False),
        ("Licensed by the Fully Accredited Texas State Board of Pharmacy.", False),
    ],
)
def test_register_imitations_without_the_known_fakes_list(sentence, bogus, config):
    names = config.register_names.model_copy(update={"fake": []})
    cfg = config.model_copy(update={"register_names": names})
    site = site_from_pages("https://example.com/", [page_from_text(sentence, "https://example.com/about")])
    assert bool({"invalid-number", "fake-register-name"} & set(outcomes(site, cfg))) is bogus


def test_real_gphc_register_names_are_not_flagged(config):
    text = (
        "We are registered with the General Pharmaceutical Council (GPhC registration number 9010492). "
        "Our pharmacists are regulated by the General Pharmaceutical Council. "
        "We are licensed by the California State Board of Pharmacy."
    )
    site = site_from_pages("https://example-uk-pharmacy.co.uk/", [page_from_text(text, "https://example-uk-pharmacy.co.uk/terms")])
    found = outcomes(site, config)
    assert "invalid-number" not in found
    assert "number-given" in found


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("We are VIPPS accredited by the NABP.", "claim"),
        ("Our pharmacy is LegitScript certified.", "claim"),
        ("We are VIPPS accredited, so you can order with confidence.", "claim"),
        ("Brightwell Rx is LegitScript certified.", "mention"),  # another site's name: not this one speaking
        ("We recommend that you look for VIPPS accredited pharmacies.", "mention"),
        ("Maple Leaf Meds is a proud CIPA member.", "claim"),
        ("Wir sind im Versandhandelsregister des BfArM eingetragen.", "claim"),
        ("VIPPS Accredited Pharmacy", "badge"),
        ("Look for the VIPPS seal before you order.", "mention"),
        ("Check whether the pharmacy is LegitScript certified.", "mention"),
        ("Legitimate pharmacies are licensed by their state board of pharmacy.", "mention"),
        ("Our tip: make sure the pharmacy is VIPPS accredited.", "mention"),
        ("VIPPS is a program run by the NABP.", "mention"),
        ("We are not VIPPS accredited.", "mention"),
        # Pharmacies as a class, whoever speaks: no claim, and a plural heading is no badge.
        ("Our checklist: LegitScript certified pharmacies are safer.", "mention"),
        ("VIPPS Accredited Pharmacies", "mention"),
        ("We are one of the LegitScript certified pharmacies.", "claim"),
        ("Our pharmacies are LegitScript certified.", "claim"),
        # The dot inside a registry's name is no sentence end.
        ("We are .pharmacy verified.", "claim"),
        ("We are Safe.Pharmacy verified.", "claim"),
        ("Our pharmacy isn't LegitScript certified yet.", "mention"),
    ],
)
def test_claim_versus_mention(sentence, expected, rules):
    assert _reader(rules, "https://mapleleafmeds.com/").classify(sentence) == expected


def _reader(rules, site_url: str) -> ClaimReader:
    return ClaimReader(rules.config_for("accreditation").claim_context, site_from_pages(site_url, []))


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("Not every online pharmacy is LegitScript certified.", "mention"),
        ("Choose an online pharmacy that is VIPPS accredited.", "mention"),
        ("Online Pharmacy is LegitScript certified.", "claim"),
    ],
)
def test_a_site_named_like_pharmacies_in_general(sentence, expected, rules):
    assert _reader(rules, "https://onlinepharmacy.com/").classify(sentence) == expected


def test_badge_lines_do_not_count_inside_an_article(rules):
    reader = _reader(rules, "https://example.com/")
    assert reader.classify("VIPPS Accredited Pharmacy", in_article=True) == "mention"
    assert reader.classify("We are VIPPS accredited.", in_article=True) == "claim"


ROGUE_FOOTER = """<html><head><title>{title}</title></head><body>
<main><p>Buy Viagra 100mg online. Fast delivery.</p></main>
<footer><img src="/img/vipps.png" alt="VIPPS accredited"><img src="/img/legitscript-seal.png" alt="LegitScript">
<p>CIPA Certified Member</p></footer></body></html>"""


@pytest.mark.parametrize(
    "title, url",
    [
        ("Legit Online Pharmacy - Buy Viagra Safely", "https://pillsfast.com/"),
        ("Pills Fast", "https://pillsfast.com/blog/"),
    ],
)
def test_seals_in_a_rogue_footer_are_claims_whatever_the_title_or_address(title, url, config):
    site = html_site(url, ROGUE_FOOTER.format(title=title))
    found = outcomes(site, config)
    assert set(found) == {"unbacked-claim"}
    assert set(found["unbacked-claim"].facts["registries"]) == {"nabp", "legitscript", "cipa"}


def test_a_checklist_is_no_claim_whatever_the_page_is_called(config):
    html = (FIXTURES / "checklist-mention.html").read_text(encoding="utf-8")
    html = html.replace("How to spot a safe online pharmacy: a checklist", "MyPharm - Home")
    assert outcomes(html_site("https://mypharm.com/", html), config) == {}


BORROWED_IN_ARTICLE = (
    '<article><p>Look for this seal.</p><a href="https://www.legitscript.com/websites/?checker_keywords=cvs.com">'
    '<img src="https://static.legitscript.com/seals/{src}" alt="{alt}"></a></article>'
)


def test_a_borrowed_seal_image_is_borrowed_even_inside_an_article(config):
    html = BORROWED_IN_ARTICLE.format(src="1.png", alt="LegitScript certified")
    assert set(outcomes(html_site("https://mypharm.com/", html), config)) == {"link-for-other-site"}


@pytest.mark.parametrize(
    "src, alt",
    [("1.png", "Example of the LegitScript seal"), ("legitscript-seal-sample.png", "LegitScript")],
)
def test_a_linked_seal_that_calls_itself_an_example_in_an_article_illustrates(src, alt, config):
    html = BORROWED_IN_ARTICLE.format(src=src, alt=alt)
    assert outcomes(html_site("https://mypharm.com/", html), config) == {}
    # Outside an article the link decides: a footer seal called an example still borrows another site's entry.
    footer = html.replace("<article>", "<footer>").replace("</article>", "</footer>")
    assert set(outcomes(html_site("https://mypharm.com/", footer), config)) == {"link-for-other-site"}


def test_an_example_seal_outside_an_article_is_an_illustration(config):
    html = '<div><img src="/img/vipps-sample.png" alt="Sample of the VIPPS seal"></div>'
    assert outcomes(html_site("https://mypharm.com/", html), config) == {}


def test_site_with_no_pages_reports_only_the_domain(config):
    assert [o.outcome for o in accreditation.run(site_from_pages("https://shop.example.pharmacy/", []), config)] == ["pharmacy-tld"]
    assert accreditation.run(site_from_pages("https://shop.example.com/", []), config) == []


# --- live confirmation against stand-in registries on loopback ------------------------------------------------


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    sites = {
        "quickmedsdirect.co.uk": (FIXTURES / "copied-gphc-number.html").read_text(encoding="utf-8"),
        "brightwellrx.com": (FIXTURES / "verified-link.html").read_text(encoding="utf-8"),
    }
    server = StandIn(tmp_path_factory.mktemp("registries"), sites=sites)
    yield server
    server.close()


def pointed_at(config, standin: StandIn, **bases):
    """The same adapters with their base URL moved to the stand-in (the only thing a mirror changes)."""
    defaults = {"legitscript": standin.base_url(LEGITSCRIPT), "gphc": standin.base_url(GPHC), "nabp": standin.base_url(NABP)}
    defaults.update({rid: standin.base_url(host) for rid, (host, *_) in ENTRY_REGISTERS.items()})
    defaults.update(bases)
    registries = [
        r.model_copy(update={"live": r.live.model_copy(update={"base_url": defaults[r.id]})}) if r.live and r.id in defaults else r
        for r in config.registries
    ]
    return config.model_copy(update={"registries": registries})


def confirm(site, config, settings):
    async def go():
        async with Fetcher(settings) as fetcher:
            return await accreditation.confirm(site, fetcher, config)

    return asyncio.run(go())


def html_site(url: str, html: str):
    return site_from_pages(url, [parse_page(html, url)])


SEAL = (
    '<footer><a href="https://www.legitscript.com/websites/?checker_keywords={domain}">'
    '<img src="https://static.legitscript.com/seals/1.png" alt="LegitScript approved"></a></footer>'
)
CLAIM = "<footer><p>We are LegitScript certified.</p></footer>"


@pytest.mark.parametrize(
    "domain, html, expected",
    [
        ("brightwellrx.com", SEAL.format(domain="brightwellrx.com"), "registry-confirms"),
        ("roguepills.com", SEAL.format(domain="roguepills.com"), "registry-denies"),
        ("northernrxsupply.com", CLAIM, "registry-denies"),
        ("mapleleafmeds.com", CLAIM, "registry-inconclusive"),
        ("echopharm.com", CLAIM, "registry-denies"),
        ("mypharm.com", CLAIM, "registry-inconclusive"),
        ("waitingpharm.com", CLAIM, "registry-inconclusive"),
        ("twinpharm.com", CLAIM, "registry-inconclusive"),
        ("uncertrx.com", CLAIM, "registry-denies"),
        ("nonerx.com", CLAIM, "registry-denies"),
    ],
)
def test_legitscript_adapter(domain, html, expected, config, standin):
    site = html_site(f"https://{domain}/", html)
    cfg = pointed_at(config, standin)
    results = confirm(site, cfg, standin.settings())
    assert [(r.registry, r.key, r.status) for r in results] == [("legitscript", domain, expected.removeprefix("registry-"))]
    site.enrichments["accreditation"] = results
    found = outcomes(site, cfg)
    assert expected in found
    assert found[expected].links[0].url == f"{standin.base_url(LEGITSCRIPT)}/websites/?checker_keywords={domain}"


@pytest.mark.parametrize(
    "domain, expected",
    [
        (SITE, "confirms"),
        ("roguepills.com", "denies"),  # on NABP's Not Recommended list
        ("northernrxsupply.com", "denies"),  # no result
        ("mapleleafmeds.com", "inconclusive"),  # the look-up gave no answer page
    ],
)
def test_nabp_adapter(domain, expected, config, standin):
    site = html_site(f"https://{domain}/", "<footer><p>We are VIPPS accredited.</p></footer>")
    results = confirm(site, pointed_at(config, standin), standin.settings())
    assert [(r.registry, r.key, r.status) for r in results] == [("nabp", domain, expected)]
    assert results[0].url == f"{standin.base_url(NABP)}/buy-safely/?url={domain}"


ENTRY_LOGO = '<footer><a href="{link}"><img src="/img/eu-common-logo.png" alt="EU common logo"></a></footer>'


@pytest.mark.parametrize("registry_id", sorted(ENTRY_REGISTERS))
@pytest.mark.parametrize(
    "entry, expected",
    [
        (OWN, "confirms"),
        (OTHER, "denies"),  # the logo links to another seller's entry
        (NONE, "denies"),  # the register says it has no such entry
        (MISSING, "inconclusive"),  # a 404 from an undocumented address proves nothing
    ],
)
def test_register_entry_adapters(registry_id, entry, expected, config, standin):
    _, link, _, _ = ENTRY_REGISTERS[registry_id]
    site = html_site(f"https://{SITE}/", ENTRY_LOGO.format(link=link.format(n=entry)))
    results = confirm(site, pointed_at(config, standin), standin.settings())
    assert [(r.registry, r.status) for r in results] == [(registry_id, expected)]
    if expected == "denies" and entry == OTHER:
        assert "hillside-apotheke.de" in results[0].detail and SITE in results[0].detail
    site.enrichments["accreditation"] = results
    assert f"registry-{expected}" in outcomes(site, pointed_at(config, standin))


@pytest.mark.parametrize("registry_id", ["nabp", *sorted(ENTRY_REGISTERS)])
def test_every_adapter_reports_an_unreachable_registry(registry_id, config, standin):
    cfg = pointed_at(config, standin, **{registry_id: f"https://unreachable.registry.example:{standin.port}"})
    if registry_id == "nabp":
        site = html_site(f"https://{SITE}/", "<footer><p>We are VIPPS accredited.</p></footer>")
    else:
        site = html_site(f"https://{SITE}/", ENTRY_LOGO.format(link=ENTRY_REGISTERS[registry_id][1].format(n=OWN)))
    assert [(r.registry, r.status) for r in confirm(site, cfg, standin.settings())] == [(registry_id, "unreachable")]


def test_every_registry_has_an_adapter_or_says_why_not(config):
    docs = (Path(__file__).parents[1] / "docs" / "accreditation.md").read_text(encoding="utf-8")
    for registry in config.registries:
        assert (registry.live is None) == bool(registry.no_live_lookup), registry.id
        if registry.live and registry.live.key != "entry_link":
            assert registry.live.base_url and registry.live.path, registry.id
        # The docs' table of look-ups lists every registry by its id.
        assert f"| `{registry.id}` |" in docs, registry.id


def test_copied_gphc_number_is_denied_live(config, standin):
    site = html_site("https://quickmedsdirect.co.uk/", (FIXTURES / "copied-gphc-number.html").read_text(encoding="utf-8"))
    results = confirm(site, pointed_at(config, standin), standin.settings())
    assert [(r.registry, r.key, r.status) for r in results] == [("gphc", "1039401", "denies")]
    assert "Hillside Pharmacy" in results[0].detail and "M1 3HE" in results[0].detail


@pytest.mark.parametrize(
    "answer, expected",
    [
        ("Registration number 1039401 Status: Registered Address: 3 Park Row, Bristol, BS1 5LJ", "confirms-number"),
        ("Registration no. 1039401 Status: Registered Address: 3 Park Row, Bristol, BS1 5LJ", "confirms-number"),
        ("Registration number 1039401 Status: Previously registered Address: 3 Park Row, Bristol, BS1 5LJ", "denies"),
        # The site's postcode, but on another entry far below: the number's own entry does not show it.
        ("Registration number 1039401 Status: Registered Address: 4 Market Street, Leeds" + " ." * 400
         + " Registration number 1204417 Status: Registered Address: 3 Park Row, Bristol, BS1 5LJ", "denies"),
        # A longer number that contains the one cited is another entry.
        ("Registration number 11039401 Status: Registered Address: 3 Park Row, Bristol, BS1 5LJ", "inconclusive"),
        ("Registration number 1039401 Status: Registered Address: 3 Park Row, Bristol, BS1 5LJ. No results found.", "denies"),
    ],
)
def test_gphc_answers_are_matched_on_the_whole_number(answer, expected, config):
    site = html_site("https://parksidepharmacy.co.uk/", "<p>Parkside Pharmacy, 3 Park Row, Bristol BS1 5LJ.</p>")
    status, _ = _registry_lookup.judge_answer(config.registry("gphc"), "1039401", answer, site, config.live_status)
    assert status == expected


@pytest.mark.parametrize(
    "registry_id, key, answer, expected",
    [
        ("legitscript", "rxcare.com", "Search results: rxcare.com is not LegitScript certified.", "denies"),
        ("legitscript", "rxcare.com", "rxcare.com Uncertified – not currently certified", "denies"),
        ("legitscript", "rxcare.com", "rxcare.com Status: Uncertified", "denies"),
        ("legitscript", "rxcare.com", "rxcare.com Previously certified", "denies"),
        ("legitscript", "rxcare.com", "Search for rxcare.com: 0 websites found. LegitScript certified websites appear here.", "denies"),
        ("legitscript", "rxcare.com", "0 websites found. LegitScript certified websites appear here.", "denies"),
        ("legitscript", "rxcare.com", "rxcare.com LegitScript Certified", "confirms"),
        ("legitscript", "rxcare.com", "rxcare.com — LegitScript Certified. Not every site is.", "confirms"),
        ("nabp", "rxcare.com", "rxcare.com: no longer accredited", "denies"),
        ("register-de", "", "Web: www.meridianmeds.eu Status: nicht registriert", "denies"),
        ("register-de", "", "Web: www.meridianmeds.eu Status: registriert", "confirms"),
        ("register-nl", "", "Web: www.meridianmeds.eu Status: niet geregistreerd", "denies"),
        ("mhra", "ABC123", "Web: www.meridianmeds.eu Status: formerly registered", "denies"),
    ],
)
def test_negated_and_past_statuses_are_denials(registry_id, key, answer, expected, config):
    site = html_site(f"https://{key if '.' in key else SITE}/", "<p>Hello</p>")
    status, detail = _registry_lookup.judge_answer(config.registry(registry_id), key or "https://x/eintrag?id=1", answer, site, config.live_status)
    assert status == expected, detail
    if expected == "denies" and "found" not in answer:
        assert "not as" in detail


def test_a_gphc_confirmation_does_not_by_itself_make_a_site_legitimate(rules):
    assert "accreditation.registry-confirms-number" not in rules.data.scoring.verdicts.likely_legitimate_requires_any
    assert rules.outcome_rule("accreditation", "registry-confirms-number").severity == "positive"


def test_gphc_entry_matching_the_sites_postcode_confirms(config, standin):
    html = "<p>Parkside Pharmacy Ltd, 3 Park Row, Bristol BS1 5LJ. GPhC premises number 1123456.</p>"
    site = html_site("https://parksidepharmacy.co.uk/", html)
    results = confirm(site, pointed_at(config, standin), standin.settings())
    assert [r.status for r in results] == ["confirms-number"]
    site.enrichments["accreditation"] = results
    assert "registry-confirms-number" in outcomes(site, config)


def test_gphc_number_missing_from_the_register(config, standin):
    site = html_site("https://madeup-chemist.co.uk/", "<p>Madeup Chemist, 1 High St, York YO1 7HH. GPhC premises number 1999999.</p>")
    cfg = pointed_at(config, standin)
    # The register's entry addresses are not documented, so a 404 is not taken as proof of absence...
    assert [r.status for r in confirm(site, cfg, standin.settings())] == ["inconclusive"]
    # ...unless the adapter is configured to, for a register whose look-up is known to answer 404 for no entry.
    gphc = cfg.registry("gphc")
    strict = gphc.model_copy(update={"live": gphc.live.model_copy(update={"not_found_is_denial": True})})
    cfg = cfg.model_copy(update={"registries": [strict if r.id == "gphc" else r for r in cfg.registries]})
    results = confirm(site, cfg, standin.settings())
    assert [r.status for r in results] == ["denies"]
    assert "not found" in results[0].detail


def test_registry_that_does_not_answer_is_unreachable_not_a_verdict(config, standin):
    cfg = pointed_at(config, standin, legitscript=f"https://unreachable.registry.example:{standin.port}")
    site = html_site("https://brightwellrx.com/", SEAL.format(domain="brightwellrx.com"))
    results = confirm(site, cfg, standin.settings())
    assert [r.status for r in results] == ["unreachable"]
    site.enrichments["accreditation"] = results
    found = outcomes(site, cfg)
    assert {"registry-unreachable", "verified-link"} <= set(found)


def test_pipeline_asks_registries_only_when_asked(rules, config, standin):
    cfg = pointed_at(config, standin)
    local_rules = Rules(rules.data, {**rules.check_configs, "accreditation": cfg}, rules.path)

    async def check(confirm_registries: bool):
        async with Checker(standin.settings(confirm_registries=confirm_registries), rules=local_rules) as checker:
            return await checker.check(f"https://quickmedsdirect.co.uk:{standin.port}/")

    before = len(standin.requests)
    report = asyncio.run(check(False))
    assert not any(r.startswith(GPHC) for r in standin.requests[before:])
    assert "accreditation.registry-denies" not in {f.id for f in report.findings}

    report = asyncio.run(check(True))
    assert any(r.startswith(f"{GPHC}/registers/pharmacy/registrationnumber/1039401") for r in standin.requests[before:])
    denied = next(f for f in report.findings if f.id == "accreditation.registry-denies")
    assert "Hillside Pharmacy" in denied.evidence[0].snippet
    assert report.verdict != "likely_legitimate"


def test_environment_switches_live_confirmation_on():
    from app.settings import Settings

    assert Settings.from_env({"PHARMACHECK_CONFIRM_REGISTRIES": "1"}).confirm_registries
    assert not Settings.from_env({}).confirm_registries


def test_cli_flag_switches_live_confirmation_on():
    from app.cli import build_parser, settings_from_args

    assert settings_from_args(build_parser().parse_args(["check", "x.example", "--confirm-registries"])).confirm_registries
    assert not settings_from_args(build_parser().parse_args(["check", "x.example"])).confirm_registries


# --- real labelled data ------------------------------------------------------------------------------------------


def test_rogue_safety_checklists_are_not_claims(config):
    root = shared_data_or_skip("pages-dev")
    fired = {}
    for row in csv.DictReader(open(root / "sources.csv", encoding="utf-8")):
        page = page_from_text((root / row["file"]).read_text(encoding="utf-8"), row["url"])
        found = [o.outcome for o in accreditation.run(site_from_pages(row["url"], [page]), config)]
        if row["label"] == "rogue" and found:
            fired[row["file"]] = found
    # Rogue pages in the set that talk about VIPPS, NABP, CIPA and licences do so as advice to the reader.
    assert fired == {}


def test_pharmacy_tld_on_nabp_lists(config):
    path = shared_data_or_skip("nabp", "domains-dev.csv")
    counts = {"legit": [0, 0], "rogue": [0, 0]}
    for row in csv.DictReader(open(path, encoding="utf-8")):
        fired = accreditation.run(site_from_pages(f"https://{row['domain']}/", []), config)
        counts[row["label"]][0] += bool(fired)
        counts[row["label"]][1] += 1
    assert counts["rogue"][0] == 0
    assert counts["legit"][0] > counts["legit"][1] // 3


# --- hostile and malformed pages ---------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_PREFIXES = [
    "https://www.legitscript.com/websites/?checker_keywords=",
    "https://www.legitscript.com/pharmacy/",
    "https://static.legitscript.com/seals/",
    "https://www.pharmacyregulation.org/registers/pharmacy/registrationnumber/",
    "https://safe.pharmacy/?domain=",
    "https://versandhandel.dimdi.de/",
    "http://legitscript-verify.com/",
    "/verify?",
    "javascript:",
]
_WORDS = ["VIPPS", "LegitScript", "we are", "certified", "GPhC", "premises number", "EU common logo", "eu flag",
          "registered with the", "General", "Pharmaceutical", "Council", "State Board of Pharmacy", "1234567", ".", "\n"]


@given(
    words=st.lists(st.sampled_from(_WORDS) | st.text(max_size=12), max_size=40),
    hrefs=st.lists(st.tuples(st.sampled_from(_PREFIXES), st.text(max_size=40)), max_size=6),
)
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_arbitrary_pages_never_break_the_check(words, hrefs, config):
    from html import escape

    text = " ".join(words)
    links = "".join(
        f'<a href="{escape(p + s, quote=True)}"><img src="{escape(p + s, quote=True)}" alt="{escape(text[:40], quote=True)}"></a>'
        for p, s in hrefs
    )
    html = f"<html><body><p>{escape(text)}</p>{links}<script src=\"{escape(hrefs[0][0] if hrefs else '', quote=True)}x.js\"></script></body></html>"
    site = html_site("https://fuzz-pharmacy.com/", html)
    for outcome in accreditation.run(site, config):
        assert outcome.outcome in accreditation.OUTCOMES
        assert len(outcome.evidence) <= 5
        assert all(len(e.snippet) <= 400 for e in outcome.evidence)


@pytest.mark.parametrize(
    "href, expected",
    [
        ("https://www.principal.com/retirement", set()),  # "cipa" inside a word is not CIPA
        ("https://yellowcard.mhra.gov.uk/", set()),  # the regulator's own reporting site is not a fake register
        ("https://cipa-verify.org/members", {"link-to-wrong-host"}),
        ("https://www.legitscriptverify.com/check", {"link-to-wrong-host"}),
    ],
)
def test_plain_links_to_hosts_that_borrow_a_registry_name(href, expected, config):
    html = f'<p>Read <a href="{href}">more here</a>.</p>'
    assert set(outcomes(html_site("https://northstar-rx.com/", html), config)) == expected


def test_tracking_parameters_do_not_name_the_vouched_site(config):
    html = (
        '<footer><a href="https://www.cipa.com/members/?utm_source=partner-pharmacy.com&ref=another.com">'
        '<img src="/img/cipa-badge.png" alt="CIPA certified member"></a></footer>'
    )
    assert set(outcomes(html_site("https://northstar-rx.com/", html), config)) == {"registry-link-unspecific"}


def test_us_licence_statement_is_neither_proof_nor_warning(config):
    html = "<p>Riverside Pharmacy is licensed by the Ohio Board of Pharmacy.</p><p>We are LegitScript certified.</p>"
    found = outcomes(html_site("https://riversidepharmacy.com/", html), config)
    assert set(found) == {"unbacked-claim"}
    assert found["unbacked-claim"].facts["registries"] == ["legitscript"]


def test_unlinked_seal_from_the_registry_host_is_still_unbacked(config):
    html = '<footer><img src="https://static.legitscript.com/seals/4481123.png" alt="LegitScript approved"></footer>'
    assert set(outcomes(html_site("https://brightwellrx.com/", html), config)) == {"unbacked-claim"}


def test_long_registry_link_evidence_is_capped(config):
    url = "https://www.legitscript.com/websites/?checker_keywords=other-pharmacy.com&x=" + "a" * 3000
    html = f'<a href="{url}"><img src="https://static.legitscript.com/seals/1.png" alt="LegitScript"></a>'
    found = outcomes(html_site("https://brightwellrx.com/", html), config)
    assert len(found["link-for-other-site"].evidence[0].snippet) <= 400


def test_registry_answers_are_read_off_the_event_loop(config, standin, monkeypatch):
    # An answer page comes from a third party: decoding, parsing and matching it must not stall the service.
    import threading

    from checks import _registry_lookup

    threads = []
    real_judge, real_keys = _registry_lookup.judge_answer, _registry_lookup._keys_to_ask

    def judge(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_judge(*args, **kwargs)

    def keys(*args, **kwargs):
        threads.append(threading.current_thread())
        return real_keys(*args, **kwargs)

    monkeypatch.setattr(_registry_lookup, "judge_answer", judge)
    monkeypatch.setattr(_registry_lookup, "_keys_to_ask", keys)
    site = html_site("https://brightwellrx.com/", SEAL.format(domain="brightwellrx.com"))
    results = confirm(site, pointed_at(config, standin), standin.settings())
    assert [r.status for r in results] == ["confirms"]
    assert len(threads) == 2 and threading.main_thread() not in threads


def test_a_seal_that_names_no_register_is_an_unbacked_claim_with_look_up_links(config):
    found = outcomes(site_for("unbacked-claim--seal-naming-no-register"), config)
    claim = found["unbacked-claim"]
    snippets = " ".join(e.snippet for e in claim.evidence)
    assert "Verified pharmacy seal" in snippets and "certified-online-pharmacy.png" in snippets
    assert "names no register" in snippets
    assert any("quickmeds-example.com" in link.url for link in claim.links)


def test_a_seal_naming_no_register_beside_a_verified_link_is_not_flagged(config):
    html = (FIXTURES / "verified-link.html").read_text(encoding="utf-8").replace(
        "</body>", '<img src="/img/trusted-pharmacy-badge.png" alt="Trusted pharmacy"></body>')
    url, _ = CASES["verified-link"]
    found = outcomes(site_from_pages(url, [parse_page(html, url)]), config)
    assert set(found) == {"verified-link"}
