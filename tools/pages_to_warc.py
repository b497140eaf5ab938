#!/usr/bin/env python3
"""Turn the labelled page texts (data/pages-dev: *.txt + sources.csv) into a WARC of minimal HTML pages and a
labels file, so `pharmacheck eval LABELS.csv --replay PAGES.warc.gz` reads each text at its original URL.

Each text becomes one HTML page (a paragraph per line, nothing invented: no title, links, seals or footer),
served as `200 OK text/html; charset=utf-8` at the URL sources.csv gives for it. Everything else a check asks
for (other pages, the plain-HTTP probe) is not in the archive, as the texts are all there is.

    python tools/pages_to_warc.py [--data ../shared/data] [--out build/eval]
writes OUT/pages-dev.warc.gz and OUT/pages-dev-labels.csv;
    python tools/pages_to_warc.py --pages tests/realpages --name realpages --out build/eval
does the same for another folder of labelled pages (`.txt` texts or `.html` pages as they were saved).
"""

from __future__ import annotations

import argparse
import csv
import os
import html
import sys
from io import BytesIO
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parent.parent
# The shared data set sits beside the project (../shared); PHARMACHECK_SHARED points elsewhere.
DEFAULT_DATA = Path(os.environ.get("PHARMACHECK_SHARED") or REPO.parent / "shared") / "data"
DEFAULT_OUT = REPO / "build" / "eval"


def page_html(text: str) -> bytes:
    paragraphs = [line.strip() for line in text.splitlines() if line.strip()]
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f'<!doctype html>\n<html><head><meta charset="utf-8"></head>\n<body>\n{body}\n</body></html>\n'.encode("utf-8")


def build(data: Path, out: Path, pages: Path | None = None, name: str = "pages-dev") -> tuple[Path, Path, int]:
    """`pages`: a folder of labelled pages (sources.csv with file,label,url) instead of DATA/pages-dev; `.html`
    files are served as they are, `.txt` files as minimal HTML. Writes OUT/NAME.warc.gz and OUT/NAME-labels.csv."""
    pages = pages or data / "pages-dev"
    sources = pages / "sources.csv"
    if not sources.is_file():
        raise SystemExit(f"pages_to_warc: {sources} not found (give --data, the folder holding pages-dev/, or --pages)")
    out.mkdir(parents=True, exist_ok=True)
    warc_path, labels_path = out / f"{name}.warc.gz", out / f"{name}-labels.csv"
    written = 0
    with open(sources, encoding="utf-8", newline="") as handle, open(warc_path, "wb") as warc_file, \
            open(labels_path, "w", encoding="utf-8", newline="") as labels_file:
        writer = WARCWriter(warc_file, gzip=True)
        writer.write_record(writer.create_warcinfo_record(warc_path.name, {
            "software": "pharmacheck tools/pages_to_warc.py",
            "description": "Minimal HTML pages made from the labelled page texts in pages-dev, at their original URLs",
        }))
        labels = csv.writer(labels_file)
        labels.writerow(["url", "label"])
        seen: set[str] = set()
        for row in csv.DictReader(handle):
            file, label, url = row["file"], row["label"].strip(), row["url"].strip()
            if url in seen:
                print(f"pages_to_warc: {file}: {url} already used by another text; skipped", file=sys.stderr)
                continue
            seen.add(url)
            raw = (pages / file).read_bytes()
            body = raw if file.endswith((".html", ".htm")) else page_html(raw.decode("utf-8"))
            headers = StatusAndHeaders("200 OK", [
                ("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=BytesIO(body), length=len(body),
                                                          http_headers=headers))
            labels.writerow([url, label])
            written += 1
    return warc_path, labels_path, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder holding pages-dev/ (default {DEFAULT_DATA})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--pages", type=Path, help="a folder of labelled pages to use instead of DATA/pages-dev")
    parser.add_argument("--name", default="pages-dev", help="base name of the archive and labels files")
    args = parser.parse_args(argv)
    warc_path, labels_path, written = build(args.data, args.out, args.pages, args.name)
    print(f"{written} pages -> {warc_path}, labels -> {labels_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
