"""blob uploads (proof of possession); multipart uploads per account

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 15:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cairn.core.db.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _multipart_uploads(*key: str) -> None:
    op.create_table(
        "multipart_uploads",
        sa.Column("digest", sa.String(length=64), nullable=False),
        *(
            [sa.Column("account", sa.String(length=128), server_default="", nullable=False)]
            if "account" in key
            else []
        ),
        sa.Column("upload_id", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("part_size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", cairn.core.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_multipart_uploads")),
    )


def upgrade() -> None:
    op.create_table(
        "blob_uploads",
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", cairn.core.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["digest"],
            ["blobs.digest"],
            name=op.f("fk_blob_uploads_digest_blobs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account", "digest", name=op.f("pk_blob_uploads")),
    )
    with op.batch_alter_table("blob_uploads", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_blob_uploads_digest"), ["digest"], unique=False)
    # Open multipart uploads were shared by every account; they become per account. The rows
    # are only resumption hints: an upload in flight across the upgrade starts again.
    op.drop_table("multipart_uploads")
    _multipart_uploads("digest", "account")


def downgrade() -> None:
    op.drop_table("multipart_uploads")
    _multipart_uploads("digest")
    with op.batch_alter_table("blob_uploads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_blob_uploads_digest"))
    op.drop_table("blob_uploads")
