"""Domain: what the site's address itself says.

Rogue sellers register domains named after the drugs they push ("cheap-xanax-online") or the offer itself
("no-prescription"). Legitimate pharmacies are named after the business, almost never after a product, so these
flags need no page at all. Drug names come from the same list as the prescription check (rules.yaml anchors it
once); names that are too short or too common inside ordinary words are left out.
"""

from __future__ import annotations

import re

from app.domains import split_host
from app.rules import ConfigModel
from app.site import Site

from .base import Check, Outcome
from .prescription import Drug


class Config(ConfigModel):
    no_prescription_tokens: list[str]
    # Words that name a class of controlled drugs ("opioid", "steroid") rather than a drug: they also name
    # recovery clinics and steroid-free skincare, so they weigh less than a drug's own name.
    controlled_class_tokens: list[str] = []
    # Sales pitches that legitimate pharmacies do not put in their name: "cheap", "generic", a foreign
    # country's pharmacy sold to another country's patients ("canadianpharmacy" on a .com).
    sales_pitch_tokens: list[str] = []
    drugs: list[Drug]
    # Tokens shorter than this are ignored inside a domain: "soma" in "somatic" is noise.
    min_token_length: int = 5
    # Drug names that occur inside ordinary words or business names and so say nothing in a domain.
    ignore_tokens: list[str] = []


OUTCOMES = (
    "no-prescription-in-domain",
    "controlled-drug-in-domain",
    "controlled-class-in-domain",
    "unlicensed-drug-in-domain",
    "rx-drug-in-domain",
    "sales-pitch-in-domain",
    "plain-domain",
)

_STATUS_OUTCOME = {
    "controlled": "controlled-drug-in-domain",
    "unlicensed": "unlicensed-drug-in-domain",
    "rx": "rx-drug-in-domain",
}

_tables: dict[int, dict[str, list[str]]] = {}


def _squash(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _token_table(config: Config) -> dict[str, list[str]]:
    key = id(config)
    if key not in _tables:
        ignore = {_squash(t) for t in config.ignore_tokens}
        table: dict[str, list[str]] = {
            "no-prescription-in-domain": sorted({_squash(t) for t in config.no_prescription_tokens}, key=len, reverse=True),
        }
        for status, outcome in _STATUS_OUTCOME.items():
            tokens = {
                _squash(n)
                for d in config.drugs
                if d.status == status
                for n in (d.name, *d.aliases)  # ambiguous aliases are never read inside a domain
            }
            tokens = {t for t in tokens if len(t) >= config.min_token_length and t not in ignore}
            table[outcome] = sorted(tokens, key=len, reverse=True)
        table["controlled-class-in-domain"] = sorted(
            {_squash(t) for t in config.controlled_class_tokens} - ignore, key=len, reverse=True
        )
        table["sales-pitch-in-domain"] = sorted({_squash(t) for t in config.sales_pitch_tokens}, key=len, reverse=True)
        _tables[key] = table
    return _tables[key]


def domain_words(site: Site) -> str:
    """The name part of the host (subdomains and registrable label, without the public suffix or www)."""
    sub, label, _ = split_host(site.host or site.domain)
    parts = [p for p in sub.split(".") if p and p != "www"] + ([label] if label else [])
    return _squash("".join(parts))


def run(site: Site, config: Config):
    squashed = domain_words(site)
    if not squashed:
        return []
    evidence_url = site.final_url
    outcomes = []
    found: set[str] = set()
    for outcome, tokens in _token_table(config).items():
        hits = [t for t in tokens if t in squashed]
        # "anabolicsteroids" is a controlled drug's own name; its "steroid" is not a second, weaker finding.
        if outcome == "controlled-class-in-domain" and "controlled-drug-in-domain" in found:
            continue
        if hits:
            found.add(outcome)
            outcomes.append(
                Outcome(outcome, facts={"tokens": hits[:5]}).add(
                    evidence_url, f"The address {site.host or site.domain} contains “{hits[0]}”"
                )
            )
    if not outcomes:
        outcomes.append(Outcome("plain-domain").add(evidence_url, f"Domain {site.domain}"))
    return outcomes


CHECK = Check(id="domain", outcomes=OUTCOMES, config_model=Config, run=run)
