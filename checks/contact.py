"""Contact and identity: can the consumer find out who runs the pharmacy, and where?

Reads every page fetched and the site's schema.org data for:
- a postal address, classified as a full street address, a PO box or mail-forwarding address, or only a city
  or country (see checks/_address.py for the parsers);
- phone numbers, parsed and validated with `phonenumbers`, with the country each belongs to;
- email addresses, and whether the only ones are free-mail accounts;
- whether the business name and the address agree across schema.org data, footers and the contact page.

"Not found" outcomes name the pages that were read and say whether a contact or about page was among them,
because an address missing from a product page means little and one missing from the contact page a lot. A
site that says it has no address or no phone line gets its own outcome, distinct from one that is merely
silent.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

import phonenumbers

from app.domains import registrable_domain
from app.page import Page
from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet, snippet_around

from . import _qa as qa
from . import prescription as rx
from ._offers import cue_pattern, warned
from ._address import LOCALITY, PO_BOX, STREET, FoundAddress, address_from_org, find_addresses
from ._qa import Localised, QAConfig
from .base import Check, Outcome

MAX_PHONE_TEXT = 300_000
MAX_PHONES_PER_PAGE = 30


class Config(ConfigModel):
    # Street words by language: "en" serves Ireland and Australia, "de" Germany/Austria/Switzerland, "fr"
    # France, "in" India; US, Canadian and British addresses are read by pyap's own grammar.
    street_words: dict[str, list[str]]
    # ISO 3166 code -> the names a page may use for the country.
    countries: dict[str, list[str]]
    # Headings a contact block starts with, which are not part of the address after them.
    address_headings: list[str] = []
    # A number followed by one of these is a drug strength or a pack count, never a street number.
    quantity_words: list[str] = []
    # Labels that make the number after them a product's ("SKU 10115", "Item 5"), not a street's.
    product_labels: list[str] = []
    location_cues: list[str]
    # A location cue speaks of the pharmacy only in a sentence about the pharmacy: one that starts with the cue
    # ("Based in Vancouver, Canada" in a footer) or names the business itself ("we", "our pharmacy").
    location_self_words: list[str] = []
    # ...and not one about a maker or supplier ("made by Novo Nordisk, headquartered in Denmark").
    location_third_party_cues: list[str] = []
    mail_forwarding_phrases: list[str]
    # By language (checks/_qa.py, `Localised`).
    address_withheld_phrases: Localised
    phone_withheld_phrases: Localised
    # What a question about the address or the phone line names; answered "No", the site withholds it.
    address_questions: Localised = []
    phone_questions: Localised = []
    qa: QAConfig | None = None
    # The prescription check's section: whether the site offers prescription medicines for sale.
    prescription: rx.Config | None = None
    # Words that make the email after them an example of what to type ("e.g. john.doe@gmail.com").
    email_example_cues: list[str] = []
    # Safety advice lists the same signs ("warning signs include no physical address"): said of other sites,
    # not the site's own statement.
    warning_cues: Localised = []
    # "yahoo.*" matches yahoo.com, yahoo.co.uk and every other yahoo domain.
    free_mail_domains: list[str]
    # Words too common in pharmacy names to tell two businesses apart.
    generic_name_words: list[str]
    # Consumer words for schema.org data in evidence.
    machine_readable_label: str = "the site's machine-readable business details"
    # "Operated by Harbour Trading Ltd", "a trading name of ...": the company behind the shop's brand.
    operator_phrases: list[str] = []
    # Labels that make the number after them something other than a phone line ("NPI", "Licence", "Order").
    not_phone_labels: list[str] = []
    # A number labelled only as a fax is not a line the buyer can call.
    fax_labels: list[str] = []
    phone_labels: list[str] = []
    contact_page_kinds: list[str] = ["contact", "about"]


OUTCOMES = (
    "address-street",
    "address-po-box-only",
    "address-locality-only",
    "address-withheld",
    "address-not-found",
    "address-not-found-partial",
    "phone-found",
    "phone-other-country",
    "phone-withheld",
    "phone-not-found",
    "email-found",
    "email-free-mail-only",
    "email-not-found",
    "no-contact-found",
    "no-accountable-seller",
    "identity-consistent",
    "countries-conflict",
    "names-conflict",
)

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![\w-])")
# Cloudflare replaces addresses with this placeholder; the page has an email address we cannot read.
_PROTECTED_EMAIL = re.compile(r"\[email\s*(?:&#160;|\u00a0)?\s*protected\]", re.I)
# Cloudflare's email protection also rewrites mailto: links to this path.
_PROTECTED_LINK = "/cdn-cgi/l/email-protection"
# "rxhelp [at] gmail [dot] com", "rxhelp (at) gmail (dot) com": an address written out to fool harvesters.
_BRACKETED_AT = r"\s*[\[(]\s*at\s*[\])]\s*"
_DOT = r"(?:\s*[\[(]\s*dot\s*[\])]\s*|\.)"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?i)(?<![\w.+-])([a-z0-9][a-z0-9._%+-]{{0,63}}){_BRACKETED_AT}((?:[a-z0-9-]{{1,63}}{_DOT}){{1,4}}[a-z]{{2,24}})(?![\w-])"
)
_VANITY = re.compile(
    r"(?<![\w+-])(?:\+?1[-.\s])?\(?8(?:00|33|44|55|66|77|88)\)?[-.\s](?=[A-Z\d-]*[A-Z])[A-Z\d]{2,4}-?[A-Z\d]{2,7}(?![\w-])"
)
_NOT_EMAIL_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "js", "css", "ico", "pdf"}
_COPYRIGHT = re.compile(
    r"(?:©|\(c\)|copyright)(?:\s*(?:©|\(c\)|copyright))?\s*(?:(?:19|20)\d{2}(?:\s*[-–]\s*(?:19|20)\d{2})?)?\s*,?\s*(?:by\s+)?"
    r"([A-Z0-9][\w&'’.\-]*(?:[ ][A-Za-z0-9&'’.\-]+){0,6})",
    re.I,
)
_LEGAL_SUFFIXES = {
    "inc", "ltd", "llc", "llp", "lp", "limited", "gmbh", "bv", "nv", "pty", "plc", "corp", "corporation",
    "company", "co", "ag", "sa", "sarl", "sas", "srl", "pvt", "private", "ug", "kg", "ohg", "oy", "ab", "as",
    "all", "rights", "reserved", "the",
}


@dataclass
class Phone:
    e164: str
    region: str
    country_code: int
    toll_free: bool
    url: str
    snippet: str
    fax: bool = False


@dataclass
class ContactFacts:
    addresses: list[FoundAddress] = field(default_factory=list)
    phones: list[Phone] = field(default_factory=list)
    # Numbers labelled only as a fax: not a line to call, but a published way to reach the pharmacy.
    faxes: list[Phone] = field(default_factory=list)
    emails: list[tuple[str, str, str]] = field(default_factory=list)  # (address or "", url, snippet)
    names: list[tuple[str, str, str]] = field(default_factory=list)  # (name, url, where)


def tld_country(url: str) -> str:
    host = re.sub(r"^[a-z]+://", "", url.lower()).split("/", 1)[0].split(":", 1)[0]
    tld = host.rsplit(".", 1)[-1]
    if tld == "uk":
        return "GB"
    code = tld.upper()
    return code if len(code) == 2 and code in phonenumbers.SUPPORTED_REGIONS else ""


def _country_names(config: Config) -> dict[str, str]:
    names: dict[str, str] = {}
    for code, aliases in config.countries.items():
        for alias in aliases:
            names[" ".join(alias.lower().replace(".", "").split())] = code
    return names


# Where a sentence (or a line) ends; "U.S." and "Inc.," do not end one.
_SENTENCE_END = re.compile(r"[.!?](?=\s)|\n")
LOCATION_REACH = 150


def _own_location(text: str, start: int, self_words: PhraseSet, third_party: PhraseSet) -> bool:
    """Whether the location cue at `start` says where the pharmacy is, rather than where a maker or a product is."""
    head = text[max(0, start - LOCATION_REACH) : start]
    ends = list(_SENTENCE_END.finditer(head))
    clause = head[ends[-1].end() :] if ends else head
    if not clause.strip() or clause.rstrip().endswith(":"):
        return True
    if third_party.search(clause):
        return False
    return bool(self_words.search(clause))


def _localities(page: Page, config: Config, names: dict[str, str]) -> list[FoundAddress]:
    """City or country statements ("based in Vancouver, Canada") when no street is given."""
    cues = PhraseSet(tuple(config.location_cues))
    country_words = PhraseSet(tuple(alias for aliases in config.countries.values() for alias in aliases))
    self_words = PhraseSet(tuple(config.location_self_words))
    third_party = PhraseSet(tuple(config.location_third_party_cues))
    found = []
    for m in cues.finditer(page.text, limit=20):
        after = page.text[m.end : m.end + 60].split("\n", 1)[0]
        place = re.match(r"\s+(?:the\s+)?([A-Z][\w'’.\-]*(?:[ ,]+[A-Z][\w'’.\-]*){0,3})", after)
        if not place:
            continue
        # A place said of someone else is neither the pharmacy's address nor a hint for reading its phone numbers.
        if not _own_location(page.text, m.start, self_words, third_party):
            continue
        country_match = country_words.search(place.group(1))
        country = names.get(" ".join(country_match.phrase.lower().replace(".", "").split()), "") if country_match else ""
        found.append(FoundAddress(LOCALITY, country, m.phrase + place.group(0), page.url, "text", "", m.start))
    return found


_PHONE_SHAPE = re.compile(r"(?:\+|\(|\b)\d[\d\s().\-/]{5,24}\d")
# "1-888-572-0832" and "(212) 736-5000" are written this way only for North American numbers, so they are read
# as such even on a site whose address is in another country.
_NANP_SHAPE = re.compile(r"(?<![\d+])(?:1[\s.\-]\(?[2-9]\d{2}\)?[\s.\-]?|\([2-9]\d{2}\)\s?)\d{3}[\s.\-]\d{4}(?!\d)")
MAX_PHONE_CANDIDATES = 300
PHONE_CONTEXT = 40
# How far before a number its label ("Fax:", "USA toll free:", "NPI") is read.
LABEL_REACH = 30
_LABEL_END = re.compile(r"(?i)\s*(?:#|no\.?|nr\.?|number|num\.?|id|code)?\s*[:#.\-]*\s*$")


@dataclass
class _Window:
    start: int  # offset of the window in the page text
    text: str


def _phone_windows(text: str) -> list[_Window]:
    """Short windows around each phone-shaped run of digits, each once.

    phonenumbers' matcher tries every digit run and costs ~0.1 ms each; a catalogue page or a hostile page can
    hold a hundred thousand. Contact numbers sit in headers and footers, so when there are too many candidates
    both ends of the page are kept.
    """
    windows: dict[int, _Window] = {}
    for m in _PHONE_SHAPE.finditer(text):
        lo = max(0, m.start() - PHONE_CONTEXT)
        line_start = text.rfind("\n", lo, m.start())
        if line_start != -1:
            lo = line_start + 1
        if lo not in windows:
            windows[lo] = _Window(lo, text[lo : m.end() + 2].split("\n", 1)[0])
        elif len(windows[lo].text) < m.end() + 2 - lo:
            windows[lo] = _Window(lo, text[lo : m.end() + 2].split("\n", 1)[0])
    found = list(windows.values())
    if len(found) > MAX_PHONE_CANDIDATES:
        found = found[: MAX_PHONE_CANDIDATES // 2] + found[-MAX_PHONE_CANDIDATES // 2 :]
    return found


@dataclass
class PhoneLabels:
    """What the words right before a number say it is."""

    country_words: PhraseSet
    country_names: dict[str, str]
    not_phone: PhraseSet
    fax: PhraseSet
    phone: PhraseSet

    def label(self, text: str, start: int, end: int) -> str:
        # The label is what stands between the previous number (or the line start) and this one.
        lo = max(0, start - LABEL_REACH)
        head = text[lo:start]
        digit = max(head.rfind(d) for d in "0123456789")
        return head[digit + 1 :] if digit != -1 else head

    def regions(self, text: str, start: int, end: int) -> list[str]:
        """Countries named right next to the number ("USA toll free:", "UK: 020 ...", "... (Canada)")."""
        near = self.label(text, start, end) + " " + text[end : end + 15].split("\n", 1)[0]
        found = []
        for m in self.country_words.finditer(near, limit=3):
            code = self.country_names.get(" ".join(m.phrase.lower().replace(".", "").split()), "")
            if code and code in phonenumbers.SUPPORTED_REGIONS:
                found.append(code)
        if _NANP_SHAPE.match(text, start) or _NANP_SHAPE.match(text, max(0, start - 1)):
            found.append("US")
        return found

    def skip(self, text: str, start: int, end: int) -> bool:
        """A licence, NPI or order number: not a number to reach the pharmacy on."""
        label = self.label(text, start, end)
        # Only the words right before the number name it ("Licence no.:"); "for account questions call" is a
        # phone line whatever it mentions earlier.
        hits = list(self.not_phone.finditer(label, limit=10))
        return bool(hits and _LABEL_END.match(label, hits[-1].end))

    def is_fax(self, text: str, start: int, end: int) -> bool:
        """A number labelled only as a fax ("Tel/Fax" is still a phone)."""
        label = self.label(text, start, end)
        return bool(self.fax.search(label)) and not self.phone.search(label)


def _phones(page: Page, regions: list[str], labels: PhoneLabels | None = None, structured: str = "") -> list[Phone]:
    found: dict[str, Phone] = {}
    windows = _phone_windows(page.text)
    # One matcher run over all windows joined per region; offsets map back onto the page text, so evidence is
    # the page's own words around the number.
    joined, offsets = [], []
    pos = 0
    for w in windows:
        offsets.append(pos)
        joined.append(w.text)
        pos += len(w.text) + 1
    text = "\n".join(joined)

    def to_page(i: int) -> int:
        k = bisect.bisect_right(offsets, i) - 1
        return windows[k].start + (i - offsets[k])

    candidates: list[tuple[str, str, bool]] = []  # (raw, snippet, fax)

    def take(region: str, m) -> None:
        start, end = to_page(m.start), to_page(m.start) + len(m.raw_string)
        if labels is not None and labels.skip(page.text, start, end):
            return
        raw = m.raw_string if m.raw_string.startswith("+") else f"{region}:{m.raw_string}"
        fax = labels is not None and labels.is_fax(page.text, start, end)
        candidates.append((raw, snippet_around(page.text, start, end, radius=50), fax))

    for region in regions:
        matcher = phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID, max_tries=2 * MAX_PHONE_CANDIDATES)
        for i, m in enumerate(matcher):
            if i >= MAX_PHONES_PER_PAGE:
                break
            take(region, m)
    if labels is not None:
        # A number written the North American way or labelled with a country is read in that country too, so a
        # foreign number on a site that claims another country is found (and flagged) rather than dropped.
        extra = 0
        for w in windows:
            for shape in _PHONE_SHAPE.finditer(w.text):
                at = w.start + shape.start()
                for region in labels.regions(page.text, at, w.start + shape.end()):
                    if region in regions or extra >= MAX_PHONES_PER_PAGE:
                        continue
                    extra += 1
                    for m in phonenumbers.PhoneNumberMatcher(w.text, region, leniency=phonenumbers.Leniency.VALID, max_tries=5):
                        start = w.start + m.start
                        if labels.skip(page.text, start, start + len(m.raw_string)):
                            continue
                        raw = m.raw_string if m.raw_string.startswith("+") else f"{region}:{m.raw_string}"
                        end = start + len(m.raw_string)
                        candidates.append((raw, snippet_around(page.text, start, end, radius=50),
                                           labels.is_fax(page.text, start, end)))
    # "1-800-PHARMACY": letters on a North American keypad; digits past the tenth are left off when dialled.
    for i, m in enumerate(_VANITY.finditer(page.text[:MAX_PHONE_TEXT])):
        if i >= MAX_PHONES_PER_PAGE:
            break
        if labels is not None and labels.skip(page.text, m.start(), m.end()):
            continue
        digits = re.sub(r"\D", "", phonenumbers.convert_alpha_characters_in_number(m.group(0)))
        digits = digits[1:] if digits.startswith("1") else digits
        if len(digits) >= 10:
            candidates.append((f"US:+1{digits[:10]}", snippet_around(page.text, m.start(), m.end(), radius=50), False))
    for link in page.links:
        if link.url.lower().startswith("tel:"):
            candidates.append((link.url[4:], f"Phone link: {link.text or link.url}", False))
    for org in page.organizations:
        if org.telephone:
            candidates.append((org.telephone, f"Telephone in {structured}: {org.telephone}", False))
    faxes: dict[str, Phone] = {}
    for raw, snippet, fax in candidates:
        region, _, digits = raw.rpartition(":") if ":" in raw and not raw.startswith("+") else ("", "", raw)
        for default in ([region] if region else regions):
            try:
                number = phonenumbers.parse(digits, default or None)
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(number):
                continue
            e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            kind = phonenumbers.number_type(number)
            (faxes if fax else found).setdefault(
                e164,
                Phone(
                    e164,
                    phonenumbers.region_code_for_number(number) or "",
                    number.country_code,
                    kind in (phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.SHARED_COST,
                             phonenumbers.PhoneNumberType.UAN),
                    page.url,
                    snippet,
                    fax,
                ),
            )
            break
    return list(found.values()) + [f for e164, f in faxes.items() if e164 not in found]


def _emails(page: Page, structured: str = "", example: re.Pattern | None = None) -> list[tuple[str, str, str]]:
    found = []
    text = page.text[:MAX_PHONE_TEXT]
    for m in _EMAIL.finditer(text):
        address = m.group(0).lower().rstrip(".")
        if address.rsplit(".", 1)[-1] in _NOT_EMAIL_TLDS:
            continue
        if example is not None and example.search(text[max(0, m.start() - 30) : m.start()]):
            continue
        found.append((address, page.url, snippet_around(text, m.start(), m.end(), radius=50)))
    for m in _OBFUSCATED_EMAIL.finditer(text):
        domain = re.sub(rf"(?i){_DOT}", ".", m.group(2))
        address = f"{m.group(1)}@{domain}".lower()
        found.append((address, page.url, snippet_around(text, m.start(), m.end(), radius=50)))
    for link in page.links:
        if link.url.lower().startswith("mailto:"):
            address = link.url[7:].split("?", 1)[0].strip().lower()
            if "@" in address:
                found.append((address, page.url, f"Email link: {address}"))
    for org in page.organizations:
        if "@" in org.email:
            address = org.email.lower().removeprefix("mailto:").strip()
            found.append((address, page.url, f"Email in {structured}: {address}"))
    # A protected address is one the site gives but we cannot read; it may be on the site's own domain, so
    # beside a free-mail address it keeps the site from being judged free-mail only.
    m = _PROTECTED_EMAIL.search(text)
    if m:
        found.append(("", page.url, snippet_around(text, m.start(), m.end(), radius=50)))
    elif any(_PROTECTED_LINK in link.url for link in page.links):
        found.append(("", page.url, "An email link hidden by Cloudflare's email protection"))
    return found


# Endings that make a name a registered company rather than a brand.
_COMPANY_SUFFIX = re.compile(
    r"(?:\b(?:Inc|Ltd|LLC|LLP|Limited|GmbH|B\.?V|N\.?V|Pty|PLC|plc|Corp|Corporation|AG|S\.?A|SARL|SAS|S\.?r\.?l|Pvt|UG|KG|Oy|AB)\b\.?)$"
)
_OPERATOR_NAME = re.compile(
    r"\s+([A-Z][\w&'’.\-]*(?:\s+[A-Z0-9&(][\w&'’.()\-]*){0,6}?\s+"
    r"(?:Inc|Ltd|LLC|LLP|Limited|GmbH|B\.?V|N\.?V|PLC|plc|Corp|Corporation|AG|S\.?A|SARL|SAS|S\.?r\.?l|UG|KG|Oy|AB)\b\.?)"
)
OPERATOR = "operator statement"


def _is_company(name: str) -> bool:
    return bool(_COMPANY_SUFFIX.search(name.strip(" ,")))


def _names(page: Page, operator: PhraseSet | None = None, structured: str = "") -> list[tuple[str, str, str]]:
    names = [(org.name, page.url, structured) for org in page.organizations if org.name and org.type != "website"]
    # A copyright line is the site's own statement of who it is; footers repeat it on every page.
    for m in _COPYRIGHT.finditer(page.text[-20_000:]):
        name = re.split(r"\s*(?:\||·|•|-\s|–|\. |,)\s*", m.group(1).strip())[0].strip(" .")
        if len(name) >= 3 and not name.lower().startswith(("all rights", "notice", "policy", "infringement")):
            names.append((name, page.url, "copyright line"))
    if operator:
        for m in operator.finditer(page.text, limit=10):
            company = _OPERATOR_NAME.match(page.text, m.end)
            if company:
                names.append((company.group(1).rstrip(" ,."), page.url, OPERATOR))
    return names


def _name_tokens(name: str, generic: set[str]) -> set[str]:
    tokens = {t for t in re.split(r"[^\w]+", name.lower()) if t}
    return {t for t in tokens if len(t) >= 3 and t not in generic and t not in _LEGAL_SUFFIXES}


def _related(a: str, b: str, domain_label: str, generic: set[str]) -> bool:
    ta, tb = _name_tokens(a, generic), _name_tokens(b, generic)
    if not ta or not tb or ta & tb:
        return True
    squashed = [re.sub(r"[^\w]", "", n.lower()) for n in (a, b)]
    if squashed[0] in squashed[1] or squashed[1] in squashed[0]:
        return True
    # "Good Pharmacy" and "GoodRx Ltd" on goodpharmacy.com are both the site's own name.
    in_domain = [any(t in domain_label for t in tokens) for tokens in (ta, tb)]
    return all(in_domain)


@lru_cache(maxsize=8)
def _example_pattern(cues: tuple) -> re.Pattern | None:
    if not cues:
        return None
    body = "|".join(re.escape(c).replace(r"\ ", r"\s*") for c in sorted(cues, key=len, reverse=True))
    return re.compile(rf"(?i)(?<!\w)(?:{body})[\s:,(\-–]*\Z")


def gather(site: Site, config: Config) -> ContactFacts:
    facts = ContactFacts()
    names = _country_names(config)
    tld = tld_country(site.final_url)
    forwarding = PhraseSet(tuple(config.mail_forwarding_phrases))
    operator = PhraseSet(tuple(config.operator_phrases))
    country_words = PhraseSet(tuple(names))
    example = _example_pattern(tuple(config.email_example_cues))
    for page in site.pages:
        if page.status >= 400:
            continue
        page_addresses = find_addresses(
            page.text, page.url, config.street_words, tld, tuple(config.address_headings),
            tuple(config.quantity_words), tuple(config.product_labels),
        )
        for found in page_addresses:
            # A street address announced as a mail-forwarding or virtual office is a mailbox, not premises.
            around = page.text[max(0, found.start - 120) : found.start + len(found.text) + 120]
            if found.kind == STREET and forwarding.search(around):
                found = FoundAddress(PO_BOX, found.country, found.text, found.url, found.source, found.postal_code, found.start)
            if not found.country:
                tail = page.text[found.start : found.start + len(found.text) + 40]
                hit = country_words.search(tail)
                if hit:
                    found = FoundAddress(found.kind, names.get(" ".join(hit.phrase.lower().replace(".", "").split()), ""),
                                         found.text, found.url, found.source, found.postal_code, found.start)
            facts.addresses.append(found)
        for org in page.organizations:
            structured = address_from_org(org, page.url, names)
            if structured:
                facts.addresses.append(structured)
        facts.addresses.extend(_localities(page, config, names))
        facts.emails.extend(_emails(page, config.machine_readable_label, example))
        facts.names.extend(_names(page, operator, config.machine_readable_label))
    claimed = _claimed_countries(facts.addresses)
    regions = list(dict.fromkeys([*claimed, *([tld] if tld else [])])) or ["US"]
    if not claimed and not tld:
        regions.append("GB")
    labels = PhoneLabels(country_words, names, PhraseSet(tuple(config.not_phone_labels)),
                         PhraseSet(tuple(config.fax_labels)), PhraseSet(tuple(config.phone_labels)))
    numbers: list[Phone] = []
    for page in site.pages:
        if page.status < 400:
            numbers.extend(_phones(page, regions, labels, config.machine_readable_label))
    seen: set[str] = set()
    facts.phones = [p for p in numbers if not p.fax and not (p.e164 in seen or seen.add(p.e164))]
    facts.faxes = [p for p in numbers if p.fax and not (p.e164 in seen or seen.add(p.e164))]
    return facts


def _claimed_countries(addresses: list[FoundAddress]) -> list[str]:
    """Countries of the business's own address, most specific evidence first."""
    for kinds in ((STREET,), (PO_BOX,), (LOCALITY,)):
        countries = [a.country for a in addresses if a.kind in kinds and a.country]
        if countries:
            return list(dict.fromkeys(countries))
    return []


def _is_free_mail(address: str, config: Config) -> bool:
    domain = address.rsplit("@", 1)[-1]
    for entry in config.free_mail_domains:
        entry = entry.lower()
        if entry.endswith(".*"):
            if domain.split(".", 1)[0] == entry[:-2]:
                return True
        elif domain == entry or domain.endswith("." + entry):
            return True
    return False


def _pages_read_note(site: Site) -> str:
    return "Pages read: " + ", ".join(p.url for p in site.pages if p.status < 400)


def _phone_matches(phone: Phone, countries: list[str]) -> bool:
    if phone.region in countries:
        return True
    # Toll-free numbers belong to a calling-code zone (all of NANP for +1 800), not to one country.
    return phone.toll_free and any(phonenumbers.country_code_for_region(c) == phone.country_code for c in countries)


def run(site: Site, config: Config):
    readable = [p for p in site.pages if p.status < 400]
    if not readable:
        return []
    facts = gather(site, config)
    outcomes: list[Outcome] = []
    note = _pages_read_note(site)
    contact_kinds = set(config.contact_page_kinds)
    # Absence means something only when the pages that would carry an address were read: the contact or about
    # page, or (when the site links to neither) several pages of the site.
    contact_linked = any(r.kind in contact_kinds for r in site.records)
    contact_page_read = any(p.kind in contact_kinds for p in readable) or (not contact_linked and len(readable) >= 3)
    all_text = [(p, p.text) for p in readable]

    def says(phrases: Localised, questions: Localised, outcome: str) -> Outcome | None:
        for page, text in all_text:
            cues = cue_pattern(qa.phrases_for(config.warning_cues, page.language))
            reading = qa.read(page, config.qa) if config.qa is not None else None
            for m in qa.local(phrases, page.language).finditer(text):
                # A question says nothing of the site ("Why do some sites have no physical address?").
                if reading is not None and reading.question_at(m.start) is not None:
                    continue
                if text[m.end : m.end + 1] == "?":
                    continue
                if not warned(text, m.start, m.end, cues):
                    return Outcome(outcome).add(page.url, m.snippet)
            # "Do you have a physical address?" "No, we operate online only."
            topic = qa.local(questions, page.language)
            for pair in reading.pairs if reading is not None and topic else ():
                if pair.closed and pair.reply < 0 and topic.search(pair.question) is not None and not (
                        cues is not None and cues.search(pair.text)):
                    return Outcome(outcome).add(page.url, pair.evidence)
        return None

    # Address.
    by_kind: dict[str, list[FoundAddress]] = defaultdict(list)
    for a in facts.addresses:
        by_kind[a.kind].append(a)
    claimed = _claimed_countries(facts.addresses)
    address_outcome: Outcome | None = None
    # "Only a city or country" is a claim about the whole site, so it needs the pages that would carry more;
    # otherwise the city is reported with the pages read, as not found so far.
    locality_outcome = "address-locality-only" if contact_page_read else "address-not-found-partial"
    for kind, outcome_id in ((STREET, "address-street"), (PO_BOX, "address-po-box-only"), (LOCALITY, locality_outcome)):
        if by_kind[kind]:
            address_outcome = Outcome(outcome_id, facts={"countries": claimed, "pages_read": site.pages_read})
            if outcome_id == "address-not-found-partial":
                address_outcome.add(site.final_url, note)
            for a in by_kind[kind]:
                where = f" (in {config.machine_readable_label})" if a.source != "text" else ""
                address_outcome.add(a.url, a.text + where)
            break
    if address_outcome is None:
        address_outcome = says(config.address_withheld_phrases, config.address_questions, "address-withheld")

    # Phone.
    phone_outcome: Outcome | None = None
    if facts.phones:
        countries = sorted({p.region for p in facts.phones if p.region})
        if claimed and not any(_phone_matches(p, claimed) for p in facts.phones):
            phone_outcome = Outcome("phone-other-country", facts={"phone_countries": countries, "address_countries": claimed})
            for p in facts.phones:
                phone_outcome.add(p.url, f"{p.e164} ({p.region or 'international'}): {p.snippet}")
            for a in facts.addresses:
                if a.country in claimed:
                    phone_outcome.add(a.url, f"Address ({a.country}): {a.text}")
                    break
        else:
            phone_outcome = Outcome("phone-found", facts={"phone_countries": countries})
            for p in facts.phones:
                phone_outcome.add(p.url, f"{p.e164} ({p.region or 'international'}): {p.snippet}")
    else:
        phone_outcome = says(config.phone_withheld_phrases, config.phone_questions, "phone-withheld")

    # Email.
    email_outcome: Outcome | None = None
    if facts.emails:
        readable_emails = [e for e in facts.emails if e[0]]
        if readable_emails and all(_is_free_mail(e[0], config) for e in readable_emails) and len(readable_emails) == len(facts.emails):
            email_outcome = Outcome("email-free-mail-only", facts={"emails": sorted({e[0] for e in readable_emails})})
        else:
            email_outcome = Outcome("email-found")
        for address, url, snippet in facts.emails:
            email_outcome.add(url, snippet)

    # A fax number is not a line the buyer can call, so it never makes phone-found, but it is a published way
    # to reach the pharmacy (US pharmacies give prescribers one), so a site with one has some contact.
    if address_outcome is None and phone_outcome is None and email_outcome is None and not facts.faxes and contact_page_read:
        outcomes.append(Outcome("no-contact-found", facts={"pages_read": site.pages_read}).add(site.final_url, note))
    else:
        if address_outcome is None:
            outcome_id = "address-not-found" if contact_page_read else "address-not-found-partial"
            address_outcome = Outcome(outcome_id, facts={"pages_read": site.pages_read}).add(site.final_url, note)
        if phone_outcome is None:
            phone_outcome = Outcome("phone-not-found", facts={"pages_read": site.pages_read}).add(site.final_url, note)
            if facts.faxes:
                phone_outcome.facts["fax_numbers"] = [f.e164 for f in facts.faxes]
                for f in facts.faxes:
                    phone_outcome.add(f.url, f"Fax only, {f.e164} ({f.region or 'international'}): {f.snippet}")
        if email_outcome is None:
            email_outcome = Outcome("email-not-found", facts={"pages_read": site.pages_read}).add(site.final_url, note)
        seller = _no_accountable_seller(site, config, address_outcome, email_outcome)
        if seller is not None:
            outcomes.extend([seller, phone_outcome])
        else:
            outcomes.extend([address_outcome, phone_outcome, email_outcome])

    outcomes.extend(_consistency(site, config, facts))
    return outcomes


def _no_accountable_seller(site: Site, config: Config, address: Outcome, email: Outcome) -> Outcome | None:
    """No address anywhere (the contact or about page read) and only a free-mail address, on a site that sells
    prescription medicines: together one serious sign, not two small ones. Nobody could be held to account for
    what it dispenses: not a regulator, not a court, not the buyer."""
    if address.outcome not in ("address-not-found", "address-withheld") or email.outcome != "email-free-mail-only":
        return None
    sold = rx.offered_medicines(site, config.prescription) if config.prescription is not None else []
    if not sold:
        return None
    outcome = Outcome("no-accountable-seller", facts={
        "emails": email.facts.get("emails", []), "drugs": sorted({drug for _, drug, _ in sold})[:10],
        "pages_read": site.pages_read,
    })
    for item in address.evidence[:1] + email.evidence[:2]:
        outcome.add(item.url, item.snippet)
    url, drug, snippet = sold[0]
    outcome.add(url, f"Offers {drug}: {snippet}")
    return outcome


def _consistency(site: Site, config: Config, facts: ContactFacts) -> list[Outcome]:
    outcomes = []
    premises = [a for a in facts.addresses if a.kind in (STREET, PO_BOX) and a.country]
    countries = sorted({a.country for a in premises})
    if len(countries) >= 2:
        outcome = Outcome("countries-conflict", facts={"countries": countries})
        for country in countries:
            a = next(a for a in premises if a.country == country)
            outcome.add(a.url, f"{country}: {a.text}" + (f" (in {config.machine_readable_label})" if a.source != "text" else ""))
        outcomes.append(outcome)

    generic = {w.lower() for w in config.generic_name_words}
    domain_label = re.sub(r"[^\w]", "", registrable_domain(site.final_url).split(".", 1)[0].lower())
    distinct: list[tuple[str, str, str]] = []
    for name, url, where in facts.names:
        if not any(_name_tokens(name, generic) == _name_tokens(d[0], generic) for d in distinct):
            distinct.append((name, url, where))
    def comparable(a: tuple[str, str, str], b: tuple[str, str, str]) -> bool:
        # A brand run by a company says so ("BestMeds is operated by Harbour Trading Ltd"): the operator
        # contradicts only another company name, not the brand.
        if OPERATOR in (a[2], b[2]):
            other = b if a[2] == OPERATOR else a
            return other[2] == OPERATOR or _is_company(other[0])
        return True

    unrelated = [
        (a, b) for i, a in enumerate(distinct) for b in distinct[i + 1 :]
        if comparable(a, b) and not _related(a[0], b[0], domain_label, generic)
    ]
    if unrelated:
        outcome = Outcome("names-conflict", facts={"names": sorted({n for pair in unrelated for n, _, _ in pair})})
        for pair in unrelated[:2]:
            for name, url, where in pair:
                outcome.add(url, f"{name} ({where})")
        outcomes.append(outcome)

    structured = [a for a in facts.addresses if a.source != "text" and a.postal_code]
    in_text = [a for a in facts.addresses if a.source == "text" and a.postal_code]
    key = lambda a: re.sub(r"\s", "", a.postal_code.lower())  # noqa: E731
    agreeing = [(s, t) for s in structured for t in in_text if key(s) == key(t)]
    if agreeing and not outcomes:
        s, t = agreeing[0]
        outcomes.append(
            Outcome("identity-consistent")
            .add(s.url, f"In {config.machine_readable_label}: {s.text}")
            .add(t.url, f"On the page: {t.text}")
        )
    return outcomes


CHECK = Check(id="contact", outcomes=OUTCOMES, config_model=Config, run=run)
