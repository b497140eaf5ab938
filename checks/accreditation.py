"""Accreditation: seals and registry claims, worth something only when tied to the real registry.

Every claim on the pages read (seal images, seal scripts, badge lines, first-person statements, registration
numbers, the EU common logo) is found by `_registries.scan` and judged here against the registry it names:
a link to the genuine registry that names this site is worth something; a claim with no such link is a red
flag; a link to the wrong place or to another site's entry is worse. When live confirmation is switched on,
`confirm` asks each claimed registry itself (through the pipeline's fetcher) before the check runs, and the
answers are reported too.
"""

from __future__ import annotations

from app.domains import split_host
from app.site import Site

from . import _registry_lookup
from ._registries import (
    CitedNumber, Config, Findings, Registry, first_entry_number, is_pharmacy_tld, named_domain, scan, searched_domain,
)
from .base import Check, Outcome, VerificationLink

CHECK_ID = "accreditation"
MAX_EVIDENCE_CHARS = 400

OUTCOMES = (
    "pharmacy-tld",
    "verified-link",
    "registry-entry-link",
    "number-given",
    "registry-link-unspecific",
    "link-to-wrong-host",
    "link-for-other-site",
    "link-for-sister-domain",
    "unbacked-claim",
    "partner-claim",
    "invalid-number",
    "fake-register-name",
    "number-link-mismatch",
    "eu-logo-wrong-flag",
    "eu-logo-no-link",
    "registry-confirms",
    "registry-confirms-number",
    "registry-denies",
    "registry-unreachable",
    "registry-inconclusive",
)


class _Collector:
    """One outcome per id, with the evidence and verification links of every registry that produced it."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Outcome] = {}

    def add(self, outcome: str, registry: str, page_url: str, snippet: str, links: list[VerificationLink] = ()) -> None:
        item = self.outcomes.get(outcome)
        if item is None:
            item = self.outcomes[outcome] = Outcome(outcome, facts={"registries": []})
        if len(snippet) > MAX_EVIDENCE_CHARS:  # registry links from a hostile page can be kilobytes long
            snippet = snippet[: MAX_EVIDENCE_CHARS - 1] + "…"
        item.add(page_url, snippet)
        if registry and registry not in item.facts["registries"]:
            item.facts["registries"].append(registry)
        for link in links:
            if all(link.url != have.url for have in item.links):
                item.links.append(link)

    def result(self) -> list[Outcome]:
        return [self.outcomes[o] for o in OUTCOMES if o in self.outcomes]


def verification_links(registry: Registry, site: Site, numbers: list[CitedNumber] = ()) -> list[VerificationLink]:
    """The links a consumer can open to confirm the claim on the registry's own site."""
    links: list[VerificationLink] = []
    if registry.lookup_url and site.domain:
        links.append(VerificationLink(f"Look up {site.domain} at {registry.name}", registry.lookup_url.format(domain=site.domain)))
    for number in numbers:
        if number.entry_url and all(l.url != number.entry_url for l in links):
            links.append(VerificationLink(f"Open {registry.name} entry {number.number} ({number.kind})", number.entry_url))
    if not links and registry.search_page:
        label = registry.search_page_label or f"Search for {site.domain or 'this pharmacy'} in {registry.name}"
        links.append(VerificationLink(label, registry.search_page))
    return links[:4]


def _registry_named(config: Config, name: str) -> Registry | None:
    if not name:
        return None
    low = " ".join(name.lower().split())
    for registry in config.registries:
        if any(len(p) > 4 and p.lower() in low for p in registry.claim_phrases):
            return registry
    return None


def sister_domain(named: str, own: str) -> bool:
    """The same registered name under another public suffix (goodrx-pharmacy.co.uk for goodrx-pharmacy.com):
    most often one brand's site for another country, whose entry is not this site's but is not a stranger's."""
    _, label, suffix = split_host(named)
    _, own_label, own_suffix = split_host(own)
    return bool(label) and label == own_label and suffix != own_suffix


def judge(site: Site, config: Config, found: Findings, lookups: list | None = None) -> list[Outcome]:
    out = _Collector()
    pharmacy_tld = is_pharmacy_tld(site)
    if pharmacy_tld:
        nabp = next((r for r in config.registries if r.backed_by_pharmacy_tld), None)
        out.add(
            "pharmacy-tld", nabp.id if nabp else "", site.final_url,
            f"{site.domain} is a .pharmacy domain, which NABP grants only after verifying the pharmacy",
            verification_links(nabp, site) if nabp else [],
        )

    # A claim in words about a register whose entry the site's EU/UK logo links to is judged with that logo.
    states = {s.code: s.registry for s in config.eu_logo.states}
    logo_registries = {
        states[logo.link_state] for logo in found.eu_logos
        if logo.link_state in states and logo.link.lower().startswith("https://")
    }
    for registry_id in found.registries_claimed():
        registry = config.registry(registry_id)
        if registry is not None:
            _judge_registry(out, site, registry, found, pharmacy_tld, registry_id in logo_registries)

    _judge_eu_logos(out, site, config, found)

    for bad in found.bad_registers:
        # The real register the name imitates, or names ("Texsa State Board of Pharmacy"), is where to look.
        real = _registry_named(config, bad.resembles) or _registry_named(config, bad.name)
        links = verification_links(real, site) if real else []
        # A name alone may be a muddled name for a real regulator; a number presented as a registration with a
        # register that does not exist is a false registration.
        if bad.numbered:
            out.add("invalid-number", real.id if real else "", bad.page_url,
                    f"Cites a registration with a register that does not exist ({bad.name}): {bad.snippet}", links)
        else:
            out.add("fake-register-name", real.id if real else "", bad.page_url,
                    f"Names a register that does not exist ({bad.name}): {bad.snippet}", links)

    # A seal that names no register: nothing can back it, unless the site is backed by a register it does name.
    backed = {"pharmacy-tld", "verified-link", "registry-entry-link", "number-given", "registry-confirms",
              "registry-confirms-number"}
    if found.generic_seals and not backed & set(out.outcomes):
        links = [link for rid in config.generic_seals.lookup_registries if (r := config.registry(rid))
                 for link in verification_links(r, site)]
        for seal in dict.fromkeys(found.generic_seals):
            out.add("unbacked-claim", "", seal.page_url,
                    f"{seal.label} (a seal that names no register, so no register can confirm it)", links)

    for result in lookups or []:
        registry = config.registry(result.registry)
        links = [_registry_lookup.lookup_link(registry, result)] if registry else []
        out.add(f"registry-{result.status}", result.registry, result.url, result.detail, links)
    return out.result()


def _judge_registry(
    out: _Collector, site: Site, registry: Registry, found: Findings, pharmacy_tld: bool, logo_linked: bool = False
) -> None:
    rid = registry.id
    claims = [c for c in found.claims if c.registry == rid]
    links = [l for l in found.links if l.registry == rid]
    wrong = [w for w in found.wrong_hosts if w.registry == rid]
    # A number cited with a register that does not exist is part of that finding, not a number of a real one.
    numbers = [
        n for n in found.numbers
        if n.registry == rid and not any(b.page_url == n.page_url and b.name.lower() in n.lead.lower() for b in found.bad_registers)
    ]
    valid_numbers = list(dict.fromkeys(n.number for n in numbers if n.valid))
    consumer_links = verification_links(registry, site, [n for n in numbers if n.valid])

    borrowed = [
        l for l in links
        if l.named_domain and l.named_domain != site.domain and not l.illustration and (l.seal or claims)
    ]
    for l in borrowed:
        if sister_domain(l.named_domain, site.domain):
            out.add("link-for-sister-domain", rid, l.page_url,
                    f"{registry.name} link for {l.named_domain}, the same name as {site.domain} under another ending: {l.url}", consumer_links)
        else:
            out.add("link-for-other-site", rid, l.page_url, f"{registry.name} link for {l.named_domain}, not {site.domain}: {l.url}", consumer_links)
    for w in wrong:
        out.add("link-to-wrong-host", rid, w.page_url, f"{registry.name} seal or claim links to {w.url}: {w.why}", consumer_links)
    for n in numbers:
        if not n.valid:
            out.add("invalid-number", rid, n.page_url, f"{registry.name} {n.kind} number {n.number} cannot exist: {n.snippet}", consumer_links)

    for l in links:
        if l.named_number and not l.number_valid:
            out.add("invalid-number", rid, l.page_url, f"{registry.name} link opens entry {l.named_number}, a number that cannot exist: {l.url}", consumer_links)
        elif l.named_number and l.text_number:
            out.add("number-link-mismatch", rid, l.page_url,
                    f"The link reads {l.text_number} but opens {registry.name} entry {l.named_number}: {l.url}", consumer_links)

    verified = [l for l in links if l.https and l.entry and l.named_domain == site.domain]
    entries = [l for l in links if l.https and l.named_number and l.number_valid and not l.text_number and not l.named_domain]
    for l in verified:
        out.add("verified-link", rid, l.page_url, f"{registry.name} link for {site.domain}: {l.url}", consumer_links)
    if not verified:
        for l in entries:
            entry_links = [VerificationLink(f"Open the {registry.name} entry the site links to", l.url), *consumer_links]
            out.add("registry-entry-link", rid, l.page_url, f"{registry.name} entry {l.named_number} (check that it names this pharmacy): {l.url}", entry_links)
        # A number printed on a link to another entry is already reported as the mismatch it is.
        linked_numbers = {l.named_number for l in entries} | {l.text_number for l in links if l.text_number}
        for n in numbers:
            if n.valid and n.number not in linked_numbers:
                out.add("number-given", rid, n.page_url, f"{registry.name} {n.kind} number {n.number}: {n.snippet}", consumer_links)

    backed = verified or entries or valid_numbers or (registry.backed_by_pharmacy_tld and pharmacy_tld)
    # A search for this very site is no entry, but it is the registry and the right site: no proof, no warning.
    unspecific = [
        l for l in links
        if l.https and not l.named_number
        and ((l.seal and not l.named_domain) or (l.named_domain == site.domain and not l.entry))
    ]
    if not backed and unspecific:
        l = unspecific[0]
        if l.named_domain:
            why = f"{registry.name} link only searches for {site.domain}; it is not the registry's entry for it: {l.url}"
        else:
            why = f"{registry.name} seal links to {l.url}, which does not name {site.domain}"
        out.add("registry-link-unspecific", rid, l.page_url, why, consumer_links)
    # A claim naming a register that does not exist is already reported as such.
    claims = [c for c in claims if not any(b.name.lower() in c.snippet.lower() for b in found.bad_registers)]
    # The accreditation of a partner pharmacy is the partner's to prove: the consumer gets the registry's link
    # to check the partner, and the site is neither credited nor blamed for it.
    for c in (c for c in claims if c.how == "partner"):
        out.add("partner-claim", rid, c.page_url, f"{registry.name}, claimed for a partner pharmacy: {c.snippet}",
                consumer_links or verification_links(registry, site))
    claims = [c for c in claims if c.how != "partner"]
    faulty = any(l.named_number and (not l.number_valid or l.text_number) for l in links)
    # A seal link over plain HTTP backs nothing (anyone on the way can change it), whether it names this site, or
    # no site at all; it is recorded with the claim so that the consumer sees why the link did not count.
    plain_http = [
        l for l in links
        if not l.https and not l.illustration and (l.seal or claims) and l.named_domain in ("", site.domain)
    ]
    if (claims or plain_http) and not backed and not logo_linked and not borrowed and not wrong and not unspecific and not faulty and registry.unlinked_claim_is_red_flag:
        page_url = claims[0].page_url if claims else plain_http[0].page_url
        snippet = claims[0].snippet if claims else f"a seal links to {registry.name}"
        note = next((n for phrase, n in registry.claim_notes.items() if claims and phrase.lower() in claims[0].snippet.lower()), "")
        if note:
            snippet = f"{snippet} ({note})"
        if plain_http:
            snippet = f"{snippet} (the registry link uses plain HTTP, so it cannot be trusted: {plain_http[0].url})"
        out.add("unbacked-claim", rid, page_url, f"{registry.name}: {snippet}", consumer_links)


def _judge_eu_logos(out: _Collector, site: Site, config: Config, found: Findings) -> None:
    states = {s.code: s for s in config.eu_logo.states}
    for logo in found.eu_logos:
        state_code = logo.link_state or (logo.flag if logo.flag in states else "")
        registry = config.registry(states[state_code].registry) if state_code else None
        links = verification_links(registry, site) if registry else []
        if not links and config.eu_logo.registers_list_url:
            links = [VerificationLink("Find the seller in its country's national register (the EU's list)", config.eu_logo.registers_list_url)]
        shown = logo.src or "the logo image"
        # A flag guessed from a country code in a file name is too weak to contradict the register it links to.
        mismatch = bool(logo.flag and logo.flag != "EU" and logo.link_state and logo.flag != logo.link_state and logo.flag_named)
        wrong_flag = logo.flag == "EU" or mismatch
        if logo.flag == "EU":
            out.add("eu-logo-wrong-flag", registry.id if registry else "", logo.page_url,
                    f"EU common logo shows the EU flag, which the genuine logo never does: {shown}", links)
        elif mismatch:
            out.add("eu-logo-wrong-flag", registry.id if registry else "", logo.page_url,
                    f"EU common logo shows the flag of {logo.flag} but links to the register of {logo.link_state}: {logo.link}", links)
        if not logo.link:
            out.add("eu-logo-no-link", registry.id if registry else "", logo.page_url,
                    f"EU common logo does not link to a national register: {shown}", links)
            continue
        if registry is None or not logo.link_state:
            out.add("link-to-wrong-host", "", logo.page_url,
                    f"EU common logo links to {logo.link}, which is not a national register of online sellers", links)
            continue
        if wrong_flag:
            continue  # a logo that is not authentic earns nothing from where it links
        named = named_domain(logo.link, registry) or searched_domain(logo.link, registry)
        number = first_entry_number(logo.link, registry)
        https = logo.link.lower().startswith("https://")
        if named and named != site.domain and sister_domain(named, site.domain):
            out.add("link-for-sister-domain", registry.id, logo.page_url,
                    f"EU common logo links to the register entry for {named}, the same name as {site.domain} under another ending: {logo.link}", links)
        elif named and named != site.domain:
            out.add("link-for-other-site", registry.id, logo.page_url, f"EU common logo links to the register entry for {named}: {logo.link}", links)
        elif not https:
            out.add("unbacked-claim", registry.id, logo.page_url,
                    f"EU common logo links to {registry.name} over plain HTTP, so the link cannot be trusted: {logo.link}", links)
        elif named and named_domain(logo.link, registry):
            out.add("verified-link", registry.id, logo.page_url, f"EU common logo links to {registry.name} for {site.domain}: {logo.link}", links)
        elif number:
            entry = [VerificationLink(f"Open the {registry.name} entry the logo links to", logo.link), *links]
            out.add("registry-entry-link", registry.id, logo.page_url,
                    f"EU common logo links to entry {number} in {registry.name} (check that it names this pharmacy): {logo.link}", entry)
        else:
            # The genuine register, but its front page, a search or a news page: like any seal that links to the
            # registry without naming the seller, it proves nothing either way.
            out.add("registry-link-unspecific", registry.id, logo.page_url,
                    f"EU common logo links to {registry.name}, but not to this seller's entry: {logo.link}", links)


def run(site: Site, config: Config):
    found = scan(site, config) if site.pages else Findings()
    lookups = site.enrichments.get(CHECK_ID)
    return judge(site, config, found, lookups)


async def confirm(site: Site, fetcher, config: Config):
    """Ask each claimed registry about this site; the results are read by `run` from `site.enrichments`."""
    return await _registry_lookup.confirm(site, fetcher, config)


CHECK = Check(id=CHECK_ID, outcomes=OUTCOMES, config_model=Config, run=run, enrich=confirm)
