"""Small helpers shared by checks: searching every page read for phrases and collecting evidence."""

from __future__ import annotations

from app.site import Site
from app.textmatch import PhraseSet

from .base import Outcome


def find_in_site(site: Site, phrases: PhraseSet, outcome: str, limit: int = 5) -> Outcome | None:
    """An outcome with evidence from every page where any phrase occurs, or None."""
    if not phrases:
        return None
    result: Outcome | None = None
    for page, text in site.texts():
        for match in phrases.finditer(text, limit=limit):
            result = result or Outcome(outcome)
            result.add(page.url, match.snippet)
    return result


def first_match(site: Site, phrases: PhraseSet):
    """(page, match) of the first occurrence of any phrase on any page."""
    for page, text in site.texts():
        match = phrases.search(text)
        if match:
            return page, match
    return None
