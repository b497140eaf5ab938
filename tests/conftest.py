from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

# Whatever the tests check is kept in a store of their own, never in the user's data folder. Set before anything
# builds Settings, whose default data folder is read from the environment.
os.environ["PHARMACHECK_DATA_DIR"] = tempfile.mkdtemp(prefix="pharmacheck-test-data-")
# Start-page pictures cost a browser render per check; the tests that are about them ask for them.
os.environ.setdefault("PHARMACHECK_SCREENSHOTS", "0")

from app.rules import load_rules
from tests.fixture_server import FixtureSites

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
SHARED_DATA = Path(os.environ.get("PHARMACHECK_SHARED", SHARED)) / "data"


@pytest.fixture(scope="session", autouse=True)
def language_model():
    # Loaded once before any test, so that tests timing page analysis time the analysis, not the model's load.
    from app.language import warm_up

    warm_up()


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


# A real PostgreSQL server for the store tests when one is given (.ci/run starts one on loopback); without it
# those tests run on SQLite only and the PostgreSQL half skips, saying why.
POSTGRES_URL = os.environ.get("PHARMACHECK_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("PHARMACHECK_TEST_REDIS_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A new, empty database for one test: an SQLite file, or a database of its own on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("PHARMACHECK_TEST_POSTGRES_URL is not set (.ci/run starts PostgreSQL on loopback and sets it)")
    import psycopg

    name = f"pharmacheck_test_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_URL
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin.rpartition("/")
    yield f"{base}/{name}"
    from app.store.db import close_all

    close_all()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url():
    """The Redis server .ci/run starts on loopback; tests that need a real queue skip without it."""
    if not REDIS_URL:
        pytest.skip("PHARMACHECK_TEST_REDIS_URL is not set (.ci/run starts Redis on loopback and sets it)")
    return REDIS_URL
