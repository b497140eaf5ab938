"""The page model: visible text, links, forms, images, structured data, language and title."""

from __future__ import annotations

import pytest

from app.crawl import choose_pages
from app.page import parse_page
from app.textmatch import PhraseSet

HTML = """<!doctype html><html lang="en-GB"><head><title>  Acme \u202eChemist  </title>
<style>.x{color:red}</style><script>var secret = "no prescription needed";</script>
<script type="application/ld+json">{"@context":"https://schema.org","@graph":[
 {"@type":"WebSite","name":"Acme"},
 {"@type":["Pharmacy","LocalBusiness"],"name":"Acme Chemist Ltd","telephone":"+44 20 7946 0000",
  "address":{"@type":"PostalAddress","streetAddress":"1 High Street","addressLocality":"London","postalCode":"SW1A 1AA","addressCountry":"GB"}}]}
</script></head>
<body><nav><a href="/contact-us">Contact us</a> <a href="https://other.example/x">Elsewhere</a>
<a href="/about"><img src="/logo.png" alt="About Acme"></a></nav>
<p>Prescription<b>only</b> medicines</p><div>Line two</div>
<form action="/checkout" method="POST"><input name="cardnumber" type="text" autocomplete="cc-number"><select name="country"></select></form>
<div itemscope itemtype="https://schema.org/Organization"><span itemprop="name">Acme Holdings</span>
<div itemprop="address" itemscope itemtype="https://schema.org/PostalAddress"><span itemprop="streetAddress">2 Low Road</span></div></div>
</body></html>"""


def test_visible_text_skips_scripts_and_keeps_blocks_apart():
    page = parse_page(HTML, "https://acme.example/")
    assert "no prescription needed" not in page.text
    assert "color:red" not in page.text
    assert "Line two" in page.text.splitlines()
    assert page.title == "Acme Chemist"  # bidi override stripped, whitespace collapsed
    assert page.lang == "en-gb"


def test_sibling_inline_elements_do_not_fuse_but_emphasis_inside_a_word_stays_whole():
    def text(body: str) -> str:
        return parse_page(f"<html><body>{body}</body></html>", "https://x.example/").text

    assert text("<span>120 Main Street</span><span>Springfield</span><span>IL</span><span>62701</span>") == (
        "120 Main Street Springfield IL 62701"
    )
    assert text('<a href="/">Home</a><a href="/faq">FAQ</a>') == "Home FAQ"
    assert text("<b>Ph</b>armacy and <i>ph</i>armacist") == "Pharmacy and pharmacist"
    assert text("Price: <span>$</span><span>12</span>.99. Hello <span>world</span>!") == "Price: $12.99. Hello world!"


def test_links_forms_images_are_absolute():
    page = parse_page(HTML, "https://acme.example/shop/")
    urls = {l.url: l.text for l in page.links}
    assert urls["https://acme.example/contact-us"] == "Contact us"
    assert urls["https://acme.example/about"] == "About Acme"  # image alt stands in for link text
    form = page.forms[0]
    assert form.action == "https://acme.example/checkout" and form.method == "post"
    assert {i.name for i in form.inputs} == {"cardnumber", "country"}
    image = page.images[0]
    assert image.src == "https://acme.example/logo.png" and image.link == "https://acme.example/about"


def test_structured_data_from_json_ld_graph_and_microdata():
    page = parse_page(HTML, "https://acme.example/")
    by_source = {o.source: o for o in page.organizations}
    ld = by_source["json-ld"]
    assert ld.name == "Acme Chemist Ltd" and ld.postal_code == "SW1A 1AA" and ld.country == "GB"
    assert ld.telephone == "+44 20 7946 0000"
    md = by_source["microdata"]
    assert md.name == "Acme Holdings" and md.street == "2 Low Road"


def test_broken_json_ld_is_ignored():
    page = parse_page('<script type="application/ld+json">{"@type": "Pharmacy", </script><p>x</p>', "https://a.example/")
    assert page.organizations == []


def test_phrases_respect_word_boundaries_and_case():
    phrases = PhraseSet(("rx", "no prescription needed", "pill*"))
    assert phrases.search("Proxy server") is None
    assert phrases.search("Buy RX drugs").phrase == "RX"
    assert phrases.search("NO   PRESCRIPTION\nneeded today").phrase.split() == ["NO", "PRESCRIPTION", "needed"]
    assert phrases.search("cheap pills") is not None
    assert phrases.search("pillowcase") is None


def test_crawl_picks_same_site_pages_by_link_text_then_path(rules):
    html = """<a href="/help/reach-us">Contact us</a><a href="/contact-form-old">old</a>
    <a href="https://shop.acme.example/faq">FAQ</a><a href="https://evil.example/about">About us</a>
    <a href="mailto:x@acme.example">Email</a><a href="/how-to-order">Ordering</a>"""
    page = parse_page(html, "https://www.acme.example/")
    plan = dict(choose_pages([page], "acme.example", rules.data.crawl.targets, 4, set()))
    assert plan["contact"] == "https://www.acme.example/help/reach-us"
    assert plan["faq"] == "https://shop.acme.example/faq"  # same registrable domain
    assert plan["prescription"] == "https://www.acme.example/how-to-order"
    assert "about" not in plan  # another domain is never crawled
    assert len(choose_pages([page], "acme.example", rules.data.crawl.targets, 1, set())) == 1


def test_crawl_reads_links_of_every_page_given(rules):
    deep = parse_page('<a href="/cart">Cart</a>', "https://acme.example/product/1")
    home = parse_page('<a href="/contact">Contact us</a>', "https://acme.example/")
    plan = dict(choose_pages([deep, home], "acme.example", rules.data.crawl.targets, 3, set()))
    assert plan["contact"] == "https://acme.example/contact"


@pytest.mark.parametrize(
    "host, domain",
    [
        ("mypharm.myshopify.com", "mypharm.myshopify.com"),
        ("www.otherpharm.myshopify.com", "otherpharm.myshopify.com"),
        ("someone.github.io", "someone.github.io"),
        ("shop.example.co.uk", "example.co.uk"),
        ("www.goodcare.pharmacy", "goodcare.pharmacy"),
    ],
)
def test_shops_on_a_hosting_platform_are_separate_sites(host, domain):
    from app.domains import registrable_domain

    assert registrable_domain(host) == domain


def test_crawl_stays_in_the_shop_on_a_hosting_platform(rules):
    html = '<a href="https://otherpharm.myshopify.com/pages/contact">Contact us</a><a href="/pages/faq">FAQ</a>'
    page = parse_page(html, "https://mypharm.myshopify.com/")
    plan = dict(choose_pages([page], "mypharm.myshopify.com", rules.data.crawl.targets, 4, set()))
    assert plan == {"faq": "https://mypharm.myshopify.com/pages/faq"}


def test_article_content_is_told_apart_from_the_sites_frame():
    html = """<body><article><p>Look for the <a href="/seal">seal</a>.</p><img src="/a.png"></article>
    <footer><a href="/about">About</a><img src="/b.png"></footer></body>"""
    page = parse_page(html, "https://acme.example/")
    assert [(l.url.rsplit("/", 1)[-1], l.in_article) for l in page.links] == [("seal", True), ("about", False)]
    assert [i.in_article for i in page.images] == [True, False]
    assert page.article_text == "Look for the seal ."
