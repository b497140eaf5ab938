"""The lists, in memory: every listed domain in one dict, so matching a site costs microseconds.

Checks never wait for the database: the index is loaded once, and refreshed when the store's lists change. A
list loaded by this process refreshes it at once; one loaded by another process (a `pharmacheck lists update`
beside a running service) is seen within `refresh_interval` seconds, when the next check finds the signature of
the stored lists changed. A --known-sites file is an ad-hoc list held here only, never stored.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Iterable

from .domains import lookup_keys, normalise_list_domain
from .model import ListEntry, ListInfo, ListMatch, ListsConsulted

log = logging.getLogger("pharmacheck.lists")


@dataclass(frozen=True)
class IndexSnapshot:
    lists: tuple[ListInfo, ...] = ()
    # domain -> ((list position in `lists`, entry), ...)
    by_domain: dict[str, tuple[tuple[int, ListEntry], ...]] = field(default_factory=dict)

    @property
    def entry_count(self) -> int:
        return sum(len(v) for v in self.by_domain.values())

    def entries_for(self, domain: str) -> list[tuple[ListInfo, ListEntry]]:
        """Every list entry for the domain or its registrable domain (for other sites: graph neighbours, links)."""
        out = []
        for key, _ in lookup_keys(domain):
            for position, entry in self.by_domain.get(key, ()):
                out.append((self.lists[position], entry))
        return out


def build_snapshot(lists: Iterable[ListInfo], entries: Iterable[tuple[int, ListEntry]]) -> IndexSnapshot:
    lists = tuple(lists)
    position = {info.id: i for i, info in enumerate(lists)}
    grouped: dict[str, list] = {}
    intern = sys.intern
    for list_id, entry in entries:
        if list_id not in position:
            continue
        entry = ListEntry(intern(entry.domain), intern(entry.label), intern(entry.type), entry.name, entry.note)
        grouped.setdefault(entry.domain, []).append((position[list_id], entry))
    return IndexSnapshot(lists, {k: tuple(v) for k, v in grouped.items()})


class ListIndex:
    """The stored lists (when a store is given) plus ad-hoc lists; thread-safe, cheap to read."""

    def __init__(self, store=None, *, refresh_interval: float = 5.0, adhoc: Iterable[tuple[ListInfo, list[ListEntry]]] = ()):
        self.store = store
        self.refresh_interval = refresh_interval
        self._adhoc = [(info, list(entries)) for info, entries in adhoc]
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._checked_at = float("-inf")
        self._snapshot = build_snapshot([], [])
        self._adhoc_snapshot = self._build_adhoc()
        self.load_error: str | None = None

    def _build_adhoc(self) -> IndexSnapshot:
        infos = [info for info, _ in self._adhoc]
        entries = [(info.id, e) for info, es in self._adhoc for e in es]
        return build_snapshot(infos, entries)

    # ---- refreshing ----------------------------------------------------------------------------------------------

    def refresh_due(self) -> bool:
        return self.store is not None and time.monotonic() - self._checked_at >= self.refresh_interval

    def refresh(self, force: bool = False) -> bool:
        """Reload from the store if its lists changed (or when forced); True when the index changed. Blocks."""
        if self.store is None:
            return False
        with self._lock:
            if not force and time.monotonic() - self._checked_at < self.refresh_interval:
                return False
            try:
                signature = self.store.signature()
                if signature == self._signature and not force:
                    return False
                lists = self.store.lists()
                snapshot = build_snapshot(lists, self.store.entries())
            except Exception as exc:  # a store that cannot be read costs the lists, never the check
                self.load_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning("reputation lists could not be read: %s", self.load_error)
                return False
            finally:
                self._checked_at = time.monotonic()
            self._snapshot, self._signature, self.load_error = snapshot, signature, None
            log.info("reputation lists loaded: %d lists, %d entries", len(snapshot.lists), snapshot.entry_count)
            return True

    def invalidate(self) -> None:
        """This process changed the stored lists: the next check reloads them."""
        self._checked_at = float("-inf")
        self._signature = None

    # ---- reading -------------------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> IndexSnapshot:
        return self._snapshot

    @property
    def stored_lists(self) -> tuple[ListInfo, ...]:
        return self._snapshot.lists

    def entries_for(self, domain: str) -> list[tuple[ListInfo, ListEntry]]:
        return self._snapshot.entries_for(domain) + self._adhoc_snapshot.entries_for(domain)

    def match(self, hosts: list[tuple[str, str]], *, leave_out_own: bool = False) -> tuple[list[ListMatch], ListsConsulted]:
        """Matches for a site. `hosts`: (host, how the site used it: "address" or "redirect"), the checked address
        first. With `leave_out_own` (evaluation) the site's own entries are counted, not reported."""
        matches: list[ListMatch] = []
        seen: set[tuple[int, str]] = set()
        left_out = 0
        for snapshot in (self._snapshot, self._adhoc_snapshot):
            for host, how in hosts:
                for key, what in lookup_keys(host):
                    for position, entry in snapshot.by_domain.get(key, ()):
                        info = snapshot.lists[position]
                        if (info.id, entry.domain) in seen:
                            continue
                        seen.add((info.id, entry.domain))
                        if leave_out_own:
                            left_out += 1
                            continue
                        matched_on = "redirect" if how == "redirect" else what
                        matches.append(ListMatch(info, entry, matched_on, normalise_list_domain(host) or host))
        return matches, ListsConsulted(self._snapshot.lists, left_out)


def site_hosts(requested_url: str, final_url: str, redirects: list[str]) -> list[tuple[str, str]]:
    """The hosts a site was seen under: the address checked, where it ended, and every hop between."""
    from app.domains import host_of

    out: list[tuple[str, str]] = []
    for url, how in [(final_url, "address"), (requested_url, "address"), *[(u, "redirect") for u in redirects]]:
        host = host_of(url)
        if host and all(host != h for h, _ in out):
            out.append((host, how))
    return out
