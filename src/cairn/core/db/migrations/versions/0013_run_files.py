"""run files: what a run saved beside its history (the W&B client's CreateRunFiles)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04 18:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cairn.core.db.models import UTCDateTime

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "run_files",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_run_files_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "name", name=op.f("pk_run_files")),
    )


def downgrade() -> None:
    op.drop_table("run_files")
