"""The page model: one parse per page, everything the checks read.

Checks never touch raw HTML or BeautifulSoup; they read this model. That keeps parsing cost in one place and
means a hostile page is bounded once, here, rather than in every check.
"""

from __future__ import annotations

import asyncio
import functools
import html as html_lib
import json
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup, Comment, Doctype, NavigableString, ProcessingInstruction, Tag
from bs4.element import Script, Stylesheet, TemplateString

from .invisible import INVISIBLE as _INVISIBLE  # controls, format characters and other invisible code points
from .language import detect_language

_NOT_TEXT = (Comment, Doctype, ProcessingInstruction, Script, Stylesheet, TemplateString)

# Page-derived strings end up in reports read by people and programs; these caps keep one hostile page from
# producing a multi-megabyte report.
MAX_TITLE = 300
MAX_LINK_TEXT = 200
MAX_LINKS = 2000
MAX_FORMS = 50
MAX_IMAGES = 500
MAX_SCRIPTS = 200
MAX_JSONLD_BYTES = 200_000
# Visible text kept per page: the largest real pharmacy pages have ~35,000 characters; checks read all of it.
MAX_TEXT = 200_000
# Visible text kept per site, over all its pages. Judging costs about 15 ms per thousand characters of
# phrase-dense text on a busy machine, so five pages at the page cap would take most of the check's time;
# five of the largest real pages (~175,000 characters) still fit whole.
MAX_SITE_TEXT = 300_000
# BeautifulSoup costs tens of microseconds and about a kilobyte per element: 2 MiB of bare tags would take most
# of a minute and gigabytes. Real pharmacy pages have at most a few thousand elements (the largest seen, ~10,000),
# so markup beyond this many tags is cut off and the page is analysed as truncated.
MAX_TAGS = 25_000
# Bounds on walks up and into the tree, so deeply nested markup costs linear time, not quadratic.
MAX_ANCESTOR_STEPS = 64
MAX_NODE_TEXT_STEPS = 2_000
BLOCK_END_STEPS = 8

SKIPPED_TAGS = {"script", "style", "noscript", "template", "head", "svg", "iframe", "object"}
BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "section", "article", "header", "footer",
    "nav", "aside", "main", "h1", "h2", "h3", "h4", "h5", "h6", "address", "dd", "dt", "dl", "form", "fieldset",
    "blockquote", "pre", "hr", "option", "label", "figcaption", "caption", "tbody", "thead", "body",
    # An accordion's question (summary) and its answer stand on lines of their own, like any FAQ heading.
    "details", "summary",
}

# Inline elements that stand for separate items when nothing separates them in the markup: address parts in
# sibling <span>s, menu links, table-like rows of <span>s. Emphasis inside a word ("<b>Ph</b>armacy") uses b, i,
# em, strong, u, mark, sup and sub, which are left out so the word stays whole.
SEPARATING_INLINE_TAGS = {"span", "a", "button", "img", "time", "data", "output", "abbr", "cite", "small", "input",
                          "select", "textarea", "meter", "progress"}

ORGANIZATION_TYPES = {
    "pharmacy", "organization", "localbusiness", "store", "onlinestore", "onlinebusiness", "medicalbusiness",
    "medicalorganization", "drugstore", "healthandbeautybusiness", "corporation", "medicalclinic",
    "healthcarebusiness", "website",
}



def clean_text(value: str | None, limit: int) -> str:
    """Strip invisible characters (app/invisible.py), collapse whitespace, cap the length."""
    if not value:
        return ""
    value = _INVISIBLE.sub("", value)
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return value


def clean_evidence(value: str | None, limit: int = 500) -> str:
    """Evidence quoted in a report: invisible and disguising characters removed, length capped; line breaks kept."""
    if not value:
        return ""
    value = _INVISIBLE.sub("", value).strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


@dataclass(frozen=True)
class Link:
    url: str  # absolute
    text: str
    rel: str = ""
    in_article: bool = False  # inside an <article>: the page's editorial content, not its own header or footer


@dataclass(frozen=True)
class FormInput:
    name: str
    type: str
    autocomplete: str = ""
    placeholder: str = ""
    id: str = ""
    # What a person reads for the field: its <label> (by for=, wrapping it, or just before it), aria-label,
    # aria-labelledby or title. Sites that name fields "f1" still label them "Card number".
    label: str = ""


@dataclass(frozen=True)
class Form:
    action: str  # absolute; the page URL when the form has no action
    method: str
    inputs: tuple[FormInput, ...]


@dataclass(frozen=True)
class Image:
    src: str  # absolute
    alt: str
    title: str = ""
    link: str = ""  # the href of the enclosing <a>, when the image is a link (seals usually are)
    in_article: bool = False


@dataclass(frozen=True)
class StructuredOrg:
    type: str
    name: str = ""
    street: str = ""
    locality: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    telephone: str = ""
    email: str = ""
    url: str = ""
    source: str = "json-ld"  # or "microdata"

    @property
    def address_text(self) -> str:
        return ", ".join(p for p in (self.street, self.locality, self.region, self.postal_code, self.country) if p)


MAX_QA_PAIRS = 300
MAX_QUESTION = 300
MAX_ANSWER = 1_500
# Siblings read after a heading for the text it introduces: FAQ answers are a paragraph or a short list.
MAX_ANSWER_SIBLINGS = 6


@dataclass(frozen=True)
class QAPair:
    """A question (or a heading, a term, an accordion's label) and the text that answers it, as the markup pairs
    them. Which pairs really are questions, and what their answers say, is for the checks' reader to decide."""

    question: str
    answer: str
    # "faq-json-ld" and "faq-microdata" (schema.org FAQPage: declared questions), "dl" (dt/dd), "details"
    # (details/summary), "aria" (aria-controls accordions), "heading" (a heading and what follows it).
    source: str


@dataclass
class Page:
    url: str
    status: int = 200
    title: str = ""
    lang: str = ""
    text: str = ""
    links: list[Link] = field(default_factory=list)
    forms: list[Form] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)
    organizations: list[StructuredOrg] = field(default_factory=list)
    meta_refresh: str = ""
    # The visible text of the page's <article> elements (already part of `text`), so that a line can be told to
    # belong to editorial content rather than to the site's own header, footer or product pages.
    article_text: str = ""
    truncated: bool = False
    kind: str = "start"  # which crawl target brought this page in ("start", "contact", "faq", ...)
    # What tells a page built by JavaScript from one the server wrote (see looks_script_built).
    inline_scripts: int = 0
    app_root: str = ""  # the id (or tag) of an element a script framework mounts into, when it is all but empty
    rendered: bool = False  # the model was read from the DOM after the page's scripts ran (app/browser.py)
    # Question-and-answer pairs the markup declares or lays out (see QAPair).
    qa_pairs: list[QAPair] = field(default_factory=list)
    # The language the page is written in (ISO 639-1, "" when unknown): detected from its text, or the one it
    # declares when the text is too short to tell (app/language.py).
    language: str = ""
    # What checks work out once per page and share (the question-and-answer reading, say); not part of the model.
    derived: dict = field(default_factory=dict, repr=False, compare=False)
    # Analytics, advertising and chat-widget account ids in the page's scripts ("ga:UA-123456", "gtm:GTM-AB12CD"):
    # the operator's own accounts, shared across the sites one operator runs.
    tracking_ids: list[str] = field(default_factory=list)
    # A hash of the page's markup skeleton (tags and their classes, not the words): pages built from one template.
    template_fingerprint: str = ""

    @property
    def https(self) -> bool:
        return self.url.lower().startswith("https://")


def _absolute(base: str, href: str | None) -> str:
    if not href:
        return ""
    href = href.strip()
    try:
        return urljoin(base, href)
    except ValueError:
        return ""


def _text_of(node: Tag, limit: int = 2_000) -> str:
    """Text inside `node`, reading at most MAX_NODE_TEXT_STEPS nodes and about `limit` characters."""
    parts: list[str] = []
    size = 0
    end = node._last_descendant().next_element if node.contents else node.next_element
    current = node.next_element
    steps = 0
    while current is not None and current is not end and steps < MAX_NODE_TEXT_STEPS and size < limit:
        steps += 1
        if isinstance(current, NavigableString) and not isinstance(current, _NOT_TEXT):
            piece = str(current).strip()[: limit - size]
            if piece:
                parts.append(piece)
                size += len(piece)
        current = current.next_element
    return " ".join(parts)


def _ancestor(node: Tag, predicate) -> Tag | None:
    parent = node.parent
    steps = 0
    while parent is not None and steps < MAX_ANCESTOR_STEPS:
        if isinstance(parent, Tag) and predicate(parent):
            return parent
        parent = parent.parent
        steps += 1
    return None


MAX_LABELS = 500
MAX_LABEL_TEXT = 100
# A checkbox or radio button's label is a sentence ("Save this card for next time"), not the name of data.
_UNLABELLED_TYPES = {"checkbox", "radio", "hidden", "submit", "button", "image", "reset"}


def _field_label(soup: BeautifulSoup, field: Tag, labels_for: dict[str, str]) -> str:
    if str(field.get("type") or "").lower() in _UNLABELLED_TYPES:
        return ""
    parts = [str(field.get("aria-label") or ""), str(field.get("title") or "")]
    field_id = str(field.get("id") or "")
    if field_id and field_id in labels_for:
        parts.append(labels_for[field_id])
    wrapping = _ancestor(field, lambda t: t.name == "label")
    if isinstance(wrapping, Tag):
        parts.append(_text_of(wrapping, MAX_LABEL_TEXT))
    elif not (field_id and field_id in labels_for):
        previous = field.find_previous_sibling()
        if isinstance(previous, Tag) and previous.name == "label" and not previous.get("for"):
            parts.append(_text_of(previous, MAX_LABEL_TEXT))
    for ref in str(field.get("aria-labelledby") or "").split()[:3]:
        target = soup.find(id=ref)
        if isinstance(target, Tag):
            parts.append(_text_of(target, MAX_LABEL_TEXT))
    return " ".join(p for p in parts if p)


_TAG_START = re.compile(r"<[A-Za-z]")
_TAG_START_BYTES = re.compile(rb"<[A-Za-z]")


def bound_markup(html: str | bytes, max_tags: int = MAX_TAGS) -> tuple[str | bytes, bool]:
    """The markup up to its `max_tags`-th start tag, and whether anything was cut."""
    pattern = _TAG_START_BYTES if isinstance(html, bytes) else _TAG_START
    for count, match in enumerate(pattern.finditer(html), start=1):
        if count > max_tags:
            return html[: match.start()], True
    return html, False


def _visible_text(soup: BeautifulSoup, faq: "_FaqMarkup | None" = None) -> tuple[str, bool]:
    # One iterative walk (no recursion, so deeply nested markup cannot overflow the stack); block elements
    # start a new line so that addresses and phone numbers split across tags stay apart from their neighbours.
    # Skipped elements (scripts, styles...) are jumped over whole, so no node looks at its ancestors.
    out: list[str] = []
    size = 0
    cut = False
    root = soup.body or soup
    end = root._last_descendant().next_element if root.contents else root.next_element
    node = root.next_element
    # Set at the start or end of a separating inline element; the next text gets a space if it and the text
    # before would otherwise fuse into one word ("120 Main Street" + "Springfield").
    boundary = False
    # The first node after each block element: text there starts a new line too ("<summary>Question?</summary>
    # Answer" is two lines, not "Question?Answer"). Found through next siblings, a few levels up at most, so
    # deeply nested markup stays linear.
    after_block: set[int] = set()
    while node is not None and node is not end:
        if id(node) in after_block:
            out.append("\n")
            size += 1
        if isinstance(node, Tag):
            if node.name in SKIPPED_TAGS:
                node = node._last_descendant().next_element if node.contents else node.next_element
                continue
            if faq is not None:
                # Question-and-answer markup is collected in this same walk, not in one of its own.
                _note_faq_markup(faq, node)
            if node.name in BLOCK_TAGS:
                out.append("\n")
                size += 1
                holder, steps = node, 0
                while holder is not None and holder.next_sibling is None and steps < BLOCK_END_STEPS:
                    holder, steps = holder.parent, steps + 1
                if holder is not None and holder.next_sibling is not None:
                    after_block.add(id(holder.next_sibling))
            elif node.name in SEPARATING_INLINE_TAGS:
                boundary = True
        elif isinstance(node, NavigableString) and not isinstance(node, (Comment, Doctype, ProcessingInstruction)):
            piece = str(node)
            if not boundary:
                previous = node.previous_sibling
                boundary = isinstance(previous, Tag) and previous.name in SEPARATING_INLINE_TAGS
            if boundary and piece and out and piece[0].isalnum() and out[-1] and out[-1][-1].isalnum():
                out.append(" ")
                size += 1
            boundary = False
            # A single text node can be the whole body (2 MiB in one <p>), so the last piece is cut to what the
            # cap leaves rather than checked after it was kept whole.
            room = max(0, MAX_TEXT - size)
            if len(piece) >= room:
                out.append(piece[:room])
                cut = True
                break
            out.append(piece)
            size += len(piece)
        node = node.next_element
    text = _INVISIBLE.sub("", "".join(out))
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line), cut


def _in_article(node: Tag) -> bool:
    return _ancestor(node, lambda t: t.name == "article") is not None


def _article_text(soup: BeautifulSoup) -> str:
    parts: list[str] = []
    size = 0
    for article in soup.find_all("article", limit=50):
        if _ancestor(article, lambda t: t.name == "article") is not None:
            continue  # its text is in the outer article's already
        piece = _text_of(article, limit=min(MAX_TEXT // 4, MAX_TEXT - size))
        parts.append(piece)
        size += len(piece)
        if size >= MAX_TEXT:
            break
    return _INVISIBLE.sub("", "\n".join(parts))


def _flatten_jsonld(node, out: list, depth: int = 0) -> None:
    if depth > 8:
        return
    if isinstance(node, list):
        for item in node[:200]:
            _flatten_jsonld(item, out, depth + 1)
    elif isinstance(node, dict):
        out.append(node)
        for key in ("@graph", "publisher", "provider", "seller", "brand", "parentOrganization", "mainEntity"):
            if key in node:
                _flatten_jsonld(node[key], out, depth + 1)


def _as_str(value) -> str:
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, dict):
        value = value.get("name") or value.get("@id") or ""
    return clean_text(str(value), 300) if value is not None else ""


def _types_of(node: dict) -> list[str]:
    t = node.get("@type") or []
    if isinstance(t, str):
        t = [t]
    return [str(x).rsplit("/", 1)[-1].lower() for x in t if isinstance(x, str)]


def _org_from_mapping(node: dict, source: str) -> StructuredOrg | None:
    types = _types_of(node) if source == "json-ld" else [node.get("@type", "")]
    matched = [t for t in types if t in ORGANIZATION_TYPES]
    if not matched:
        return None
    address = node.get("address") or {}
    if isinstance(address, list):
        address = address[0] if address else {}
    if isinstance(address, str):
        address = {"streetAddress": address}
    if not isinstance(address, dict):
        address = {}
    org = StructuredOrg(
        type=matched[0],
        name=_as_str(node.get("name")),
        street=_as_str(address.get("streetAddress")),
        locality=_as_str(address.get("addressLocality")),
        region=_as_str(address.get("addressRegion")),
        postal_code=_as_str(address.get("postalCode")),
        country=_as_str(address.get("addressCountry")),
        telephone=_as_str(node.get("telephone")),
        email=_as_str(node.get("email")),
        url=_as_str(node.get("url")),
        source=source,
    )
    if org.type == "website" and not (org.address_text or org.telephone):
        return None
    return org


def _jsonld_nodes(soup: BeautifulSoup) -> list[dict]:
    """Every JSON-LD object on the page (graphs, publishers and main entities flattened), each block parsed once."""
    nodes: list[dict] = []
    for script in soup.find_all("script", attrs={"type": re.compile(r"ld\+json", re.I)}, limit=50):
        raw = script.string or script.get_text() or ""
        if len(raw) > MAX_JSONLD_BYTES:
            continue
        try:
            data = json.loads(raw, strict=False)
        except (ValueError, RecursionError):
            continue
        _flatten_jsonld(data, nodes)
    return nodes


def _jsonld_orgs(nodes: list[dict]) -> list[StructuredOrg]:
    orgs: list[StructuredOrg] = []
    for node in nodes:
        org = _org_from_mapping(node, "json-ld")
        if org:
            orgs.append(org)
    return orgs


_MARKUP = re.compile(r"<[^>]{0,500}>")


def _markup_free(value) -> str:
    """schema.org answer text, which may itself be HTML ("<p>No.</p>"), as plain text."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value[:5] if isinstance(v, (str, int, float)))
    if isinstance(value, dict):
        value = value.get("text") or value.get("name") or ""
    if not isinstance(value, str):
        return ""
    return html_lib.unescape(_MARKUP.sub(" ", value[: MAX_ANSWER * 4]))


def _jsonld_faq(nodes: list[dict]) -> list[QAPair]:
    pairs: list[QAPair] = []
    for node in nodes:
        if "question" not in _types_of(node):
            continue
        question = clean_text(_markup_free(node.get("name") or node.get("text")), MAX_QUESTION)
        answer_node = node.get("acceptedAnswer") or node.get("suggestedAnswer") or {}
        if isinstance(answer_node, list):
            answer_node = answer_node[0] if answer_node else {}
        answer = clean_text(_markup_free(answer_node), MAX_ANSWER)
        if question and answer:
            pairs.append(QAPair(question, answer, "faq-json-ld"))
    return pairs


def _microdata_faq(scopes: list[Tag]) -> list[QAPair]:
    pairs: list[QAPair] = []
    for scope in scopes:
        name = scope.find(attrs={"itemprop": re.compile(r"^\s*name\s*$")})
        answer_scope = scope.find(attrs={"itemprop": re.compile(r"acceptedAnswer|suggestedAnswer")})
        text = answer_scope.find(attrs={"itemprop": re.compile(r"^\s*text\s*$")}) if isinstance(answer_scope, Tag) else None
        if isinstance(name, Tag) and isinstance(text, Tag):
            question = clean_text(str(name.get("content") or _text_of(name, MAX_QUESTION)), MAX_QUESTION)
            answer = clean_text(str(text.get("content") or _text_of(text, MAX_ANSWER)), MAX_ANSWER)
            if question and answer:
                pairs.append(QAPair(question, answer, "faq-microdata"))
    return pairs


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _text_after(node: Tag, holders: set[int]) -> str:
    """The text of the siblings after `node`, up to the next heading or question markup: what a heading or a
    term introduces. `holders` are the elements that hold such markup (see _FaqMarkup)."""
    parts: list[str] = []
    size = 0
    for sibling in node.find_next_siblings(limit=MAX_ANSWER_SIBLINGS):
        if not isinstance(sibling, Tag) or sibling.name in SKIPPED_TAGS:
            continue
        if id(sibling) in holders:
            break
        piece = _text_of(sibling, MAX_ANSWER - size)
        if piece:
            parts.append(piece)
            size += len(piece)
        if size >= MAX_ANSWER:
            break
    return " ".join(parts)


@dataclass
class _FaqMarkup:
    """The elements question-and-answer markup is made of, collected in one walk over the document."""

    lists: list[Tag] = field(default_factory=list)
    details: list[Tag] = field(default_factory=list)
    controls: list[Tag] = field(default_factory=list)
    headings: list[Tag] = field(default_factory=list)
    questions: list[Tag] = field(default_factory=list)  # schema.org Question microdata scopes
    by_id: dict[str, Tag] = field(default_factory=dict)
    # Every element that is, or holds, a heading, a term, a summary or an accordion control: where the text a
    # heading introduces ends.
    holders: set[int] = field(default_factory=set)

    def mark(self, node: Tag) -> None:
        steps = 0
        while node is not None and steps < MAX_ANCESTOR_STEPS and id(node) not in self.holders:
            self.holders.add(id(node))
            node, steps = node.parent, steps + 1


_CONTROL_ATTRIBUTES = ("aria-controls", "data-bs-target", "data-target")


def _note_faq_markup(found: _FaqMarkup, node: Tag) -> None:
    """Collect `node` if question-and-answer markup is made of it (called for every element, once)."""
    name = node.name
    if name in _FAQ_TAGS:
        if name == "dl":
            found.lists.append(node)
        elif name == "details":
            found.details.append(node)
        elif name in _HEADINGS:
            found.headings.append(node)
        found.mark(node)
    attrs = node.attrs
    if attrs:
        if "aria-controls" in attrs or "data-bs-target" in attrs or "data-target" in attrs:
            found.controls.append(node)
            found.mark(node)
        if "id" in attrs and len(found.by_id) < 10_000:
            found.by_id.setdefault(str(attrs["id"]), node)
        if "itemscope" in attrs and str(attrs.get("itemtype") or "").rstrip().lower().endswith("question"):
            found.questions.append(node)


_FAQ_TAGS = {"dl", "details", "dt", "summary", *_HEADINGS}


def _layout_faq(found: _FaqMarkup) -> list[QAPair]:
    """Questions laid out in markup: terms and definitions, details/summary, ARIA accordions, headings."""
    pairs: list[QAPair] = []

    def add(question_node: Tag, answer: str, source: str) -> None:
        question = clean_text(_text_of(question_node, MAX_QUESTION), MAX_QUESTION)
        answer = clean_text(answer, MAX_ANSWER)
        if question and answer and len(pairs) < MAX_QA_PAIRS:
            pairs.append(QAPair(question, answer, source))

    for dl in found.lists[:100]:
        term: Tag | None = None
        answer: list[str] = []
        for child in dl.find_all(["dt", "dd"], limit=2 * MAX_QA_PAIRS):
            if _ancestor(child, lambda t: t.name == "dl") is not dl:
                continue  # a nested list's terms are its own
            if child.name == "dt":
                if term is not None:
                    add(term, " ".join(answer), "dl")
                term, answer = child, []
            elif term is not None:
                answer.append(_text_of(child, MAX_ANSWER))
        if term is not None:
            add(term, " ".join(answer), "dl")
    for details in found.details[:MAX_QA_PAIRS]:
        summary = details.find("summary")
        if isinstance(summary, Tag):
            rest = [_text_of(c, MAX_ANSWER) if isinstance(c, Tag) else str(c).strip()
                    for c in details.children if c is not summary and not isinstance(c, _NOT_TEXT)]
            add(summary, " ".join(p for p in rest if p), "details")
    for control in found.controls[:MAX_QA_PAIRS]:
        ref = next((str(control.get(a) or "") for a in _CONTROL_ATTRIBUTES if control.get(a)), "")
        target = found.by_id.get(ref.split()[0].lstrip("#")) if ref.split() else None
        if isinstance(target, Tag) and target is not control and _ancestor(target, lambda t: t is control) is None:
            add(control, _text_of(target, MAX_ANSWER), "aria")
    for heading in found.headings[:MAX_QA_PAIRS]:
        answer = _text_after(heading, found.holders)
        holder = heading.parent
        # A heading alone in its wrapper (<div class="q"><h3>...</h3></div><div class="a">...</div>, or a heading
        # inside an accordion's button) introduces what follows the wrapper.
        if not answer and isinstance(holder, Tag) and holder.name not in ("body", "html", "[document]", "main", "article", "section"):
            answer = _text_after(holder, found.holders)
        add(heading, answer, "heading")
    return pairs


def _qa_pairs(found: _FaqMarkup, nodes: list[dict]) -> list[QAPair]:
    # Declared FAQ data first: when the same question is laid out on the page too, the declaration is kept.
    seen: set[str] = set()
    out: list[QAPair] = []
    for pair in _jsonld_faq(nodes) + _microdata_faq(found.questions[:MAX_QA_PAIRS]) + _layout_faq(found):
        key = re.sub(r"\W+", "", pair.question.lower())
        if key and key not in seen and len(out) < MAX_QA_PAIRS:
            seen.add(key)
            out.append(pair)
    return out


def _microdata_orgs(soup: BeautifulSoup) -> list[StructuredOrg]:
    orgs: list[StructuredOrg] = []
    for scope in soup.find_all(attrs={"itemscope": True, "itemtype": True}, limit=100):
        itemtype = str(scope.get("itemtype", "")).rsplit("/", 1)[-1].lower()
        if itemtype not in ORGANIZATION_TYPES:
            continue
        props: dict = {"@type": itemtype}
        address: dict = {}
        for prop in scope.find_all(attrs={"itemprop": True}, limit=200):
            name = str(prop.get("itemprop", "")).split()[0] if prop.get("itemprop") else ""
            value = prop.get("content") or prop.get("href") or _text_of(prop)
            if name in {"streetAddress", "addressLocality", "addressRegion", "postalCode", "addressCountry"}:
                address.setdefault(name, value)
            elif name in {"name", "telephone", "email", "url"} and name not in props:
                # Only the scope's own properties, not those of a nested item such as a product.
                owner = _ancestor(prop, lambda t: t.has_attr("itemscope"))
                if owner is scope:
                    props[name] = value
        props["address"] = address
        org = _org_from_mapping(props, "microdata")
        if org:
            orgs.append(org)
    return orgs


def _lang(soup: BeautifulSoup) -> str:
    html = soup.find("html")
    if isinstance(html, Tag) and html.get("lang"):
        return clean_text(str(html.get("lang")), 20).lower()
    meta = soup.find("meta", attrs={"http-equiv": re.compile("content-language", re.I)})
    if isinstance(meta, Tag) and meta.get("content"):
        return clean_text(str(meta.get("content")), 20).lower()
    return ""


# Parsing and judging pages is CPU work. It runs in threads so the event loop keeps serving (/healthz, other
# checks' I/O), and in only two of them: more CPU-bound threads would not finish sooner under the GIL, they would
# only make the event loop wait longer for its turn.
_ANALYSIS_THREADS = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pharmacheck-analysis")


async def run_analysis(fn, /, *args, **kwargs):
    """Run CPU-bound page work (parse, judge) off the event loop, at most two at a time per process."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_ANALYSIS_THREADS, functools.partial(fn, *args, **kwargs))


def parse_page(html: str | bytes, url: str, *, status: int = 200, truncated: bool = False, kind: str = "start") -> Page:
    """Parse one HTML document into the page model; hostile markup costs bounded time and memory."""
    html, cut = bound_markup(html)
    truncated = truncated or cut
    soup = BeautifulSoup(html, "lxml")
    base = url
    base_tag = soup.find("base", href=True)
    if isinstance(base_tag, Tag):
        candidate = _absolute(url, str(base_tag["href"]))
        if urlsplit(candidate).scheme in ("http", "https"):
            base = candidate

    title_tag = soup.find("title")
    title = clean_text(title_tag.get_text() if isinstance(title_tag, Tag) else "", MAX_TITLE)

    links: list[Link] = []
    for a in soup.find_all("a", href=True, limit=MAX_LINKS):
        href = _absolute(base, str(a["href"]))
        if not href:
            continue
        text = _text_of(a)
        if not text:
            img = a.find("img")
            if isinstance(img, Tag):
                text = str(img.get("alt") or img.get("title") or "")
        rel = " ".join(a.get("rel") or []) if isinstance(a.get("rel"), list) else str(a.get("rel") or "")
        links.append(Link(href, clean_text(text, MAX_LINK_TEXT), rel, _in_article(a)))

    forms: list[Form] = []
    found_forms = soup.find_all("form", limit=MAX_FORMS)
    labels_for: dict[str, str] = {}
    if found_forms:
        for lab in soup.find_all("label", attrs={"for": True}, limit=MAX_LABELS):
            labels_for.setdefault(str(lab["for"]), _text_of(lab, MAX_LABEL_TEXT))
    for f in found_forms:
        inputs = tuple(
            FormInput(
                name=clean_text(str(i.get("name") or i.get("id") or ""), 100),
                type=clean_text(str(i.get("type") or i.name), 30).lower(),
                autocomplete=clean_text(str(i.get("autocomplete") or ""), 60).lower(),
                placeholder=clean_text(str(i.get("placeholder") or ""), 100),
                id=clean_text(str(i.get("id") or ""), 100),
                label=clean_text(_field_label(soup, i, labels_for), MAX_LABEL_TEXT),
            )
            for i in f.find_all(["input", "select", "textarea"], limit=200)
        )
        forms.append(
            Form(
                action=_absolute(base, str(f.get("action") or "")) or url,
                method=clean_text(str(f.get("method") or "get"), 10).lower(),
                inputs=inputs,
            )
        )

    images: list[Image] = []
    for img in soup.find_all("img", limit=MAX_IMAGES):
        src = _absolute(base, str(img.get("src") or img.get("data-src") or ""))
        parent_link = _ancestor(img, lambda t: t.name == "a" and t.has_attr("href"))
        images.append(
            Image(
                src=src,
                alt=clean_text(str(img.get("alt") or ""), 300),
                title=clean_text(str(img.get("title") or ""), 300),
                link=_absolute(base, str(parent_link["href"])) if isinstance(parent_link, Tag) else "",
                in_article=_in_article(img),
            )
        )

    scripts = [
        _absolute(base, str(s["src"])) for s in soup.find_all("script", src=True, limit=MAX_SCRIPTS)
    ]
    inline_scripts = sum(
        1 for s in soup.find_all("script", src=False, limit=MAX_SCRIPTS)
        if not re.search(r"json|template", str(s.get("type") or ""), re.I) and (s.string or "").strip()
    )

    refresh = ""
    meta_refresh = soup.find("meta", attrs={"http-equiv": re.compile("^refresh$", re.I)})
    if isinstance(meta_refresh, Tag):
        m = re.search(r"url\s*=\s*['\"]?([^'\">\s]+)", str(meta_refresh.get("content") or ""), re.I)
        if m:
            refresh = _absolute(base, m.group(1))

    jsonld = _jsonld_nodes(soup)
    organizations = _jsonld_orgs(jsonld) + _microdata_orgs(soup)
    tracking = tracking_ids(soup, scripts)
    fingerprint = template_fingerprint(soup)
    faq = _FaqMarkup()
    text, text_cut = _visible_text(soup, faq)
    declared = _lang(soup)

    return Page(
        url=url,
        status=status,
        title=title,
        lang=declared,
        text=text,
        links=links,
        forms=forms,
        images=images,
        scripts=scripts,
        organizations=organizations,
        meta_refresh=refresh,
        article_text=_article_text(soup),
        # Text cut at its cap is as unread as markup cut at the tag cap.
        truncated=truncated or text_cut,
        kind=kind,
        qa_pairs=_qa_pairs(faq, jsonld),
        language=detect_language(text, declared),
        tracking_ids=tracking,
        template_fingerprint=fingerprint,
        inline_scripts=inline_scripts,
        app_root=_app_root(soup),
    )


# Where script frameworks mount a page: React and most others (root, app), Next.js, Nuxt, Gatsby, Angular,
# Vue CLI, Svelte, Ember, Shopify Hydrogen...
APP_ROOT_IDS = frozenset({"root", "app", "__next", "__nuxt", "___gatsby", "app-root", "svelte", "main-app", "application",
                "ember-app", "react-root", "vue-app", "spa-root", "storefront"})
APP_ROOT_ATTRIBUTES = ("data-reactroot", "ng-app", "ng-version", "data-v-app", "data-server-rendered")
# An app root with less text than this has not been filled in by the server.
APP_ROOT_EMPTY = 200
# A page with less visible text than this, and with scripts, shows a visitor next to nothing without them.
SCRIPT_BUILT_TEXT = 400


def _is_app_root(tag: Tag) -> bool:
    return (tag.get("id") in APP_ROOT_IDS or tag.name in ("app-root", "my-app")
            or any(tag.has_attr(a) for a in APP_ROOT_ATTRIBUTES))


def _app_root(soup: BeautifulSoup) -> str:
    # One walk over the tree (bounded by MAX_TAGS), the first few candidates looked into.
    for node in (soup.body or soup).find_all(_is_app_root, limit=5):
        if len(_text_of(node, APP_ROOT_EMPTY + 1)) <= APP_ROOT_EMPTY:
            return str(node.get("id") or node.name)[:40]
    return ""


def looks_script_built(page: Page) -> str:
    """Why the page looks built by JavaScript rather than written by the server ("" when it does not): it has
    scripts and shows little text, and either has an empty element a framework mounts into or no link at all.
    Such a page says next to nothing until its scripts run. A short page with links of its own is left alone:
    the server wrote it."""
    if page.rendered or not (page.scripts or page.inline_scripts):
        return ""
    if len(page.text) >= SCRIPT_BUILT_TEXT:
        return ""
    if page.app_root:
        return f"little text and an empty app root ({page.app_root})"
    if not page.links:
        return "little text and no links"
    return ""



MAX_SCRIPT_TEXT = 200_000
MAX_TRACKING_IDS = 20
# (kind, pattern whose first group is the account id). Universal Analytics ids name the account before the
# property number (UA-123456-2): the account is what one operator shares across sites.
_TRACKERS = (
    ("ga", re.compile(r"\b(UA-\d{4,10})-\d{1,4}\b")),
    ("ga4", re.compile(r"(?:[?&]id=|config['\"]\s*,\s*['\"])(G-[A-Z0-9]{6,12})\b")),
    ("gtm", re.compile(r"\b(GTM-[A-Z0-9]{4,9})\b")),
    ("yandex", re.compile(r"(?:\bym\(\s*|yaCounter|mc\.yandex\.ru/watch/|mc\.yandex\.ru/metrika/tag\.js\?id=)(\d{5,10})")),
    ("fbpixel", re.compile(r"fbq\(\s*['\"]init['\"]\s*,\s*['\"](\d{10,20})")),
    ("adsense", re.compile(r"\b(ca-pub-\d{10,20})\b")),
    ("tawk", re.compile(r"embed\.tawk\.to/([0-9a-f]{24})", re.I)),
    ("jivo", re.compile(r"jivosite\.com/(?:widget|script/widget)/([A-Za-z0-9]{6,16})")),
    ("liveinternet", re.compile(r"counter\.yadro\.ru/hit;([A-Za-z0-9_-]{3,40})")),
)


def tracking_ids(soup: BeautifulSoup, script_urls: list[str]) -> list[str]:
    """The analytics and widget account ids in the page's inline scripts, script addresses and noscript tags."""
    parts: list[str] = list(script_urls)
    size = 0
    for tag in soup.find_all(["script", "noscript"], limit=MAX_SCRIPTS):
        if isinstance(tag, Tag) and tag.name == "script" and tag.get("src"):
            continue
        piece = (tag.string or tag.decode_contents() if tag.name == "noscript" else tag.string or "")[: MAX_SCRIPT_TEXT - size]
        parts.append(piece)
        size += len(piece)
        if size >= MAX_SCRIPT_TEXT:
            break
    for img in soup.find_all(["img", "iframe"], src=True, limit=MAX_IMAGES):
        src = str(img.get("src") or "")
        if "yandex" in src or "googletagmanager" in src or "facebook.com/tr" in src or "yadro.ru" in src:
            parts.append(src)
    blob = "\n".join(parts)
    found: list[str] = []
    for kind, pattern in _TRACKERS:
        for m in pattern.finditer(blob):
            value = f"{kind}:{m.group(1)}"
            if value not in found:
                found.append(value)
            if len(found) >= MAX_TRACKING_IDS:
                return found
    return found


MIN_TEMPLATE_TOKENS = 20


def template_fingerprint(soup: BeautifulSoup) -> str:
    """A hash of the distinct tag-and-class pairs of the page body, or "" for pages too plain to tell apart.

    Words, images and product counts change from page to page; the skeleton a theme builds does not, so two
    shops built from one kit share it. Common kits share it too, which is why the graph weighs a template by how
    many sites in the store have it."""
    import hashlib

    root = soup.body or soup
    tokens: set[str] = set()
    for tag in root.find_all(True, limit=MAX_TAGS):
        classes = tag.get("class") or []
        if isinstance(classes, str):
            classes = classes.split()
        tokens.add(tag.name + "." + ".".join(sorted(str(c) for c in classes))[:80])
    if len(tokens) < MIN_TEMPLATE_TOKENS:
        return ""
    return hashlib.sha256("\n".join(sorted(tokens)).encode("utf-8", "replace")).hexdigest()[:20]


def bound_site_text(pages: list[Page], limit: int = MAX_SITE_TEXT) -> list[Page]:
    """Cut the pages' text, in reading order, so that together they hold at most `limit` characters; the pages
    that lost text are marked truncated and returned."""
    cut: list[Page] = []
    left = limit
    for page in pages:
        if len(page.text) > left:
            page.text = page.text[:left]
            page.article_text = page.article_text[:left]
            page.truncated = True
            cut.append(page)
        left -= len(page.text)
    return cut


def page_from_text(text: str, url: str, kind: str = "start") -> Page:
    """A page that only has text (for evaluating extracted page texts with no markup)."""
    normalized = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    return Page(url=url, text=normalized, kind=kind, language=detect_language(normalized))
