"""Live confirmation: ask the registry a site claims whether it really lists the site.

One adapter shape serves every registry; rules.yaml says where each registry's look-up lives (base URL and
path), whether it is keyed by the site's domain or by a registration number, and which words on the answer
confirm or deny. Few registries document their look-up responses, so matching is deliberately conservative:
the registry confirms only when its answer shows the domain (or the number together with this pharmacy's
name, domain or postcode) next to a confirming status word; it denies only on an explicit denial or an entry
that plainly belongs to someone else; anything else is "inconclusive", never a guess.

All requests go through the pipeline's Fetcher, so they obey the same destination policy, time limits and
archive recording as every other fetch.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.netpolicy import FetchError
from app.page import parse_page, run_analysis
from app.site import Site

from .base import VerificationLink
from ._registries import Config, LiveStatus, Registry, first_entry_number, host_matches, scan

MAX_LOOKUPS = 6
MAX_NUMBERS_PER_REGISTRY = 2


@dataclass(frozen=True)
class LookupResult:
    registry: str
    key: str  # the domain or number asked about
    status: str  # "confirms", "confirms-number", "denies", "unreachable", "inconclusive"
    url: str
    detail: str


def lookup_link(registry: Registry, result: LookupResult) -> VerificationLink:
    what = "the entry the site links to" if registry.live and registry.live.key == "entry_link" else result.key
    return VerificationLink(f"Open {registry.name}'s answer for {what}", result.url)


def _keys_to_ask(site: Site, config: Config) -> list[tuple[Registry, str]]:
    found = scan(site, config)
    wanted: list[tuple[Registry, str]] = []
    claimed = found.registries_claimed()
    for logo in found.eu_logos:
        state = next((s for s in config.eu_logo.states if s.code in (logo.link_state, logo.flag)), None)
        if state and state.registry not in claimed:
            claimed.append(state.registry)
    for registry_id in claimed:
        registry = config.registry(registry_id)
        if registry is None or registry.live is None:
            continue
        if registry.live.key == "domain":
            if site.domain:
                wanted.append((registry, site.domain))
            continue
        # Register entries the site links to, from a seal or claim and from the EU/UK logo alike.
        entry_links = [l.url for l in found.links if l.registry == registry_id and l.https and l.named_number and l.number_valid]
        entry_links += [
            logo.link for logo in found.eu_logos
            if logo.link.lower().startswith("https://") and host_matches(_host(logo.link), registry.hosts)
            and first_entry_number(logo.link, registry)
        ]
        if registry.live.key == "entry_link":
            keys = entry_links
        else:
            keys = [n.number for n in found.numbers if n.registry == registry_id and n.valid]
            keys += [l.named_number for l in found.links if l.registry == registry_id and l.named_number and l.number_valid]
            keys += [first_entry_number(link, registry) for link in entry_links]
        for key in list(dict.fromkeys(keys))[:MAX_NUMBERS_PER_REGISTRY]:
            wanted.append((registry, key))
    return wanted[:MAX_LOOKUPS]


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def site_identity(site: Site, patterns: list[str]) -> list[str]:
    """What a register entry for this pharmacy would show: its domain, names and postcodes."""
    names: list[str] = [site.domain] if site.domain else []
    for page in site.pages:
        for org in page.organizations:
            if org.name:
                names.append(org.name)
            if org.postal_code:
                names.append(org.postal_code)
        for pattern in patterns:
            for m in re.finditer(pattern, page.text or ""):
                names.append(m.group(0))
    return [n for n in dict.fromkeys(" ".join(n.split()) for n in names) if len(n) >= 4][:30]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


# A host name as it is printed on a registry's answer page; what stands right before or after it would make it
# part of a longer name ("notmypharm.com", "mypharm.com.au"), which is another site.
_HOST_IN_TEXT = re.compile(
    r"(?<![\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?![\w-]|\.[a-z0-9])", re.IGNORECASE
)


def key_positions(text: str, key: str, kind: str) -> list[int]:
    """Where the answer shows exactly this domain (or number), not as part of a longer one."""
    if kind == "domain":
        pattern = rf"(?<![\w.-])(?:www\.)?{re.escape(key)}(?![\w-]|\.[a-z0-9])"
    else:
        pattern = rf"(?<![\w-]){re.escape(key)}(?![\w-])"
    return [m.start() for m in re.finditer(pattern, text, re.IGNORECASE)]


def _word_hits(text: str, words: list[str]):
    low = text.lower()
    for word in words:
        for m in re.finditer(rf"(?<!\w){re.escape(word.lower())}(?!\w)", low):
            yield word, m.start()


def _word_near(text: str, words: list[str], positions: list[int], reach: int) -> str | None:
    for word, at in _word_hits(text, words):
        if not positions or any(abs(at - p) <= reach for p in positions):
            return word
    return None


def _other_keys(text: str, key: str, kind: str, ignore_hosts: list[str]) -> list[int]:
    """Where the answer names some other site (or entry number) than the one asked about."""
    if kind == "domain":
        # The site's own subdomains ("shop.mypharm.de" on the entry for mypharm.de) are no other site.
        ignore = [*ignore_hosts, key]
        return [m.start() for m in _HOST_IN_TEXT.finditer(text) if not _same_or_registry(m.group(0).lower(), key, ignore)]
    return [m.start() for m in re.finditer(r"(?<![\w-])\d{5,}(?![\w-])", text) if m.group(0) != key]


def _status_of_key(text: str, words: list[str], positions: list[int], others: list[int], reach: int) -> str | None:
    """A status word that belongs to this key: after it, within reach, with no other site (or number) between.

    Results pages list one site per row, name first and status after it; a status word past the next site's
    name, or before this one's, belongs to another row.
    """
    hit = _status_hit(text, words, positions, others, reach)
    return hit[0] if hit else None


def _status_hit(text: str, words: list[str], positions: list[int], others: list[int], reach: int, prefixed: bool = False):
    """(word, offset) of the status word nearest after the key that belongs to it, or None."""
    best = None
    for word, at in (_word_hits_prefixed if prefixed else _word_hits)(text, words):
        for p in positions:
            if p < at <= p + reach and not any(p < o < at for o in others):
                if best is None or at < best[1] or (at == best[1] and len(word) > len(best[0])):
                    best = (word, at)
    return best


NEGATION_WORDS_BEFORE = 3


def negated(text: str, word: str, at: int, negations: list[str]) -> str | None:
    """The status as the answer words it when a negation or past marker turns a confirming word into a denial
    ("not certified", "Previously registered", "nicht registriert", "Uncertified"), or None. Only the few
    words right before it, in the same sentence or table cell, count."""
    low = text.lower()
    end = at + len(word)
    for prefix in ("un", "non-", "non", "nicht-"):
        start = at - len(prefix)
        if start >= 0 and low[start:at] == prefix and (start == 0 or not low[start - 1].isalnum()):
            return text[start:end]
    lo = max(0, at - 80)
    lead = re.split(r"[.!?;|\n](?:\s|$)|\n", low[lo:at])[-1]
    offset = at - len(lead)
    starts = [m.start() for m in re.finditer(r"[\w'’-]+", lead)]
    first = starts[-NEGATION_WORDS_BEFORE] if len(starts) >= NEGATION_WORDS_BEFORE else 0
    window = lead[first:]
    for marker in negations:
        # "Registration no. 1039401" abbreviates "number"; it denies nothing.
        m = re.search(rf"(?<![\w-]){re.escape(marker.lower())}(?![\w-])(?!\.?\s*#?\d)", window)
        if m:
            return " ".join(text[offset + first + m.start(): end].split())
    return None


def _word_hits_prefixed(text: str, words: list[str]):
    """Confirming words, also where a negating prefix is glued to them ("uncertified", "non-registered")."""
    low = text.lower()
    for word in words:
        for m in re.finditer(rf"(?<!\w)(?:un|non-?|nicht-)?({re.escape(word.lower())})(?!\w)", low):
            yield word, m.start(1)


def _same_or_registry(host: str, key: str, ignore_hosts: list[str]) -> bool:
    host = host.removeprefix("www.")
    return host == key or any(host == h or host.endswith("." + h) for h in ignore_hosts)


def _snippet(text: str, at: int, radius: int = 120) -> str:
    lo, hi = max(0, at - radius), min(len(text), at + radius)
    return " ".join(text[lo:hi].split())


def _no_result(text: str, status: LiveStatus | None) -> str | None:
    if status is None or not status.no_result_pattern:
        return None
    m = re.search(status.no_result_pattern, text, re.IGNORECASE)
    return " ".join(m.group(0).split()) if m else None


def judge_answer(registry: Registry, key: str, text: str, site: Site, status: LiveStatus | None = None) -> tuple[str, str]:
    """(status, detail) from the registry's answer text; conservative by design.

    A denial or a "no results" wins over any confirming word: results pages echo the query ("Search results for
    mypharm.com: no results found") and carry the word "certified" in their own headings. Confirmation needs the
    exact domain (or number) with a confirming status that belongs to it; anything less is inconclusive.
    """
    live = registry.live
    assert live is not None
    registry_hosts = registry.hosts + registry.owner_domains
    # An entry asked for by number or link, read for the site's domain: the answer is about the site's domain.
    by_domain = live.key == "domain" or live.match == "domain"
    asked = key if live.key == "domain" else ("the entry the site links to" if live.key == "entry_link" else f"entry {key}")
    shown = site.domain if by_domain else key
    positions = key_positions(text, shown, "domain" if by_domain else "number") if shown else []
    none = _word_near(text, live.deny_words, [], 0) or _no_result(text, status)
    others = _other_keys(text, shown, "domain" if by_domain else "number", registry_hosts)
    if not positions:
        if none:
            return "denies", f"{registry.name} has no entry for {key} (its answer says \"{none}\")."
        if live.key == "domain":
            return "inconclusive", f"{registry.name}'s answer neither lists nor rules out {key}."
        if by_domain:
            # The entry lists another seller's web address with a confirming status: the site links to an entry
            # that is not its own. Another address with no status of its own proves nothing.
            other = _status_of_key(text, live.confirm_words, others, [], live.near_chars)
            if other and shown:
                at = others[0]
                return "denies", (
                    f"{registry.name}: {asked} is for another seller; it does not show {shown}. "
                    f"The entry reads: {_snippet(text, at)}"
                )
            return "inconclusive", f"{registry.name}'s answer for {asked} does not show {shown or 'this site'}."
        return "inconclusive", f"{registry.name}'s answer does not show entry {key}."
    bad = _status_of_key(text, live.deny_near_key_words, positions, others, live.near_chars)
    if bad:
        what = "lists" if by_domain else "marks entry"
        return "denies", f"{registry.name} {what} {shown} as \"{bad}\": {_snippet(text, positions[0])}"
    if none:
        return "denies", f"{registry.name} has no entry for {key} (its answer says \"{none}\")."
    pending = _status_of_key(text, live.undetermined_near_key_words, positions, others, live.near_chars)
    if pending:
        return "inconclusive", f"{registry.name} shows {shown} as \"{pending}\", which is not a confirmation: {_snippet(text, positions[0])}"
    hit = _status_hit(text, live.confirm_words, positions, others, live.near_chars, prefixed=True)
    # The status nearest after the key is what the registry says of it: "not certified" or "previously
    # registered" is the registry saying no, whatever confirming word follows further down.
    said = negated(text, hit[0], hit[1], status.negations) if hit and status else None
    if hit and said:
        what = "lists" if by_domain else "shows entry"
        return "denies", f"{registry.name} {what} {shown} as \"{said}\", not as {hit[0]}: {_snippet(text, hit[1])}"
    good = hit[0] if hit else None
    if by_domain:
        if good:
            return "confirms", f"{registry.name} lists {shown} as \"{good}\": {_snippet(text, positions[0])}"
        return "inconclusive", f"{registry.name}'s answer names {shown} but shows no status we recognise."

    # Keyed by registration number: the entry must also belong to this pharmacy, in the same entry as the
    # number (a postcode elsewhere on a results page proves nothing). Such an entry lists premises, not web
    # addresses, so it ties the number to the pharmacy's details, never to this website: "confirms-number".
    identity = site_identity(site, live.identity_patterns)
    entries = [_squash(text[max(0, p - live.near_chars): p + live.near_chars]) for p in positions]
    matched = [i for i in identity if any(_squash(i) in entry for entry in entries)]
    if matched and good:
        return "confirms-number", f"{registry.name} entry {key} is \"{good}\" and shows {matched[0]}: {_snippet(text, positions[0])}"
    if good and not matched and len(identity) > 1:
        return "denies", (
            f"{registry.name} entry {key} belongs to someone else: it shows none of this site's details "
            f"({', '.join(identity[:4])}). The entry reads: {_snippet(text, positions[0])}"
        )
    return "inconclusive", f"{registry.name} entry {key} could not be matched to this pharmacy."


async def _ask(fetcher, registry: Registry, key: str, site: Site, words: LiveStatus | None = None) -> LookupResult:
    live = registry.live
    assert live is not None
    url = live.url_for(key)
    try:
        result = await fetcher.fetch(url, require_html=False)
    except FetchError as exc:
        if exc.code == "http_error" and live.not_found_is_denial and re.search(r"\b(404|410)\b", exc.message):
            return LookupResult(registry.id, key, "denies", url, f"{registry.name} has no entry {key} (the look-up answered \"not found\").")
        if exc.code == "http_error":
            # It answered, just not with an entry page; without a documented format that proves nothing.
            return LookupResult(registry.id, key, "inconclusive", url, f"{registry.name} gave no entry page for {key}: {exc.message}")
        return LookupResult(registry.id, key, "unreachable", url, f"{registry.name} could not be asked about {key}: {exc.message}")
    # Decoding, parsing and matching an answer page are CPU work on a page a third party sent: off the event loop,
    # in the same bounded pool as the site's own pages, so a large answer cannot stall the service.
    status, detail = await run_analysis(_read_answer, result, registry, key, site, words)
    return LookupResult(registry.id, key, status, url, detail)


def _read_answer(result, registry: Registry, key: str, site: Site, words: LiveStatus | None) -> tuple[str, str]:
    mime = result.content_type.split(";")[0].strip().lower()
    answer = parse_page(result.text, result.url).text if mime in ("", "text/html", "application/xhtml+xml") else result.text
    return judge_answer(registry, key, answer, site, words)


async def confirm(site: Site, fetcher, config: Config) -> list[LookupResult]:
    wanted = await run_analysis(_keys_to_ask, site, config)
    if not wanted:
        return []
    return list(await asyncio.gather(*(_ask(fetcher, registry, key, site, config.live_status) for registry, key in wanted)))
