"""Reputation lists: the site, its registrable domain or an address it redirected through is on a list loaded in
the store (`pharmacheck lists`): NABP's Not Recommended sites, NABP's accredited websites (with their type), FDA
warning letters to online pharmacies, or a list of the user's own.

This is evidence from outside the site: a rogue site cannot write itself off NABP's list, nor onto the
accredited one. Every finding cites the list and the date it is as of, and says when that is older than the
list stays current. With no list loaded the report says so, and nothing else changes.
"""

from __future__ import annotations

from app.lists.model import ListInfo, ListMatch
from app.rules import ConfigModel
from app.site import Site

from .base import Check, Outcome


class Config(ConfigModel):
    # NABP accredits pharmacies and also sites that dispense nothing (resources, manufacturers, telehealth
    # platforms...): only these types vouch for a site that dispenses medicines.
    vouching_types: list[str] = ["pharmacy", "veterinary", "pbm"]


OUTCOMES = ("listed-rogue", "listed-accredited", "listed-accredited-other-type", "listed-legit", "not-listed",
            "list-stale", "no-lists")


def _cite(match: ListMatch) -> str:
    info = match.list
    stale = " (older than the list stays current)" if info.stale() else ""
    kind = f" as {match.entry.type}" if match.entry.type else ""
    name = f" ({match.entry.name})" if match.entry.name else ""
    return f"{match.entry.domain}{name} is on {info.describe()}{kind}{stale}; matched by {match.where()}"


def _stale_note(info: ListInfo) -> str:
    return (f"{info.describe()}: {info.age_days()} days old, and this list is current for {info.fresh_days} days; "
            "newer entries are missing")


def run(site: Site, config: Config):
    consulted = site.lists_consulted.lists
    matches = [m for m in site.list_matches if not m.list.adhoc]
    if not consulted:
        return [Outcome("no-lists").add(site.final_url, "No reputation list (NABP, FDA) is loaded in this pharmacheck.")]
    grouped: dict[str, Outcome] = {}

    def outcome(outcome_id: str, match: ListMatch) -> None:
        item = grouped.setdefault(outcome_id, Outcome(outcome_id, facts={"lists": []}))
        item.add(site.final_url, _cite(match))
        if match.list.source not in item.facts["lists"]:
            item.facts["lists"].append(match.list.source)

    for match in matches:
        if match.entry.label == "rogue":
            outcome("listed-rogue", match)
        elif match.list.source == "nabp_accredited":
            outcome("listed-accredited" if match.entry.type in config.vouching_types or not match.entry.type
                    else "listed-accredited-other-type", match)
        else:
            outcome("listed-legit", match)
    results = [grouped[o] for o in OUTCOMES if o in grouped]
    if not matches:
        note = "Not on " + "; ".join(info.describe() for info in consulted)
        if site.lists_consulted.left_out_own_entries:
            note += f" (its own {site.lists_consulted.left_out_own_entries} entries were left out for evaluation)"
        results.append(Outcome("not-listed").add(site.final_url, note))
    stale = [info for info in consulted if info.stale()]
    if stale:
        item = Outcome("list-stale", facts={"lists": [info.source for info in stale]})
        for info in stale:
            item.add(site.final_url, _stale_note(info))
        results.append(item)
    return results


CHECK = Check(id="lists", outcomes=OUTCOMES, config_model=Config, run=run)
