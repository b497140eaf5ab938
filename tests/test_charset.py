"""Page decoding knows the Encoding Standard's labels and nothing else, and every decoder left is linear."""

from __future__ import annotations

import codecs
import os
import time

import pytest

from app.net.charset import LABELS, decode_document, encoding_for_label

PAGE = "<html><head><title>Pharmacie</title></head><body>Caf\u00e9</body></html>"


# Codecs Python has and browsers do not: slow (punycode, idna), markup-making (unicode_escape, utf-7), raising
# (undefined) or not text at all (base64, zlib, rot13).
@pytest.mark.parametrize("label", [
    "punycode", "idna", "unicode_escape", "raw_unicode_escape", "unicode-escape", "undefined", "palmos", "utf-7",
    "utf7", "base64", "zlib", "rot13", "hex", "uu", "bz2", "quopri", "utf-32", "utf_8_sig", "cp037", "mbcs",
    "x-made-up-9", "",
])
def test_labels_browsers_do_not_know_are_ignored_and_noted(label):
    body = b"<html><body>abc \xc3\xa9</body></html>"
    decoded = decode_document(body, f"text/html; charset={label}")
    assert decoded.text == body.decode("utf-8") and decoded.encoding == "UTF-8"
    if label:
        assert f'"{label}"' in decoded.note
    meta = decode_document(f'<meta charset="{label}">'.encode() + body, "text/html")
    assert meta.encoding == "UTF-8" and "\u00e9" in meta.text


def test_every_standard_label_has_a_decoder():
    assert len(LABELS) == 228  # https://encoding.spec.whatwg.org/encodings.json
    for label, name in LABELS.items():
        decoded = decode_document(b"<p>ok \xe9</p>", f"text/html; charset={label}")
        assert decoded.encoding == name and decoded.note == ""
        assert isinstance(decoded.text, str)


@pytest.mark.parametrize("label,expected", [
    ("ISO-8859-1", "windows-1252"), ("latin1", "windows-1252"), ("US-ASCII", "windows-1252"),
    (" utf8 ", "UTF-8"), ("Shift_JIS", "Shift_JIS"), ("gb2312", "GBK"), ("iso-2022-kr", "replacement"),
    ("utf-16", "UTF-16LE"), ("tis-620", "windows-874"), ("utf-7", None), ("punycode", None),
])
def test_labels_map_as_the_standard_says(label, expected):
    assert encoding_for_label(label) == expected


def test_a_header_charset_wins_over_meta_and_a_bom_over_both():
    body = '<meta charset="utf-8"><p>\u00e9</p>'.encode("cp1252")
    assert decode_document(body, "text/html; charset=windows-1252").text.endswith("\u00e9</p>")
    assert decode_document(codecs.BOM_UTF8 + PAGE.encode(), "text/html; charset=koi8-r").text == PAGE
    assert decode_document(codecs.BOM_UTF16_BE + PAGE.encode("utf-16-be"), "text/html").text == PAGE


def test_meta_cannot_declare_utf16_or_x_user_defined():
    # An ASCII <meta> proves the document is not UTF-16; x-user-defined in <meta> means windows-1252.
    assert decode_document(b'<meta charset="utf-16"><p>ok</p>', "text/html").encoding == "UTF-8"
    decoded = decode_document(b'<meta charset="x-user-defined"><p>\x80</p>', "text/html")
    assert decoded.encoding == "windows-1252" and "\u20ac" in decoded.text


def test_replacement_and_x_user_defined_decode_as_the_standard_says():
    assert decode_document(b"\x1b$)C<script>", "text/html; charset=iso-2022-kr").text == "\ufffd"
    assert decode_document(b"a\x80\xff", "text/html; charset=x-user-defined").text == "a\uf780\uf7ff"


@pytest.mark.parametrize("name", sorted(set(LABELS.values())))
def test_every_decoder_is_linear_on_hostile_bytes(name):
    label = next(label for label, n in LABELS.items() if n == name)
    cases = [
        os.urandom(2 << 20),
        b"\x81" * (2 << 20),  # unmapped in most single-byte tables
        (b"\x1b$B\x30\x21\x1b(Ba") * ((2 << 20) // 8),  # ISO-2022-JP escapes
        b"x" * (1 << 20) + b"-" + b"a" * (1 << 20),  # what made punycode quadratic
    ]
    for body in cases:
        started = time.monotonic()
        decode_document(body, f"text/html; charset={label}")
        assert time.monotonic() - started < 2.0  # about 50 ms for the slowest here; the bound allows a busy machine
