"""Domain: what the registrable domain itself says.

Rogue sellers register domains named after the drugs they push ("cheap-xanax-online") or the offer itself
("no-prescription"). Legitimate pharmacies almost never do, so these are cheap, reliable flags that need no page.
"""

from __future__ import annotations

import re

from app.domains import split_host
from app.rules import ConfigModel
from app.site import Site

from .base import Check, Outcome


class Config(ConfigModel):
    no_prescription_tokens: list[str]
    controlled_drug_tokens: list[str]
    rx_drug_tokens: list[str]
    # Tokens shorter than this are ignored inside a domain: "soma" in "somatic" is noise.
    min_token_length: int = 4


OUTCOMES = ("no-prescription-in-domain", "controlled-drug-in-domain", "rx-drug-in-domain", "plain-domain")


def _label(site: Site) -> str:
    _, label, _ = split_host(site.host or site.domain)
    return label.lower()


def _found(label: str, tokens: list[str], min_len: int) -> list[str]:
    squashed = re.sub(r"[^a-z0-9]", "", label)
    return [t for t in tokens if len(t) >= min_len and re.sub(r"[^a-z0-9]", "", t.lower()) in squashed]


def run(site: Site, config: Config):
    label = _label(site)
    if not label:
        return []
    evidence_url = site.final_url
    outcomes = []
    for outcome, tokens in (
        ("no-prescription-in-domain", config.no_prescription_tokens),
        ("controlled-drug-in-domain", config.controlled_drug_tokens),
        ("rx-drug-in-domain", config.rx_drug_tokens),
    ):
        hits = _found(label, tokens, config.min_token_length)
        if hits:
            outcomes.append(
                Outcome(outcome, facts={"tokens": hits}).add(evidence_url, f"Domain {site.domain} contains “{hits[0]}”")
            )
    if not outcomes:
        outcomes.append(Outcome("plain-domain").add(evidence_url, f"Domain {site.domain}"))
    return outcomes


CHECK = Check(id="domain", outcomes=OUTCOMES, config_model=Config, run=run)
