"""Reputation lists with their provenance, and the identity graph (what each checked site showed of its operator).

Revision ID: 0002_lists_and_identity
Revises: 0001_reports
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_lists_and_identity"
down_revision = "0001_reports"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reputation_lists",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(80), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(2048), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("snapshot_date", sa.Date(), nullable=True),
        sa.Column("fresh_days", sa.Integer(), nullable=True),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reputation_lists"),
        sa.UniqueConstraint("source", name="uq_reputation_lists_source"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "reputation_entries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("list_id", Id, nullable=False),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("name", sa.String(300), nullable=False),
        sa.Column("source_row", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_reputation_entries"),
        sa.ForeignKeyConstraint(["list_id"], ["reputation_lists.id"], ondelete="CASCADE",
                                name="fk_reputation_entries_list_id_reputation_lists"),
    )
    op.create_index("ix_reputation_entries_domain", "reputation_entries", ["domain"])
    op.create_index("ix_reputation_entries_list_id", "reputation_entries", ["list_id"])
    op.create_table(
        "site_identities",
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("final_url", sa.String(2048), nullable=False),
        sa.Column("verdict", sa.String(32), nullable=False),
        sa.Column("verdict_from_graph", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("domain", name="pk_site_identities"),
    )
    op.create_table(
        "identity_facts",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.String(512), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("snippet", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_identity_facts"),
        sa.ForeignKeyConstraint(["domain"], ["site_identities.domain"], ondelete="CASCADE",
                                name="fk_identity_facts_domain_site_identities"),
    )
    op.create_index("ix_identity_facts_kind_value", "identity_facts", ["kind", "value"])
    op.create_index("ix_identity_facts_domain", "identity_facts", ["domain"])


def downgrade() -> None:
    op.drop_index("ix_identity_facts_domain", table_name="identity_facts")
    op.drop_index("ix_identity_facts_kind_value", table_name="identity_facts")
    op.drop_table("identity_facts")
    op.drop_table("site_identities")
    op.drop_index("ix_reputation_entries_list_id", table_name="reputation_entries")
    op.drop_index("ix_reputation_entries_domain", table_name="reputation_entries")
    op.drop_table("reputation_entries")
    op.drop_table("reputation_lists")
