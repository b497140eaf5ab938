"""Identity facts: what a site shows of the business behind it, in the spelling the graph compares.

One extractor for every kind, reading the page model and reusing the other checks' own readers (contact's
phones, emails, names and addresses; the licence patterns of the pharmacist check; the registry numbers the
accreditation check finds), so a fact means here what it means in their findings.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from app.domains import registrable_domain
from app.graph import Fact
from app.site import Site

from . import contact
from ._address import STREET

MAX_FACTS = 200
MAX_SNIPPET = 200

_WALLETS = (
    ("btc", re.compile(r"(?<![A-Za-z0-9])(bc1[02-9ac-hj-np-z]{25,59}|[13][1-9A-HJ-NP-Za-km-z]{25,34})(?![A-Za-z0-9])")),
    ("eth", re.compile(r"(?<![A-Za-z0-9])(0x[0-9a-fA-F]{40})(?![0-9a-fA-F])")),
    ("trc20", re.compile(r"(?<![A-Za-z0-9])(T[1-9A-HJ-NP-Za-km-z]{33})(?![A-Za-z0-9])")),
)
_CASHTAG = re.compile(r"(?i)cash\s?app[^$\n]{0,40}(\$[A-Za-z][A-Za-z0-9_]{2,19})")
_PAY_LINKS = (
    ("paypal.me", re.compile(r"(?i)paypal\.me/([A-Za-z0-9_.-]{2,40})")),
    ("venmo", re.compile(r"(?i)venmo\.com/(?:u/)?([A-Za-z0-9_-]{3,40})")),
    ("cash.app", re.compile(r"(?i)cash\.app/(\$[A-Za-z0-9_]{3,20})")),
)
_NON_WORD = re.compile(r"[^0-9a-z]+")
_SUFFIX_SPELLINGS = {"limited": "ltd", "incorporated": "inc", "corporation": "corp", "company": "co"}


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SNIPPET else text[: MAX_SNIPPET - 1] + "…"


def company_key(name: str) -> str:
    """"Harbour Trading Limited." -> "harbour trading ltd": one spelling for a company name."""
    words = [_SUFFIX_SPELLINGS.get(w, w) for w in _NON_WORD.split(name.lower()) if w]
    return " ".join(words)[:200]


def address_key(text: str, country: str) -> str:
    return f"{country.lower() or '-'}:{' '.join(w for w in _NON_WORD.split(text.lower()) if w)}"[:300]


def _registration_numbers(site: Site, rules) -> list[Fact]:
    facts: list[Fact] = []
    try:
        from . import _registries

        found = _registries.scan(site, rules.config_for("accreditation"))
        for number in found.numbers:
            if number.valid:
                facts.append(Fact("registration", f"{number.registry}:{number.number.upper().replace(' ', '')}",
                                  number.page_url, _snippet(number.snippet)))
    except (KeyError, AttributeError):
        pass
    try:
        patterns = [re.compile(p) for p in rules.config_for("pharmacist").licence_patterns]
    except (KeyError, AttributeError):
        patterns = []
    for page in site.pages:
        if page.status >= 400:
            continue
        for pattern in patterns:
            for m in pattern.finditer(page.text):
                number = (m.group(1) if m.groups() else m.group(0)).upper().replace(" ", "")
                if re.search(r"\d", number) and len(number) >= 4:
                    facts.append(Fact("registration", f"licence:{number}", page.url, _snippet(m.group(0))))
    return facts


def _links(site: Site, config) -> tuple[list[Fact], list[Fact]]:
    """Outbound links to other pharmacy sites, and the affiliate ids they carry."""
    links: list[Fact] = []
    affiliates: list[Fact] = []
    terms = [t.lower() for t in config.pharmacy_link_terms]
    params = {p.lower() for p in config.affiliate_params}
    seen: set[str] = set()
    for page in site.pages:
        for link in page.links:
            if link.in_article or not link.url.lower().startswith(("http://", "https://")):
                continue
            domain = registrable_domain(link.url)
            if not domain or domain == site.domain:
                continue
            label = domain.split(".", 1)[0]
            if not any(t in label for t in terms) and not domain.endswith(".pharmacy"):
                continue
            if domain not in seen:
                seen.add(domain)
                links.append(Fact("link", domain, page.url, _snippet(f"{link.text} -> {link.url}")))
            try:
                query = parse_qsl(urlsplit(link.url).query)
            except ValueError:
                query = []
            for key, value in query:
                if key.lower() in params and value and len(value) <= 64:
                    affiliates.append(Fact("affiliate", f"{domain}:{key.lower()}={value}", page.url,
                                           _snippet(f"{link.text} -> {link.url}")))
    return links[:50], affiliates[:20]


def _payments(site: Site) -> list[Fact]:
    facts: list[Fact] = []
    for page in site.pages:
        haystacks = [page.text, " ".join(l.url for l in page.links)]
        for text in haystacks:
            for kind, pattern in _WALLETS:
                for m in pattern.finditer(text):
                    facts.append(Fact("payment", f"{kind}:{m.group(1)}", page.url,
                                      _snippet(text[max(0, m.start() - 60): m.end() + 20])))
            for m in _CASHTAG.finditer(text):
                facts.append(Fact("payment", f"cashapp:{m.group(1).lower()}", page.url, _snippet(m.group(0))))
            for kind, pattern in _PAY_LINKS:
                for m in pattern.finditer(text):
                    facts.append(Fact("payment", f"{kind}:{m.group(1).lower()}", page.url, _snippet(m.group(0))))
    return facts


def extract(site: Site, rules, config) -> list[Fact]:
    """Every identity fact of the site, deduplicated, at most MAX_FACTS."""
    facts: list[Fact] = []
    readable = [p for p in site.pages if p.status < 400]
    if not readable:
        return []
    gathered = contact.gather(site, rules.config_for("contact"))
    for phone in [*gathered.phones, *gathered.faxes]:
        facts.append(Fact("phone", phone.e164, phone.url, _snippet(phone.snippet)))
    for address, url, snippet in gathered.emails:
        if address:
            facts.append(Fact("email", address.lower(), url, _snippet(snippet)))
    for name, url, _where in gathered.names:
        if contact._is_company(name):
            key = company_key(name)
            if len(key) >= 6:
                facts.append(Fact("company", key, url, _snippet(name)))
    for found in gathered.addresses:
        if found.kind == STREET and len(found.text) >= 12:
            facts.append(Fact("address", address_key(found.text, found.country), found.url, _snippet(found.text)))
    facts.extend(_registration_numbers(site, rules))
    facts.extend(_payments(site))
    for page in readable:
        for tracking in page.tracking_ids:
            facts.append(Fact("tracking", tracking, page.url, tracking))
        if page.template_fingerprint:
            facts.append(Fact("template", page.template_fingerprint, page.url, f"page template of {page.url}"))
    links, affiliates = _links(site, config)
    facts.extend(links)
    facts.extend(affiliates)
    ignored = {v.lower() for v in config.ignore_values}
    unique: dict[tuple[str, str], Fact] = {}
    for fact in facts:
        if fact.value.lower() not in ignored:
            unique.setdefault((fact.kind, fact.value), fact)
    return list(unique.values())[:MAX_FACTS]
