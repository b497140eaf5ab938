"""What reading a page's language and its questions and answers costs, per page.

Usage:
    python -m bench.reading_speed [DATA_DIR] [--repeat N]

For each raw HTML page in DATA_DIR/pages-html (shown one by one) and each text page in DATA_DIR/pages-dev (made
into HTML the way tools/pages_to_warc.py does; shown as medians over the pages), times, as the median of N runs:
- `detect`: language detection on the page's visible text (app/language.py, the model already loaded);
- `qa markup`: noting question-and-answer markup on every element the text walk visits, and pairing it
  (app/page.py, `_note_faq_markup` and `_qa_pairs`);
- `qa read`: placing them in the text and reading the question sentences (checks/_qa.py, uncached);
- `parse`: the whole `parse_page`, which includes the first two, for scale.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from pathlib import Path

from bs4 import BeautifulSoup, Tag

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.fetch import decode_html  # noqa: E402
from app.language import detect_language, warm_up  # noqa: E402
from app.page import (  # noqa: E402
    _FaqMarkup, _jsonld_nodes, _note_faq_markup, _qa_pairs, _visible_text, bound_markup, parse_page,
)
from app.rules import load_rules  # noqa: E402
from bench.analysis_speed import default_data_dir  # noqa: E402
from checks import _qa as qa  # noqa: E402
from tools.pages_to_warc import page_html  # noqa: E402


def _median_ms(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def _note_all(tags) -> None:
    found = _FaqMarkup()
    for tag in tags:
        _note_faq_markup(found, tag)


def _collected(soup) -> _FaqMarkup:
    found = _FaqMarkup()
    _visible_text(soup, found)
    return found


def measure(html: str, url: str, config, repeat: int) -> dict[str, float]:
    page = parse_page(html, url)
    soup = BeautifulSoup(bound_markup(html)[0], "lxml")
    found = _collected(soup)
    tags = [t for t in (soup.body or soup).descendants if isinstance(t, Tag)]
    return {
        "chars": len(page.text),
        "pairs": len(page.qa_pairs),
        "detect": _median_ms(lambda: detect_language(page.text, page.lang), repeat),
        "qa markup": _median_ms(lambda: _note_all(tags), repeat)
        + _median_ms(lambda: _qa_pairs(found, _jsonld_nodes(soup)), repeat),
        "qa read": _median_ms(lambda: qa._read(page, config), repeat),
        "parse": _median_ms(lambda: parse_page(html, url), repeat),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=default_data_dir())
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    warm_up()
    print(f"language model loaded in {(time.perf_counter() - started) * 1000:.0f} ms (once per process)")
    config = load_rules().config_for("prescription").qa
    columns = ("detect", "qa markup", "qa read", "parse")
    print(f"{'page':44} {'text chars':>10} {'pairs':>5} " + " ".join(f"{c + ' ms':>12}" for c in columns))
    for path in sorted((args.data / "pages-html").glob("*.html")):
        m = measure(decode_html(path.read_bytes(), "text/html"), "https://pharmacy.example/", config, args.repeat)
        print(f"{path.name[:44]:44} {m['chars']:>10} {m['pairs']:>5} " + " ".join(f"{m[c]:>12.2f}" for c in columns))
    sources = args.data / "pages-dev" / "sources.csv"
    if sources.is_file():
        rows = list(csv.DictReader(sources.open(encoding="utf-8")))
        results = [
            measure(page_html((args.data / "pages-dev" / r["file"]).read_text(encoding="utf-8")).decode(), r["url"],
                    config, args.repeat)
            for r in rows
        ]
        med = {c: statistics.median(m[c] for m in results) for c in ("chars", "pairs", *columns)}
        print(f"{'pages-dev, median of ' + str(len(results)) + ' pages':44} {med['chars']:>10.0f} {med['pairs']:>5.0f} "
              + " ".join(f"{med[c]:>12.2f}" for c in columns))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
