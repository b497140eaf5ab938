"""Transport outcomes that depend on the fetch, not on the markup: a refused certificate, the plain-HTTP probe.

Same convention as the contact and payment fixtures (tests/fixtures/<area>/<outcome>.html, a first-line
comment with the URL), plus what the fetch found: `fetch_error: tls_invalid` (the page was never read) or
`http_upgrade: yes|no` (where the plain-HTTP address led) or `tls: unchecked` (the certificate was not verified).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app.page import parse_page
from app.pipeline import run_checks, site_from_pages
from app.site import PageRecord

FIXTURES = Path(__file__).parent / "fixtures" / "transport"


def read_fixture(path: Path):
    html = path.read_text(encoding="utf-8")
    meta = dict(
        (k.strip(), v.strip())
        for k, v in (part.split(":", 1) for part in re.match(r"<!--(.*?)-->", html).group(1).split(";"))
    )
    url = meta["url"]
    error = meta.get("fetch_error")
    if error:
        site = site_from_pages(url, [])
        site.records.append(PageRecord(url=url, https=url.startswith("https://"), tls_valid=False, error=error,
                                       error_message="The site's HTTPS certificate is not valid."))
        return site
    site = site_from_pages(url, [parse_page(html, url)])
    # `tls: unchecked` is a stored page whose certificate nobody verified (a replayed archive of page texts).
    site.records[0].tls_valid = None if meta.get("tls") == "unchecked" else True
    if "http_upgrade" in meta:
        site.http_upgrades_to_https = meta["http_upgrade"] == "yes"
    return site


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.html")), ids=lambda p: p.stem)
def test_fixture_produces_the_transport_outcome_it_is_named_after(rules, path):
    site = read_fixture(path)
    outcomes, errors = run_checks(rules, site)
    assert not errors, errors
    produced = {o.outcome: o for check_id, o in outcomes if check_id == "transport"}
    expected = path.stem.split("--", 1)[0]
    assert expected in produced, sorted(produced)
    assert produced[expected].evidence


def test_every_transport_outcome_has_a_fixture():
    from checks import transport

    named = {p.stem.split("--")[0] for area in ("payment", "transport") for p in (FIXTURES.parent / area).glob("*.html")}
    assert set(transport.OUTCOMES) <= named, set(transport.OUTCOMES) - named


def test_every_pharmacist_outcome_has_a_fixture():
    from checks import pharmacist

    named = {p.stem.split("--")[0] for p in (FIXTURES.parent / "contact").glob("*.html")}
    assert set(pharmacist.OUTCOMES) <= named, set(pharmacist.OUTCOMES) - named


def test_an_unchecked_certificate_earns_no_points(rules):
    site = read_fixture(FIXTURES / "https-unverified.html")
    outcomes, _ = run_checks(rules, site)
    produced = {o.outcome for check_id, o in outcomes if check_id == "transport"}
    assert "https-valid" not in produced
    assert rules.outcome_rule("transport", "https-unverified").points == 0
