"""Known sites: the site is on a list the user supplied at run time (`--known-sites FILE`).

The file is an ad-hoc reputation list (app/known_sites.py): matched like the stored lists, by the site's address,
its registrable domain or an address it redirected through. Stored lists are reported by the `lists` check.
"""

from __future__ import annotations

from app.rules import ConfigModel
from app.site import Site

from .base import Check, Outcome


class Config(ConfigModel):
    pass


OUTCOMES = ("listed-rogue", "listed-legit")


def run(site: Site, config: Config):
    outcomes: dict[str, Outcome] = {}
    for match in site.list_matches:
        if not match.list.adhoc:
            continue
        entry = match.entry
        source = entry.note or match.list.title
        outcome_id = "listed-rogue" if entry.label == "rogue" else "listed-legit"
        outcome = outcomes.setdefault(outcome_id, Outcome(outcome_id, facts={"source": source}))
        where = "" if match.matched_on != "redirect" else f" (the address {match.host} it redirected through)"
        outcome.add(site.final_url, f"{entry.domain} is listed as {entry.label} in {source}{where}")
    return [outcomes[o] for o in OUTCOMES if o in outcomes]


CHECK = Check(id="known_sites", outcomes=OUTCOMES, config_model=Config, run=run)
