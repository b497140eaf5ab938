"""The identity graph: other sites that share this site's operator, as the store knows them (app/graph.py).

- shares-operator-id-with-rogue: an analytics, advertising, chat or affiliate account, a payment handle or an
  email address that a rogue site also shows. Nobody copies these from another business: they would send their
  own visitors, money or mail to it.
- shares-contact-with-rogue: a phone number, company name, street address or registration number a rogue
  site also shows. A copycat may copy these, so they weigh less.
- shares-template-with-rogue: the same page template as a rogue site (rare templates only).
- links-to-rogue: links (outside editorial articles) to sites on a rogue list.
- borrowed-identity: a registration number or street address that an accredited pharmacy shows under its own
  domain, on a site that is not that pharmacy (nor a domain of its own name).

Facts shared by more sites than `max_sites_per_fact` are common and link nobody. A neighbour is rogue when a
rogue list names it, or when its last check called it likely_rogue without the graph's help.
"""

from __future__ import annotations

from app.graph import IdentityContext, Neighbour
from app.rules import ConfigModel
from app.site import Site

from . import _identity
from .base import Check, Outcome


class Config(ConfigModel):
    max_sites_per_fact: int = 8
    operator_kinds: list[str] = ["tracking", "affiliate", "payment", "email"]
    contact_kinds: list[str] = ["phone", "company", "address", "registration"]
    borrowable_kinds: list[str] = ["registration", "address"]
    # Outbound links are identity facts when the target's name looks like a pharmacy's.
    pharmacy_link_terms: list[str] = []
    affiliate_params: list[str] = []
    # Values that identify a platform, not an operator (a hosting service's analytics id), never compared.
    ignore_values: list[str] = []
    # Accredited types whose registration numbers and addresses can be borrowed.
    vouching_types: list[str] = ["pharmacy", "veterinary", "pbm"]
    max_named_sites: int = 5


OUTCOMES = ("shares-operator-id-with-rogue", "shares-contact-with-rogue", "shares-template-with-rogue",
            "links-to-rogue", "borrowed-identity")

KIND_WORDS = {
    "tracking": "analytics or widget account", "affiliate": "affiliate id", "payment": "payment handle",
    "email": "email address", "phone": "phone number", "company": "company name", "address": "street address",
    "registration": "registration number", "template": "page template",
}


def identify(site: Site, rules) -> list:
    return _identity.extract(site, rules, rules.config_for("graph"))


def _why(neighbour: Neighbour) -> str:
    if neighbour.status == "rogue-listed":
        return "on " + "; ".join(neighbour.lists[:2])
    if neighbour.status == "rogue-verdict":
        return "judged likely rogue when pharmacheck last checked it"
    return neighbour.status


def _sister(a: str, b: str) -> bool:
    """Two domains of one name (walgreens.com, walgreens.ca, walgreenspharmacy.com)."""
    la, lb = a.split(".", 1)[0].replace("-", ""), b.split(".", 1)[0].replace("-", "")
    short, long = sorted((la, lb), key=len)
    return len(short) >= 4 and short in long


def run(site: Site, config: Config):
    context = site.identity
    if not isinstance(context, IdentityContext):
        return []
    outcomes: dict[str, Outcome] = {}

    def add(outcome_id: str, neighbour: Neighbour, kinds: list[str]) -> None:
        item = outcomes.setdefault(outcome_id, Outcome(outcome_id, facts={"sites": [], "shared": []}))
        if len(item.facts["sites"]) >= config.max_named_sites:
            return
        item.facts["sites"].append(neighbour.domain)
        facts = [sh for sh in neighbour.shared if sh.fact.kind in kinds]
        item.facts["shared"].extend(f"{sh.fact.kind}:{sh.fact.value}" for sh in facts)
        described = "; ".join(
            f"{KIND_WORDS.get(sh.fact.kind, sh.fact.kind)} {sh.fact.value}"
            + (f" (held by {sh.sites} sites)" if sh.sites > 1 else "") for sh in facts)
        item.add(facts[0].fact.url or site.final_url, f"Shared with {neighbour.domain} ({_why(neighbour)}): {described}")

    own_accredited = any(m.entry.label == "legit" for m in site.list_matches)
    for neighbour in context.neighbours:
        # A fact many sites hold is a platform's or a processor's, not an operator's: it ties nobody together.
        neighbour = Neighbour(neighbour.domain, neighbour.status, neighbour.verdict, neighbour.lists,
                              neighbour.accredited_type,
                              [s for s in neighbour.shared if s.sites <= config.max_sites_per_fact], neighbour.linked)
        kinds = {s.fact.kind for s in neighbour.shared}
        if neighbour.rogue:
            if kinds & set(config.operator_kinds):
                add("shares-operator-id-with-rogue", neighbour, config.operator_kinds)
            elif kinds & set(config.contact_kinds):
                add("shares-contact-with-rogue", neighbour, config.contact_kinds)
            elif "template" in kinds:
                add("shares-template-with-rogue", neighbour, ["template"])
            if neighbour.linked and neighbour.status == "rogue-listed":
                item = outcomes.setdefault("links-to-rogue", Outcome("links-to-rogue", facts={"sites": []}))
                if len(item.facts["sites"]) < config.max_named_sites:
                    item.facts["sites"].append(neighbour.domain)
                    link = next((f for f in context.facts if f.kind == "link" and f.value == neighbour.domain), None)
                    item.add(link.url if link else site.final_url,
                             f"links to {neighbour.domain} ({_why(neighbour)})" + (f": {link.snippet}" if link else ""))
        elif (neighbour.status == "accredited" and not own_accredited
              and (not neighbour.accredited_type or neighbour.accredited_type in config.vouching_types)
              and kinds & set(config.borrowable_kinds) and not _sister(site.domain, neighbour.domain)):
            item = outcomes.setdefault("borrowed-identity", Outcome("borrowed-identity", facts={"sites": []}))
            if len(item.facts["sites"]) < config.max_named_sites:
                item.facts["sites"].append(neighbour.domain)
                borrowed = [sh for sh in neighbour.shared if sh.fact.kind in config.borrowable_kinds]
                described = "; ".join(f"{KIND_WORDS[sh.fact.kind]} {sh.fact.snippet or sh.fact.value}" for sh in borrowed)
                item.add(borrowed[0].fact.url or site.final_url,
                         f"Belongs to {neighbour.domain} (on {'; '.join(neighbour.lists[:1])}), not to this site: {described}")
    return [outcomes[o] for o in OUTCOMES if o in outcomes]


CHECK = Check(id="graph", outcomes=OUTCOMES, config_model=Config, run=run, identify=identify)
