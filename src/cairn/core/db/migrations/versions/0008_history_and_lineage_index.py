"""history events and the lineage index on versions.run_id

Revision ID: 0008
Revises: 0003
Create Date: 2026-12-04 14:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cairn.core.db.models


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("at", cairn.core.db.models.UTCDateTime(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_events")),
    )
    with op.batch_alter_table("history_events", schema=None) as batch_op:
        batch_op.create_index("ix_history_events_collection", ["collection_id", "id"], unique=False)
        batch_op.create_index("ix_history_events_version", ["version_id", "id"], unique=False)

    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.create_index("ix_versions_run_id", ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_index("ix_versions_run_id")

    with op.batch_alter_table("history_events", schema=None) as batch_op:
        batch_op.drop_index("ix_history_events_version")
        batch_op.drop_index("ix_history_events_collection")

    op.drop_table("history_events")
