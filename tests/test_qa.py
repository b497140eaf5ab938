"""The question-and-answer reader (checks/_qa.py), the page's pairs (app/page.py) and language detection."""

from __future__ import annotations

import pytest

from app.language import declared_language, detect_language, prose_sample
from app.page import page_from_text, parse_page
from app.pipeline import site_from_pages
from checks import _qa as qa
from checks import prescription

URL = "https://www.northside-example.com/faq"


def outcomes(html: str, rules, url: str = URL) -> set[str]:
    site = site_from_pages(url, [parse_page(html, url)])
    return {o.outcome for o in prescription.CHECK.run(site, rules.config_for("prescription"))}


@pytest.mark.parametrize("question,answer,expected", [
    # Asked whether one is needed: "No" is none needed (an offer), "Yes" a requirement.
    ("Do you need my prescription?", "No. You can buy all our medicines without a prescription.", "no-prescription-offer"),
    ("Do you need my prescription?", "Yes. We dispense medicines only against your doctor's prescription.", "required-stated"),
    # Asked whether one can do without: "No" is a requirement, "Yes" an offer.
    ("Can I order without a prescription?", "No. Buying them takes a prescription from your doctor.", "required-stated"),
    ("Can I order without a prescription?", "Yes, just add them to your basket.", "no-prescription-offer"),
    # An answer in its own words says what it states.
    ("Is a prescription required?", "You do not need a prescription to order from our shop.", "no-prescription-offer"),
    ("Brauche ich ein Rezept?", "Nein. Sie können alle unsere Medikamente ohne Rezept bestellen.", "no-prescription-offer"),
    ("¿Necesito receta?", "Sí, los medicamentos sujetos a prescripción médica requieren receta.", "required-stated"),
])
def test_the_answer_is_read_against_the_question(question, answer, expected, rules):
    html = f"<html><body><h3>{question}</h3><p>{answer}</p></body></html>"
    found = outcomes(html, rules)
    assert expected in found
    other = {"no-prescription-offer": "required-stated", "required-stated": "no-prescription-offer"}[expected]
    assert other not in found


@pytest.mark.parametrize("html", [
    # About an OTC product, "No" is the right answer.
    "<h3>Do I need a prescription for allergy tablets?</h3><p>No, loratadine is sold over the counter.</p>",
    # A question about the process, not the need: "No" is no offer.
    "<h3>Do I need to send the original prescription?</h3><p>No, you can order and pay once your doctor sent it.</p>",
    # "How" asks for information; its answer says nothing yes or no.
    "<h3>How do I order without my prescription at hand?</h3><p>No worries: call us and we ask your doctor.</p>",
    # Advice about other pharmacies.
    "<h3>Do legitimate pharmacies need a prescription?</h3><p>Yes, always; avoid sites that say otherwise.</p>",
])
def test_answers_that_are_no_offer(html, rules):
    assert "no-prescription-offer" not in outcomes(f"<html><body>{html}</body></html>", rules)


def test_every_markup_lays_out_pairs(rules):
    html = """<html><head><script type="application/ld+json">{"@type": "FAQPage", "mainEntity": [{"@type": "Question",
      "name": "Q one?", "acceptedAnswer": {"@type": "Answer", "text": "<b>A one.</b>"}}]}</script></head><body>
      <dl><dt>Q two?</dt><dd>A two.</dd></dl>
      <details><summary>Q three?</summary>A three.</details>
      <button aria-controls="a4" aria-expanded="false">Q four?</button><div id="a4">A four.</div>
      <div itemscope itemtype="https://schema.org/Question"><span itemprop="name">Q five?</span>
        <div itemprop="acceptedAnswer" itemscope itemtype="https://schema.org/Answer"><p itemprop="text">A five.</p></div></div>
      <h2>Q six?</h2><p>A six.</p></body></html>"""
    page = parse_page(html, URL)
    pairs = {p.question: (p.answer, p.source) for p in page.qa_pairs}
    assert pairs["Q one?"] == ("A one.", "faq-json-ld")
    assert pairs["Q two?"] == ("A two.", "dl")
    assert pairs["Q three?"] == ("A three.", "details")
    assert pairs["Q four?"] == ("A four.", "aria")
    assert pairs["Q five?"] == ("A five.", "faq-microdata")
    assert pairs["Q six?"] == ("A six.", "heading")
    reading = qa.read(page, rules.config_for("prescription").qa)
    # Placed in the page text: a phrase there can be told to stand in a question or in an answer.
    two = page.text.index("Q two?")
    assert reading.question_at(two).question == "Q two?"
    assert reading.answer_at(page.text.index("A two.")).question == "Q two?"
    # The JSON-LD question is not on the visible page: read, but not placed.
    one = next(p for p in reading.pairs if p.question == "Q one?")
    assert one.start == -1 and one.reply == 0


def test_text_only_pages_pair_question_sentences(rules):
    page = page_from_text("Do you need my prescription? No. You can buy all our medicines without a prescription.\n"
                          "How long does delivery take? Three days.", URL)
    reading = qa.read(page, rules.config_for("prescription").qa)
    first = reading.pairs[0]
    assert first.question == "Do you need my prescription?" and first.reply == -1 and first.closed
    assert not reading.pairs[1].closed  # "How" is an open question


def test_a_bare_no_is_an_answer_only_standing_alone(rules):
    vocab = qa.vocabulary(rules.config_for("prescription").qa, "en")
    assert vocab.reply("No.") == -1 and vocab.reply("No, we cannot.") == -1
    assert vocab.reply("No online order is possible without one.") == 0
    assert vocab.reply("No problem, order today.") == 1
    assert vocab.reply("Of course not.") == -1


def test_phrases_by_language_fall_back_to_every_language():
    value = {"all": ["visa"], "en": ["credit card"], "de": ["kreditkarte"], "fr": ["carte bancaire"]}
    assert qa.phrases_for(value, "de") == ("visa", "credit card", "kreditkarte")
    assert qa.phrases_for(value, "en") == ("visa", "credit card")
    # Unknown, or a language with no phrases of its own: read with all of them, never with fewer than before.
    assert set(qa.phrases_for(value, "")) == {"visa", "credit card", "kreditkarte", "carte bancaire"}
    assert set(qa.phrases_for(value, "sv")) == {"visa", "credit card", "kreditkarte", "carte bancaire"}
    assert qa.phrases_for(["a", "b"], "de") == ("a", "b")


def test_language_is_detected_from_prose_and_falls_back_to_the_declaration():
    german = ("Wir liefern Ihre Medikamente schnell und zuverlässig nach Hause. Bitte senden Sie uns Ihr Rezept, "
              "damit unsere Apotheker es prüfen können.")
    assert detect_language("Home\nShop\nContact\n" + german) == "de"
    # Too little prose to tell: the page's own declaration stands; without one the language is unknown.
    assert detect_language("Warenkorb", "de-AT") == "de"
    assert detect_language("Warenkorb") == ""
    assert declared_language("nb-NO") == "no"
    assert prose_sample("Menu\nCart\n" + german).startswith("Wir liefern")
