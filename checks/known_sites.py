"""Known sites: the site is on a list the user supplied at run time (`--known-sites FILE`)."""

from __future__ import annotations

from app.rules import ConfigModel
from app.site import Site

from .base import Check, Outcome


class Config(ConfigModel):
    pass


OUTCOMES = ("listed-rogue", "listed-legit")


def run(site: Site, config: Config):
    entry = site.known_sites.get(site.domain) if site.known_sites else None
    if entry is None:
        return []
    outcome = "listed-rogue" if entry.label == "rogue" else "listed-legit"
    return [
        Outcome(outcome, facts={"source": entry.source}).add(
            site.final_url, f"{entry.domain} is listed as {entry.label} in {entry.source}"
        )
    ]


CHECK = Check(id="known_sites", outcomes=OUTCOMES, config_model=Config, run=run)
