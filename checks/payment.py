"""Payment: which channels the site takes money through.

Card networks only accept pharmacies that pass certification, so rogue sellers push buyers to channels with no
chargeback and no buyer protection: cryptocurrency, money transfers, wire transfers, gift cards,
person-to-person apps, e-checks and payment links sent by email. The check reads four kinds of evidence, all
listed in rules.yaml: phrases in the text, payment logos (image alt text, title and file name), links, and the
hosts of scripts, links, images and form actions (a Stripe or Coinbase Commerce script is harder to fake than
a logo). A phrase counts as an offer only when its sentence does not warn against it or refuse it, so safety
advice ("never pay by Western Union") does not count against the site that gives it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from app.page import Page
from app.rules import ConfigModel
from app.site import Site
from app.textmatch import PhraseSet, snippet_around

from . import _qa as qa
from ._offers import cue_pattern, negated, refused, sentence_bounds, warned
from ._qa import Localised, QAConfig
from .base import Check, Outcome


@lru_cache(maxsize=64)
def _cues(cues: tuple[str, ...]):
    return cue_pattern(cues)


class Gateway(ConfigModel):
    name: str
    phrases: list[str] = []
    hosts: list[str] = []
    # A sentence holding one of these is not a payment through the gateway ("PayPal Friends and Family" has no
    # buyer protection).
    exclude_context: list[str] = []


class Channel(ConfigModel):
    id: str
    name: str
    # By language (checks/_qa.py, `Localised`), like every phrase list of this check.
    phrases: Localised = []
    hosts: list[str] = []
    # When given, a phrase only counts if one of these also occurs in its sentence (a "gift card" is a payment
    # channel only in a sentence about paying, not on a shop shelf).
    context: Localised = []
    # A phrase does not count in a sentence holding one of these ("refunds are made by bank transfer" is about
    # the shop paying the buyer back, not the buyer paying).
    exclude_context: Localised = []
    # A phrase directly followed by one of these words is part of a business name ("BTC Pharmacy Inc.").
    not_part_of_name: list[str] = []
    # Whether a logo (image alt text or file name) counts; a gift-card picture is more often a product.
    logos: bool = True
    # A phrase right after one of these is the thing bought, not the means of paying ("Buy an Amazon gift card").
    exclude_before: list[str] = []
    # ...unless the sentence shows it is handed over as payment ("buy a gift card at any store and send us the
    # codes").
    paid_with: list[str] = []
    # When given, the channel is a red flag only when money goes to a named recipient (an email, a $cashtag, a
    # phone number or one of these phrases), when an incentive is offered for it, or when the site offers no
    # card payment: Venmo at a checkout beside cards is a business checkout, not a transfer to a person.
    recipient_context: list[str] = []
    # A channel some legitimate shops also offer (bank transfer in much of Europe): offered alone it is its own,
    # milder outcome.
    also_legitimate: bool = False
    # A channel legitimate pharmacies list beside cards (bank transfer in Europe, e-checks and money orders in
    # the US): beside cards it is the milder outcome, unlike crypto or a money transfer.
    usual_beside_cards: bool = False


class Config(ConfigModel):
    # How questions and answers are read: "Can I pay with Bitcoin?" answered "Yes" is an offer, answered "No" a
    # refusal, and the question alone neither.
    qa: QAConfig
    card_phrases: Localised
    # A card named in text counts only in a sentence about paying: privacy policies and safety articles
    # mention credit cards without taking them.
    card_context: Localised
    gateways: list[Gateway]
    red_flag_channels: list[Channel]
    incentive_phrases: Localised
    # Words that tie an incentive in the next sentence back to the channel just offered ("Pay with Bitcoin.
    # You'll get 10% off."); a promotion that does not refer back ("Free shipping over $50") is the shop's own.
    incentive_follow_cues: list[str] = []
    # Words of safety advice ("scam*" is a word prefix): a channel named near them is warned against, not offered.
    warning_cues: Localised = []


OUTCOMES = (
    "red-flag-only",
    "bank-transfer-only",
    "red-flag-with-cards",
    "transfer-with-cards",
    "cards-via-gateway",
    "cards-no-gateway-seen",
    "cards-refused",
    "none-found",
    "incentive-outside-cards",
)

# One or two digits only: "100% secure payments" is an assurance, not a discount.
_PERCENT = re.compile(r"(?<![\d.,])\d{1,2}(?:[.,]\d)?\s?%")
_CLAUSE_END = re.compile(r"[,:;]|\s[–—-]\s")
MAX_MATCHES_PER_PAGE = 20
# A payment list ("We accept:" then one method per line) is read as one sentence.
LIST_ITEM_MAX = 60
LIST_MAX_ITEMS = 8


@dataclass
class Seen:
    label: str
    url: str
    snippet: str


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _host_matches(host: str, hosts: list[str]) -> bool:
    return bool(host) and any(host == h or host.endswith("." + h) for h in hosts)


def _image_words(page: Page) -> list[tuple[str, str]]:
    """(words, where) for each image: alt, title and the file name split into words ("bitcoin-logo.svg")."""
    out = []
    for img in page.images:
        name = urlsplit(img.src).path.rsplit("/", 1)[-1] if img.src else ""
        name = re.sub(r"\.(?:png|jpe?g|gif|svg|webp|avif)$", "", name, flags=re.I)
        words = " ".join(filter(None, (img.alt, img.title, re.sub(r"[-_.+]+", " ", name))))
        if words.strip():
            out.append((words, f"Image: {img.alt or img.title or name}"))
    return out


def _hosts(page: Page) -> list[tuple[str, str, str]]:
    """(url, what, host) for every script, link, image and form action on the page; each address is parsed once,
    not once for every gateway and channel it is compared with."""
    urls = [(s, "Script") for s in page.scripts]
    urls += [(link.url, "Link") for link in page.links]
    urls += [(img.src, "Image") for img in page.images if img.src]
    urls += [(form.action, "Form posts to") for form in page.forms]
    return [(url, what, _host_of(url)) for url, what in urls]


def _with_list_lead_in(text: str, start: int, end: int) -> str:
    """The sentence, and when it is a short list item, the line that introduces the list ("We accept:")."""
    s, e = sentence_bounds(text, start, end)
    sentence = text[s:e]
    if e - s > LIST_ITEM_MAX:
        return sentence
    lines = text[max(0, s - 600) : s].split("\n")[:-1] if s else []
    for line in reversed(lines[-LIST_MAX_ITEMS:]):
        line = line.strip()
        if not line:
            continue
        if len(line) > LIST_ITEM_MAX or line.endswith(":"):
            return line + "\n" + sentence
    return sentence


@dataclass
class Reading:
    """How to tell an offer from advice: warning cues, and the words of a sentence about paying."""

    cues: re.Pattern | None = None
    about_paying: PhraseSet | None = None
    answers: qa.Reading | None = None  # the page's questions and answers


def _clause(text: str, s: int, e: int, start: int, end: int, follow: PhraseSet) -> str:
    """The clause of the sentence text[s:e] holding text[start:end], with a following clause that refers back
    ("Pay with Bitcoin, and get 15% off"). A discount in another clause is for the whole order ("Use code SAVE10
    for 10% off: pay by card, PayPal or bank transfer"), not for the channel."""
    cuts = [m.end() for m in _CLAUSE_END.finditer(text, s, start)]
    lo = cuts[-1] if cuts else s
    hi = e
    pos = end
    while True:
        m = _CLAUSE_END.search(text, pos, e)
        if not m:
            break
        nxt = m.end()
        following = _CLAUSE_END.search(text, nxt, e)
        piece = text[nxt : following.start() if following else e]
        if not (follow and (cue := follow.search(piece)) and not piece[: cue.start].strip()):
            hi = nxt - 1
            break
        pos = following.start() if following else e
    return text[lo:hi]


def _part_of_name(text: str, end: int, words: PhraseSet | None) -> bool:
    if words is None:
        return False
    nxt = re.match(r"[ \t]+([A-Z][\w.]*)", text[end : end + 40])
    return bool(nxt and words.search(nxt.group(1).rstrip(".")))


BEFORE_REACH = 30
_RECIPIENT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|(?<![\w$])\$[A-Za-z][\w-]{1,30}|(?<!\w)@[A-Za-z][\w.]{1,30}|\+?\d[\d\s().-]{8,}\d")


def _text_offers(page: Page, phrases: PhraseSet, context: PhraseSet | None = None, exclude: PhraseSet | None = None,
                 reading: Reading | None = None, name_words: PhraseSet | None = None, before: PhraseSet | None = None,
                 paid_with: PhraseSet | None = None):
    """Matches of `phrases` in the page text that are offered, not warned against; and those refused."""
    offered, refusals = [], []
    text = page.text
    reading = reading or Reading()
    answers = reading.answers
    for m in phrases.finditer(text, limit=MAX_MATCHES_PER_PAGE):
        if _part_of_name(text, m.end, name_words):
            continue
        if before is not None:
            s, e = sentence_bounds(text, m.start, m.end)
            if before.search(text[max(s, m.start - BEFORE_REACH) : m.start]) and not (
                paid_with is not None and paid_with.search(text[s:e])
            ):
                continue
        if context is not None or exclude is not None:
            sentence = _with_list_lead_in(text, m.start, m.end)
            if context is not None and not context.search(sentence):
                continue
            if exclude is not None and exclude.search(sentence):
                continue
        if refused(text, m.start, m.end):
            refusals.append(m)
            continue
        # A question offers nothing ("Can I pay with Bitcoin?"); its answer says whether the site takes it.
        s, e = sentence_bounds(text, m.start, m.end)
        pair = answers.question_at(m.start) if answers is not None else None
        if pair is not None or text[e : e + 1] == "?":
            if pair is not None and pair.reply > 0:
                offered.append(m)
            elif pair is not None and pair.reply < 0:
                refusals.append(m)
        elif not negated(text, m.start, m.end) and not warned(text, m.start, m.end, reading.cues, reading.about_paying):
            offered.append(m)
    return offered, refusals


def run(site: Site, config: Config):
    pages = [p for p in site.pages if p.status < 400]
    if not pages:
        return []
    follow = PhraseSet(tuple(config.incentive_follow_cues))
    cards: list[Seen] = []
    card_logos: list[Seen] = []
    card_refusals: list[Seen] = []
    gateways: list[Seen] = []
    red: dict[str, list[Seen]] = {}
    incentives: list[Seen] = []
    only_if_no_cards: dict[str, list[Seen]] = {}

    for page in pages:
        lang = page.language
        cards_phrases = qa.local(config.card_phrases, lang)
        card_context = qa.local(config.card_context, lang)
        incentive = qa.local(config.incentive_phrases, lang)
        # A clause that also names cards or a gateway offers the discount for them too.
        any_card = PhraseSet(qa.phrases_for(config.card_phrases, lang) + tuple(p for g in config.gateways for p in g.phrases))
        reading = Reading(_cues(qa.phrases_for(config.warning_cues, lang)), card_context, qa.read(page, config.qa))
        offered, refusals = _text_offers(page, cards_phrases, card_context, reading=reading)
        cards += [Seen(m.phrase, page.url, m.snippet) for m in offered]
        card_refusals += [Seen(m.phrase, page.url, m.snippet) for m in refusals]
        images = _image_words(page)
        hosts = _hosts(page)
        for words, where in images:
            m = cards_phrases.search(words)
            if m:
                card_logos.append(Seen(m.phrase, page.url, where))
        for gateway in config.gateways:
            matcher = PhraseSet(tuple(gateway.phrases))
            not_via = PhraseSet(tuple(gateway.exclude_context)) if gateway.exclude_context else None
            offered, _ = _text_offers(page, matcher, exclude=not_via, reading=reading)
            seen = [Seen(gateway.name, page.url, m.snippet) for m in offered[:1]]
            seen += [Seen(gateway.name, page.url, where) for words, where in images if matcher.search(words)][:1]
            seen += [Seen(gateway.name, page.url, f"{what} {url}") for url, what, host in hosts if _host_matches(host, gateway.hosts)][:1]
            gateways += seen
        for channel in config.red_flag_channels:
            matcher = qa.local(channel.phrases, lang)
            context = qa.local(channel.context, lang) if channel.context else None
            exclude = qa.local(channel.exclude_context, lang) if channel.exclude_context else None
            name_words = PhraseSet(tuple(channel.not_part_of_name)) if channel.not_part_of_name else None
            before = PhraseSet(tuple(channel.exclude_before)) if channel.exclude_before else None
            recipient = PhraseSet(tuple(channel.recipient_context)) if channel.recipient_context else None
            paid_with = PhraseSet(tuple(channel.paid_with)) if channel.paid_with else None
            offered, _ = _text_offers(page, matcher, context, exclude, reading, name_words, before, paid_with)
            found: list[Seen] = []
            unsure: list[Seen] = []
            for m in offered:
                s, e = sentence_bounds(page.text, m.start, m.end)
                sentence = page.text[s:e]
                clause = _clause(page.text, s, e, m.start, m.end, follow)
                rewarded = bool((_PERCENT.search(clause) or incentive.search(clause)) and not any_card.search(clause))
                if not rewarded and follow:
                    ns, ne = sentence_bounds(page.text, e + 1, e + 1)
                    following = page.text[max(ns, e + 1) : ne]
                    if (ns <= e + 2 and follow.search(following) and not cards_phrases.search(following)
                            and (_PERCENT.search(following) or incentive.search(following))):
                        rewarded = True
                        e = ne
                if rewarded:
                    incentives.append(Seen(channel.name, page.url, snippet_around(page.text, s, e, radius=0)))
                seen = Seen(channel.name, page.url, m.snippet)
                if recipient is None or rewarded or _RECIPIENT.search(sentence) or recipient.search(sentence):
                    found.append(seen)
                else:
                    unsure.append(seen)
            if channel.logos:
                logos = [Seen(channel.name, page.url, where) for words, where in images if matcher.search(words)]
                (found if recipient is None else unsure).extend(logos)
            found += [Seen(channel.name, page.url, f"{what} {url}") for url, what, host in hosts if _host_matches(host, channel.hosts)]
            if found:
                red.setdefault(channel.id, []).extend(found)
            if unsure:
                only_if_no_cards.setdefault(channel.id, []).extend(unsure)

    # A card logo is template artwork; when the text says cards are not taken ("Credit card payments are
    # temporarily unavailable"), the text is what the buyer is told at checkout.
    if not card_refusals or cards:
        cards += card_logos
    outcomes: list[Outcome] = []
    has_cards = bool(cards or gateways)
    if not has_cards:
        for channel_id, seen in only_if_no_cards.items():
            red.setdefault(channel_id, []).extend(seen)
    channel_names = {c.id: c.name for c in config.red_flag_channels}
    milder = {c.id for c in config.red_flag_channels if c.also_legitimate}
    beside_cards = {c.id for c in config.red_flag_channels if c.usual_beside_cards}
    if red:
        if has_cards:
            outcome_id = "transfer-with-cards" if set(red) <= beside_cards else "red-flag-with-cards"
        elif set(red) <= milder:
            outcome_id = "bank-transfer-only"
        else:
            outcome_id = "red-flag-only"
        outcome = Outcome(outcome_id, facts={"channels": sorted(channel_names[c] for c in red)})
        for channel_id, seen in red.items():
            outcome.add(seen[0].url, f"{seen[0].label}: {seen[0].snippet}")
        for s in (gateways or cards)[:1]:
            outcome.add(s.url, f"Card payment ({s.label}): {s.snippet}")
        outcomes.append(outcome)
    elif gateways:
        outcome = Outcome("cards-via-gateway", facts={"gateways": sorted({g.label for g in gateways})})
        for s in gateways:
            outcome.add(s.url, f"{s.label}: {s.snippet}")
        outcomes.append(outcome)
    elif cards:
        outcome = Outcome("cards-no-gateway-seen")
        for s in cards[:3]:
            outcome.add(s.url, s.snippet)
        outcomes.append(outcome)
    elif card_refusals:
        outcome = Outcome("cards-refused")
        for s in card_refusals[:3]:
            outcome.add(s.url, s.snippet)
        outcomes.append(outcome)
    else:
        outcomes.append(
            Outcome("none-found", facts={"pages_read": [p.url for p in pages]})
            .add(site.final_url, "Pages read: " + ", ".join(p.url for p in pages))
        )
    if red and card_refusals and not has_cards:
        for s in card_refusals[:1]:
            outcomes[0].add(s.url, f"Cards refused: {s.snippet}")
    if incentives:
        outcome = Outcome("incentive-outside-cards")
        for s in incentives:
            outcome.add(s.url, f"{s.label}: {s.snippet}")
        outcomes.append(outcome)
    return outcomes


CHECK = Check(id="payment", outcomes=OUTCOMES, config_model=Config, run=run)
