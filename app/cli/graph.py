"""`pharmacheck graph DOMAIN`: a checked site's identity facts and its neighbours, the sites sharing them."""

from __future__ import annotations

import argparse
import json

from .common import EXIT_OK, UsageError, data_options, settings_from_args


def register(sub) -> None:
    graph = sub.add_parser("graph", help="show a checked site's identity facts and the other sites sharing them")
    graph.add_argument("domain")
    graph.add_argument("--json", action="store_true")
    data_options(graph)
    graph.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from app.domains import registrable_domain
    from app.graph import GraphStore, describe, Neighbour
    from app.lists.index import ListIndex
    from app.lists.store import ListStore
    from app.rules import load_rules
    from app.store import open_database

    settings = settings_from_args(args)
    domain = registrable_domain(args.domain.strip().lower())
    if not domain or "." not in domain:
        raise UsageError("invalid_option", f"graph: {args.domain!r} is not a domain name")
    database = open_database(settings.effective_database_url)
    graph = GraphStore(database)
    lists = ListIndex(ListStore(database))
    lists.refresh(force=True)
    identity = graph.identity_of(domain)
    if identity is None:
        raise UsageError("not_found", f"graph: {domain} has not been checked with this data folder "
                                      "(check it first: pharmacheck check https://{domain}/)".replace("{domain}", domain))
    facts = graph.facts_of(domain)
    limit = load_rules(settings.rules_path).config_for("graph").max_sites_per_fact

    class _Site:  # what GraphStore.context reads of a site
        pass

    site = _Site()
    site.domain = domain
    context = graph.context(site, facts, lists)
    me = Neighbour(domain, "other")
    describe(me, lists, (identity.verdict, identity.verdict_from_graph))
    neighbours = [n for n in context.neighbours if n.shared or n.linked]
    out = {
        "domain": domain, "checked_at": identity.checked_at.isoformat(), "verdict": identity.verdict,
        "status": me.status, "lists": me.lists,
        "facts": [{"kind": f.kind, "value": f.value, "url": f.url, "snippet": f.snippet} for f in facts],
        "common_facts": [{"kind": c.fact.kind, "value": c.fact.value, "sites": c.sites} for c in context.common],
        "max_sites_per_fact": limit,
        "neighbours": [{
            "domain": n.domain, "status": n.status, "verdict": n.verdict, "lists": n.lists, "linked_to": n.linked,
            "shared": [{"kind": s.fact.kind, "value": s.fact.value, "sites": s.sites,
                        "counts": s.sites <= limit} for s in n.shared],
        } for n in neighbours],
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return EXIT_OK
    print(f"{domain}: last checked {identity.checked_at:%Y-%m-%d %H:%M}, verdict {identity.verdict}"
          + (f"; {me.status} ({'; '.join(me.lists)})" if me.lists else ""))
    print(f"{len(facts)} identity facts" + (":" if facts else ""))
    for f in facts:
        print(f"  {f.kind:<12} {f.value}")
    if context.common:
        print(f"common facts (held by more than {limit} sites; they link nobody):")
        for c in context.common:
            print(f"  {c.fact.kind:<12} {c.fact.value}  ({c.sites} sites)")
    if not neighbours:
        print("no neighbours: no other checked site shares these facts")
    for n in neighbours:
        label = n.status + (f", last verdict {n.verdict}" if n.verdict else "")
        print(f"neighbour {n.domain} [{label}]" + (f" on {'; '.join(n.lists)}" if n.lists else ""))
        if n.linked:
            print(f"  {domain} links to it")
        for s in n.shared:
            note = "" if s.sites <= limit else f" (common: {s.sites} sites, not counted)"
            print(f"  shares {s.fact.kind} {s.fact.value}{note}")
    return EXIT_OK
