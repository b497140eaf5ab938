"""Stand-in registries (and the pharmacy sites that cite them) served over HTTPS on loopback.

Each registry answers its look-up the way rules.yaml expects to ask it, with answers chosen per test case:
a listing, a denial, "no results", an entry for a different pharmacy, an answer that says nothing useful. None
of the real registries documents these answers; the stand-ins hold the conservative shapes the adapters accept.
Tests point the registry adapters at this server by changing only the adapter's `base_url` (host and port)
and reach it through `Settings.resolve` and `cacert`, exactly as a user would reach a mirror.
"""

from __future__ import annotations

import random
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import trustme

from app.settings import ResolveEntry, Settings

LEGITSCRIPT = "www.legitscript.com"
GPHC = "www.pharmacyregulation.org"

LEGITSCRIPT_ANSWERS = {
    "brightwellrx.com": "<h2>Search results</h2><table><tr><td>brightwellrx.com</td><td>LegitScript Certified</td></tr></table>",
    "roguepills.com": "<h2>Search results</h2><table><tr><td>roguepills.com</td><td>Rogue</td></tr></table>",
    "northernrxsupply.com": "<h2>Search results</h2><p>No results found for your search.</p>",
    "mapleleafmeds.com": "<h2>Search results</h2><p>Please enable JavaScript to see the results.</p>",
    # The query echoed above a "no results" line, under a heading that itself says "certified".
    "echopharm.com": "<h1>LegitScript Certified websites</h1><h2>Search results for echopharm.com</h2>"
    "<p>No results found.</p>",
    # Only longer names that contain the one asked about are listed.
    "mypharm.com": "<h2>Search results</h2><table><tr><td>notmypharm.com</td><td>LegitScript Certified</td></tr>"
    "<tr><td>mypharm.com.au</td><td>LegitScript Certified</td></tr></table>",
    "waitingpharm.com": (
        "<h2>Search results</h2><table><tr><td>waitingpharm.com</td><td>Pending review</td></tr></table>"
        "<p>Certified websites may display the LegitScript seal.</p>"
    ),
    # A confirming word the registry negates, above a heading that says "certified" unqualified.
    "uncertrx.com": "<h2>Search results</h2><table><tr><td>uncertrx.com</td><td>Not currently certified</td></tr></table>"
    "<p>LegitScript certified websites appear here.</p>",
    "nonerx.com": "<h2>Search results</h2><p>0 websites found.</p><p>LegitScript certified websites appear here.</p>",
    # The certified status in this table belongs to the row above, not to the site asked about.
    "twinpharm.com": "<h2>Search results</h2><table><tr><td>otherpharm.com</td><td>LegitScript Certified</td></tr>"
    "<tr><td>twinpharm.com</td><td>-</td></tr></table>",
}

GPHC_ENTRIES = {
    # The entry a copied number really belongs to: another pharmacy, another city.
    "1039401": "<h1>Hillside Pharmacy Ltd</h1><p>Registration number 1039401</p><p>Status: Registered</p>"
    "<p>Address: 4 Market Street, Leeds, LS1 6DT</p>",
    "1123456": "<h1>Parkside Pharmacy Ltd</h1><p>Registration number 1123456</p><p>Status: Registered</p>"
    "<p>Address: 3 Park Row, Bristol, BS1 5LJ</p>",
}


# Registers asked for the site's domain or for the entry its logo links to. Each answers in its own language:
# the entry of the site asked about, the entry of another seller, and a "no entry" page; anything else is a
# 404. The site asking is always meridianmeds.eu (NABP: the domain in the look-up says which answer).
SITE = "meridianmeds.eu"
NABP = "safe.pharmacy"
MHRA = "medicine-seller-register.mhra.gov.uk"


def _entry(seller: str, site: str, status: str) -> str:
    return f"<h1>{seller}</h1><p>Web: www.{site}</p><p>Status: {status}</p>"


# registry id -> (host, link to entry N as the site's logo gives it, confirming status, "no entry" wording)
ENTRY_REGISTERS = {
    "mhra": (MHRA, "https://" + MHRA + "/search-registry/{n}", "Registered", "No results found"),
    "register-de": ("versandhandel.dimdi.de", "https://versandhandel.dimdi.de/eintrag?id={n}", "registriert", "Kein Eintrag gefunden"),
    "register-nl": ("www.aanbiedersmedicijnen.nl", "https://www.aanbiedersmedicijnen.nl/aanbieders/{n}", "geregistreerd", "Geen aanbieder gevonden"),
    "register-ie": ("www.thepsi.ie", "https://www.thepsi.ie/gns/online-sales-register/registered-retailers.aspx?id={n}", "Registered", "No records found"),
    "register-fr": ("www.ordre.pharmacien.fr", "https://www.ordre.pharmacien.fr/eco/sites/{n}", "autorisé", "Aucun résultat"),
    "register-es": ("distafarma.aemps.es", "https://distafarma.aemps.es/farmacia?id={n}", "autorizada", "No se han encontrado resultados"),
    "register-it": ("www.salute.gov.it", "https://www.salute.gov.it/farmacieOnline/elenco?id={n}", "autorizzata", "Nessun risultato"),
    "register-at": ("www.basg.gv.at", "https://www.basg.gv.at/versandapotheken?id={n}", "registriert", "Kein Eintrag gefunden"),
    "register-be": ("www.afmps.be", "https://www.afmps.be/pharmacies-en-ligne?id={n}", "enregistrée", "Aucun résultat"),
    "register-se": ("www.lakemedelsverket.se", "https://www.lakemedelsverket.se/e-handel?id={n}", "registrerad", "Inga träffar"),
}
# Entry numbers: this site's entry, another seller's entry, a "no entry" page, and one the register has not.
OWN, OTHER, NONE, MISSING = "1001", "1002", "1003", "1004"


def _register_answers() -> dict[str, dict[str, str]]:
    answers: dict[str, dict[str, str]] = {
        NABP: {
            f"/buy-safely/?url={SITE}": f"<h2>Results</h2><table><tr><td>{SITE}</td><td>Accredited</td></tr></table>",
            "/buy-safely/?url=roguepills.com": "<h2>Results</h2><table><tr><td>roguepills.com</td><td>Not Recommended</td></tr></table>",
            "/buy-safely/?url=northernrxsupply.com": "<h2>Results</h2><p>No results found.</p>",
        }
    }
    for host, link, status, none in ENTRY_REGISTERS.values():
        paths = answers.setdefault(host, {})
        for n, body in (
            (OWN, _entry("Meridian Meds", SITE, status)),
            (OTHER, _entry("Hillside Apotheke", "hillside-apotheke.de", status)),
            (NONE, f"<p>{none}.</p>"),
        ):
            parts = urlsplit(link.format(n=n))
            paths[parts.path + (f"?{parts.query}" if parts.query else "")] = body
    return answers


REGISTER_ANSWERS = _register_answers()


@dataclass
class StandIn:
    tmp_dir: Path
    sites: dict[str, str] = field(default_factory=dict)  # host -> HTML of its start page
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.hosts = [LEGITSCRIPT, GPHC, *REGISTER_ANSWERS, *self.sites]
        self.ca = trustme.CA()
        cert = self.ca.issue_cert(*self.hosts)
        self.ca_path = self.tmp_dir / "standin-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_path))
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(ctx)
        self.address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(2, 254)}"
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                host = (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()
                standin.requests.append(f"{host}{self.path}")
                status, body = standin.answer(host, self.path)
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer((self.address, 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, host: str, path: str) -> tuple[int, str]:
        parts = urlsplit(path)
        if host == LEGITSCRIPT and parts.path.rstrip("/") == "/websites":
            domain = (parse_qs(parts.query).get("checker_keywords") or [""])[0]
            return 200, f"<html><body>{LEGITSCRIPT_ANSWERS.get(domain, '<p>Search</p>')}</body></html>"
        if host == GPHC and parts.path.startswith("/registers/pharmacy/registrationnumber/"):
            number = parts.path.rsplit("/", 1)[-1]
            if number in GPHC_ENTRIES:
                return 200, f"<html><body>{GPHC_ENTRIES[number]}</body></html>"
            return 404, "<html><body><h1>Page not found</h1></body></html>"
        if host in REGISTER_ANSWERS:
            body = REGISTER_ANSWERS[host].get(path)
            return (200, f"<html><body>{body}</body></html>") if body else (404, "<html><body>Not found</body></html>")
        if host in self.sites and parts.path in ("", "/"):
            return 200, self.sites[host]
        return 404, "<html><body>Not found</body></html>"

    def base_url(self, host: str) -> str:
        return f"https://{host}:{self.port}"

    def settings(self, **changes) -> Settings:
        # Registries that are not served here resolve to a loopback address where nothing listens.
        dead = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.1"
        resolve = tuple(ResolveEntry(h, self.port, self.address) for h in self.hosts)
        resolve += (ResolveEntry("unreachable.registry.example", self.port, dead),)
        return Settings(
            cacert=str(self.ca_path), resolve=resolve, allowed_ports=(80, 443, self.port),
            page_timeout=3.0, connect_timeout=1.0, read_timeout=2.0, check_timeout=10.0,
        ).with_(**changes)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
