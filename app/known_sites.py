"""An optional list of known sites (CSV `domain,label,source`) given at run time with --known-sites FILE.

The list is the user's own (a regulator's list, an organisation's reports); pharmacheck ships none. It is an
ad-hoc reputation list: matched like the stored lists (the site's address, its registrable domain, a redirect
target), held in memory for the run, never written to the store (`pharmacheck lists import user:NAME FILE`
keeps one). A row's domain stands for its whole registrable domain, as it always has.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from pathlib import Path

from .domains import registrable_domain
from .lists.model import ListEntry, ListInfo
from .site import KnownSite

VALID_LABELS = {"legit", "rogue"}
ADHOC_LIST_ID = -1


class KnownSitesError(ValueError):
    pass


def load_known_sites(path: str) -> dict[str, KnownSite]:
    p = Path(path)
    try:
        # utf-8-sig: a spreadsheet's CSV export often starts with a byte order mark, which would rename "domain".
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise KnownSitesError(f"--known-sites {path}: cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise KnownSitesError(f"--known-sites {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    sites: dict[str, KnownSite] = {}
    with io.StringIO(text, newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"domain", "label"} <= {f.strip() for f in reader.fieldnames}:
            raise KnownSitesError(f"--known-sites {path}: expected a CSV header with columns domain,label,source")
        for line_no, row in enumerate(reader, start=2):
            domain = (row.get("domain") or "").strip().lower()
            label = (row.get("label") or "").strip().lower()
            if not domain:
                continue
            if label not in VALID_LABELS:
                raise KnownSitesError(
                    f"--known-sites {path}: line {line_no}: label must be one of {sorted(VALID_LABELS)}, got {label!r}"
                )
            key = registrable_domain(domain)
            sites[key] = KnownSite(key, label, (row.get("source") or p.name).strip())
    return sites


def known_sites_list(sites: dict[str, KnownSite], origin: str) -> tuple[ListInfo, list[ListEntry]]:
    """The known sites as an ad-hoc list for the in-memory index."""
    labels = {s.label for s in sites.values()}
    info = ListInfo(
        id=ADHOC_LIST_ID, source=f"known-sites:{Path(origin).name}", title=f"your known-sites file {Path(origin).name}",
        label=labels.pop() if len(labels) == 1 else "mixed", origin=origin, method="adhoc",
        loaded_at=datetime.now(timezone.utc), snapshot_date=None, fresh_days=None, entry_count=len(sites),
    )
    return info, [ListEntry(s.domain, s.label, note=s.source) for s in sites.values()]
