"""Bounded content decoding.

httpx decompresses response bodies without a limit, so a 1 MiB gzip bomb becomes 1 GiB in memory. The fetcher
reads raw bytes and decodes them here instead: output is capped, at most two encoding layers are accepted, and
anything that is not gzip, deflate or identity is refused.
"""

from __future__ import annotations

import zlib

from ..netpolicy import FetchError

MAX_LAYERS = 2
KNOWN = {"gzip", "x-gzip", "deflate"}


def parse_content_encoding(header: str | None) -> list[str]:
    """The encodings in the order they were applied; raises FetchError(bad_encoding) for what we will not decode."""
    layers = [t.strip().lower() for t in (header or "").split(",")]
    layers = [t for t in layers if t and t != "identity"]
    if len(layers) > MAX_LAYERS:
        raise FetchError("bad_encoding", f"The site compresses its page in {len(layers)} layers; at most {MAX_LAYERS} are accepted.")
    for t in layers:
        if t not in KNOWN:
            raise FetchError("bad_encoding", f"The site uses a content encoding pharmacheck does not accept ({t[:30]}).")
    return layers


class _Layer:
    def __init__(self, name: str):
        self.name = name
        # gzip: a gzip header; deflate: officially zlib-wrapped, but many servers send a raw stream.
        self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS if name in ("gzip", "x-gzip") else zlib.MAX_WBITS)
        self._first = True
        self.finished = False
        self.capped = False

    def feed(self, data: bytes, limit: int) -> bytes:
        if self.finished or not data:
            return b""
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error:
            if self._first and self.name == "deflate":
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                self._first = False
                return self.feed(data, limit)
            raise
        self._first = False
        # Output stopped at the limit with input left over: the rest is never decoded.
        self.capped = bool(self._obj.unconsumed_tail)
        if self._obj.eof:
            # Trailing bytes after the end of the stream are ignored, as browsers do.
            self.finished = True
        return out


class BoundedDecoder:
    """Feed raw chunks, read decoded bytes; stops at `limit` decoded bytes and reports that it did."""

    def __init__(self, encodings: list[str], limit: int):
        self.limit = limit
        # Undo the last-applied encoding first.
        self._layers = [_Layer(name) for name in reversed(encodings)]
        self._out: list[bytes] = []
        self.size = 0
        self.full = False
        self.corrupt = False

    def feed(self, chunk: bytes) -> None:
        if self.full or self.corrupt or not chunk:
            return
        data = chunk
        try:
            for layer in self._layers:
                # Asking for one byte more than fits shows whether the cap was hit.
                data = layer.feed(data, self.limit - self.size + 1)
        except zlib.error:
            self.corrupt = True
            return
        room = self.limit - self.size
        if len(data) > room or any(layer.capped for layer in self._layers):
            data = data[:room]
            self.full = True
        self._out.append(data)
        self.size += len(data)

    def result(self) -> bytes:
        return b"".join(self._out)
