"""commit tokens: a retried commit finds the version it made

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-04 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cairn.core.db.models


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "commit_tokens",
        sa.Column("pending_id", sa.String(length=64), nullable=False),
        sa.Column("token", sa.String(length=128), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("deduplicated", sa.Boolean(), nullable=False),
        sa.Column("created_at", cairn.core.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_commit_tokens_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("pending_id", name=op.f("pk_commit_tokens")),
    )
    with op.batch_alter_table("commit_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commit_tokens_version_id"), ["version_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("commit_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commit_tokens_version_id"))
    op.drop_table("commit_tokens")
