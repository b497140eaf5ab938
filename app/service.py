"""Build a Checker from settings: the live fetcher, or an archive recorder / replayer when asked for.

Archives are a matter of transports and of this module only: the pipeline fetches through whatever fetcher it is
given and never knows whether the answers come from the network or from a WARC file.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import httpx

from .archive import ArchiveIndex, RecordingTransport, ReplayTransport, WarcRecorder
from .fetch import Fetcher, PinnedTransport, make_ssl_context
from .pipeline import Checker
from .report import Report
from .settings import Settings


def _archive_transport(settings: Settings) -> tuple[httpx.AsyncBaseTransport | None, WarcRecorder | None]:
    """The transport --replay / --record ask for (None: the fetcher's own live transport) and the recorder."""
    if not settings.replay_paths and not settings.record_path:
        return None, None
    if settings.replay_paths:
        transport = ReplayTransport(ArchiveIndex.load(settings.replay_paths), settings.max_bytes)
    else:
        transport = PinnedTransport(settings, ssl_context=make_ssl_context(settings))
    if not settings.record_path:
        return transport, None
    recorder = WarcRecorder(settings.record_path)
    return RecordingTransport(transport, recorder, settings.max_bytes), recorder


def _replay_ports(settings: Settings) -> Settings:
    # The port policy keeps requests away from services that were never meant to be fetched; a replay opens no
    # connection, so an archive recorded from a site on an unusual port reads back without repeating --allow-port.
    # Schemes and URL syntax are still checked, and an address the archive lacks is still not_in_archive.
    return settings.with_(allowed_ports=None) if settings.replay_paths else settings


def make_fetcher(settings: Settings) -> Fetcher:
    settings = _replay_ports(settings)
    transport, _ = _archive_transport(settings)
    return Fetcher(settings, transport=transport)


def _store_listener(settings: Settings):
    """Keeps every finished report in the store (history, what later checks learn from earlier ones), with the
    row of the check that made it, and tells whoever started the check (CheckContext) the report's id."""
    from .cache import canonical_url
    from .store import open_database
    from .store.checks import CURRENT_CHECK, check_row
    from .store.reports import add_report

    database = open_database(settings.effective_database_url)

    def save(report: Report, key: str, context) -> int:
        finished = datetime.now(timezone.utc)
        with database.session() as session:
            report_id = add_report(session, report, key)
            session.add(check_row(
                url=report.url, canonical_url=key, origin=context.origin if context else "cli",
                started_at=finished - timedelta(milliseconds=report.elapsed_ms), finished_at=finished,
                report_id=report_id, job_id=context.job_id if context else None,
                worker=context.worker if context else None,
            ))
            return report_id

    async def keep(report: Report, _site) -> None:
        context = CURRENT_CHECK.get()
        if context is not None and not context.keep:
            return
        try:
            key = canonical_url(report.url, settings.allowed_ports, settings.resolve)
        except Exception:
            key = report.url
        report_id = await asyncio.to_thread(save, report, key, context)
        if context is not None:
            context.report_id = report_id

    return keep


def _metrics_listener(report: Report, _site) -> None:
    from . import metrics
    from .store.checks import CURRENT_CHECK

    context = CURRENT_CHECK.get()
    metrics.count_report(report, context.origin if context else "cli")


def attach_store(checker: Checker, settings: Settings) -> None:
    """Give the checker the store's reputation lists (loaded now, refreshed as they change) and identity graph."""
    from .graph import GraphStore, graph_listener
    from .lists.index import ListIndex
    from .lists.store import ListStore
    from .store import open_database

    if not (settings.use_lists or settings.identity_graph):
        return
    writes = settings.store_reports or (settings.identity_graph and settings.record_identities)
    if not writes and not _database_exists(settings):
        return  # nothing to read, and no reason to create a database to find that out
    database = open_database(settings.effective_database_url)
    if settings.use_lists:
        checker.lists = ListIndex(ListStore(database), refresh_interval=settings.lists_refresh_interval,
                                  adhoc=checker.adhoc_lists)
        checker.lists.refresh(force=True)
    if settings.identity_graph:
        checker.graph = GraphStore(database)
        if settings.record_identities:
            checker.add_listener(graph_listener(checker.graph))


def _database_exists(settings: Settings) -> bool:
    from pathlib import Path

    url = settings.effective_database_url
    if not url.startswith("sqlite:///"):
        return True
    return Path(url[len("sqlite:///"):]).exists()


def make_checker(settings: Settings) -> Checker:
    """The Checker for `settings`: live or from archives, recording when asked, keeping reports in the store.
    Opens (and migrates) the store now, so a database that cannot be used stops start-up with a clear message."""
    settings = _replay_ports(settings)
    transport, recorder = _archive_transport(settings)
    checker = Checker(settings, fetcher=Fetcher(settings, transport=transport))
    attach_store(checker, settings)
    if recorder is not None:
        # Each report is filed in the WARC file beside the exchanges it was built from.
        checker.add_listener(lambda report, _site: recorder.write_report(report))
    if settings.store_reports:
        checker.add_listener(_store_listener(settings))
    checker.add_listener(_metrics_listener)
    return checker


@asynccontextmanager
async def open_checker(settings: Settings):
    checker = make_checker(settings)
    try:
        yield checker
    finally:
        await checker.aclose()
