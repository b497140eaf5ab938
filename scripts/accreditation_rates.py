"""How often each accreditation outcome fires on labelled legit and rogue data.

    python scripts/accreditation_rates.py /path/to/shared/data

Reads pages-dev/ (page texts, sources.csv), pages-html/ (saved HTML pages, sources.csv) and
nabp/domains-dev.csv (domain,label,source; only the domain itself can be judged there). Any part that is
missing is skipped with a note. Prints one table per data set: outcome, legit count, rogue count.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.page import page_from_text, parse_page  # noqa: E402
from app.pipeline import site_from_pages  # noqa: E402
from app.rules import load_rules  # noqa: E402
from checks import accreditation  # noqa: E402


def _table(title: str, totals: Counter, fired: Counter) -> None:
    print(f"\n{title}: legit {totals['legit']}, rogue {totals['rogue']}")
    print(f"  {'outcome':28} {'legit':>7} {'rogue':>7}")
    for outcome in accreditation.OUTCOMES:
        legit, rogue = fired[(outcome, "legit")], fired[(outcome, "rogue")]
        if legit or rogue:
            print(f"  {outcome:28} {legit:>7} {rogue:>7}")
    any_legit, any_rogue = fired[("(any)", "legit")], fired[("(any)", "rogue")]
    print(f"  {'(any outcome)':28} {any_legit:>7} {any_rogue:>7}")


def _count(site, label: str, config, totals: Counter, fired: Counter) -> None:
    totals[label] += 1
    outcomes = {o.outcome for o in accreditation.run(site, config)}
    for outcome in outcomes:
        fired[(outcome, label)] += 1
    if outcomes:
        fired[("(any)", label)] += 1


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    data = Path(argv[0])
    config = load_rules().config_for("accreditation")

    texts = data / "pages-dev" / "sources.csv"
    if texts.exists():
        totals, fired = Counter(), Counter()
        for row in csv.DictReader(open(texts, encoding="utf-8")):
            page = page_from_text((texts.parent / row["file"]).read_text(encoding="utf-8"), row["url"])
            _count(site_from_pages(row["url"], [page]), row["label"], config, totals, fired)
        _table("pages-dev (page texts, no markup)", totals, fired)
    else:
        print(f"skipped: {texts} not found")

    html = data / "pages-html" / "sources.csv"
    if html.exists():
        totals, fired = Counter(), Counter()
        for row in csv.DictReader(open(html, encoding="utf-8")):
            domain = row["file"].split("__")[1]
            url = f"https://www.{domain}/"
            page = parse_page((html.parent / row["file"]).read_bytes(), url)
            _count(site_from_pages(url, [page]), row["label"], config, totals, fired)
        _table("pages-html (saved HTML pages)", totals, fired)
    else:
        print(f"skipped: {html} not found")

    domains = data / "nabp" / "domains-dev.csv"
    if domains.exists():
        totals, fired = Counter(), Counter()
        for row in csv.DictReader(open(domains, encoding="utf-8")):
            _count(site_from_pages(f"https://{row['domain']}/", []), row["label"], config, totals, fired)
        _table("NABP domain lists (the domain alone)", totals, fired)
    else:
        print(f"skipped: {domains} not found")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
