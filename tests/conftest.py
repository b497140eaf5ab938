from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.rules import load_rules
from tests.fixture_server import FixtureSites

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SHARED_DATA = Path(os.environ.get("PHARMACHECK_SHARED", SHARED)) / "data"


@pytest.fixture(scope="session")
def rules():
    return load_rules()


@pytest.fixture(scope="session")
def sites(tmp_path_factory):
    server = FixtureSites(tmp_path_factory.mktemp("tls"))
    yield server
    server.close()


def shared_data_or_skip(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not present (the shared data set sits beside the project only on development machines and CI)")
    return path


@pytest.fixture(scope="session")
def hostile():
    from tests.hostile_server import HostileServer

    server = HostileServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def canary():
    from tests.hostile_server import Canary

    listener = Canary()
    yield listener
    listener.close()
