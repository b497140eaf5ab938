"""Page analysis on hostile markup: bounded time, no RecursionError, cleaned and capped strings."""

from __future__ import annotations

import os
import time

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from app.fetch import decode_html
from app.page import (
    MAX_LINK_TEXT, MAX_LINKS, MAX_SITE_TEXT, MAX_TAGS, MAX_TEXT, MAX_TITLE, bound_markup, bound_site_text, clean_evidence,
    page_from_text, parse_page,
)
from tests.hostile_server import MALFORMED, big_text_page

URL = "https://pharmacy.example/"


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_markup_parses_in_bounded_time(kind):
    html = decode_html(MALFORMED[kind], "text/html")
    started = time.monotonic()
    page = parse_page(html, URL)
    # A generous bound for a shared, busy machine; the point is seconds, not the minute bs4 would take unbounded.
    assert time.monotonic() - started < 8
    assert len(page.title) <= MAX_TITLE
    assert len(page.links) <= MAX_LINKS
    assert all(len(link.text) <= MAX_LINK_TEXT for link in page.links)


def test_two_mebibytes_of_bare_tags_are_cut_and_marked_truncated():
    html = "<b>" * (2 * 1024 * 1024 // 3)
    started = time.monotonic()
    page = parse_page(html, URL)
    assert time.monotonic() - started < 8
    assert page.truncated


def test_markup_below_the_tag_cap_is_untouched():
    html = "<p>x</p>" * 100
    assert bound_markup(html) == (html, False)
    cut, truncated = bound_markup("<i>" * (MAX_TAGS + 5))
    assert truncated and cut.count("<i>") == MAX_TAGS


def test_one_huge_text_node_is_cut_to_the_text_cap():
    # Before, the cap was checked only after a whole text node was kept: a 2 MiB <p> gave 2 million characters.
    page = parse_page(big_text_page(), URL)
    assert MAX_TEXT - 100 <= len(page.text) <= MAX_TEXT
    assert page.truncated


def test_article_and_link_text_are_cut_inside_one_huge_node():
    html = "<article>" + "word " * 400_000 + "</article><a href='/x'>" + "y" * 1_000_000 + "</a>"
    page = parse_page(html, URL)
    assert len(page.article_text) <= MAX_TEXT // 4
    assert len(page.text) <= MAX_TEXT and page.truncated
    assert len(page.links[0].text) <= MAX_LINK_TEXT


def test_text_under_the_cap_is_not_marked_truncated():
    page = parse_page("<p>" + "x" * 1000 + "</p><p>more</p>", URL)
    assert not page.truncated and page.text.endswith("more")


def test_the_text_of_a_site_is_capped_over_all_its_pages():
    pages = [page_from_text("t" * MAX_TEXT, f"{URL}{i}") for i in range(5)]
    cut = bound_site_text(pages)
    assert sum(len(p.text) for p in pages) == MAX_SITE_TEXT
    assert cut == [p for p in pages if p.truncated] and pages[0] not in cut
    assert bound_site_text(pages) == []  # applying it again changes nothing
    assert sum(len(p.text) for p in pages) == MAX_SITE_TEXT


def test_deep_nesting_does_not_recurse():
    html = "<div>" * 20_000 + "<a href='/deep'>deep <b>link</b></a>" + "</div>" * 20_000
    page = parse_page(html, URL)
    assert [link.text for link in page.links] == ["deep link"]


def test_page_strings_are_cleaned_and_capped():
    html = (
        "<title>Cheap\u202e sdem\u202c \u200bmeds\u0000" + "x" * 5000 + "</title>"
        "<body><a href='/a'>\u2066Contact\u2069 \u200dus" + " y" * 5000 + "</a></body>"
    )
    page = parse_page(html, URL)
    assert page.title.startswith("Cheap sdem meds") and len(page.title) <= MAX_TITLE
    link = page.links[0]
    assert link.text.startswith("Contact us") and len(link.text) <= MAX_LINK_TEXT
    for s in (page.title, link.text, page.text):
        assert not any(c in s for c in "\u202e\u202c\u200b\u200d\u2066\u2069\u0000")


_HIDDEN = (
    "\u061c\u180e\u00ad\u034f\ufe0f\U000e0001\U000e0041\U000e007f\ufff9\ufffa\ufffb\u115f\u1160\u3164\uffa0"
    "\u2060\u2061\u2062\u2063\u2064\ufeff\u200b\u200d\u202e\u2066\u0600\U0001d173\U000e0100\x00\x1b\x85"
)


def test_invisible_characters_of_every_kind_are_stripped_from_page_strings():
    hidden = _HIDDEN.replace("\x00", "")  # lxml itself turns NUL into U+FFFD, as the HTML standard says
    html = (
        f"<title>Phar{hidden}macy \u2764\ufe0f</title><body><a href='/c'>Con{hidden}tact</a>"
        f"<p>Licensed{hidden} pharmacy \u00e9\u4e2d\tnow</p></body>"
    )
    page = parse_page(html, URL)
    assert page.title == "Pharmacy \u2764"
    assert page.links[0].text == "Contact"
    assert "Licensed pharmacy \u00e9\u4e2d now" in page.text
    assert clean_evidence(f"a{_HIDDEN}b\nc") == "ab\nc"
    assert page_from_text(f"x{_HIDDEN}y", URL).text == "xy"


def test_the_invisible_table_covers_every_control_and_format_character():
    import unicodedata

    from app.invisible import INVISIBLE

    # Cc and Cf only occur in planes 0, 1 and 14; the other planes hold ideographs, private use or nothing.
    for code in (c for plane in (0, 1, 14) for c in range(plane << 16, (plane + 1) << 16)):
        char = chr(code)
        if unicodedata.category(char) in ("Cc", "Cf") and char not in "\t\n\r":
            assert INVISIBLE.match(char), f"U+{code:04X} {unicodedata.name(char, '')} is not in app/invisible.py"
    for char in "\t\n\r aé中\u2764\U0001f48a\ue000":
        assert not INVISIBLE.match(char)


def test_link_text_ignores_scripts_inside_links():
    page = parse_page("<a href='/c'>Contact<script>var x = 1;</script> us</a>", URL)
    assert page.links[0].text == "Contact us"


_TOKENS = st.sampled_from([
    "<", ">", "</", "<!--", "-->", "<![CDATA[", "]]>", "<a href='", "'>", "<script>", "</script>", "<title>",
    "<meta http-equiv=refresh content='0;url=", "<base href=", "<form action=", "<input name=", "<img src=",
    '<script type="application/ld+json">', '{"@type":"Pharmacy","address":', "[", "]", "{", "}", "&#x", ";",
    "&amp", "\u202e", "\u200b", "\x00", "\ufeff", "<div itemscope itemtype=http://schema.org/Pharmacy>",
    "<span itemprop=telephone>", "é", "中", "\ud7ff", "javascript:", "//", "@", "%",
])


# The fuzz run is bounded by time as well as by examples, so it costs the same on a fast and a slow machine:
# a few seconds locally, about 20 in CI (CI=true), or PHARMACHECK_FUZZ_SECONDS.
FUZZ_SECONDS = float(os.environ.get("PHARMACHECK_FUZZ_SECONDS") or (20 if os.environ.get("CI", "").lower() == "true" else 3))
FUZZ_ROUND_EXAMPLES = 100
FUZZ_MAX_EXAMPLES = 20_000


_SMALL_BODIES = st.one_of(
    st.binary(max_size=4096),
    st.lists(st.one_of(_TOKENS, st.text(max_size=20)), max_size=300).map("".join).map(lambda s: s.encode("utf-8", "surrogatepass")),
)
# Hypothesis draws at most a few kilobytes per example; one body in eight is repeated into a larger one (up to
# 256 KiB), where the caps on tags, text and links start to matter.
_BODIES = st.tuples(_SMALL_BODIES, st.sampled_from((1,) * 14 + (8, 64))).map(lambda pair: pair[0] * pair[1])
_FUZZ_RULES = []


@settings(max_examples=FUZZ_ROUND_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(_BODIES)
@example(b"Buy Viagra 100mg, no prescription needed. " * 6000)  # one text node larger than the page's text cap
def _fuzz_round(body):
    from app.pipeline import judge_site, site_from_pages
    from app.rules import load_rules

    if not _FUZZ_RULES:
        _FUZZ_RULES.append(load_rules())
    # Any byte string a server sends must yield a page model and a report, never an exception.
    for ctype in ("text/html", "text/html; charset=shift_jis", "text/html; charset=punycode", "text/html; charset=iso-2022-jp"):
        page = parse_page(decode_html(body, ctype), URL)
        assert len(page.title) <= MAX_TITLE
        assert len(page.text) <= MAX_TEXT
    # Judged once, on the last reading: the checks see the same kinds of strings whatever the charset.
    report = judge_site(_FUZZ_RULES[0], site_from_pages(URL, [page]))
    assert not [e for e in report.errors if e.code == "check_error"], report.errors


def test_fuzz_page_analysis_on_random_bytes():
    # Whole hypothesis runs, one after another, until the time box is used: a failure still shrinks and
    # reports normally, because no run is cut off half way.
    stop = time.monotonic() + FUZZ_SECONDS
    rounds = 0
    while rounds * FUZZ_ROUND_EXAMPLES < FUZZ_MAX_EXAMPLES and (rounds == 0 or time.monotonic() < stop):
        _fuzz_round()
        rounds += 1


def test_evidence_quoted_from_pages_is_cleaned_and_capped_before_any_report(rules):
    from checks import ALL_CHECKS
    from checks.base import Outcome
    from app.scoring import build_findings

    check = ALL_CHECKS[0]
    outcome = Outcome(check.outcomes[0]).add(URL + "\u202e", "Licensed\u202e\u200b pharmacy\u0000 " + "x" * 10_000)
    (finding,) = build_findings(rules, [(check.id, outcome)])
    evidence = finding.evidence[0]
    assert evidence.snippet.startswith("Licensed pharmacy ") and len(evidence.snippet) <= 500
    assert evidence.url == URL
