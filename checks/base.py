"""The contract between checks and the rest of pharmacheck.

A check reads a `Site` and returns outcome ids with evidence. It never assigns points, severities or
wording: rules.yaml does, so the worth of a finding can be tuned without touching code, and every outcome a
check can produce is declared here and must have an entry in rules.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterable

from app.rules import ConfigModel
from app.site import Site

MAX_EVIDENCE = 5


@dataclass(frozen=True)
class Evidence:
    url: str
    snippet: str


@dataclass(frozen=True)
class VerificationLink:
    """A link the consumer can open to confirm something themselves (a registry look-up, say)."""

    label: str
    url: str


@dataclass
class Outcome:
    outcome: str
    evidence: list[Evidence] = field(default_factory=list)
    links: list[VerificationLink] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, url: str, snippet: str) -> "Outcome":
        item = Evidence(url, snippet)
        if len(self.evidence) < MAX_EVIDENCE and item not in self.evidence:
            self.evidence.append(item)
        return self


@dataclass(frozen=True)
class Check:
    id: str
    outcomes: tuple[str, ...]
    config_model: type[ConfigModel]
    run: Callable[[Site, Any], Iterable[Outcome]]
    # Optional look-up outside the site (a registry, say), run before `run` only when the user asks for live
    # confirmation: enrich(site, fetcher, config) -> anything; the result is stored in site.enrichments[id].
    enrich: Callable[[Site, Any, Any], Awaitable[Any]] | None = None
    # Optional: what the site shows of the business behind it (phones, analytics ids, registration numbers...),
    # for the identity graph kept across checks: identify(site, rules) -> list[app.graph.Fact]. The pipeline
    # looks up the other sites sharing these before the checks run, and stores them after.
    identify: Callable[[Site, Any], list] | None = None

    def __post_init__(self) -> None:
        if len(set(self.outcomes)) != len(self.outcomes):
            raise ValueError(f"check {self.id} declares an outcome twice")
