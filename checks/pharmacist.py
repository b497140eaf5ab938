"""Pharmacist and licence: does the site put a pharmacist within reach and say who licenses it?

Looks for a pharmacist available for consultation, a named pharmacist-in-charge (or superintendent or
responsible pharmacist), a pharmacy licence or registration number, and the regulator or state boards that
license it. Rogue sites copy these sentences too, so each is worth little on its own; a licence number is worth
most because the consumer can look it up. Sentences that deny ("we are not a licensed pharmacy") do not count;
a site that says it has no pharmacist or licence gets its own outcome, distinct from one that is silent, unless
the sentence is safety advice about other sites ("avoid sites with no pharmacist").
"""

from __future__ import annotations

import re

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet, snippet_around

from . import _qa as qa
from ._offers import cue_pattern, negated, warned
from ._qa import QAConfig
from .base import Check, Outcome


class Config(ConfigModel):
    available_phrases: list[str]
    in_charge_phrases: list[str]
    regulator_phrases: list[str]
    # Regular expressions; the first group is the number itself.
    licence_patterns: list[str]
    # The site saying it is no licensed pharmacy or has no pharmacist.
    none_stated_phrases: list[str] = []
    warning_cues: list[str] = []
    # How questions and answers are read: "Can I speak to a pharmacist?" claims nothing until answered "Yes".
    qa: QAConfig | None = None


# Numbers that sit next to a regulator's name but are not a licence ("... Council. Telephone number 020...").
_OTHER_NUMBER = re.compile(r"(?i)\b(?:phone|telephone|tel|fax|vat|company|order|account|tracking|mobile)\b")

OUTCOMES = ("pharmacist-available", "pharmacist-in-charge", "licence-number", "regulator-named", "none-stated",
            "pharmacist-not-found")


def _phrase_outcome(site: Site, phrases: list[str], outcome_id: str, qa_config: QAConfig | None = None) -> Outcome | None:
    matcher = PhraseSet(tuple(phrases))
    result: Outcome | None = None
    for page in site.pages:
        if page.status >= 400:
            continue
        reading = qa.read(page, qa_config) if qa_config is not None else None
        for m in matcher.finditer(page.text, limit=10):
            asked = reading.question_at(m.start) if reading is not None else None
            if asked is not None or page.text[m.end : m.end + 1] == "?":
                if asked is not None and asked.closed and asked.reply > 0:
                    result = (result or Outcome(outcome_id)).add(page.url, asked.evidence)
                    break
                continue
            if negated(page.text, m.start, m.end):
                continue
            result = result or Outcome(outcome_id)
            result.add(page.url, m.snippet)
            break
    return result


def run(site: Site, config: Config):
    pages = [p for p in site.pages if p.status < 400]
    if not pages:
        return []
    outcomes = [
        o
        for o in (
            _phrase_outcome(site, config.available_phrases, "pharmacist-available", config.qa),
            _phrase_outcome(site, config.in_charge_phrases, "pharmacist-in-charge", config.qa),
        )
        if o
    ]
    licence: Outcome | None = None
    patterns = [re.compile(p) for p in config.licence_patterns]
    for page in pages:
        for pattern in patterns:
            for m in pattern.finditer(page.text):
                number = m.group(1) if m.groups() else m.group(0)
                if not re.search(r"\d", number) or negated(page.text, m.start(), m.end()):
                    continue
                lead = page.text[max(m.start(), m.start(1) - 25) : m.start(1)]
                if _OTHER_NUMBER.search(lead):
                    continue
                if licence and number in licence.facts["numbers"]:
                    break
                licence = licence or Outcome("licence-number", facts={"numbers": []})
                licence.facts["numbers"].append(number)
                licence.add(page.url, snippet_around(page.text, m.start(), m.end(), radius=60))
                break
    if licence:
        outcomes.append(licence)
    regulator = _phrase_outcome(site, config.regulator_phrases, "regulator-named")
    if regulator:
        outcomes.append(regulator)
    cues = cue_pattern(tuple(config.warning_cues))
    none_stated = PhraseSet(tuple(config.none_stated_phrases))
    for page in pages:
        said = next((m for m in none_stated.finditer(page.text, limit=10) if not warned(page.text, m.start, m.end, cues)), None)
        if said:
            outcomes.append(Outcome("none-stated").add(page.url, said.snippet))
            break
    if not outcomes:
        outcomes.append(
            Outcome("pharmacist-not-found", facts={"pages_read": [p.url for p in pages]})
            .add(site.final_url, "Pages read: " + ", ".join(p.url for p in pages))
        )
    return outcomes


CHECK = Check(id="pharmacist", outcomes=OUTCOMES, config_model=Config, run=run)
