"""the lineage index on run_inputs.link_id (link ──used──▶ run edges)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 16:20:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("run_inputs", schema=None) as batch_op:
        batch_op.create_index("ix_run_inputs_link_id", ["link_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_inputs", schema=None) as batch_op:
        batch_op.drop_index("ix_run_inputs_link_id")
