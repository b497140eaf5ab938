"""The identity graph: what each checked site shows of the business behind it, and the sites that share it.

Every check records the site's identity facts (phones, emails, company names, registration and licence numbers,
street addresses, payment handles, analytics and affiliate ids, the page template's fingerprint, outbound links
to other pharmacy sites) in the store. Before the next site is judged, the facts it shows are looked up: the other
sites holding each one, how many they are, and what is known of them (a reputation list, the verdict of their
last check). The `graph` check turns that into findings; `pharmacheck graph DOMAIN` shows it.

Two rules keep the graph from accusing unrelated sites:
- A fact held by more than `max_sites_per_fact` sites is common (a payment processor's phone line, a hosting
  platform's analytics id, an e-commerce theme) and links nobody; the report lists it as common.
- A neighbour counts as rogue when a rogue list names it, or when its own last verdict was `likely_rogue` on
  evidence other than the graph's: an accusation the graph made never spreads further by itself.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import and_, delete, func, insert, or_, select

from .domains import registrable_domain
from .store.db import Database
from .store.models import IdentityFact, SiteIdentity

log = logging.getLogger("pharmacheck.graph")

# The check whose findings rest on the graph: a verdict they decided is recorded as such.
GRAPH_CHECK = "graph"
MAX_FACTS_PER_SITE = 200
# Facts held by more sites than this are only counted, never followed to the sites (the graph check's own
# max_sites_per_fact in rules.yaml decides, below this bound, what is too common to link sites).
DEFAULT_MAX_SITES_PER_FACT = 50


@dataclass(frozen=True)
class Fact:
    kind: str  # phone, email, company, address, registration, payment, tracking, affiliate, template, link
    value: str
    url: str = ""
    snippet: str = ""


@dataclass
class SharedFact:
    fact: Fact
    sites: int  # how many other sites in the store hold it


@dataclass
class Neighbour:
    """Another site, and what ties it to this one."""

    domain: str
    status: str  # rogue-listed, rogue-verdict, accredited, legit-listed, or other
    verdict: str = ""  # of its last check, when the store has one
    lists: list[str] = field(default_factory=list)  # "NABP Not Recommended sites, as of 2024-01-30"
    accredited_type: str = ""
    shared: list[SharedFact] = field(default_factory=list)
    linked: bool = False  # this site links to it (outbound link facts)

    @property
    def rogue(self) -> bool:
        return self.status in ("rogue-listed", "rogue-verdict")


@dataclass
class IdentityContext:
    facts: list[Fact]
    neighbours: list[Neighbour] = field(default_factory=list)
    common: list[SharedFact] = field(default_factory=list)  # facts too common to link anyone
    max_sites_per_fact: int = DEFAULT_MAX_SITES_PER_FACT


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class GraphStore:
    """Calls block: from async code run them in a thread."""

    def __init__(self, database: Database, *, max_sites_per_fact: int = DEFAULT_MAX_SITES_PER_FACT):
        self.database = database
        self.max_sites_per_fact = max_sites_per_fact

    # ---- writing -------------------------------------------------------------------------------------------------

    def record(self, domain: str, final_url: str, verdict: str, verdict_from_graph: bool, facts: list[Fact],
               checked_at: datetime | None = None) -> None:
        """Make `facts` the site's identity, replacing what its previous check recorded."""
        domain = registrable_domain(domain)[:255]
        if not domain:
            return
        unique: dict[tuple[str, str], Fact] = {}
        for fact in facts:
            if fact.value:
                unique.setdefault((fact.kind, fact.value[:512]), fact)
        rows = [{"domain": domain, "kind": k[:32], "value": v, "url": f.url[:2048], "snippet": f.snippet[:500]}
                for (k, v), f in list(unique.items())[:MAX_FACTS_PER_SITE]]
        with self.database.session() as session:
            session.execute(delete(IdentityFact).where(IdentityFact.domain == domain))
            identity = session.get(SiteIdentity, domain)
            if identity is None:
                identity = SiteIdentity(domain=domain)
                session.add(identity)
            identity.checked_at = checked_at or datetime.now(timezone.utc)
            identity.final_url = final_url[:2048]
            identity.verdict = verdict
            identity.verdict_from_graph = verdict_from_graph
            session.flush()
            if rows:
                session.execute(insert(IdentityFact), rows)

    # ---- reading -------------------------------------------------------------------------------------------------

    def facts_of(self, domain: str) -> list[Fact]:
        with self.database.session() as session:
            return [Fact(r.kind, r.value, r.url, r.snippet) for r in session.scalars(
                select(IdentityFact).where(IdentityFact.domain == registrable_domain(domain)).order_by(IdentityFact.id))]

    def identity_of(self, domain: str) -> SiteIdentity | None:
        with self.database.session() as session:
            return session.get(SiteIdentity, registrable_domain(domain))

    def verdicts(self, domains: list[str]) -> dict[str, tuple[str, bool]]:
        if not domains:
            return {}
        with self.database.session() as session:
            rows = session.execute(select(SiteIdentity.domain, SiteIdentity.verdict, SiteIdentity.verdict_from_graph)
                                   .where(SiteIdentity.domain.in_(sorted(set(domains))[:1000]))).all()
        return {d: (v, bool(g)) for d, v, g in rows}

    def holders(self, domain: str, facts: list[Fact]) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], list[str]]]:
        """For each fact: how many other sites hold it, and which (only for facts held by few enough)."""
        domain = registrable_domain(domain)
        by_kind: dict[str, set[str]] = {}
        for fact in facts:
            by_kind.setdefault(fact.kind, set()).add(fact.value[:512])
        if not by_kind:
            return {}, {}
        condition = or_(*(and_(IdentityFact.kind == kind, IdentityFact.value.in_(sorted(values)))
                          for kind, values in by_kind.items()))
        with self.database.session() as session:
            counts = {(k, v): n for k, v, n in session.execute(
                select(IdentityFact.kind, IdentityFact.value, func.count(func.distinct(IdentityFact.domain)))
                .where(condition, IdentityFact.domain != domain)
                .group_by(IdentityFact.kind, IdentityFact.value))}
            rare = [key for key, n in counts.items() if n <= self.max_sites_per_fact]
            holders: dict[tuple[str, str], list[str]] = {}
            if rare:
                rare_by_kind: dict[str, list[str]] = {}
                for k, v in rare:
                    rare_by_kind.setdefault(k, []).append(v)
                rare_condition = or_(*(and_(IdentityFact.kind == k, IdentityFact.value.in_(vs))
                                       for k, vs in rare_by_kind.items()))
                for k, v, d in session.execute(select(IdentityFact.kind, IdentityFact.value, IdentityFact.domain)
                                               .where(rare_condition, IdentityFact.domain != domain)):
                    holders.setdefault((k, v), []).append(d)
        return counts, holders

    def context(self, site, facts: list[Fact], lists) -> IdentityContext:
        """The neighbours of `site` through `facts`, each with what the lists and the store say of it."""
        shared_facts = [f for f in facts if f.kind != "link"]
        counts, holders = self.holders(site.domain, shared_facts)
        context = IdentityContext(facts, max_sites_per_fact=self.max_sites_per_fact)
        neighbours: dict[str, Neighbour] = {}
        for fact in shared_facts:
            key = (fact.kind, fact.value[:512])
            n = counts.get(key, 0)
            if n == 0:
                continue
            if n > self.max_sites_per_fact:
                context.common.append(SharedFact(fact, n))
                continue
            for other in holders.get(key, []):
                neighbour = neighbours.setdefault(other, Neighbour(other, "other"))
                if all(s.fact.kind != fact.kind or s.fact.value != fact.value for s in neighbour.shared):
                    neighbour.shared.append(SharedFact(fact, n))
        for fact in facts:
            if fact.kind == "link" and fact.value != site.domain:
                neighbours.setdefault(fact.value, Neighbour(fact.value, "other")).linked = True
        verdicts = self.verdicts(list(neighbours))
        for neighbour in neighbours.values():
            describe(neighbour, lists, verdicts.get(neighbour.domain))
        context.neighbours = sorted(neighbours.values(), key=lambda n: (not n.rogue, -len(n.shared), n.domain))
        return context


def describe(neighbour: Neighbour, lists, stored: tuple[str, bool] | None) -> None:
    """Fill in what the lists and the neighbour's last check say of it."""
    rogue_lists, legit = [], None
    for info, entry in lists.entries_for(neighbour.domain) if lists is not None else []:
        if entry.label == "rogue":
            rogue_lists.append(info.describe())
        elif legit is None:
            legit = (info, entry)
    if stored is not None:
        neighbour.verdict = stored[0]
    if rogue_lists:
        neighbour.status, neighbour.lists = "rogue-listed", rogue_lists
    elif stored is not None and stored[0] == "likely_rogue" and not stored[1]:
        neighbour.status = "rogue-verdict"
    elif legit is not None:
        info, entry = legit
        neighbour.lists = [info.describe()]
        neighbour.accredited_type = entry.type
        neighbour.status = "accredited" if info.source == "nabp_accredited" else "legit-listed"


def verdict_rested_on_graph(report) -> bool:
    """Whether a likely_rogue verdict took points from the graph's own findings (conservatively: any did)."""
    return report.verdict == "likely_rogue" and any(f.check == GRAPH_CHECK and f.counted_points < 0 for f in report.findings)


def graph_listener(graph: GraphStore):
    """Records every judged site's identity facts, with its verdict, after its report is made."""
    import asyncio

    async def record(report, site) -> None:
        context = getattr(site, "identity", None)
        if not isinstance(context, IdentityContext) or not site.domain:
            return
        await asyncio.to_thread(graph.record, site.domain, report.final_url or report.url, report.verdict,
                                verdict_rested_on_graph(report), context.facts)

    return record
