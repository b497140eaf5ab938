#!/usr/bin/env python3
"""Turn the NABP domain labels (data/nabp/domains-dev.csv: domain,label,source) into a labels file of home-page
URLs (https://DOMAIN/) and an empty WARC file, so

    pharmacheck eval OUT/domains-dev-labels.csv --replay OUT/empty.warc.gz

judges every domain on domain-level evidence alone: no page is in the archive, nothing touches the network.

    python tools/domains_to_labels.py [--data ../shared/data] [--out build/eval]
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from warcio.warcwriter import WARCWriter

REPO = Path(__file__).resolve().parent.parent
# The shared data set sits beside the project (../shared); PHARMACHECK_SHARED points elsewhere.
DEFAULT_DATA = Path(os.environ.get("PHARMACHECK_SHARED") or REPO.parent / "shared") / "data"
DEFAULT_OUT = REPO / "build" / "eval"


def build(data: Path, out: Path) -> tuple[Path, Path, int]:
    source = data / "nabp" / "domains-dev.csv"
    if not source.is_file():
        raise SystemExit(f"domains_to_labels: {source} not found (give --data, the folder holding nabp/)")
    out.mkdir(parents=True, exist_ok=True)
    labels_path, empty_path = out / "domains-dev-labels.csv", out / "empty.warc.gz"
    written = 0
    with open(source, encoding="utf-8", newline="") as handle, \
            open(labels_path, "w", encoding="utf-8", newline="") as labels_file:
        labels = csv.writer(labels_file)
        labels.writerow(["url", "label"])
        for row in csv.DictReader(handle):
            domain, label = row["domain"].strip().lower().rstrip("."), row["label"].strip()
            if not domain or label not in ("legit", "rogue"):
                print(f"domains_to_labels: skipped {row}", file=sys.stderr)
                continue
            labels.writerow([f"https://{domain}/", label])
            written += 1
    with open(empty_path, "wb") as warc_file:
        writer = WARCWriter(warc_file, gzip=True)
        writer.write_record(writer.create_warcinfo_record(empty_path.name, {
            "software": "pharmacheck tools/domains_to_labels.py",
            "description": "An archive with no pages: replaying it judges sites on domain-level evidence only",
        }))
    return labels_path, empty_path, written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help=f"folder holding nabp/ (default {DEFAULT_DATA})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    labels_path, empty_path, written = build(args.data, args.out)
    print(f"{written} domains -> {labels_path}, empty archive -> {empty_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
