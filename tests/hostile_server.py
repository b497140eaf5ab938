"""Hostile HTTP servers on loopback, built on asyncio so each misbehaviour is exact down to the byte.

`HostileServer` listens on 127.0.0.2 (the "public" site, reached through an exact --resolve allowance) and serves
one misbehaviour per path. `Canary` listens on 127.0.0.1 and only counts connections: every request-forgery
test asserts that it saw none. Both run on their own event loop in a thread, so a client that blocks its own
loop cannot hide a server-side connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import struct
import threading
import zlib
from collections import Counter
from urllib.parse import parse_qs, urlsplit

PUBLIC_ADDRESS = "127.0.0.2"
CANARY_ADDRESS = "127.0.0.1"

NORMAL_PAGE = (
    b"<!doctype html><html lang=en><head><title>Corner Pharmacy</title></head><body>"
    b"<h1>Corner Pharmacy</h1><p>Licensed pharmacy. Call us.</p>"
    b'<a href="/contact">Contact us</a></body></html>'
)


# What the stalling and dripping servers send first: an offer a check must still find in the part that arrived.
DRIP_PAGE = (
    b"<html><head><title>Pill Drip</title></head><body><p>Buy Viagra 100mg online, no prescription needed.</p>"
)


def spa_page(kind: str, query: dict) -> bytes:
    """Pages that build themselves with JavaScript and misbehave once running in a browser."""
    shell = '<html><head><title>Shop</title>{head}</head><body><div id="root"></div><script>{script}</script></body></html>'
    build = ("document.getElementById('root').innerHTML = '<h1>Pill Shop</h1><p>Buy Viagra 100mg online, no "
             "prescription needed.</p><a href=\"/contact\">Contact us</a>';")
    if kind == "forgery":
        # Everything a page can do to reach an internal service, from inside the browser.
        targets = [t for t in query.get("to", [])]
        tags = "".join(f'<link rel="preconnect" href="{t}"><link rel="prefetch" href="{t}">' for t in targets[:3])
        script = build + "".join(
            f"fetch({t!r}).catch(function(){{}});"
            f"var i=new Image(); i.src={t!r};"
            f"try{{new WebSocket({t.replace('http', 'ws')!r});}}catch(e){{}}"
            f"navigator.sendBeacon && navigator.sendBeacon({t!r}, 'x');"
            f"var f=document.createElement('iframe'); f.src={t!r}; document.body.appendChild(f);"
            f"try{{new EventSource({t!r});}}catch(e){{}}"
            for t in targets
        ) + ("fetch('/ok', {method: 'POST', body: 'card=4111111111111111'}).catch(function(){});"
             "var x=new XMLHttpRequest(); x.open('PUT', '/ok'); x.send('x');")
        return shell.format(head=tags, script=script).encode()
    if kind == "hog":
        # Grows its heap without end: the heap cap must stop it.
        return shell.format(head="", script=build + "var hog=[]; (function grow(){ for (var i=0;i<200;i++) hog.push(new Array(100000).fill(i)); setTimeout(grow, 0); })();").encode()
    if kind == "busy":
        # Never lets the network fall quiet: a request every 100 ms for ever.
        return shell.format(head="", script=build + "setInterval(function(){ fetch('/ok?' + Math.random()).catch(function(){}); }, 100);").encode()
    return shell.format(head="", script=build).encode()


def gzip_bomb(total: int = 1 << 30) -> bytes:
    """A valid gzip stream of `total` zero bytes (1 GiB by default) in about 1 MiB, built in well under a second.

    Each 1 MiB of zeros is compressed as a full-flush block; after the first, those blocks are identical bytes,
    so the stream is assembled by repetition rather than by compressing a gibibyte.
    """
    chunk = b"\0" * (1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeat = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush()[:-8]  # final empty block, without the trailer for two chunks
    count = total // len(chunk)
    crc = 0
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    return first + repeat * (count - 1) + end + struct.pack("<II", crc, total & 0xFFFFFFFF)


def gzip_layers(data: bytes, layers: int) -> bytes:
    for _ in range(layers):
        c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        data = c.compress(data) + c.flush()
    return data


MALFORMED = {
    "links10k": b"<html><head><title>Links</title></head><body>"
    + b"".join(b'<a href="/p%d">page %d</a>' % (i, i) for i in range(10_000))
    + b"</body></html>",
    "nested100k": b"<html><body>" + b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000 + b"</body></html>",
    "title1m": b"<html><head><title>" + b"T" * (1 << 20) + b"</title></head><body><p>after</p></body></html>",
    "comment2m": b"<html><body><p>before</p><!--" + b"c" * ((2 << 20) - 64),
    "invalid-utf8": b"<html><head><meta charset=utf-8><title>Bad \xff\xfe bytes \xc3</title></head><body>"
    + b"\xed\xa0\x80 \xf8\x88\x80\x80\x80 <p>Pharmacy \xe2\x82</p></body></html>",
    "bidi-title": "<html><head><title>Safe\u202eycamrahp\u202c \u200bPharmacy\u0007</title></head><body></body></html>".encode(),
    "unclosed": b"<html><body><p><b><i><table><tr><td><form><select><option>" * 3000,
    "attributes": b"<html><body><a " + b" ".join(b'a%d="%d"' % (i, i) for i in range(50_000)) + b' href="/x">x</a>',
    "huge-jsonld": b'<html><head><script type="application/ld+json">' + b"[" * 60_000 + b"]" * 60_000
    + b"</script></head><body>ok</body></html>",
}

CHARSET_CASES = {
    "lying-utf16": ("text/html; charset=utf-16", NORMAL_PAGE),
    "unknown-charset": ("text/html; charset=x-made-up-9", NORMAL_PAGE),
    "base64-charset": ("text/html; charset=base64", NORMAL_PAGE),
    "zlib-charset": ("text/html; charset=zlib", NORMAL_PAGE),
    "rot13-charset": ("text/html; charset=rot13", NORMAL_PAGE),
    "utf7-charset": ("text/html; charset=utf-7", NORMAL_PAGE),
    "meta-lying": ("text/html", b'<meta charset="shift_jis">' + NORMAL_PAGE + "\u00e9\u4e2d".encode()),
    # Python's punycode codec decodes in quadratic time: these 300 kB took seconds, 2 MiB took minutes.
    "punycode": ("text/html; charset=punycode", NORMAL_PAGE + b"x" * 150_000 + b"-" + b"a" * 150_000),
    "meta-punycode": ("text/html", b'<meta charset="punycode">' + NORMAL_PAGE + b"x" * 150_000 + b"-" + b"a" * 150_000),
}


# Phrase-dense text for the checks to search: one 2 MiB paragraph, linked to four more pages like it.
SPAM_TEXT = b"Buy Viagra 100mg online, no prescription needed, cheap Cialis 20mg overnight delivery. "
BIG_TEXT_LINKS = (b'<a href="/bigtext/contact">Contact us</a><a href="/bigtext/about">About us</a>'
                  b'<a href="/bigtext/faq">FAQ</a><a href="/bigtext/terms">Terms</a>')


def big_text_page(size: int = 2 << 20) -> bytes:
    head = b"<html><head><title>Pills</title></head><body>" + BIG_TEXT_LINKS + b"<p>"
    return head + SPAM_TEXT * ((size - len(head)) // len(SPAM_TEXT)) + b"</p></body></html>"


def _response(status: int, headers: dict[str, str] | list[tuple[str, str]], body: bytes = b"", reason: str = "X") -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in items)
    if not any(k.lower() == "content-length" for k, _ in items):
        head += f"Content-Length: {len(body)}\r\n"
    head += "Connection: close\r\n\r\n"
    return head.encode("utf-8") + body


class _LoopThread:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class Canary:
    """A listener on 127.0.0.1 standing in for an internal service; counts every connection it is offered."""

    def __init__(self):
        self.connections = 0
        self._lt = _LoopThread()

        async def start():
            async def on_connect(reader, writer):
                self.connections += 1
                writer.write(_response(200, {"Content-Type": "text/html"}, b"<title>internal admin</title>"))
                await writer.drain()
                writer.close()

            return await asyncio.start_server(on_connect, CANARY_ADDRESS, 0)

        self._server = self._lt.run(start())
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self):
        self._lt.run(self._close())
        self._lt.stop()

    async def _close(self):
        self._server.close()
        _cancel_others()


def _cancel_others():
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task():
            task.cancel()


class HostileServer:
    """One misbehaviour per path on 127.0.0.2; `hits` counts requests per path."""

    def __init__(self, address: str = PUBLIC_ADDRESS):
        self.address = address
        self.hits: Counter = Counter()
        self.connections = 0
        self.bomb = gzip_bomb()
        self.big_text = big_text_page()
        self._lt = _LoopThread()
        self._server = self._lt.run(asyncio.start_server(self._on_connect, address, 0, limit=1 << 20))
        self.port = self._server.sockets[0].getsockname()[1]

    def url(self, path: str, host: str = "hostile.test") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self):
        self._lt.run(self._close())
        self._lt.stop()

    async def _close(self):
        self._server.close()
        _cancel_others()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            target = request_line.split(" ")[1]
            parts = urlsplit(target)
            self.hits[parts.path] += 1
            await self._serve(parts.path, parse_qs(parts.query), head, writer)
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError, IndexError, asyncio.LimitOverrunError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    async def _drip(self, writer, data: bytes, every: float):
        for i in range(len(data)):
            writer.write(data[i : i + 1])
            await writer.drain()
            await asyncio.sleep(every)

    async def _serve(self, path: str, query: dict, head: bytes, writer: asyncio.StreamWriter) -> None:
        html = {"Content-Type": "text/html; charset=utf-8"}
        if path in ("/", "/ok", "/contact"):
            writer.write(_response(200, html, NORMAL_PAGE))
        elif path == "/echo-host":
            host = next((ln.split(b":", 1)[1].strip() for ln in head.split(b"\r\n") if ln.lower().startswith(b"host:")), b"")
            writer.write(_response(200, html, b"<html><body><p>host=" + host + b"</p></body></html>"))
        elif path == "/slow-headers":
            await self._drip(writer, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Drip: " + b"a" * 10_000, 0.05)
        elif path == "/slow-body":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n<html><body><p>")
            await self._drip(writer, b"drip " * 20_000, 0.05)
        elif path == "/stall-body":
            # Half a page at once, then silence: the connection stays open and nothing more ever comes.
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n" + DRIP_PAGE[:200])
            await writer.drain()
            await asyncio.sleep(60)
        elif path == "/drip-page":
            # A pharmacy page one byte at a time, 20 a second: its offer arrives before the deadline, the rest never.
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
            await self._drip(writer, DRIP_PAGE + b"<p>" + b"more " * 20_000, float(query.get("every", ["0.05"])[0]))
        elif path.startswith("/spa/"):
            writer.write(_response(200, html, spa_page(path[5:], query)))
        elif path == "/never":
            await asyncio.sleep(60)
        elif path == "/endless":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>")
            line = b"<p>more and more text for ever</p>\n" * 1000
            for _ in range(100_000):  # about 3.6 GB if nobody stops reading
                writer.write(line)
                await writer.drain()
        elif path == "/bomb":
            writer.write(_response(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, self.bomb))
        elif path == "/bomb-html":
            body = b"<html><body><p>" + b" " * (8 << 20)
            writer.write(_response(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, gzip_layers(body, 1)))
        elif path == "/gzip2":
            writer.write(_response(200, {**html, "Content-Encoding": "gzip, gzip"}, gzip_layers(NORMAL_PAGE, 2)))
        elif path == "/gzip6":
            enc = ", ".join(["gzip"] * 6)
            writer.write(_response(200, {**html, "Content-Encoding": enc}, gzip_layers(NORMAL_PAGE, 6)))
        elif path == "/gzip6-hidden":
            writer.write(_response(200, {**html, "Content-Encoding": "gzip"}, gzip_layers(NORMAL_PAGE, 6)))
        elif path == "/deflate-raw":
            c = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
            writer.write(_response(200, {**html, "Content-Encoding": "deflate"}, c.compress(NORMAL_PAGE) + c.flush()))
        elif path == "/deflate-zlib":
            writer.write(_response(200, {**html, "Content-Encoding": "deflate"}, zlib.compress(NORMAL_PAGE)))
        elif path == "/corrupt-gzip":
            writer.write(_response(200, {**html, "Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00garbage" * 50))
        elif path == "/unknown-encoding":
            writer.write(_response(200, {**html, "Content-Encoding": "br"}, b"\x0b\x02\x80hello"))
        elif path == "/lying-length-short":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000000\r\n\r\n" + NORMAL_PAGE)
            await writer.drain()
        elif path == "/lying-length-long":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 20\r\n\r\n" + NORMAL_PAGE * 100)
            await writer.drain()
        elif path == "/huge-length":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 99999999999999\r\n\r\n<html><body>")
            chunk = b"<p>x</p>" * 8192
            for _ in range(1000):
                writer.write(chunk)
                await writer.drain()
        elif path == "/big-header":
            writer.write(_response(200, {**html, "X-Big": "h" * (200 * 1024)}, NORMAL_PAGE))
        elif path == "/many-headers":
            writer.write(_response(200, [("Content-Type", "text/html")] + [(f"X-H{i}", "v") for i in range(20_000)], NORMAL_PAGE))
        elif path == "/loop":
            writer.write(_response(302, {"Location": "/loop"}))
        elif path.startswith("/chain/"):
            n = int(path.rsplit("/", 1)[1])
            writer.write(_response(302, {"Location": f"/chain/{n - 1}"}) if n > 0 else _response(200, html, NORMAL_PAGE))
        elif path == "/redirect":
            code = int(query.get("code", ["302"])[0])
            writer.write(_response(code, {"Location": query["to"][0]}))
        elif path == "/binary":
            writer.write(_response(200, html, os.urandom(64 * 1024)))
        elif path == "/pdf":
            writer.write(_response(200, {"Content-Type": "application/pdf"}, b"%PDF-1.4 ..."))
        elif path == "/no-type":
            writer.write(_response(200, {}, NORMAL_PAGE))
        elif path == "/refresh":
            to = query["to"][0]
            writer.write(_response(200, html, f'<html><head><meta http-equiv="refresh" content="0; url={to}"></head></html>'.encode()))
        elif path in ("/drip-refresh", "/drip-next"):
            # A whole page at once, then a space every 50 ms for ever: each fetch runs into its deadline.
            refresh = b'<meta http-equiv="refresh" content="0;url=/drip-next">' if path == "/drip-refresh" else b""
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><head><title>Drip</title>" + refresh
                         + b'</head><body><a href="/contact">Contact us</a><a href="/about">About us</a>'
                         + b'<a href="/faq">FAQ</a><a href="/terms">Terms</a>')
            for _ in range(2000):
                await writer.drain()
                await asyncio.sleep(0.05)
                writer.write(b" ")
        elif path == "/bidi-links":
            body = '<html><body><a href="/contact?\u202eevil">Contact us</a><a href="/faq\u2066">FAQ</a></body></html>'
            writer.write(_response(200, html, body.encode()))
        elif path == "/bigtext" or path.startswith("/bigtext/"):
            writer.write(_response(200, html, self.big_text))
        elif path.startswith("/html/"):
            writer.write(_response(200, html, MALFORMED[path[6:]]))
        elif path.startswith("/charset/"):
            ctype, body = CHARSET_CASES[path[9:]]
            writer.write(_response(200, {"Content-Type": ctype}, body))
        else:
            writer.write(_response(404, html, b"<html><body>Not found</body></html>"))
        await writer.drain()


def _serve_until_stopped(queue, stop) -> None:
    hostile = HostileServer()
    queue.put((hostile.address, hostile.port))
    stop.wait()
    hostile.close()


@contextlib.contextmanager
def hostile_server_process():
    """(address, port) of a HostileServer in a process of its own, so that its work does not count against the
    process being measured."""
    ctx = multiprocessing.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    process = ctx.Process(target=_serve_until_stopped, args=(queue, stop), daemon=True)
    process.start()
    try:
        yield queue.get(timeout=60)
    finally:
        stop.set()
        process.join(10)
