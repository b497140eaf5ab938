"""Accreditation: seals and registry claims, worth something only when tied to the real registry.

First version: a `.pharmacy` domain; claims in text or images; links to registry hosts that name this domain.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from app.domains import registrable_domain, split_host
from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet

from .base import Check, Outcome, VerificationLink


class Registry(ConfigModel):
    id: str
    name: str
    claim_phrases: list[str]
    hosts: list[str]
    lookup_url: str | None = None  # with {domain}


class Config(ConfigModel):
    registries: list[Registry]


OUTCOMES = ("pharmacy-tld", "verified-link", "link-for-other-site", "unbacked-claim")


def _host_matches(host: str, hosts: list[str]) -> bool:
    return any(host == h or host.endswith("." + h) for h in hosts)


def run(site: Site, config: Config):
    outcomes: list[Outcome] = []
    _, _, suffix = split_host(site.host or site.domain)
    if suffix == "pharmacy":
        outcomes.append(Outcome("pharmacy-tld").add(site.final_url, f"{site.domain} is a .pharmacy domain"))
    if not site.pages:
        return outcomes
    for registry in config.registries:
        phrases = PhraseSet(tuple(registry.claim_phrases))
        claim = None
        linked_ok = None
        linked_other = None
        for page in site.pages:
            m = phrases.search(page.text)
            if m and not claim:
                claim = (page.url, m.snippet)
            for img in page.images:
                if not claim and phrases.search(f"{img.alt} {img.title} {unquote(img.src)}"):
                    claim = (page.url, f"Image: {img.alt or img.src}")
            for link in page.links:
                parts = urlsplit(link.url)
                if not _host_matches((parts.hostname or "").lower(), registry.hosts):
                    continue
                target = unquote(link.url).lower()
                if site.domain and site.domain in target and parts.scheme == "https":
                    linked_ok = (page.url, link.url)
                elif any(registrable_domain(tok) not in ("", site.domain) and "." in tok for tok in target.replace("=", "/").split("/")[3:] if tok.count(".") >= 1 and " " not in tok):
                    linked_other = (page.url, link.url)
        links = [VerificationLink(f"Look up {site.domain} at {registry.name}", registry.lookup_url.format(domain=site.domain))] if registry.lookup_url else []
        if linked_other:
            o = Outcome("link-for-other-site", links=links, facts={"registry": registry.id})
            outcomes.append(o.add(linked_other[0], f"{registry.name} link for another site: {linked_other[1]}"))
        elif linked_ok:
            o = Outcome("verified-link", links=links, facts={"registry": registry.id})
            outcomes.append(o.add(linked_ok[0], f"{registry.name} link: {linked_ok[1]}"))
        elif claim:
            o = Outcome("unbacked-claim", links=links, facts={"registry": registry.id})
            outcomes.append(o.add(*claim))
    return outcomes


CHECK = Check(id="accreditation", outcomes=OUTCOMES, config_model=Config, run=run)
