"""What a loaded reputation list is, and what it says about one site: shared by the store, the in-process
index, the pipeline and the checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone


@dataclass(frozen=True)
class ListInfo:
    """A list's provenance: which source, from where, as of when, how long it stays current, how big."""

    id: int
    source: str  # nabp_not_recommended, nabp_accredited, fda_warning_letters, user:NAME, or known-sites:FILE
    title: str
    label: str  # rogue, legit, or mixed (a user's list; each entry has its own label)
    origin: str  # the official address it was downloaded from, or the file it was imported from
    method: str  # update, import, or adhoc (a --known-sites file read for this run only)
    loaded_at: datetime
    snapshot_date: date | None
    fresh_days: int | None
    entry_count: int

    @property
    def adhoc(self) -> bool:
        return self.method == "adhoc"

    @property
    def as_of(self) -> date:
        """The date the content is from: the source's own date, else the day it was loaded."""
        return self.snapshot_date or self.loaded_at.date()

    def age_days(self, today: date | None = None) -> int:
        return ((today or datetime.now(timezone.utc).date()) - self.as_of).days

    def stale(self, today: date | None = None) -> bool:
        return self.fresh_days is not None and self.age_days(today) > self.fresh_days

    def describe(self) -> str:
        """"NABP Not Recommended sites, as of 2024-01-30": how a finding cites the list."""
        when = f"as of {self.snapshot_date.isoformat()}" if self.snapshot_date else f"loaded {self.loaded_at.date().isoformat()}"
        return f"{self.title}, {when}"


@dataclass(frozen=True)
class ListEntry:
    domain: str
    label: str  # rogue or legit
    type: str = ""  # NABP's type for accredited sites (pharmacy, veterinary, pbm, resource...)
    name: str = ""  # the business the source names
    note: str = ""  # what a --known-sites row says of its own source


@dataclass(frozen=True)
class ListMatch:
    """The site (or its registrable domain, or an address it redirected through) is on a list."""

    list: ListInfo
    entry: ListEntry
    # "address" (the host checked), "registrable domain", or "redirect" (a host the site sent the visitor through)
    matched_on: str
    host: str  # the host that matched

    def where(self) -> str:
        if self.matched_on == "redirect":
            return f"the address {self.host} it redirected through"
        if self.matched_on == "registrable domain":
            return f"its registrable domain {self.entry.domain}"
        return "its address"


@dataclass(frozen=True)
class ListsConsulted:
    """Which lists a check was judged against, and whether the site's own entries were left out (evaluation)."""

    lists: tuple[ListInfo, ...] = ()
    left_out_own_entries: int = 0
