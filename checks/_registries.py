"""Finding accreditation claims on a site and tying each to the registry it names.

A claim is something the site says about itself: a seal image, a badge line in a footer, "we are
LegitScript-certified", a registration number. A mention is advice about registries in general ("look for the
VIPPS seal"), which rogue sites copy word for word; it is not a claim and earns nothing either way. Everything
that names a registry (hosts, URL shapes, wording, number formats) comes from rules.yaml, so this module holds
only the method.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from app.domains import registrable_domain, split_host
from app.page import Page
from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet, snippet_around

# A hostile page can repeat a registry's name endlessly; this many hits are read and the rest ignored.
MAX_TEXT_HITS = 2000

# ---------------------------------------------------------------------------------------------------------------
# Configuration (the `accreditation.config` section of rules.yaml)


class EntryRule(ConfigModel):
    """Which register entry a valid number opens: numbers fully matching `when` are of this kind."""

    when: str
    kind: str
    url: str  # with {number}


class NumberRule(ConfigModel):
    """How a registration number for one register is cited, and which numbers can exist."""

    kind: str  # what the cited number identifies ("premises", "registration"), shown in evidence
    pattern: str  # finds a cited number in text; must have a (?P<number>...) group
    valid: str  # a number that can exist fully matches this
    entries: list[EntryRule] = []


class LiveLookup(ConfigModel):
    """How to ask the registry itself, when live confirmation is switched on."""

    # Scheme and host; kept apart from `path` so a mirror or a stand-in can be configured. For `entry_link`,
    # empty means the entry link's own origin.
    base_url: str = ""
    path: str = ""  # with {domain} or {number}; unused for `entry_link`
    # What is asked: the site's domain, a registration number cited or linked, or the register entry the site's
    # seal or logo links to (for registers whose look-up addresses are known only from the links themselves).
    key: Literal["domain", "number", "entry_link"]
    # What the answer must show to be about this site: the key itself (a number, with this pharmacy's details
    # beside it), or this site's domain (an entry page that lists the seller's web addresses).
    match: Literal["key", "domain"] = "key"
    confirm_words: list[str]
    deny_words: list[str] = []
    # Words that, near this site's domain or the cited number, mean the registry classifies it as bad.
    deny_near_key_words: list[str] = []
    # Words that, near the key, mean the registry knows the site but has not (yet) approved it: no confirmation,
    # and no denial either.
    undetermined_near_key_words: list[str] = []
    not_found_is_denial: bool = False
    near_chars: int = 300
    # For number look-ups: patterns (postcodes, say) that pick this pharmacy's own details out of its pages,
    # to compare with the register entry.
    identity_patterns: list[str] = []
    documented: bool = False  # whether the registry documents this response format

    def url_for(self, value: str) -> str:
        if self.key == "entry_link":
            parts = urlsplit(value)
            origin = self.base_url.rstrip("/") or f"{parts.scheme}://{parts.netloc}"
            return origin + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return self.base_url.rstrip("/") + self.path.format(domain=quote(value, safe=""), number=quote(value, safe=""))


class Registry(ConfigModel):
    id: str
    name: str
    claim_phrases: list[str] = []
    # Other bodies whose names contain a claim phrase: "Ordre des pharmaciens du Québec" regulates Québec's
    # pharmacists and is not the French order, so naming it is no claim about the French list.
    other_bodies: list[str] = []
    seal_markers: list[str] = []  # substrings of seal image/script file names, alt and title text
    hosts: list[str]
    # Other sites of the body that runs the register (its news pages, its reporting service): genuine, but not
    # the register, so a link there proves nothing either way.
    owner_domains: list[str] = []
    lookalike_tokens: list[str] = []  # a host with one of these as (part of) a label, not owned, imitates it
    # Regexes with (?P<domain>...) over a registry link whose shape is the registry's own entry (or look-up
    # result) for one site, as genuine seals link to it.
    domain_in_link: list[str] = []
    # Shapes that only put a domain into a general search ("?q=<domain>"): anyone can build one, and it is
    # not an entry, so it names a site without vouching for it.
    search_in_link: list[str] = []
    entry_in_link: list[str] = []  # regexes with (?P<number>...) over a registry link
    lookup_url: str | None = None  # the registry's look-up for a domain, with {domain}
    search_page: str | None = None  # where a consumer searches the register by hand
    numbers: list[NumberRule] = []
    backed_by_pharmacy_tld: bool = False  # a .pharmacy domain is itself this registry's proof
    # Whether a claim with no link is a warning sign. Where the register offers only a search form and
    # legitimate pharmacies state the claim in words (US state licences), it is neither proof nor a warning.
    unlinked_claim_is_red_flag: bool = True
    live: LiveLookup | None = None
    no_live_lookup: str = ""  # why the registry has no live adapter, where it has none
    # What the consumer's link to `search_page` says it opens, where it is not a search for this pharmacy.
    search_page_label: str = ""
    # A sentence added to an unbacked claim that contains the phrase: why such a claim cannot be true.
    claim_notes: dict[str, str] = {}


class MemberState(ConfigModel):
    code: str
    flag_words: list[str]  # country names and codes as they appear in logo file names, alt and title text
    registry: str  # id of the registry that holds this state's register


class EuLogo(ConfigModel):
    logo_markers: list[str]
    # File-name words that are also an ordinary name for a site's own logo ("common-logo.png" in a theme's
    # common folder): they mark the EU logo only together with a flag, which the genuine logo always shows.
    flagged_logo_markers: list[str] = []
    eu_flag_words: list[str]
    states: list[MemberState]
    # Where a consumer finds every member state's register, for a logo whose state cannot be told.
    registers_list_url: str = ""


class ClaimContext(ConfigModel):
    first_person: list[str]
    claim_verbs: list[str]
    advice_markers: list[str]
    badge_words: list[str]
    badge_max_words: int = 8
    # In an image's alt text, title, file name or a link's text: the seal is shown as an illustration
    # ("Example of the VIPPS seal"), not held.
    illustration_words: list[str] = []
    first_person_reach: int = 80  # characters between "we"/"our" and the accreditation verb
    # Before the site's own name, these make it a noun for pharmacies in general ("not every online pharmacy").
    general_determiners: list[str] = []
    negations: list[str] = []  # between "we" and the verb, the site says it does not hold the accreditation
    # Before the accreditation verb, the site speaks of a pharmacy it works with (a telehealth service's
    # dispensing partner), not of itself.
    partner_markers: list[str] = []
    # Plural nouns for pharmacies as a class: "certified pharmacies are safer" and a heading "VIPPS Accredited
    # Pharmacies" speak of pharmacies in general, whoever says it ("our checklist: ..."); a site labels itself in
    # the singular.
    class_nouns: list[str] = []
    # Verbs that, right after "<accredited> <pharmacies>", make that class the subject of a general statement.
    class_predicates: list[str] = []


class RegisterNames(ConfigModel):
    lead_ins: list[str]  # "registered with", "licensed by": what makes a register name a claim
    # After a register's name, what also makes it a claim: "Texsa State Board of Pharmacy, license number 28741".
    trail_ins: list[str] = []
    real: list[str]
    fake: list[str] = []
    # Words that pad a real register's name into an imitation ("General Health Pharmaceutical Council"); a real
    # name with any other word around it is some other real body, or one not known here, and is left alone.
    fillers: list[str] = []
    # Words any register's name may be made of. A name of only these and at least two fillers names no place,
    # profession or real body ("International Online Pharmacy Accreditation Board"): an invented register.
    generic_words: list[str] = []
    us_states: list[str]


class LiveStatus(ConfigModel):
    """How any registry's answer says no, in every language the registers answer in."""

    # A confirming word with one of these among the few words before it is a denial ("not certified",
    # "previously registered", "nicht registriert").
    negations: list[str] = []
    # An answer that found nothing ("0 websites found", "keine Treffer"): a denial like a "no results" line.
    no_result_pattern: str = ""


class GenericSeals(ConfigModel):
    """A seal that names no register ("Verified pharmacy seal", "Certified Online Pharmacy"): a claim nothing can
    back, since there is no register to look it up in."""

    # In an image's alt text, title or file name, a claim word and a pharmacy word together make it a seal.
    claim_words: list[str] = []
    subject_words: list[str] = []
    # Registers where the consumer can look the pharmacy up instead (their look-up links go with the finding).
    lookup_registries: list[str] = []


class Config(ConfigModel):
    claim_context: ClaimContext
    generic_seals: GenericSeals = GenericSeals()
    registries: list[Registry]
    eu_logo: EuLogo
    register_names: RegisterNames
    live_status: LiveStatus | None = None

    def registry(self, registry_id: str) -> Registry | None:
        for r in self.registries:
            if r.id == registry_id:
                return r
        return None


# ---------------------------------------------------------------------------------------------------------------
# What was found


@dataclass(frozen=True)
class Claim:
    registry: str
    how: str  # "text", "partner" (about a partner pharmacy), "badge", "image", "script", "number"
    page_url: str
    snippet: str


@dataclass(frozen=True)
class RegistryLink:
    registry: str
    page_url: str
    url: str
    https: bool
    named_domain: str = ""  # registrable domain the link names, when it names one
    entry: bool = False  # the domain is named in one of the registry's entry shapes, not only in a search
    named_number: str = ""
    number_valid: bool = True  # the linked number has a format the register can issue (where formats are known)
    text_number: str = ""  # a different number printed on the link itself ("GPhC 1123456" linking to entry 1039401)
    seal: bool = False  # an image link or a claim-worded anchor: the site presents it as its proof
    # A text link that shows what a registry listing looks like (in an article, or worded as an example): advice,
    # not the site's own proof, so it names another site without borrowing its identity.
    illustration: bool = False


@dataclass(frozen=True)
class WrongHostLink:
    registry: str
    page_url: str
    url: str
    why: str


@dataclass(frozen=True)
class CitedNumber:
    registry: str
    kind: str
    number: str
    valid: bool
    page_url: str
    snippet: str
    entry_url: str | None
    lead: str = ""  # the line up to the number: which register it is cited with


@dataclass(frozen=True)
class BadRegister:
    page_url: str
    snippet: str
    name: str
    numbered: bool = False  # a registration or licence number is cited with it
    resembles: str = ""  # the real register's name it imitates, where it imitates one


@dataclass(frozen=True)
class EuLogoSeen:
    page_url: str
    src: str
    flag: str  # member state code, "EU" for the EU flag, "" when the image does not say
    link: str
    link_state: str  # member state whose register the link goes to, "" otherwise
    flag_named: bool = False  # the flag was named in words, not only guessed from a country code in a file name


@dataclass(frozen=True)
class GenericSeal:
    page_url: str
    label: str


@dataclass
class Findings:
    generic_seals: list[GenericSeal] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    links: list[RegistryLink] = field(default_factory=list)
    wrong_hosts: list[WrongHostLink] = field(default_factory=list)
    numbers: list[CitedNumber] = field(default_factory=list)
    bad_registers: list[BadRegister] = field(default_factory=list)
    eu_logos: list[EuLogoSeen] = field(default_factory=list)

    def registries_claimed(self) -> list[str]:
        seen: list[str] = []
        for item in [*self.claims, *self.links, *self.numbers, *self.wrong_hosts]:
            if item.registry not in seen:
                seen.append(item.registry)
        return seen


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def host_matches(host: str, hosts: list[str]) -> bool:
    host = (host or "").lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in hosts)


def _hostname(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


@lru_cache(maxsize=64)
def _phrases(items: tuple[str, ...]) -> PhraseSet:
    return PhraseSet(items)


def _line_containing(text: str, part: str) -> str:
    at = text.find(part) if part else -1
    if at < 0:
        return part
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at + len(part))
    return text[start:] if end < 0 else text[start:end]


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def _contains_marker(haystack: str, markers: list[str]) -> str | None:
    low = haystack.lower()
    for marker in markers:
        if marker.lower() in low:
            return marker
    return None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'“(])")


def sentences(text: str):
    """(start offset, sentence) for each line of text, split again at sentence ends."""
    offset = 0
    for line in text.split("\n"):
        pos = 0
        for part in _SENTENCE_END.split(line):
            start = line.find(part, pos)
            pos = start + len(part)
            if part.strip():
                yield offset + start, part
        offset += len(line) + 1


def is_pharmacy_tld(site: Site) -> bool:
    _, _, suffix = split_host(site.host or site.domain)
    return suffix == "pharmacy"


_FILE_EXTENSIONS = {"html", "htm", "php", "asp", "aspx", "jsp", "cfm", "png", "jpg", "jpeg", "gif", "svg", "webp",
                    "js", "css", "pdf", "xml", "json", "txt"}
_HOST_SHAPE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")


def _domain_like(token: str) -> str:
    token = unquote(token).strip().lower()
    if "://" in token:
        token = _hostname(token)
    token = token.split("/")[0].split("?")[0].strip(". ")
    if not token or " " in token or "." not in token or "@" in token:
        return ""
    # Only something shaped like a host name names a site ("v1.2" or "page.html?x" do not).
    if not _HOST_SHAPE.fullmatch(token) or token.rsplit(".", 1)[-1] in _FILE_EXTENSIONS:
        return ""
    return registrable_domain(token)


# ---------------------------------------------------------------------------------------------------------------
# Claim versus mention


class ClaimReader:
    """Decides whether a sentence is the site speaking about itself or giving advice about registries."""

    def __init__(self, ctx: ClaimContext, site: Site):
        self.ctx = ctx
        self.advice = _phrases(tuple(ctx.advice_markers))
        self.badge = _phrases(tuple(ctx.badge_words))
        self.illustration = _phrases(tuple(ctx.illustration_words))
        verbs = "|".join(sorted((re.escape(v) for v in ctx.claim_verbs), key=len, reverse=True))
        subjects = [re.escape(w).replace(r"\ ", r"\s+") for w in ctx.first_person]
        for name in self._site_names(site):
            # "mapleleafmeds.com" calls itself "Maple Leaf Meds": letters of the name with optional gaps.
            letters = [re.escape(c) for c in re.sub(r"[^\w]", "", name)]
            subjects.append(r"[\s.-]?".join(letters))
        subject = "|".join(sorted(subjects, key=len, reverse=True))
        reach = ctx.first_person_reach
        # A dot glued to the next letter is inside a name (".pharmacy", "Safe.Pharmacy"), not a sentence end.
        self.first_person = re.compile(
            rf"(?<!\w)(?P<subject>{subject})(?!\w)(?:[^.!?\n]|\.(?=\w)){{0,{reach}}}?(?<!\w)(?:{verbs})(?!\w)",
            re.IGNORECASE,
        )
        self.pronouns = {" ".join(w.lower().split()) for w in ctx.first_person}
        self.determiners = _phrases(tuple(ctx.general_determiners))
        self.negations = _phrases(tuple(ctx.negations))
        self.partner = _phrases(tuple(ctx.partner_markers))
        self.class_nouns = {" ".join(n.lower().split()) for n in ctx.class_nouns}
        self.class_statement = None
        if ctx.class_nouns and ctx.class_predicates:
            nouns = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(ctx.class_nouns, key=len, reverse=True))
            predicates = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in ctx.class_predicates)
            self.class_statement = re.compile(
                rf"(?<!\w)(?:{verbs})\s+(?:{nouns})\s+(?:{predicates})(?!\w)", re.IGNORECASE
            )

    def _speaking(self, sentence: str):
        """The site saying it holds an accreditation: not denying it, and not a general statement about pharmacies."""
        for m in self.first_person.finditer(sentence):
            between = sentence[m.end("subject"): m.end()]
            if self.negations.search(between):
                continue  # "we are not VIPPS accredited"
            if " ".join(m.group("subject").lower().split()) not in self.pronouns:
                # The site's own name ("online pharmacy") after "every", "an", "any" is pharmacies in general.
                before = sentence[max(0, m.start() - 20): m.start()].split()
                if before and self.determiners.search(before[-1]):
                    continue
            if self.class_statement is not None:
                general = self.class_statement.search(sentence, m.start("subject"))
                if general is not None and general.start() < m.end() <= general.end():
                    continue  # "our checklist: LegitScript certified pharmacies are safer"
            return m
        return None

    @staticmethod
    def _site_names(site: Site) -> list[str]:
        names = []
        _, label, _ = split_host(site.domain or "")
        if label and len(label) >= 4:
            names.append(label)
        for page in site.pages:
            for org in page.organizations:
                if org.name and 4 <= len(org.name) <= 60:
                    names.append(org.name)
        return names

    def is_illustration(self, *texts: str) -> bool:
        words = " ".join(t.replace("-", " ").replace("_", " ") for t in texts)
        return self.illustration.search(words) is not None

    def classify(self, sentence: str, *, in_article: bool = False) -> Literal["claim", "partner", "badge", "mention"]:
        has_advice = self.advice.search(sentence) is not None
        speaking = self._speaking(sentence)
        # Advice wording up to the end of "we ... accredited" makes it advice ("we recommend you look for VIPPS
        # accredited pharmacies"); after it, it is the site's own pitch ("..., so you can order with confidence").
        if speaking and self.advice.search(sentence[: speaking.end()]) is None:
            # "We partner with pharmacies that are VIPPS accredited": the accreditation is the partner's.
            if self.partner.search(sentence[: speaking.end()]) is not None:
                return "partner"
            return "claim"
        words = sentence.split()
        # A badge is a label ("VIPPS Accredited Pharmacy") on the site's own frame, not a heading in an article
        # about registries.
        last = " ".join(w.lower().strip(",;:()") for w in words[-2:])
        plural_class = bool(words) and (words[-1].lower().strip(",;:()") in self.class_nouns or last in self.class_nouns)
        if (
            not in_article
            and not has_advice
            and not plural_class
            and not sentence.rstrip().endswith((".", "!", "?"))
            and len(words) <= self.ctx.badge_max_words
            and self.badge.search(sentence) is not None
        ):
            return "badge"
        return "mention"


# ---------------------------------------------------------------------------------------------------------------
# The scan


class Scanner:
    def __init__(self, site: Site, config: Config):
        self.site = site
        self.config = config
        self.reader = ClaimReader(config.claim_context, site)
        self.findings = Findings()
        self._claim_phrases = {r.id: _phrases(tuple(r.claim_phrases)) for r in config.registries}
        self._other_bodies = {r.id: _phrases(tuple(r.other_bodies)) for r in config.registries}
        self._any_claim_phrase = _phrases(tuple(p for r in config.registries for p in r.claim_phrases))

    def scan(self) -> Findings:
        for page in self.site.pages:
            self._scan_text(page)
            self._scan_numbers(page)
            self._scan_register_names(page)
            self._scan_images(page)
            self._scan_links(page)
            self._scan_scripts(page)
        return self.findings

    # -- text -----------------------------------------------------------------------------------------------
    def _scan_text(self, page: Page) -> None:
        if not page.text or not self._any_claim_phrase:
            return
        article = _squash(page.article_text)
        spans: list[tuple[int, str]] | None = None
        starts: list[int] = []
        judged: set[int] = set()
        # Only sentences that name some registry are read closely; on a long page that is a handful.
        for hit in self._any_claim_phrase.finditer(page.text, limit=MAX_TEXT_HITS):
            if spans is None:
                spans = list(sentences(page.text))
                starts = [start for start, _ in spans]
            index = bisect_right(starts, hit.start) - 1
            if index < 0 or index in judged:
                continue
            judged.add(index)
            start, sentence = spans[index]
            in_article = bool(article) and _squash(sentence) in article
            kind = self.reader.classify(sentence, in_article=in_article)
            if kind == "mention":
                continue
            for registry in self.config.registries:
                m = self._claim_phrase(registry, sentence)
                if m is not None:
                    snippet = snippet_around(page.text, start + m.start, start + m.end)
                    how = {"claim": "text", "partner": "partner"}.get(kind, "badge")
                    self.findings.claims.append(Claim(registry.id, how, page.url, snippet))

    def _claim_phrase(self, registry: Registry, sentence: str):
        phrases = self._claim_phrases[registry.id]
        if not phrases:
            return None
        others = self._other_bodies[registry.id]
        taken = [(o.start, o.end) for o in others.finditer(sentence)] if others else []
        for m in phrases.finditer(sentence):
            if not any(a <= m.start and m.end <= b for a, b in taken):
                return m
        return None

    def _scan_numbers(self, page: Page) -> None:
        if not page.text:
            return
        for registry in self.config.registries:
            for rule in registry.numbers:
                for m in _regex(rule.pattern).finditer(page.text):
                    number = re.sub(r"[\s-]", "", m.group("number"))
                    valid = bool(_regex(rule.valid).fullmatch(number))
                    entry = next((e for e in rule.entries if _regex(e.when).fullmatch(number)), None) if valid else None
                    self.findings.numbers.append(
                        CitedNumber(
                            registry=registry.id,
                            kind=entry.kind if entry else rule.kind,
                            number=number,
                            valid=valid,
                            page_url=page.url,
                            snippet=snippet_around(page.text, m.start("number"), m.end("number")),
                            entry_url=entry.url.format(number=number) if entry else None,
                            lead=page.text[max(page.text.rfind("\n", 0, m.start()) + 1, m.start() - 200): m.end("number")],
                        )
                    )
                    if len(self.findings.numbers) > 50:
                        return

    def _scan_register_names(self, page: Page) -> None:
        """A register cited as the site's regulator that does not exist ("General Health Pharmaceutical Council")."""
        names = self.config.register_names
        if not page.text:
            return
        lead = "|".join(re.escape(x).replace(r"\ ", r"\s+") for x in names.lead_ins)
        body = r"((?:[A-Z][\w'’&-]*\s+|of\s+|and\s+|for\s+|the\s+){0,7}?(?:Council|Board(?:\s+of\s+Pharmacy)?|Association|Authority|Commission|Agency|Society|Federation|Institute|College)(?:\s+of\s+(?:[A-Z][\w'’-]*\s*){1,3})?)"
        # Lead-ins match in any case; the name itself must be capitalised like a proper name.
        pattern = re.compile(rf"(?i:{lead})\s+(?:(?i:the)\s+)?{body}")
        real = [" ".join(r.lower().split()) for r in names.real]
        fake = [" ".join(f.lower().split()) for f in names.fake]
        states = {s.lower() for s in names.us_states}
        fillers = {w.lower() for w in names.fillers}
        generic = {w.lower() for w in names.generic_words}
        trail = "|".join(re.escape(x).replace(r"\ ", r"\s+") for x in names.trail_ins) or r"(?!)"
        # A number cited right after the name presents it as the site's registration, not only as a name.
        number_after = re.compile(
            rf"[^.\n]{{0,40}}?(?:(?i:{trail})|(?i:registration|licen[cs]e|reg\.?|permit)\s*(?i:number|no\.?|#)?)"
            r"\s*[:.#]?\s*[A-Z]{0,5}[- ]?\d{3,}"
        )
        seen: set[str] = set()
        for m in pattern.finditer(page.text):
            name = " ".join(m.group(1).split()).strip(" ,.;")
            low = name.lower()
            if not any(w in low for w in ("pharm", "medic", "drug", "health")):
                continue
            # A real name inside the phrase ("UK General Pharmaceutical Council") is real; all of a real name's
            # words with something inserted or swapped ("General Health Pharmaceutical Council") is an imitation;
            # a name we do not know at all is left alone.
            resembles = _imitates(low, real, fillers)
            if any(f in low for f in fake) or _bogus_state_board(name, states):
                bogus = True
            elif any(r in low for r in real if len(r.split()) >= 3):
                bogus = False
            else:
                bogus = bool(resembles) or _invented(low, fillers, generic)
            if bogus:
                seen.add(low)
                numbered = bool(number_after.match(page.text, m.end()))
                self.findings.bad_registers.append(
                    BadRegister(page.url, snippet_around(page.text, m.start(), m.end()), name, numbered, resembles)
                )
        if not names.trail_ins:
            return
        # A name followed by a licence number is cited as the site's regulator too. Without a lead-in the name's
        # start is less certain, so only the known fakes and non-existent states count here, not imitations.
        for m in re.finditer(rf"(?<![\w]){body}(?=\s*[,:(]?\s*(?i:{trail}))", page.text):
            name = re.sub(r"^(?i:the)\s+", "", " ".join(m.group(1).split()).strip(" ,.;"))
            low = name.lower()
            if low in seen or not any(w in low for w in ("pharm", "medic", "drug", "health")):
                continue
            if any(f in low for f in fake) or _bogus_state_board(name, states):
                seen.add(low)
                self.findings.bad_registers.append(
                    BadRegister(page.url, snippet_around(page.text, m.start(), m.end()), name, numbered=True)
                )

    # -- markup ---------------------------------------------------------------------------------------------
    def _registry_for_marker(self, text: str) -> Registry | None:
        for registry in self.config.registries:
            if registry.seal_markers and _contains_marker(text, registry.seal_markers):
                return registry
        return None

    def _scan_images(self, page: Page) -> None:
        eu = self.config.eu_logo
        for img in page.images:
            file_name = unquote(urlsplit(img.src).path.rsplit("/", 1)[-1]) if img.src else ""
            src_and_text = f"{img.alt} {img.title} {unquote(img.src)}"
            # An unlinked seal called an example, or standing in an article, illustrates advice; it is not held.
            # A linked one is judged by where it leads (a borrowed entry is no illustration) unless it does both:
            # stands in an article and calls itself an example, as a guide's "what a listing looks like" does.
            example = self.reader.is_illustration(img.alt, img.title, file_name)
            if not img.link and (img.in_article or example):
                continue
            if img.link and img.in_article and example:
                registry = self._registry_for_marker(src_and_text)
                if registry is not None:
                    self._classify_link(page, img.link, registry, seal=False, illustration=True, text=f"{img.alt} {img.title}")
                continue
            # The common logo is recognised by its wording or file name, or by being an image that links to a
            # national register of online sellers (which is what the genuine logo does).
            if (
                _contains_marker(src_and_text, eu.logo_markers)
                or (img.link and self._eu_register_state(img.link))
                or (_contains_marker(file_name, eu.flagged_logo_markers) and self._logo_flag(img, file_name)[0])
            ):
                self._eu_logo(page, img, file_name)
                continue
            registry = self._registry_for_marker(src_and_text)
            if registry is None and img.link:
                # A seal whose words name no registry is still that registry's when it links there.
                host = _hostname(img.link)
                registry = next((r for r in self.config.registries if host_matches(host, r.hosts)), None)
            if registry is None:
                if self._generic_seal(img.alt, img.title, file_name):
                    label = img.alt or img.title or file_name
                    self.findings.generic_seals.append(GenericSeal(page.url, f"Seal image: {label}"[:240]))
                continue
            label = img.alt or img.title or img.src
            self.findings.claims.append(Claim(registry.id, "image", page.url, f"Seal image: {label}"[:240]))
            if img.link:
                self._classify_link(page, img.link, registry, seal=True, text=f"{img.alt} {img.title}")

    def _generic_seal(self, *texts: str) -> bool:
        seals = self.config.generic_seals
        words = " ".join(re.sub(r"\.(?:png|jpe?g|gif|svg|webp|avif)$", "", t, flags=re.I).replace("-", " ").replace("_", " ")
                         for t in texts)
        return (_phrases(tuple(seals.claim_words)).search(words) is not None
                and _phrases(tuple(seals.subject_words)).search(words) is not None)

    def _eu_logo(self, page: Page, img, file_name: str) -> None:
        flag, named = self._logo_flag(img, file_name)
        link_state = self._eu_register_state(img.link) if img.link else ""
        self.findings.eu_logos.append(EuLogoSeen(page.url, img.src, flag, img.link, link_state, named))

    def _logo_flag(self, img, file_name: str) -> tuple[str, bool]:
        """The flag a logo image shows, from its words: (member state code or "EU" or "", named in words)."""
        eu = self.config.eu_logo
        words_text = " ".join(f"{img.alt} {img.title} {file_name}".lower().replace("_", " ").replace("-", " ").split())
        file_tokens = set(re.split(r"[^a-z]+", file_name.lower()))
        flag, named = "", False
        if any(re.search(rf"(?<![a-z]){re.escape(w.lower().replace('-', ' ').replace('_', ' '))}(?![a-z])", words_text) for w in eu.eu_flag_words):
            flag, named = "EU", True
        else:
            # A country named in words ("Flag of Germany") says more than a code in the file name, so it is read
            # first, whichever state comes first in the list. Country codes only count in file names
            # ("logo_DE.png"): in alt text "de", "it" and "at" are ordinary words.
            for state in eu.states:
                if any(len(w) > 3 and re.search(rf"(?<![a-z]){re.escape(w.lower())}(?![a-z])", words_text) for w in state.flag_words):
                    return state.code, True
            for state in eu.states:
                if any(len(w) <= 3 and w.lower() in file_tokens for w in state.flag_words):
                    return state.code, False
        return flag, named

    def _eu_register_state(self, url: str) -> str:
        """The member state whose register of online sellers `url` is on, or ""."""
        host = _hostname(url)
        for state in self.config.eu_logo.states:
            registry = self.config.registry(state.registry)
            if registry and host_matches(host, registry.hosts):
                return state.code
        return ""

    def _scan_links(self, page: Page) -> None:
        linked_images = {img.link for img in page.images if img.link}
        # A page links to a few hosts many times over (its own, a CDN): which registries a host imitates is worked
        # out once per host, not once per link and registry.
        imitated_by_host: dict[str, set[str]] = {}
        for link in page.links:
            host = _hostname(link.url)
            if not host:
                continue
            registry = next((r for r in self.config.registries if host_matches(host, r.hosts)), None)
            if registry is not None:
                if link.url in linked_images:
                    continue  # judged with its image
                phrases = self._claim_phrases[registry.id]
                seal = bool(phrases and phrases.search(link.text)) and self.reader.badge.search(link.text) is not None
                # "For example, <a>this is a certified listing</a>": the example wording is often around the link.
                context = _line_containing(page.text, link.text) if link.in_article else link.text
                illustration = (link.in_article and not seal) or self.reader.is_illustration(context)
                self._classify_link(
                    page, link.url, registry, seal=seal and not illustration, illustration=illustration, text=link.text
                )
                continue
            if link.url in linked_images:
                continue
            imitated = imitated_by_host.get(host)
            if imitated is None:
                imitated = imitated_by_host[host] = {r.id for r in self.config.registries if imitates_host(host, r)}
            # A claim-worded anchor ("Verify our LegitScript certification") that leads elsewhere.
            for candidate in self.config.registries:
                phrases = self._claim_phrases[candidate.id]
                if link.text and phrases and phrases.search(link.text) and self.reader.badge.search(link.text) is not None:
                    self._classify_link(page, link.url, candidate, seal=True)
                    break
                if candidate.id in imitated:
                    self._classify_link(page, link.url, candidate, seal=True)
                    break

    def _scan_scripts(self, page: Page) -> None:
        for src in page.scripts:
            host = _hostname(src)
            registry = self._registry_for_marker(unquote(src))
            if registry is None:
                continue
            self.findings.claims.append(Claim(registry.id, "script", page.url, f"Seal script: {src}"[:240]))
            if host_matches(host, registry.hosts):
                number = _first_group(registry.entry_in_link, src, "number")
                self.findings.links.append(
                    RegistryLink(registry.id, page.url, src, src.lower().startswith("https://"), named_number=number or "", seal=True)
                )
            else:
                self.findings.wrong_hosts.append(
                    WrongHostLink(registry.id, page.url, src, f"the seal script is served from {host or 'the site'}, not {registry.name}")
                )

    def _classify_link(
        self, page: Page, url: str, registry: Registry, *, seal: bool, illustration: bool = False, text: str = ""
    ) -> None:
        host = _hostname(url)
        if host_matches(host, registry.owner_domains) and not host_matches(host, registry.hosts):
            self.findings.links.append(RegistryLink(registry.id, page.url, url, url.lower().startswith("https://"), seal=seal))
            return
        if not host_matches(host, registry.hosts):
            if registrable_domain(host) == self.site.domain:
                why = f"it leads to {host}, the site itself, not to {registry.name}"
            elif imitates_host(host, registry):
                why = f"{host} imitates {registry.name}'s address"
            else:
                why = f"it leads to {host or 'an unknown place'}, not to {registry.name}"
            self.findings.wrong_hosts.append(WrongHostLink(registry.id, page.url, url, why))
            return
        named = named_domain(url, registry)
        number = _first_group(registry.entry_in_link, url, "number") or ""
        valid = not number or not registry.numbers or any(_regex(r.valid).fullmatch(number) for r in registry.numbers)
        printed = [re.sub(r"[\s-]", "", n) for n in re.findall(r"(?<![\w-])\d[\d -]{4,14}\d(?![\w-])", text)]
        other = next((n for n in printed if n != number), "") if number and number not in printed else ""
        self.findings.links.append(
            RegistryLink(
                registry.id, page.url, url, url.lower().startswith("https://"),
                named_domain=named or searched_domain(url, registry), entry=bool(named), named_number=number,
                number_valid=valid, text_number=other, seal=seal, illustration=illustration,
            )
        )


def named_domain(url: str, registry: Registry) -> str:
    """The registrable domain a registry link names in one of the registry's entry shapes, or ""."""
    found = _first_group(registry.domain_in_link, url, "domain")
    return _domain_like(found) if found else ""


def first_entry_number(url: str, registry: Registry) -> str:
    """The entry number a register link opens, in one of the register's own entry shapes, or ""."""
    return _first_group(registry.entry_in_link, url, "number") or ""


def searched_domain(url: str, registry: Registry) -> str:
    """The domain a registry link only searches for, or "" (for a registry with no configured shapes, any
    domain in the query or path: such a link names a site but is not known to be its entry)."""
    found = _first_group(registry.search_in_link, url, "domain")
    if found:
        return _domain_like(found)
    if registry.domain_in_link or registry.search_in_link:
        return ""
    return _generic_named_domain(url, registry)


def imitates_host(host: str, registry: Registry) -> bool:
    """A host that borrows the registry's name without being the registry ("legitscript-verify.com")."""
    if not registry.lookalike_tokens or host_matches(host, registry.hosts + registry.owner_domains):
        return False
    parts = [p for p in re.split(r"[.-]", host.lower()) if p]
    for token in registry.lookalike_tokens:
        t = token.lower().replace("-", "")
        # Short tokens ("cipa", "mhra") must be a whole label part, or "municipal" would imitate CIPA.
        if any(p == t if len(t) <= 5 else t in p for p in parts):
            return True
    return False


_TRACKING_PARAMS = {"ref", "referrer", "referer", "source", "return", "returnurl", "return_url", "redirect", "next", "back"}


def _first_group(patterns: list[str], text: str, group: str) -> str | None:
    for pattern in patterns:
        m = _regex(pattern).search(text)
        if m and m.group(group):
            return unquote(m.group(group))
    return None


def _generic_named_domain(url: str, registry: Registry) -> str:
    """A domain named anywhere in a registry link's query or path (for registries with no configured shape)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    # Tracking and return-address parameters name the linking site or a partner, not the registry entry.
    candidates = [
        v for k, v in parse_qsl(parts.query) if not k.lower().startswith("utm_") and k.lower() not in _TRACKING_PARAMS
    ] + parts.path.split("/")
    for token in candidates:
        domain = _domain_like(token)
        if domain and not host_matches(domain, registry.hosts):
            return domain
    return ""


def _name_words(name: str) -> list[str]:
    return [w for w in re.split(r"[^\w']+", name.lower()) if w and w != "the"]


def _extra_words(words: list[str], rwords: list[str]) -> list[str] | None:
    """The words of `words` left over when `rwords` is read from it in order, or None when it is not in it."""
    extras: list[str] = []
    i = 0
    for w in words:
        if i < len(rwords) and w == rwords[i]:
            i += 1
        else:
            extras.append(w)
    return extras if i == len(rwords) else None


def _imitates(name: str, real: list[str], fillers: set[str]) -> str:
    """A real register's name padded or altered with filler words ("General Health Pharmaceutical Council").

    Only filler words make an imitation: a real regulator for another place or profession differs from a listed
    one by a place ("Pharmacy Council of NSW") or a word order ("British Columbia College of Pharmacists"), and
    that is no sign of a fake.
    """
    words = _name_words(name)
    imitation = ""
    for r in real:
        rwords = _name_words(r)
        if len(rwords) < 3:
            continue
        extras = _extra_words(words, rwords)
        if extras is not None:
            if not any(w in fillers for w in extras):
                return ""  # a real name with a place or a qualifier around it ("UK General Pharmaceutical Council")
            imitation = imitation or r
        elif len(words) == len(rwords):
            swapped = [(w, rw) for w, rw in zip(words, rwords) if w != rw]
            if len(swapped) == 1 and swapped[0][0] in fillers:
                imitation = imitation or r
    return imitation


def _invented(name: str, fillers: set[str], generic: set[str]) -> bool:
    words = _name_words(name)
    return bool(words) and sum(w in fillers for w in words) >= 2 and all(w in fillers or w in generic for w in words)


def _bogus_state_board(name: str, states: set[str]) -> bool:
    m = re.match(r"(?:the\s+)?(.+?)\s+State\s+Board\s+of\s+Pharmacy$", name, re.IGNORECASE)
    if not m:
        return False
    # Words before the state ("Fully Licensed Texas State Board of Pharmacy") do not make the state unreal.
    place = " ".join(m.group(1).lower().split())
    return not any(place == st or place.endswith(" " + st) for st in states)


def scan(site: Site, config: Config) -> Findings:
    return Scanner(site, config).scan()
