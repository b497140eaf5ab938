"""Turning a page's bytes into text the way a browser does, with only the decoders a browser has.

Python's codec registry holds far more than web encodings, and a hostile server picks one by naming it in
`charset=`: `punycode` and `idna` decode in quadratic time (2 MiB of `charset=punycode` took three minutes),
`unicode_escape` turns `\\x3c` into markup, `utf-7` smuggles tags past filters, `undefined` raises. Browsers
know only the labels of the WHATWG Encoding Standard (https://encoding.spec.whatwg.org/#names-and-labels); a
label outside it is ignored, as if the page had declared nothing. Every decoder left is linear in the input.
"""

from __future__ import annotations

import codecs
import functools
import re
from dataclasses import dataclass

# Encoding Standard name -> the Python codec that decodes it. GBK is decoded with gb18030, Big5 with HKSCS,
# Shift_JIS as windows-31j and EUC-KR as windows-949, the supersets the Standard specifies.
_CODECS = {
    "UTF-8": "utf-8", "IBM866": "cp866", "ISO-8859-2": "iso8859_2", "ISO-8859-3": "iso8859_3",
    "ISO-8859-4": "iso8859_4", "ISO-8859-5": "iso8859_5", "ISO-8859-6": "iso8859_6", "ISO-8859-7": "iso8859_7",
    "ISO-8859-8": "iso8859_8", "ISO-8859-8-I": "iso8859_8", "ISO-8859-10": "iso8859_10",
    "ISO-8859-13": "iso8859_13", "ISO-8859-14": "iso8859_14", "ISO-8859-15": "iso8859_15",
    "ISO-8859-16": "iso8859_16", "KOI8-R": "koi8_r", "KOI8-U": "koi8_u", "macintosh": "mac_roman",
    "windows-874": "cp874", "windows-1250": "cp1250", "windows-1251": "cp1251", "windows-1252": "cp1252",
    "windows-1253": "cp1253", "windows-1254": "cp1254", "windows-1255": "cp1255", "windows-1256": "cp1256",
    "windows-1257": "cp1257", "windows-1258": "cp1258", "x-mac-cyrillic": "mac_cyrillic", "GBK": "gb18030",
    "gb18030": "gb18030", "Big5": "big5hkscs", "EUC-JP": "euc_jp", "ISO-2022-JP": "iso2022_jp",
    "Shift_JIS": "cp932", "EUC-KR": "cp949", "UTF-16BE": "utf-16-be", "UTF-16LE": "utf-16-le",
}
_SINGLE_BYTE = {
    "IBM866", "ISO-8859-2", "ISO-8859-3", "ISO-8859-4", "ISO-8859-5", "ISO-8859-6", "ISO-8859-7", "ISO-8859-8",
    "ISO-8859-8-I", "ISO-8859-10", "ISO-8859-13", "ISO-8859-14", "ISO-8859-15", "ISO-8859-16", "KOI8-R",
    "KOI8-U", "macintosh", "windows-874", "windows-1250", "windows-1251", "windows-1252", "windows-1253",
    "windows-1254", "windows-1255", "windows-1256", "windows-1257", "windows-1258", "x-mac-cyrillic",
}

_LABELS_BY_NAME = {
    "UTF-8": "unicode-1-1-utf-8 unicode11utf8 unicode20utf8 utf-8 utf8 x-unicode20utf8",
    "IBM866": "866 cp866 csibm866 ibm866",
    "ISO-8859-2": "csisolatin2 iso-8859-2 iso-ir-101 iso8859-2 iso88592 iso_8859-2 iso_8859-2:1987 l2 latin2",
    "ISO-8859-3": "csisolatin3 iso-8859-3 iso-ir-109 iso8859-3 iso88593 iso_8859-3 iso_8859-3:1988 l3 latin3",
    "ISO-8859-4": "csisolatin4 iso-8859-4 iso-ir-110 iso8859-4 iso88594 iso_8859-4 iso_8859-4:1988 l4 latin4",
    "ISO-8859-5": "csisolatincyrillic cyrillic iso-8859-5 iso-ir-144 iso8859-5 iso88595 iso_8859-5 iso_8859-5:1988",
    "ISO-8859-6": "arabic asmo-708 csiso88596e csiso88596i csisolatinarabic ecma-114 iso-8859-6 iso-8859-6-e "
    "iso-8859-6-i iso-ir-127 iso8859-6 iso88596 iso_8859-6 iso_8859-6:1987",
    "ISO-8859-7": "csisolatingreek ecma-118 elot_928 greek greek8 iso-8859-7 iso-ir-126 iso8859-7 iso88597 "
    "iso_8859-7 iso_8859-7:1987 sun_eu_greek",
    "ISO-8859-8": "csiso88598e csisolatinhebrew hebrew iso-8859-8 iso-8859-8-e iso-ir-138 iso8859-8 iso88598 "
    "iso_8859-8 iso_8859-8:1988 visual",
    "ISO-8859-8-I": "csiso88598i iso-8859-8-i logical",
    "ISO-8859-10": "csisolatin6 iso-8859-10 iso-ir-157 iso8859-10 iso885910 l6 latin6",
    "ISO-8859-13": "iso-8859-13 iso8859-13 iso885913",
    "ISO-8859-14": "iso-8859-14 iso8859-14 iso885914",
    "ISO-8859-15": "csisolatin9 iso-8859-15 iso8859-15 iso885915 iso_8859-15 l9",
    "ISO-8859-16": "iso-8859-16",
    "KOI8-R": "cskoi8r koi koi8 koi8-r koi8_r",
    "KOI8-U": "koi8-ru koi8-u",
    "macintosh": "csmacintosh mac macintosh x-mac-roman",
    "windows-874": "dos-874 iso-8859-11 iso8859-11 iso885911 tis-620 windows-874",
    "windows-1250": "cp1250 windows-1250 x-cp1250",
    "windows-1251": "cp1251 windows-1251 x-cp1251",
    "windows-1252": "ansi_x3.4-1968 ascii cp1252 cp819 csisolatin1 ibm819 iso-8859-1 iso-ir-100 iso8859-1 "
    "iso88591 iso_8859-1 iso_8859-1:1987 l1 latin1 us-ascii windows-1252 x-cp1252",
    "windows-1253": "cp1253 windows-1253 x-cp1253",
    "windows-1254": "cp1254 csisolatin5 iso-8859-9 iso-ir-148 iso8859-9 iso88599 iso_8859-9 iso_8859-9:1989 l5 "
    "latin5 windows-1254 x-cp1254",
    "windows-1255": "cp1255 windows-1255 x-cp1255",
    "windows-1256": "cp1256 windows-1256 x-cp1256",
    "windows-1257": "cp1257 windows-1257 x-cp1257",
    "windows-1258": "cp1258 windows-1258 x-cp1258",
    "x-mac-cyrillic": "x-mac-cyrillic x-mac-ukrainian",
    "GBK": "chinese csgb2312 csiso58gb231280 gb2312 gb_2312 gb_2312-80 gbk iso-ir-58 x-gbk",
    "gb18030": "gb18030",
    "Big5": "big5 big5-hkscs cn-big5 csbig5 x-x-big5",
    "EUC-JP": "cseucpkdfmtjapanese euc-jp x-euc-jp",
    "ISO-2022-JP": "csiso2022jp iso-2022-jp",
    "Shift_JIS": "csshiftjis ms932 ms_kanji shift-jis shift_jis sjis windows-31j x-sjis",
    "EUC-KR": "cseuckr csksc56011987 euc-kr iso-ir-149 korean ks_c_5601-1987 ks_c_5601-1989 ksc5601 ksc_5601 "
    "windows-949",
    "replacement": "csiso2022kr hz-gb-2312 iso-2022-cn iso-2022-cn-ext iso-2022-kr replacement",
    "UTF-16BE": "unicodefffe utf-16be",
    "UTF-16LE": "csunicode iso-10646-ucs-2 ucs-2 unicode unicodefeff utf-16 utf-16le",
    "x-user-defined": "x-user-defined",
}
LABELS = {label: name for name, labels in _LABELS_BY_NAME.items() for label in labels.split()}

_META_CHARSET = re.compile(rb"""<meta[^>]{0,512}?charset\s*=\s*["']?([A-Za-z0-9_\-:.]{1,40})""", re.I)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*['\"]?([A-Za-z0-9_\-:.]{1,40})", re.I)
_META_SCAN_BYTES = 4096


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the Encoding Standard name the text was read as
    note: str = ""  # set when a declared charset was not used, and why


def encoding_for_label(label: str | None) -> str | None:
    """The Encoding Standard name for a charset label, None when browsers do not know the label."""
    if not label:
        return None
    return LABELS.get(label.strip("\t\n\f\r ").lower())


@functools.lru_cache(maxsize=None)
def _byte_table(name: str) -> str:
    # A 256-entry table decodes through codecs.charmap_decode in one linear pass; the codec itself would call
    # its error handler once per unmapped byte, which made 2 MiB of them cost half a second.
    if name == "x-user-defined":
        return "".join(chr(b) if b < 0x80 else chr(0xF780 + b - 0x80) for b in range(256))
    return "".join(bytes([b]).decode(_CODECS[name], errors="replace") for b in range(256))


def _decode(body: bytes, name: str) -> str:
    if name == "replacement":
        # The Standard's decoder for ISO-2022-KR, HZ and the like, which were used to slip script past filters.
        return "\ufffd" if body else ""
    if name in _SINGLE_BYTE or name == "x-user-defined":
        return codecs.charmap_decode(body, "strict", _byte_table(name))[0]
    return body.decode(_CODECS[name], errors="replace")


def decode_document(body: bytes, content_type: str) -> Decoded:
    """Text of a page: a BOM first, then the HTTP charset, then a <meta> charset, then UTF-8; never raises."""
    if body.startswith(codecs.BOM_UTF8):
        return Decoded(body[len(codecs.BOM_UTF8):].decode("utf-8", errors="replace"), "UTF-8")
    if body.startswith(codecs.BOM_UTF16_LE):
        return Decoded(body[2:].decode("utf-16-le", errors="replace"), "UTF-16LE")
    if body.startswith(codecs.BOM_UTF16_BE):
        return Decoded(body[2:].decode("utf-16-be", errors="replace"), "UTF-16BE")
    ignored: list[str] = []
    m = _HEADER_CHARSET.search(content_type or "")
    name = None
    if m:
        name = encoding_for_label(m.group(1))
        if name is None:
            ignored.append(m.group(1))
    if name is None:
        m2 = _META_CHARSET.search(body[:_META_SCAN_BYTES])
        if m2:
            label = m2.group(1).decode("ascii", "ignore")
            name = encoding_for_label(label)
            if name is None:
                ignored.append(label)
            elif name in ("UTF-16BE", "UTF-16LE"):
                # A document that can carry an ASCII <meta> is not UTF-16, so the HTML Standard reads it as UTF-8.
                name = "UTF-8"
            elif name == "x-user-defined":
                name = "windows-1252"
    name = name or "UTF-8"
    note = ""
    if ignored:
        declared = " and ".join(f'"{label}"' for label in ignored)
        note = f"The page declared the charset {declared}, which is not a web encoding; it was read as {name}."
    return Decoded(_decode(body, name), name, note)
