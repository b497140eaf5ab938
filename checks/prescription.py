"""Prescription: does the site require a valid prescription for prescription-only medicines, and how?

This is the strongest single signal: most sites on NABP's Not Recommended list sell without a valid
prescription. Drug lists (with their prescription and controlled status) and phrases live in rules.yaml.
"""

from __future__ import annotations

from typing import Literal

from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from .base import Check, Outcome


class Drug(ConfigModel):
    name: str
    aliases: list[str] = []
    status: Literal["rx", "controlled", "otc"]
    schedule: str | None = None  # e.g. "US C-II"


class Config(ConfigModel):
    requirement_phrases: list[str]
    verification_phrases: list[str]
    mention_phrases: list[str]
    no_prescription_phrases: list[str]
    questionnaire_phrases: list[str]
    drugs: list[Drug]


OUTCOMES = (
    "required-with-verification",
    "required-stated",
    "mentioned-only",
    "rx-drugs-without-requirement",
    "no-prescription-offer",
    "questionnaire-only",
    "controlled-offered",
    "controlled-without-process",
)


def _drug_sets(config: Config) -> tuple[PhraseSet, PhraseSet]:
    rx = [n for d in config.drugs if d.status == "rx" for n in [d.name, *d.aliases]]
    controlled = [n for d in config.drugs if d.status == "controlled" for n in [d.name, *d.aliases]]
    return PhraseSet(tuple(rx)), PhraseSet(tuple(controlled))


def _collect(site: Site, phrases: PhraseSet, outcome: str) -> Outcome | None:
    result = None
    for page, text in site.texts():
        for match in phrases.finditer(text, limit=3):
            result = result or Outcome(outcome)
            result.add(page.url, match.snippet)
    return result


def run(site: Site, config: Config):
    if not site.pages:
        return []
    requirement = _collect(site, PhraseSet(tuple(config.requirement_phrases)), "required-stated")
    verification = _collect(site, PhraseSet(tuple(config.verification_phrases)), "required-with-verification")
    mention = _collect(site, PhraseSet(tuple(config.mention_phrases)), "mentioned-only")
    no_rx = _collect(site, PhraseSet(tuple(config.no_prescription_phrases)), "no-prescription-offer")
    questionnaire = _collect(site, PhraseSet(tuple(config.questionnaire_phrases)), "questionnaire-only")
    rx_set, controlled_set = _drug_sets(config)
    rx_drugs = _collect(site, rx_set, "rx-drugs-without-requirement")
    controlled = _collect(site, controlled_set, "controlled-offered")

    outcomes: list[Outcome] = []
    has_process = requirement is not None and verification is not None
    if no_rx:
        outcomes.append(no_rx)
    if has_process:
        combined = Outcome("required-with-verification", evidence=requirement.evidence[:2] + verification.evidence[:3])
        outcomes.append(combined)
    elif questionnaire and (rx_drugs or controlled):
        outcomes.append(questionnaire)
    elif requirement:
        outcomes.append(requirement)
    elif mention:
        outcomes.append(mention)

    if controlled:
        if no_rx or not (has_process or requirement):
            outcomes.append(Outcome("controlled-without-process", evidence=controlled.evidence))
        else:
            outcomes.append(controlled)
    if rx_drugs and not (requirement or verification or no_rx):
        outcomes.append(rx_drugs)
    return outcomes


CHECK = Check(id="prescription", outcomes=OUTCOMES, config_model=Config, run=run)
