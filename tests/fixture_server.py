"""Fixture pharmacy sites served over HTTPS on loopback, with a test CA (trustme).

Each folder under tests/sites/ is one site, named by its host; `/` serves index.html and `/contact` serves
contact.html; a file `PAGE.headers` beside a page adds its `Name: value` lines to that page's response. Tests reach the sites through the same `--resolve` and `--cacert` settings a user would use, so
nothing in the product knows about test hosts.
"""

from __future__ import annotations

import random
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trustme

from app.settings import ResolveEntry, Settings

SITES_DIR = Path(__file__).parent / "sites"
CONTENT_TYPES = {".html": "text/html; charset=utf-8", "": "text/html; charset=utf-8", ".js": "text/javascript",
                 ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}


def site_hosts() -> list[str]:
    return sorted(p.name for p in SITES_DIR.iterdir() if p.is_dir())


def _resolve_file(host: str, path: str) -> Path | None:
    root = SITES_DIR / host
    if not root.is_dir():
        return None
    clean = path.split("?", 1)[0].split("#", 1)[0].strip("/")
    if ".." in clean.split("/"):
        return None
    candidates = [root / "index.html"] if not clean else [root / clean, root / f"{clean}.html", root / clean / "index.html"]
    for c in candidates:
        if c.is_file():
            return c
    return None


class _Handler(BaseHTTPRequestHandler):
    server_version = "fixture"

    def log_message(self, *args):  # keep test output clean
        pass

    def _record(self):
        # What every request carried, so tests can assert what pharmacheck sends (methods, cookies, bodies).
        self.server.requests.append((self.command, self.headers.get("Host") or "", self.path, dict(self.headers.items())))

    def do_POST(self):  # pharmacheck never sends data; a test that sees one of these fails
        self._record()
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_PUT = do_DELETE = do_PATCH = do_POST

    def do_GET(self):
        self._record()
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
        file = _resolve_file(host, self.path)
        redirects = getattr(self.server, "redirects", {})
        if (host, self.path) in redirects:
            self.send_response(301)
            self.send_header("Location", redirects[(host, self.path)])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if file is None:
            body = b"<html><body><h1>Not found</h1></body></html>"
            self.send_response(404)
        else:
            body = file.read_bytes()
            self.send_response(200)
        ctype = CONTENT_TYPES.get(file.suffix if file is not None else ".html", "application/octet-stream")
        self.send_header("Content-Type", ctype)
        extra = file.with_name(file.name + ".headers") if file is not None else None
        if extra is not None and extra.is_file():  # a page that needs its own headers, such as a strict CSP
            for line in extra.read_text(encoding="utf-8").splitlines():
                name, _, value = line.partition(":")
                if name.strip() and value.strip():
                    self.send_header(name.strip(), value.strip())
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FixtureSites:
    """A running HTTPS server for every fixture site, plus the settings that reach it."""

    def __init__(self, tmp_dir: Path, hosts: list[str] | None = None):
        self.hosts = hosts or site_hosts()
        self.ca = trustme.CA()
        self.cert = self.ca.issue_cert(*self.hosts)
        self.ca_path = tmp_dir / "fixture-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.cert.configure_cert(ctx)
        # A random loopback address keeps parallel test runs on one machine out of each other's way.
        self.address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        self.server = ThreadingHTTPServer((self.address, 0), _Handler)
        self.server.daemon_threads = True
        self.server.redirects = {}
        self.server.requests = []
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, host: str, path: str = "/") -> str:
        return f"https://{host}:{self.port}{path}"

    def settings(self, **changes) -> Settings:
        base = Settings(
            cacert=str(self.ca_path),
            # A pinned name is never looked up in DNS on any port, so the plain-HTTP upgrade probe (port 80, not
            # pinned) is refused before any look-up.
            resolve=tuple(ResolveEntry(h, self.port, self.address) for h in self.hosts),
            allowed_ports=(80, 443, self.port),
        )
        return base.with_(**changes)

    def cli_args(self) -> list[str]:
        args = ["--cacert", str(self.ca_path), "--allow-port", str(self.port)]
        for h in self.hosts:
            args += ["--resolve", f"{h}:{self.port}:{self.address}"]
        return args

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
