"""Build a Checker from settings: the live fetcher, or an archive recorder / replayer when asked for.

Archives are a matter of transports and of this module only: the pipeline fetches through whatever fetcher it is
given and never knows whether the answers come from the network or from a WARC file.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

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


class RecordingChecker(Checker):
    """A Checker that also files each report in the WARC file beside the exchanges it was built from."""

    def __init__(self, settings: Settings, fetcher: Fetcher, recorder: WarcRecorder):
        super().__init__(settings, fetcher=fetcher)
        self._recorder = recorder

    async def check(self, url: str, *args, **kwargs) -> Report:
        report = await super().check(url, *args, **kwargs)
        self._recorder.write_report(report)
        return report


def make_checker(settings: Settings) -> Checker:
    settings = _replay_ports(settings)
    transport, recorder = _archive_transport(settings)
    fetcher = Fetcher(settings, transport=transport)
    if recorder is not None:
        return RecordingChecker(settings, fetcher, recorder)
    return Checker(settings, fetcher=fetcher)


@asynccontextmanager
async def open_checker(settings: Settings):
    checker = make_checker(settings)
    try:
        yield checker
    finally:
        await checker.aclose()
