"""Characters that change how text reads, or hide text, without being seen themselves.

The rule: control characters (Unicode category Cc) except the tab and line breaks that separate words, format
characters (Cf: bidi embeddings, overrides and isolates, zero-width spaces and joiners, the soft hyphen, word
joiners, interlinear annotation marks, tag characters), and the rest of Unicode's Default_Ignorable_Code_Point
set: Hangul fillers, the combining grapheme joiner, Mongolian and ordinary variation selectors. Variation
selectors only pick a glyph style (an emoji drawn as text or as a picture), never a different word, and a run of
them after any visible character can carry a hidden message of arbitrary bytes, so they go too.

Python's `unicodedata` has no Default_Ignorable_Code_Point property, so the table is written out;
tests/test_page_robustness.py checks it covers every Cc and Cf character of the running Python's Unicode.
"""

from __future__ import annotations

import re
from urllib.parse import quote

INVISIBLE_RANGES = (
    (0x0000, 0x0008), (0x000B, 0x000C), (0x000E, 0x001F), (0x007F, 0x009F),  # controls but \t \n \r
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2),
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, joiners, LRM, RLM
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated format characters
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (byte order mark)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFFB),  # interlinear annotation
    (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x1343F), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),  # tag characters, variation selectors supplement
)

# One character class rather than str.translate: on 200,000 characters of non-ASCII text the regular expression
# takes about 2 ms and a translate table about 37 ms (translate is only faster on pure ASCII).
INVISIBLE = re.compile(
    "[" + "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b != a else "") for a, b in INVISIBLE_RANGES) + "]"
)


def strip_invisible(text: str) -> str:
    return INVISIBLE.sub("", text)


def encode_invisible(url: str) -> str:
    """`url` with its invisible characters percent-encoded (as UTF-8): a URL keeps pointing where it pointed, and
    no reader of a report, terminal or log sees its text reordered. RFC 3987 forbids bidi controls in IRIs."""
    return INVISIBLE.sub(lambda m: quote(m.group(), safe=""), url)

