"""Reports: every finished report, kept whole, found by address and by site.

Revision ID: 0001_reports
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_reports"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("canonical_url", sa.String(2048), nullable=False),
        sa.Column("final_url", sa.String(2048), nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("algorithm_version", sa.String(32), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_archive", sa.Boolean(), nullable=False),
        sa.Column("report_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reports"),
    )
    op.create_index("ix_reports_domain_checked_at", "reports", ["domain", "checked_at"])
    op.create_index("ix_reports_canonical_url_checked_at", "reports", ["canonical_url", "checked_at"])


def downgrade() -> None:
    op.drop_index("ix_reports_canonical_url_checked_at", table_name="reports")
    op.drop_index("ix_reports_domain_checked_at", table_name="reports")
    op.drop_table("reports")
