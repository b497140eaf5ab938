"""Worst-case time of the contact, pharmacist and payment checks on 1 MB pages built to be expensive.

Each page is one kind of hostile or unlucky text (a catalogue of numbers, repeated postcodes, dotted strings
that look like email domains, ...). Prints seconds per check and page; the numbers are in
docs/contact-payment.md.

    python bench/contact_payment_speed.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.page import page_from_text  # noqa: E402
from app.pipeline import site_from_pages  # noqa: E402
from app.rules import load_rules  # noqa: E402
from checks import contact, payment, pharmacist  # noqa: E402

PAGES = {
    "dotted email-like": "x@" + "a." * 200_000,
    "numbers": " ".join(str(i) for i in range(150_000)),
    "capitalised words": "Abc Def Ghi Jkl " * 60_000,
    "postcodes": "12345 Berlin 1012 AB Amsterdam NSW 2000 IL 62701 " * 15_000,
    "street lines": "12 Main Street " * 60_000,
    "negations and channels": "not no never Bitcoin " * 40_000,
    "copyright signs": "© 2024 " * 100_000,
}


def main() -> int:
    rules = load_rules()
    print("| page (1 MB) | contact s | pharmacist s | payment s |")
    print("| --- | --- | --- | --- |")
    for name, text in PAGES.items():
        site = site_from_pages("https://x.example/", [page_from_text(text[:1_000_000], "https://x.example/")])
        times = []
        for module in (contact, payment, pharmacist):
            started = time.perf_counter()
            list(module.CHECK.run(site, rules.config_for(module.CHECK.id)))
            times.append(time.perf_counter() - started)
        print(f"| {name} | {times[0]:.2f} | {times[2]:.2f} | {times[1]:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
