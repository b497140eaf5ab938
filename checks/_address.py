"""Finding postal addresses in page text and in schema.org data.

US, Canadian and British addresses are parsed with pyap (a maintained address parser); to keep it fast and
precise it only reads a window of text before each postcode-shaped anchor, so a 1 MB page costs a few regex
scans rather than a full parse. Ireland, Germany/Austria/Switzerland, France, the Netherlands, Australia and
India are read with their own postcode formats, each paired with the street forms of the language. A postcode
on its own never makes an address: a street line has to stand right before it, which is what keeps drug
strengths, SKUs and order numbers from being read as postcodes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pyap

from app.page import StructuredOrg

STREET = "street"
PO_BOX = "po-box"
LOCALITY = "locality"

# pyap is slow on long text; reading this much before each anchor covers a street line, a suite and a town.
ANCHOR_WINDOW_BEFORE = 160
ANCHOR_WINDOW_AFTER = 30
MAX_ANCHORS_PER_COUNTRY = 40
MAX_TEXT = 300_000

US_STATES = (
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
    "OH OK OR PA PR RI SC SD TN TX UT VT VA WA WV WI WY"
).split()
US_STATE_NAMES = [
    "Alabama", "Alaska", "Arizona", "Arkansas", "California", "Colorado", "Connecticut", "Delaware", "Florida",
    "Georgia", "Hawaii", "Idaho", "Illinois", "Indiana", "Iowa", "Kansas", "Kentucky", "Louisiana", "Maine",
    "Maryland", "Massachusetts", "Michigan", "Minnesota", "Mississippi", "Missouri", "Montana", "Nebraska",
    "Nevada", "New Hampshire", "New Jersey", "New Mexico", "New York", "North Carolina", "North Dakota", "Ohio",
    "Oklahoma", "Oregon", "Pennsylvania", "Rhode Island", "South Carolina", "South Dakota", "Tennessee", "Texas",
    "Utah", "Vermont", "Virginia", "Washington", "West Virginia", "Wisconsin", "Wyoming", "District of Columbia",
    "Puerto Rico",
]
CA_PROVINCES = "AB BC MB NB NL NS NT NU ON PE QC SK YT".split()
CA_PROVINCE_NAMES = [
    "Ontario", "Quebec", "Québec", "British Columbia", "Alberta", "Manitoba", "Saskatchewan", "Nova Scotia",
    "New Brunswick", "Newfoundland and Labrador", "Prince Edward Island", "Yukon", "Nunavut", "Northwest Territories",
]
AU_STATES = "NSW VIC QLD SA WA TAS ACT NT".split()
IN_STATES = [
    "Andhra Pradesh", "Arunachal Pradesh", "Assam", "Bihar", "Chhattisgarh", "Goa", "Gujarat", "Haryana",
    "Himachal Pradesh", "Jharkhand", "Karnataka", "Kerala", "Madhya Pradesh", "Maharashtra", "Manipur",
    "Meghalaya", "Mizoram", "Nagaland", "Odisha", "Punjab", "Rajasthan", "Sikkim", "Tamil Nadu", "Telangana",
    "Tripura", "Uttar Pradesh", "Uttarakhand", "West Bengal", "Delhi", "New Delhi", "Chandigarh", "Puducherry",
    "Jammu and Kashmir", "Ladakh", "India",
]

# Anchors that send a window of text to pyap.
# The state is written as its code ("IL 62701") or in full ("Illinois 62701"); pyap reads both.
_US_ANCHOR = re.compile(
    r"\b(?:" + "|".join(US_STATES + sorted(US_STATE_NAMES, key=len, reverse=True)) + r")\.?,?\s+\d{5}(?:-\d{4})?\b"
)
_CA_ANCHOR = re.compile(r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b")
_GB_ANCHOR = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR)\s?\d[ABD-HJLNP-UW-Z]{2}\b")

# Words that label a number as something other than a postcode ("CRO 654321", "Batch 200 100").
_NUMBER_LABELS = (
    "batch|lot|order|item|sku|ref|code|invoice|no|number|id|pin|tel|phone|fax|cro|crn|company|reg|registration|"
    "vat|gst|gstin|abn|acn|ein|npi|licence|license|psi|gphc"
)
_LABELLED_NUMBER = re.compile(rf"(?i:\b(?:{_NUMBER_LABELS})\.?[\s:#]*)$")
_TOWN = r"[A-ZÀ-ÖØ-Þ][\w'’.\-]*(?:[ \-](?:[A-ZÀ-ÖØ-Þ][\w'’.\-]*|am|an|im|in|la|le|les|de|sur|en|aan|den|bei|ob))?"

_PO_BOX = re.compile(
    r"(?i:\b(?:p\.?\s?o\.?\s?box|post\s+office\s+box|g\.?p\.?o\.?\s+box|locked\s+bag|private\s+bag|pmb|"
    r"postfach|postbus|bo[iî]te\s+postale|postbox|apartado(?:\s+de\s+correos)?|b\.?p\.?)\s*(?:no\.?|nr\.?|#)?\s*\d{1,7}\b)"
)


@dataclass(frozen=True)
class FoundAddress:
    kind: str  # STREET, PO_BOX or LOCALITY
    country: str  # ISO 3166 alpha-2, or "" when the text does not say
    text: str
    url: str
    source: str  # "text", "json-ld" or "microdata"
    postal_code: str = ""
    start: int = -1


def _norm(value: str) -> str:
    return " ".join(value.split())


def _words(words) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


@lru_cache(maxsize=16)
def _patterns(street_words_key: tuple) -> dict:
    """Per-country (street, locality) patterns built from the street words in rules.yaml."""
    words = dict(street_words_key)
    en, de, fr, it, nl, ind, es = (words.get(k, ()) for k in ("en", "de", "fr", "it", "nl", "in", "es"))
    num = r"\d{1,5}(?:\s?[a-zA-Z](?![a-zA-Z]))?(?:\s?[-/]\s?\d{1,5}[a-zA-Z]?)?"
    # "Queen St W", "Dundas Street East": North American streets often end in a direction.
    direction = r"(?:\s+(?:[NSEW]|NE|NW|SE|SW|North|South|East|West|Ouest|Est)\b\.?)?"
    # A street has a name before its type: "100 Street Price, Sydney NSW 2000" is a price line.
    en_street = rf"(?:(?i:unit|suite|shop|level)\s+\d+[A-Za-z]?,?\s+)?{num},?\s+(?:[A-Z][\w'’.\-]*\s+){{1,4}}(?i:{_words(en)})\b\.?{direction}"
    # French- and Italian-speaking Switzerland (and Belgium) write the street first: "Rue du Rhône 42",
    # "Via Nassa 5", "Avenue de la Gare 10".
    # The street word must be capitalised: "via email 24/7" is not a street.
    latin_words = sorted({v for w in [*fr, *it] for v in (w.title(), w.upper())}, key=len, reverse=True)
    latin_street = rf"(?<!\w)(?:{'|'.join(map(re.escape, latin_words))})\b\.?(?:\s+[A-Za-zÀ-ÿ'’][\w'’.\-]*){{1,5}}?\s+\d{{1,4}}[a-zA-Z]?(?!\w)"
    # "Hauptstraße 5", "Berliner Straße 12a", "Am Weg 3".
    de_street = rf"[A-ZÄÖÜ][\wäöüß\-]*(?:(?i:{_words(de)})\b\.?|\s+(?i:{_words(de)})\b\.?)\s*{num}"
    fr_street = rf"{num}(?:\s?(?i:bis|ter))?,?\s+(?i:{_words(fr)})\b\.?\s+[\w'’\- ]{{2,40}}"
    # Dutch streets are often a bare name ("Damrak 1"), so any capitalised name and a number is accepted, but
    # only right before a Dutch postcode, which has letters and is hard to mistake for anything else.
    nl_street = rf"[A-Z][\w'’\-]*(?: [A-Za-z][\w'’\-]*){{0,3}} {num}"
    in_street = rf"(?:[\w/,.\-#]+\s+){{0,6}}(?i:{_words(ind)})\b"
    # Italy and Spain write the street first, then a five-digit postcode: "Via Roma 10, 00185 Roma",
    # "Calle Mayor, 12, 28013 Madrid", "C/ Alcalá 45". The street word is capitalised, as in a real address.
    def street_first(street_words) -> str:
        titled = sorted({v for w in street_words for v in (w.title(), w.upper(), w)} - {""}, key=len, reverse=True)
        titled = [w for w in titled if w[:1].isupper() or not w[:1].isalpha()]
        if not titled:
            return r"(?!x)x"
        return (rf"(?<!\w)(?:{'|'.join(map(re.escape, titled))})\.?(?:\s+[A-Za-zÀ-ÿ'’][\w'’.\-]*){{1,5}}?,?\s+"
                rf"(?:n[º°o]\.?\s*)?\d{{1,4}}[a-zA-Z]?(?:/[a-zA-Z0-9]+)?(?!\w)")
    it_street, es_street = street_first(it), street_first(es)
    return {
        "IE": (
            rf"(?:{num},?\s+)?(?:[A-Z][\w'’.\-]*\s+){{1,4}}(?i:{_words(en)})\b",
            re.compile(
                rf"(?:(?i:dublin)\s+\d{{1,2}}[wW]?|(?i:co\.?|county)\s+[A-Z][a-z]+|"
                rf"\b[AC-FHKNPRTV-Y]\d{{2}}\s?[AC-FHKNPRTV-Y0-9]{{4}}\b)"
            ),
        ),
        "DE": (de_street, re.compile(rf"\b(?:D\s?-\s?)?(\d{{5}})\s+{_TOWN}")),
        "AT-CH": (rf"(?:{de_street}|{latin_street})", re.compile(rf"\b(?:(?:A|CH|B)\s?-\s?)?(\d{{4}})\s+(?!{_COUNTED}){_TOWN}")),
        "CA": (
            # "1234 Kingsway, Vancouver, BC V5V 3C8": the province and postcode are anchor enough for a street
            # name without a type, when it runs straight into the town.
            rf"(?:{en_street}|(?<![\w,.]){num},?\s+(?!{_COUNTED})(?:[A-Z][\w'’\-]*\s+){{0,2}}[A-Z][\w'’\-]*(?=,\s*\Z))",
            re.compile(
                rf"{_TOWN}(?:\s+{_TOWN})?,?\s+\(?(?:{'|'.join(CA_PROVINCES)}|{'|'.join(map(re.escape, CA_PROVINCE_NAMES))})\)?\.?,?\s+"
                r"([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d)\b"
            ),
        ),
        "FR": (fr_street, re.compile(rf"\b(?:F\s?-\s?)?(\d{{5}})\s+{_TOWN}(?:\s+(?i:cedex)(?:\s+\d{{1,2}})?)?")),
        "NL": (nl_street, re.compile(rf"\b(\d{{4}}\s?(?!SA|SD|SS)[A-Z]{{2}})\s+{_TOWN}")),
        "IT": (it_street, re.compile(rf"\b(?:I\s?-\s?)?(\d{{5}})\s+{_TOWN}(?:\s+\(?[A-Z]{{2}}\)?(?!\w))?")),
        "ES": (es_street, re.compile(rf"\b(?:E\s?-\s?)?(\d{{5}})\s+{_TOWN}")),
        # A town's second word stays on its line, so the street's "Road" and the town below are never one town.
        "AU": (en_street, re.compile(rf"{_TOWN}(?:[ \t]+{_TOWN})?,?\s+(?:{'|'.join(AU_STATES)})\s+(\d{{4}})\b")),
        "IN": (
            in_street,
            re.compile(
                rf"(?:(?:{'|'.join(map(re.escape, IN_STATES))})[\s,\-–]+(?:(?i:pin)(?:\s*(?i:code))?[\s:\-–]*)?([1-9]\d{{2}}\s?\d{{3}})\b"
                rf"|{_TOWN}\s*[\-–]\s*([1-9]\d{{2}}\s?\d{{3}})\b[\s,]*(?:(?:{'|'.join(map(re.escape, IN_STATES))})\b)"
                # "14 MG Road, Pune 411001": a town and its PIN, after an Indian street form (checked below).
                rf"|(?<=[,\s])(?!(?i:{_NUMBER_LABELS})\b){_TOWN}[ \t]*[\-–]?[ \t]*([1-9]\d{{2}}\s?\d{{3}})(?![\d\w]))"
            ),
        ),
    }


_AT_HINT = re.compile(r"(?i:österreich|austria|wien|vienna|graz|linz|salzburg|innsbruck|klagenfurt|\bA\s?-\s?\d{4})")
_CH_HINT = re.compile(
    r"(?i:schweiz|switzerland|suisse|svizzera|zürich|zurich|bern|basel|gen[eè]ve|geneva|lausanne|luzern|lugano|\bCH\s?-\s?\d{4})"
)


_BE_HINT = re.compile(r"(?i:belgique|belgium|belgië|bruxelles|brussels|brussel|liège|namur|charleroi|mons|\bB\s?-\s?\d{4})")


def _at_or_ch(window: str, tld_country: str, latin: bool = False) -> str:
    # A street written first in French or Italian is Swiss or Belgian, never Austrian.
    if latin and (_BE_HINT.search(window) or tld_country == "BE"):
        return "BE"
    if _CH_HINT.search(window):
        return "CH"
    if latin:
        return "CH" if tld_country == "CH" else ""
    if _AT_HINT.search(window):
        return "AT"
    return tld_country if tld_country in ("AT", "CH") else ""


# A premises line makes a town and full postcode a street address: a unit on a business park, or a company at
# its own large-user postcode ("Boots UK Limited, Nottingham NG90 1BS").
_PREMISES = re.compile(
    r"(?i:\b(?:unit|suite|building|block)\s+\d+[a-z]?\b|\b(?:business|industrial|retail|trading|science|technology)"
    r"\s+(?:park|estate|centre|center)\b|\b(?:limited|ltd|plc|llp)\b\.?)|(?<!\w)[A-Z][\w'’\-]*\s+House\b"
)


def _pyap_addresses(text: str, url: str, street_words: dict | None = None) -> list[FoundAddress]:
    en_words = re.compile(rf"(?i)\b(?:{_words((street_words or {}).get('en', ()) or ['street'])})\b")
    found: list[FoundAddress] = []
    for country, anchor in (("US", _US_ANCHOR), ("CA", _CA_ANCHOR), ("GB", _GB_ANCHOR)):
        last_end = -1
        for i, m in enumerate(anchor.finditer(text)):
            if i >= MAX_ANCHORS_PER_COUNTRY:
                break
            if m.end() <= last_end:
                continue
            lo = max(0, m.start() - ANCHOR_WINDOW_BEFORE)
            # pyap's grammars expect commas between address lines, not line breaks; the substitution keeps
            # offsets unchanged so matches map back onto the page text.
            window = text[lo : m.end() + ANCHOR_WINDOW_AFTER].replace(",\n", ", ").replace("\n", ",")
            for parsed in pyap.parse(window, country=country):
                fields = parsed.as_dict()
                start = lo + int(fields.get("match_start") or 0)
                end = lo + int(fields.get("match_end") or 0)
                full = str(fields.get("full_address") or "")
                # pyap's match_start can be off by a character or two; re-anchor on the address's first word.
                first = full.split(" ", 1)[0].rstrip(",")
                found_at = text.find(first, max(lo, start - 5), start + len(first) + 5) if first else -1
                if found_at != -1:
                    start = found_at
                if start > 0 and text[start - 1].isalnum() and " " in full:
                    # The window cut a word in two; the address starts at the next whole word.
                    cut = full.index(" ") + 1
                    full, start = full[cut:], start + cut
                if end < m.start():  # an address that ends before this anchor belongs to another one
                    continue
                last_end = max(last_end, end)
                kind = PO_BOX if fields.get("po_box") else STREET
                if kind == STREET and not (fields.get("street_number") or fields.get("street_type") or fields.get("building_id")):
                    # pyap's GB grammar accepts a bare place name before the town; without a number or a street
                    # type it is a town and postcode, not a street address.
                    # A street name is still a street ("Coronation Road, High Wycombe, HP12 3TB").
                    if not re.search(r"\d", str(fields.get("full_street") or "")) and not en_words.search(
                        full.replace(str(fields.get("postal_code") or ""), "")
                    ) and not (_PREMISES.search(text[max(0, start - 40) : end]) and not _PO_BOX.search(full)):
                        kind = LOCALITY
                found.append(
                    FoundAddress(kind, country, _norm(full), url, "text",
                                 _norm(str(fields.get("postal_code") or "")), start)
                )
    return found


def _pattern_addresses(text: str, url: str, street_words: dict, tld_country: str) -> list[FoundAddress]:
    found: list[FoundAddress] = []
    key = tuple((k, tuple(v)) for k, v in sorted(street_words.items()))
    for country, (street_src, locality) in _patterns(key).items():
        street = re.compile(street_src)
        for i, m in enumerate(locality.finditer(text)):
            if i >= MAX_ANCHORS_PER_COUNTRY:
                break
            lo = max(0, m.start() - ANCHOR_WINDOW_BEFORE)
            before = text[lo : m.start()]
            # The street has to end close to the postcode line: at most a separator, a suite and a newline
            # (for Dutch addresses, whose street pattern is loose, only a separator).
            gap = 3 if country == "NL" else 40
            matches = list(street.finditer(before))
            candidates = [
                k for k, s in enumerate(matches)
                if m.start() - (lo + s.end()) <= gap and not _SENTENCE_BREAK.search(before[s.end():])
            ]
            if not candidates:
                continue
            k = candidates[-1]
            s = matches[k]
            street_start = s.start()
            if country == "IN":
                # An Indian address strings several street words together ("Plot No. 23, Sector 5, HSR Layout"),
                # which the pattern reads as separate matches; the address starts at the first of them.
                while k > 0 and re.fullmatch(r"[\s,]*", before[matches[k - 1].end() : street_start]):
                    k -= 1
                    street_start = matches[k].start()
            if country == "IE" and not re.search(r"\d|(?i:unit|suite)", before[s.start():]) and not re.search(
                r"(?i:ireland|éire|dublin|co\.|county)", text[lo : m.end() + 40]
            ):
                continue
            code = next((g for g in m.groups() if g), m.group(0)) if m.groups() else m.group(0)
            code_at = m.start() + m.group(0).rfind(code)
            if country == "IN" and _LABELLED_NUMBER.search(text[max(0, code_at - 20) : code_at]):
                continue
            full = _norm(text[lo + street_start : m.end()])
            resolved = country
            if country == "AT-CH":
                latin = not re.match(rf"{_patterns(key)['DE'][0]}", before[s.start():])
                resolved = _at_or_ch(text[lo : m.end() + 60], tld_country, latin)
            found.append(FoundAddress(STREET, resolved, full, url, "text", _norm(code), lo + street_start))
    return found


# A sentence break between a street and a postcode line, but not the dot of "No. 2" or an initial.
_SENTENCE_BREAK = re.compile(r"(?<!\b[Nn]o)(?<!\b[A-Z])[.!?]\s")

# Nouns that follow a count ("100 Tablets", "30 Days") and so never start a street name.
_COUNTED = (
    r"(?:Tablets?|Pills?|Capsules?|Caps|Mg|Ml|Mcg|Packs?|Doses?|Units?|Days?|Weeks?|Hours?|Minutes?|Items?|"
    r"Orders?|Years?|Customers?|Boxes?|Bottles?|Refills?|Stores?|Pharmacies|Locations?|Reviews?|Stars?)\b"
)


@lru_cache(maxsize=8)
def _street_and_town(en_words: tuple) -> re.Pattern:
    # "3 Mill Lane, Bristol": an English street and town with no postcode. Every word is title-case, which is
    # what keeps "take 2 tablets a day" and "1 Way to save" out.
    titled = "|".join(re.escape(w.title()) for w in sorted(set(en_words), key=len, reverse=True))
    return re.compile(
        rf"(?<![\w,])\d{{1,4}}[A-Za-z]?,?\s+(?:(?!{_COUNTED})[A-Z][a-z'’\-]+\s+){{1,3}}(?:{titled})\b\.?,?\s+[A-Z][a-z]{{2,}}(?:[ \-][A-Z][a-z]+)?\b"
    )


def _street_without_postcode(text: str, url: str, street_words: dict, tld_country: str) -> list[FoundAddress]:
    pattern = _street_and_town(tuple(street_words.get("en", ())))
    found = []
    for i, m in enumerate(pattern.finditer(text)):
        if i >= MAX_ANCHORS_PER_COUNTRY:
            break
        found.append(FoundAddress(STREET, tld_country, _norm(m.group(0)), url, "text", "", m.start()))
    return found


_PO_BOX_POSTCODES = (
    ("CA", re.compile(rf"\b(?:{'|'.join(CA_PROVINCES)})\b\.?,?\s+[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b")),
    ("AU", re.compile(rf"\b(?:{'|'.join(AU_STATES)})\s+\d{{4}}\b")),
    ("US", re.compile(rf"\b(?:{'|'.join(US_STATES)})\.?,?\s+\d{{5}}(?:-\d{{4}})?\b")),
    ("NL", re.compile(r"\b\d{4}\s?(?!SA|SD|SS)[A-Z]{2}\b")),
)


def _po_box_country(box: str, after: str) -> str:
    """The country of a PO box, read from the postcode after it (a GB one is set by the town-and-postcode
    reading that overlaps it)."""
    for country, pattern in _PO_BOX_POSTCODES:
        if pattern.search(after):
            return country
    word = box.lower()
    if word.startswith("postfach"):
        if re.search(r"\b(?:D\s?-\s?)?\d{5}\s+[A-ZÄÖÜ]", after):
            return "DE"
        if re.search(r"\b(?:(?:A|CH)\s?-\s?)?\d{4}\s+[A-ZÄÖÜ]", after):
            return _at_or_ch(after, "")
    if re.match(r"b\.?p\.?|bo[iî]te", word) and re.search(r"\b(?:F\s?-\s?)?\d{5}\s+[A-ZÀ-Ý]", after):
        return "FR"
    return ""


def _po_boxes(text: str, url: str) -> list[FoundAddress]:
    found = []
    for i, m in enumerate(_PO_BOX.finditer(text)):
        if i >= 20:
            break
        # The box number and the town and postcode lines that follow it.
        snippet = _norm(" ".join(text[m.start() : m.end() + 100].split("\n")[:3]))[:140]
        found.append(FoundAddress(PO_BOX, _po_box_country(m.group(0), snippet[len(m.group(0)) - 1 :]), snippet, url, "text", "", m.start()))
    return found


def _without_heading(a: FoundAddress, headings: re.Pattern | None) -> FoundAddress:
    """The address without a heading the pattern took in front of it ("Contact us Plot No. 23, ...")."""
    if headings is None:
        return a
    m = headings.match(a.text)
    if not m or m.end() >= len(a.text):
        return a
    return FoundAddress(a.kind, a.country, a.text[m.end() :], a.url, a.source, a.postal_code, a.start + m.end())


@lru_cache(maxsize=8)
def _heading_pattern(headings: tuple) -> re.Pattern | None:
    if not headings:
        return None
    return re.compile(rf"(?i)(?:(?:{_words(headings)})\b[\s:\-–]*)+")


@lru_cache(maxsize=8)
def _product_patterns(quantity_words: tuple, product_labels: tuple) -> tuple[re.Pattern | None, re.Pattern | None]:
    # A short unit is read as written on labels, "200 mg" or "200 Mg", not in capitals: "14 MG Road" is
    # Mahatma Gandhi Road, in most Indian cities.
    forms = {f for w in quantity_words for f in ((w.lower(), w.title()) if len(w) <= 3 else (w.lower(), w.title(), w.upper()))}
    quantity = re.compile(rf"\b\d+(?:[.,]\d+)?\s?(?:{_words(forms)})(?!\w)") if quantity_words else None
    label = re.compile(rf"(?i)\b(?:{_words(product_labels)})\W*$") if product_labels else None
    return quantity, label


def _product_line(a: FoundAddress, text: str, quantity: re.Pattern | None, label: re.Pattern | None) -> bool:
    """A catalogue line that happens to end in a postcode or a town ("Modafinil 200 Mg Ct 30, NY 10001"): a
    drug strength or a count in the street part, or a SKU, item or order label right before or at its start."""
    if a.kind == LOCALITY:
        return False
    street = a.text[: -len(a.postal_code)] if a.postal_code and a.text.endswith(a.postal_code) else a.text
    if quantity is not None and quantity.search(street):
        return True
    if label is None:
        return False
    first = re.match(r"\W*\w+\W*", a.text)
    return bool(label.search(text[max(0, a.start - 20) : a.start]) or (first and label.search(first.group(0))))


def find_addresses(
    text: str, url: str, street_words: dict, tld_country: str = "", headings: tuple = (),
    quantity_words: tuple = (), product_labels: tuple = (),
) -> list[FoundAddress]:
    """Every street address and PO box in one page's text, in the order they appear."""
    if not text:
        return []
    if len(text) > MAX_TEXT:
        # Addresses sit in headers, footers and contact blocks: keep both ends of a very long page.
        text = text[: MAX_TEXT - 60_000] + "\n" + text[-60_000:]
    found = _pyap_addresses(text, url, street_words) + _pattern_addresses(text, url, street_words, tld_country) + _po_boxes(text, url)
    quantity, label = _product_patterns(tuple(quantity_words), tuple(product_labels))
    found = [a for a in found if not _product_line(a, text, quantity, label)]
    # A street and town without a postcode is read only where no parser found a fuller address.
    found += [
        a for a in _street_without_postcode(text, url, street_words, tld_country)
        if not any(abs(a.start - b.start) < 80 for b in found) and not _product_line(a, text, quantity, label)
    ]
    # A PO box that pyap already read as part of a street address is the same finding. A town-and-postcode
    # reading of the line after a box number ("PO Box 123, London W1A 1AA") is the box's own address, so
    # localities are placed last and give way to any street or box they overlap.
    result: list[FoundAddress] = []
    for a in sorted(found, key=lambda a: (a.kind == LOCALITY, a.start, a.kind != STREET)):
        if a.kind == STREET and _PO_BOX.match(a.text):
            a = FoundAddress(PO_BOX, a.country, a.text, a.url, a.source, a.postal_code, a.start)
        same = [i for i, b in enumerate(result)
                if abs(a.start - b.start) < 60 and (a.kind == b.kind or a.kind in (PO_BOX, LOCALITY))]
        if not same:
            result.append(a)
            continue
        b = result[same[0]]
        if a.kind == b.kind == STREET and a.country and not b.country and a.start == b.start:
            # Two readings of one street: the one that knows its country ("Via Torino 15, 20123 Milano" is
            # Italian; the same street with a Swiss-shaped four digits from the phone line after it is not).
            result[same[0]] = a
            continue
        if a.kind == LOCALITY and b.kind == PO_BOX and a.country and not b.country:
            # The postcode after the box says the country the box itself does not.
            result[same[0]] = FoundAddress(PO_BOX, a.country, b.text, b.url, b.source, b.postal_code or a.postal_code, b.start)
    heading = _heading_pattern(tuple(headings))
    return sorted((_without_heading(a, heading) for a in result), key=lambda a: a.start)


def address_from_org(org: StructuredOrg, url: str, countries: dict[str, str]) -> FoundAddress | None:
    """The postal address in a schema.org organisation, classified like one found in text."""
    if not org.address_text:
        return None
    country = country_code(org.country, countries)
    if org.street and _PO_BOX.search(org.street):
        kind = PO_BOX
    elif org.street and (re.search(r"\d", org.street) or len(org.street.split()) >= 2) and (org.locality or org.postal_code):
        kind = STREET
    elif org.street and re.search(r"\d", org.street) and ("," in org.street or len(org.street.split()) >= 4):
        # The whole address written into streetAddress as one string.
        kind = STREET
    else:
        kind = LOCALITY
    return FoundAddress(kind, country, org.address_text, url, org.source, org.postal_code)


def country_code(value: str, countries: dict[str, str]) -> str:
    """ISO code for a country given as a code or a name (in any of the names listed in rules.yaml)."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) == 2 and value.isalpha():
        code = value.upper()
        return "GB" if code == "UK" else code
    return countries.get(" ".join(value.lower().replace(".", "").split()), "")
