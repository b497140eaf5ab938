"""How long stripping invisible characters takes on real pages, the current class against the former one.

Usage:
    python -m bench.invisible_speed [DATA_DIR]

For each raw HTML page in DATA_DIR/pages-html: decode and parse it, then time `INVISIBLE.sub` on its visible text
and, as an upper bound, on the whole decoded document; median of 15 runs, the two classes interleaved.
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.fetch import decode_html  # noqa: E402
from app.invisible import INVISIBLE  # noqa: E402
from app.page import parse_page  # noqa: E402
from bench.analysis_speed import default_data_dir  # noqa: E402

FORMER = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")


def median_ms(pattern: re.Pattern, sample: str, other: re.Pattern, runs: int = 15) -> tuple[float, float]:
    mine, theirs = [], []
    for _ in range(runs):
        started = time.perf_counter()
        pattern.sub("", sample)
        mine.append(time.perf_counter() - started)
        started = time.perf_counter()
        other.sub("", sample)
        theirs.append(time.perf_counter() - started)
    return statistics.median(mine) * 1000, statistics.median(theirs) * 1000


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    data_dir = Path(argv[0]) if argv else default_data_dir()
    print(f"{'page':44} {'text chars':>10} {'former ms':>9} {'now ms':>7} {'document chars':>14} {'former ms':>9} {'now ms':>7}")
    for path in sorted((data_dir / "pages-html").glob("*.html")):
        html = decode_html(path.read_bytes(), "text/html")
        text = parse_page(html, "https://pharmacy.example/").text
        now_text, former_text = median_ms(INVISIBLE, text, FORMER)
        now_doc, former_doc = median_ms(INVISIBLE, html, FORMER)
        print(f"{path.name[:44]:44} {len(text):>10} {former_text:>9.2f} {now_text:>7.2f} {len(html):>14} {former_doc:>9.2f} {now_doc:>7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
