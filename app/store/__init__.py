"""The store: what pharmacheck keeps between checks (reports, and the tables later features add).

SQLAlchemy 2 over SQLite in the data folder by default, so `pharmacheck serve` needs no server; any other
database by `database_url` (PostgreSQL for several processes or machines). The schema is built and changed by
Alembic migrations (app/store/migrations), applied when a database is opened.
"""

from .db import Database, StoreError, open_database
from .models import Base
from .reports import ReportStore, Screenshot, ScreenshotStore, StoredReportSummary

__all__ = ["Base", "Database", "ReportStore", "Screenshot", "ScreenshotStore", "StoreError", "StoredReportSummary", "open_database"]
