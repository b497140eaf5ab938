"""The store: migrations build the schema the models describe, on SQLite and on PostgreSQL; reports are kept
whole and found by address and by site; every check through the service keeps its report."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from app.cli import main
from app.report import Report
from app.store import Database, ReportStore, StoreError


def _report(url: str, verdict: str = "caution", checked_at: datetime | None = None, score: int | None = 55) -> Report:
    return Report(
        url=url, final_url=url, checked_at=(checked_at or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
        algorithm_version="test", verdict=verdict, score=score, grade=None, summary="s", coverage=0.5,
        categories=[], findings=[], pages=[], redirects=[], errors=[],
    )


def test_migrations_build_what_the_models_describe(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from app.store.models import Base

    database = Database(database_url)
    current, head = database.revisions()
    assert current == head and head is not None
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert differences == []
    # Opening an up-to-date database again migrates nothing and loses nothing.
    ReportStore(database).save(_report("https://a.example/"))
    again = Database(database_url)
    assert len(ReportStore(again).history("a.example")) == 1
    database.dispose()
    again.dispose()


def test_one_head_revision():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from app.store.db import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_reports_by_id_address_and_site(database_url):
    store = ReportStore(Database(database_url))
    now = datetime.now(timezone.utc)
    old = store.save(_report("https://shop.example/", "likely_rogue", now - timedelta(days=2), score=10))
    new = store.save(_report("https://shop.example/", "caution", now - timedelta(hours=1)))
    other_page = store.save(_report("https://www.shop.example/contact", "caution", now))
    store.save(_report("https://elsewhere.example/", "unknown", now, score=None))

    assert store.get(old).verdict == "likely_rogue" and store.get(999_999) is None
    newest_id, newest = store.latest("https://shop.example/")
    assert newest_id == new and newest.verdict == "caution"
    assert store.latest("https://shop.example/", newer_than=now) is None
    assert store.latest("https://nowhere.example/") is None

    history = store.history("www.shop.example")
    assert [h.id for h in history] == [other_page, new, old]
    assert history[-1].checked_at.tzinfo is not None and history[-1].score == 10
    first_page = store.history("shop.example", limit=2)
    assert [h.id for h in store.history("shop.example", limit=2, before_id=first_page[-1].id)] == [old]


def test_a_report_comes_back_exactly_as_kept(database_url, sites):
    report = Report.model_validate(json.loads(_report("https://x.example/").model_dump_json()))
    store = ReportStore(Database(database_url))
    assert store.get(store.save(report)) == report


def test_unusable_database_is_one_clear_error(tmp_path):
    with pytest.raises(StoreError, match="not a database URL"):
        Database("not a url at all")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create its folder"):
        Database(f"sqlite:///{blocker / 'sub' / 'store.db'}")


def test_cli_check_keeps_the_report_and_db_status_shows_it(sites, tmp_path, capsys):
    assert main(["check", sites.url("rogue-store.test"), "--json", "--data-dir", str(tmp_path), *sites.cli_args()]) == 0
    checked = json.loads(capsys.readouterr().out)
    store = ReportStore(Database(f"sqlite:///{tmp_path / 'pharmacheck.db'}"))
    [kept] = store.history("rogue-store.test")
    assert kept.verdict == checked["verdict"] and kept.canonical_url.startswith("https://rogue-store.test")

    assert main(["db", "status", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "pharmacheck.db" in out and "reports" in out and "expects" not in out


def test_cli_bad_database_url_exits_2_with_one_line(capsys):
    assert main(["db", "status", "--database-url", "postgresql://nobody@127.0.0.1:1/none"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot open" in err and "Traceback" not in err


def test_eval_keeps_nothing(sites, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text(f"url,label\n{sites.url('rogue-store.test')},rogue\n", encoding="utf-8")
    data = tmp_path / "data"
    assert main(["eval", str(labels), "--data-dir", str(data), *sites.cli_args()]) == 0
    assert "rogue" in capsys.readouterr().out
    assert not (data / "pharmacheck.db").exists()
