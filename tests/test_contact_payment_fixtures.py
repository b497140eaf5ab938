"""One small HTML page per contact, pharmacist, payment and transport outcome, named after the outcome.

tests/fixtures/<area>/<outcome>[--<variant>].html must produce <outcome>; the first line of each file is a
comment giving the URL it is read from and the crawl kind ("contact", "about", ...) that brought it in.
False friends (a SKU shaped like a postcode, "Western blot", gift cards on a shop shelf, a phone number in an
image's alt text, payment safety advice) are named after the outcome they must still produce, and the tests
below also check what they must not produce.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.page import parse_page
from app.pipeline import run_checks, site_from_pages
from app.rules import load_rules

FIXTURES = Path(__file__).parent / "fixtures"
AREAS = {"contact": ("contact", "pharmacist"), "payment": ("payment", "transport")}


def _files():
    for area in AREAS:
        for path in sorted((FIXTURES / area).glob("*.html")):
            yield pytest.param(area, path, id=f"{area}/{path.stem}")


def read_fixture(area: str, name: str):
    path = FIXTURES / area / f"{name}.html"
    html = path.read_text(encoding="utf-8")
    meta = dict(
        (k.strip(), v.strip())
        for k, v in (part.split(":", 1) for part in re.match(r"<!--(.*?)-->", html).group(1).split(";"))
    )
    page = parse_page(html, meta["url"], kind=meta.get("kind", "start"))
    return site_from_pages(meta["url"], [page])


def outcomes_for(rules, area: str, name: str):
    site = read_fixture(area, name)
    outcomes, errors = run_checks(rules, site)
    assert not errors, errors
    return {o.outcome: o for check_id, o in outcomes if check_id in AREAS[area]}, site


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.mark.parametrize("area,path", list(_files()))
def test_fixture_produces_the_outcome_it_is_named_after(rules, area, path):
    expected = path.stem.split("--", 1)[0]
    produced, site = outcomes_for(rules, area, path.stem)
    assert expected in produced, f"{path.name}: expected {expected}, got {sorted(produced)}"
    outcome = produced[expected]
    assert outcome.evidence, "every finding carries evidence"
    assert all(e.url == site.final_url for e in outcome.evidence)


@pytest.mark.parametrize(
    "name,country",
    [
        ("address-street--us-split-across-tags", "US"),
        ("address-street--us-spans-without-spaces", "US"),
        ("address-street--us-state-written-out", "US"),
        ("address-street--canada", "CA"),
        ("address-street--canada-street-direction", "CA"),
        ("address-street--switzerland-french", "CH"),
        ("address-street--switzerland-italian", "CH"),
        ("address-street--uk", "GB"),
        ("address-street--uk-without-postcode", "GB"),
        ("address-street--ireland", "IE"),
        ("address-street--germany-impressum", "DE"),
        ("address-street--austria", "AT"),
        ("address-street--switzerland", "CH"),
        ("address-street--france", "FR"),
        ("address-street--italy", "IT"),
        ("address-street--spain", "ES"),
        ("address-street--netherlands", "NL"),
        ("address-street--australia", "AU"),
        ("address-street--australia-split-across-lines", "AU"),
        ("address-street--india", "IN"),
        ("address-street--india-under-a-heading", "IN"),
        ("address-street--india-mg-road", "IN"),
        ("address-street--json-ld-only", "US"),
        ("address-street--ireland-business-park", "IE"),
        # A company number is not an Indian PIN code, and the Irish number beside it is not foreign.
        ("address-street--ireland-with-company-number", "IE"),
        ("address-street--canada-street-without-type", "CA"),
        ("address-street--india-road-number", "IN"),
        ("address-street--india-town-and-pin", "IN"),
        ("address-street--uk-business-park", "GB"),
        ("address-street--uk-large-user-postcode", "GB"),
    ],
)
def test_street_address_country(rules, name, country):
    produced, _ = outcomes_for(rules, "contact", name)
    assert produced["address-street"].facts["countries"] == [country]


@pytest.mark.parametrize(
    "name",
    ["address-street--germany-impressum", "address-street--france", "address-street--netherlands",
     "address-street--austria", "address-street--switzerland", "address-street--australia",
     "address-street--uk", "address-street--ireland", "phone-found--international-formats"],
)
def test_phone_numbers_in_national_and_international_formats(rules, name):
    produced, _ = outcomes_for(rules, "contact", name)
    assert "phone-found" in produced, sorted(produced)


def test_address_split_across_lines_and_tags_is_one_address(rules):
    produced, _ = outcomes_for(rules, "contact", "address-street--us-split-across-tags")
    snippet = produced["address-street"].evidence[0].snippet
    assert "120 Main Street" in snippet and "62701" in snippet


def test_json_ld_address_is_marked_in_plain_words(rules):
    produced, _ = outcomes_for(rules, "contact", "address-street--json-ld-only")
    snippet = produced["address-street"].evidence[0].snippet
    assert "machine-readable business details" in snippet and "schema.org" not in snippet
    assert "500 Oak Avenue" in produced["address-street"].evidence[0].snippet


@pytest.mark.parametrize(
    "name", ["address-not-found-partial--sku-looks-like-postcode", "address-not-found-partial--drug-strength-in-a-product-line"]
)
def test_drug_strengths_and_skus_are_not_postcodes(rules, name):
    produced, _ = outcomes_for(rules, "contact", name)
    assert not {"address-street", "address-po-box-only", "address-locality-only"} & set(produced)


def test_phone_number_only_in_image_alt_text_is_not_read(rules):
    produced, _ = outcomes_for(rules, "contact", "phone-not-found--number-in-image-alt")
    assert "phone-found" not in produced


def test_not_found_names_the_pages_read(rules):
    produced, site = outcomes_for(rules, "contact", "address-not-found--contact-page")
    assert site.final_url in produced["address-not-found"].evidence[0].snippet
    assert produced["address-not-found"].facts["pages_read"] == [site.final_url]


def test_saying_there_is_no_address_differs_from_silence(rules):
    withheld, _ = outcomes_for(rules, "contact", "address-withheld")
    silent, _ = outcomes_for(rules, "contact", "address-not-found--contact-page")
    assert "address-withheld" in withheld and "address-not-found" not in withheld
    assert "address-not-found" in silent and "address-withheld" not in silent


def test_free_mail_alongside_own_domain_is_not_flagged(rules):
    produced, _ = outcomes_for(rules, "contact", "email-found")
    assert "email-free-mail-only" not in produced
    assert all("logo@2x" not in e.snippet for e in produced["email-found"].evidence)


def test_phone_other_country_names_both_countries(rules):
    produced, _ = outcomes_for(rules, "contact", "phone-other-country")
    facts = produced["phone-other-country"].facts
    assert facts["phone_countries"] == ["IN"] and facts["address_countries"] == ["CA"]


def test_toll_free_number_matches_its_calling_zone(rules):
    # A +1 800 number is "US" to phonenumbers but serves Canada as well.
    produced, _ = outcomes_for(rules, "contact", "address-po-box-only--po-box")
    assert "phone-other-country" not in produced


def test_denied_pharmacist_does_not_count(rules):
    produced, _ = outcomes_for(rules, "contact", "none-stated--not-a-licensed-pharmacy")
    assert set(produced) & {"pharmacist-in-charge", "regulator-named", "pharmacist-available"} == set()
    assert "pharmacist-not-found" not in produced


def test_licence_number_is_captured(rules):
    produced, _ = outcomes_for(rules, "contact", "licence-number")
    assert produced["licence-number"].facts["numbers"] == ["2041286"]


RED = {"red-flag-only", "red-flag-with-cards", "transfer-with-cards"}


@pytest.mark.parametrize(
    "name",
    ["none-found--western-blot", "cards-via-gateway--gift-card-sold-in-shop", "cards-via-gateway--safety-advice",
     "cards-via-gateway--refund-by-bank-transfer", "none-found--safety-article-long-list",
     "none-found--beware-then-legitimate-pharmacies", "none-found--crypto-in-the-news",
     "cards-no-gateway-seen--crypto-ticker-in-a-name", "cards-no-gateway-seen--gift-card-bought-with-a-card",
     "cards-via-gateway--venmo-at-a-checkout", "cards-no-gateway-seen--faq-says-no-to-crypto"],
)
def test_false_friends_are_not_red_flags(rules, name):
    produced, _ = outcomes_for(rules, "payment", name)
    assert not RED & set(produced), sorted(produced)


def test_red_flag_evidence_names_each_channel(rules):
    produced, _ = outcomes_for(rules, "payment", "red-flag-only--crypto-and-western-union")
    outcome = produced["red-flag-only"]
    assert outcome.facts["channels"] == ["Cryptocurrency", "Money transfer (Western Union, MoneyGram)"]


def test_incentive_is_its_own_finding_next_to_the_channel(rules):
    produced, _ = outcomes_for(rules, "payment", "incentive-outside-cards")
    assert {"incentive-outside-cards", "red-flag-with-cards"} <= set(produced)
    assert "10% off" in produced["incentive-outside-cards"].evidence[0].snippet


def test_secure_card_form_and_plain_newsletter_form_are_not_flagged(rules):
    secure, _ = outcomes_for(rules, "payment", "https-unverified--card-form-posts-https")
    newsletter, _ = outcomes_for(rules, "payment", "no-https--newsletter-form")
    assert not {"card-form-over-http", "sensitive-form-over-http"} & (set(secure) | set(newsletter))


def test_card_form_over_http_makes_the_site_likely_rogue(rules):
    from app.pipeline import judge_site

    report = judge_site(rules, read_fixture("payment", "card-form-over-http"))
    assert report.verdict == "likely_rogue"


def test_regulator_registration_number_counts_company_number_does_not(rules):
    produced, _ = outcomes_for(rules, "contact", "licence-number--regulator-registration")
    assert produced["licence-number"].facts["numbers"] == ["1098765"]


def test_structured_data_phone_email_and_one_string_address(rules):
    produced, _ = outcomes_for(rules, "contact", "phone-found--json-ld-only")
    assert {"phone-found", "email-found", "address-street"} <= set(produced)
    assert "+15035550110" in produced["phone-found"].evidence[0].snippet


def test_payment_logos_are_read_from_alt_text_and_file_names(rules):
    produced, _ = outcomes_for(rules, "payment", "red-flag-with-cards--payment-logos")
    assert produced["red-flag-with-cards"].facts["channels"] == ["Cryptocurrency", "Money transfer (Western Union, MoneyGram)"]


@pytest.mark.parametrize(
    "name,phone,address",
    [("phone-other-country--north-american-number-abroad", ["US"], ["GB"]),
     ("phone-other-country--country-named-next-to-number", ["GB"], ["CA"])],
)
def test_foreign_number_is_read_in_its_own_country(rules, name, phone, address):
    produced, _ = outcomes_for(rules, "contact", name)
    facts = produced["phone-other-country"].facts
    assert facts["phone_countries"] == phone and facts["address_countries"] == address


@pytest.mark.parametrize(
    "name", ["phone-found--number-beside-a-street-number", "phone-found--international-formats", "address-street--uk"]
)
def test_phone_evidence_is_the_page_text_around_the_number(rules, name):
    produced, site = outcomes_for(rules, "contact", name)
    page_text = " ".join(site.pages[0].text.split())
    for evidence in produced["phone-found"].evidence:
        if "Phone link" in evidence.snippet or "machine-readable" in evidence.snippet:
            continue
        words = evidence.snippet.split(": ", 1)[1].strip("…")
        assert words in page_text, evidence.snippet


def test_licence_order_and_fax_numbers_are_not_phone_lines(rules):
    produced, _ = outcomes_for(rules, "contact", "phone-not-found--licence-order-and-fax-numbers")
    assert "phone-found" not in produced and "phone-other-country" not in produced


def test_po_box_before_a_town_and_postcode_stays_a_po_box(rules):
    produced, _ = outcomes_for(rules, "contact", "address-po-box-only--uk-po-box")
    assert produced["address-po-box-only"].facts["countries"] == ["GB"]
    assert "address-locality-only" not in produced


def test_paypal_friends_and_family_is_not_a_gateway_payment(rules):
    produced, _ = outcomes_for(rules, "payment", "red-flag-only--paypal-friends-and-family")
    assert "cards-via-gateway" not in produced
    assert produced["red-flag-only"].facts["channels"] == ["PayPal Friends and Family (no buyer protection)"]


@pytest.mark.parametrize(
    "name", ["phone-found--maker-headquartered-abroad", "address-not-found--product-ships-from-a-country"]
)
def test_a_place_said_of_a_maker_or_a_product_is_not_the_pharmacys(rules, name):
    produced, _ = outcomes_for(rules, "contact", name)
    assert "address-locality-only" not in produced and "phone-other-country" not in produced
    if "phone-found" in produced:
        assert produced["phone-found"].facts["phone_countries"] == ["US"]


def test_a_fax_number_is_contact_but_not_a_phone_line(rules):
    produced, _ = outcomes_for(rules, "contact", "phone-not-found--fax-only")
    assert "no-contact-found" not in produced and "phone-found" not in produced
    assert produced["phone-not-found"].facts["fax_numbers"] == ["+12127365000"]


def test_an_address_starts_after_its_heading_and_keeps_all_its_street_parts(rules):
    produced, _ = outcomes_for(rules, "contact", "address-street--india-under-a-heading")
    snippet = produced["address-street"].evidence[0].snippet
    assert snippet.startswith("Plot No. 23, Sector 5, HSR Layout"), snippet


def test_an_incentive_in_the_next_sentence_counts_only_when_it_refers_back(rules):
    produced, _ = outcomes_for(rules, "payment", "incentive-outside-cards--in-the-next-sentence")
    assert "10% off" in produced["incentive-outside-cards"].evidence[0].snippet
    promotion, _ = outcomes_for(rules, "payment", "red-flag-only--shop-promotion-after-the-channel")
    assert "incentive-outside-cards" not in promotion


def test_a_written_out_address_is_read_as_an_email(rules):
    produced, _ = outcomes_for(rules, "contact", "email-free-mail-only--written-out")
    assert produced["email-free-mail-only"].facts["emails"] == ["orders@gmail.com", "rxhelp@gmail.com"]


def test_an_operator_contradicts_another_company_but_not_the_brand_it_runs(rules):
    conflict, _ = outcomes_for(rules, "contact", "names-conflict--operator-differs-from-copyright")
    assert conflict["names-conflict"].facts["names"] == ["Harbour Trading Ltd", "Maple Leaf Drugs Inc"]
    brand, _ = outcomes_for(rules, "contact", "email-found--brand-operated-by-a-company")
    assert "names-conflict" not in brand


def test_a_list_of_state_licences_gives_a_licence_number(rules):
    produced, _ = outcomes_for(rules, "contact", "licence-number--state-licence-list")
    assert produced["licence-number"].facts["numbers"] == ["112345"]


def test_a_discount_for_every_method_or_a_secure_payment_promise_is_no_incentive(rules):
    produced, _ = outcomes_for(rules, "payment", "transfer-with-cards--discount-code-for-every-method")
    assert "incentive-outside-cards" not in produced
    rewarded, _ = outcomes_for(rules, "payment", "incentive-outside-cards--after-a-comma")
    assert "15% off" in rewarded["incentive-outside-cards"].evidence[0].snippet


@pytest.mark.parametrize(
    "name,channels",
    [("red-flag-only--cards-temporarily-unavailable",
      ["Cryptocurrency", "Money transfer (Western Union, MoneyGram)", "Person-to-person payment apps (Zelle, Cash App, Venmo)"]),
     ("red-flag-only--cards-not-accepted-at-this-time", ["Person-to-person payment apps (Zelle, Cash App, Venmo)"])],
)
def test_cards_the_text_refuses_do_not_count_even_beside_card_logos(rules, name, channels):
    produced, _ = outcomes_for(rules, "payment", name)
    assert produced["red-flag-only"].facts["channels"] == channels
    assert any(e.snippet.startswith("Cards refused") for e in produced["red-flag-only"].evidence)


def test_prepaid_vouchers_anonymous_e_currency_and_emailed_instructions_are_red_flags(rules):
    produced, _ = outcomes_for(rules, "payment", "red-flag-only--prepaid-vouchers-and-emailed-instructions")
    assert produced["red-flag-only"].facts["channels"] == [
        "Cryptocurrency", "Payment link or instructions sent by email",
        "Prepaid vouchers and anonymous e-currency (Paysafecard, Perfect Money)"]


def test_advice_about_other_sites_is_not_the_site_withholding_its_address(rules):
    produced, _ = outcomes_for(rules, "contact", "no-contact-found--advice-about-other-sites")
    assert not {"address-withheld", "phone-withheld"} & set(produced), sorted(produced)


@pytest.mark.parametrize(
    "name,country",
    [("address-po-box-only--australia", "AU"), ("address-po-box-only--germany", "DE"),
     ("address-po-box-only--canada", "CA"), ("address-po-box-only--france", "FR")],
)
def test_a_po_box_takes_its_country_from_the_postcode_after_it(rules, name, country):
    produced, _ = outcomes_for(rules, "contact", name)
    assert produced["address-po-box-only"].facts["countries"] == [country]


def test_a_dutch_big_number_is_a_licence_number(rules):
    produced, _ = outcomes_for(rules, "contact", "pharmacist-in-charge--dutch")
    assert produced["licence-number"].facts["numbers"] == ["49012345601"]


def test_an_example_address_in_a_form_is_not_the_sites_email(rules):
    produced, _ = outcomes_for(rules, "contact", "email-not-found--example-address-in-a-form")
    assert "email-free-mail-only" not in produced and "email-found" not in produced


def test_a_vanity_number_is_read_as_its_digits(rules):
    produced, _ = outcomes_for(rules, "contact", "phone-found--vanity-number")
    assert "+18007427622" in produced["phone-found"].evidence[0].snippet


def test_no_address_and_free_mail_on_a_prescription_shop_is_one_serious_finding(rules):
    produced, _ = outcomes_for(rules, "contact", "no-accountable-seller")
    seller = produced["no-accountable-seller"]
    # One high-severity finding in place of the two medium ones it is made of.
    assert "address-not-found" not in produced and "email-free-mail-only" not in produced
    assert rules.outcome_rule("contact", "no-accountable-seller").severity == "high"
    assert seller.facts["emails"] == ["quickmeds.support@gmail.com"]
    assert {"tramadol", "sildenafil"} <= set(seller.facts["drugs"])
    assert any("gmail.com" in e.snippet for e in seller.evidence)
    assert any(e.snippet.startswith("Offers ") for e in seller.evidence)


def test_free_mail_without_prescription_medicines_stays_two_findings(rules):
    produced, _ = outcomes_for(rules, "contact", "email-free-mail-only--no-prescription-medicines-sold")
    assert "no-accountable-seller" not in produced
    assert {"address-not-found", "email-free-mail-only"} <= set(produced)


def test_a_question_answered_no_withholds_the_address(rules):
    produced, _ = outcomes_for(rules, "contact", "address-withheld--faq-answered-no")
    assert "address-withheld" in produced
    assert "physical address" in produced["address-withheld"].evidence[0].snippet
