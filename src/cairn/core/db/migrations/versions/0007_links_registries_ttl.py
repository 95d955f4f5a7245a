"""portfolios (links and their aliases), registries, collection kinds and tags, TTL inheritance

Revision ID: 0007
Revises: 0003
Create Date: 2026-12-04 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import cairn.core.db.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("link_index", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=True),
        sa.Column("created_at", cairn.core.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["collections.id"],
            name=op.f("fk_links_portfolio_id_collections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["versions.id"],
            name=op.f("fk_links_version_id_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.UniqueConstraint("portfolio_id", "link_index", name="uq_links_portfolio_index"),
        sa.UniqueConstraint("portfolio_id", "version_id", name="uq_links_portfolio_version"),
    )
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_links_version_id"), ["version_id"], unique=False)

    op.create_table(
        "link_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["links.id"],
            name=op.f("fk_link_aliases_link_id_links"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["collections.id"],
            name=op.f("fk_link_aliases_portfolio_id_collections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_aliases")),
        sa.UniqueConstraint("portfolio_id", "alias", name=op.f("uq_link_aliases_portfolio_id")),
    )
    with op.batch_alter_table("link_aliases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_aliases_link_id"), ["link_id"], unique=False)

    op.create_table(
        "registries",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_at", cairn.core.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_registries_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_registries")),
    )

    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="sequence", nullable=False)
        )
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=True))

    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("default_ttl_seconds", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("ttl_inherit", sa.Boolean(), server_default=sa.true(), nullable=False)
        )

    with op.batch_alter_table("run_inputs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("link_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_run_inputs_link_id_links"),
            "links",
            ["link_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("run_inputs", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_run_inputs_link_id_links"), type_="foreignkey")
        batch_op.drop_column("link_id")

    with op.batch_alter_table("versions", schema=None) as batch_op:
        batch_op.drop_column("ttl_inherit")

    with op.batch_alter_table("entities", schema=None) as batch_op:
        batch_op.drop_column("default_ttl_seconds")

    with op.batch_alter_table("collections", schema=None) as batch_op:
        batch_op.drop_column("tags")
        batch_op.drop_column("kind")

    op.drop_table("registries")
    with op.batch_alter_table("link_aliases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_aliases_link_id"))
    op.drop_table("link_aliases")
    with op.batch_alter_table("links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_links_version_id"))
    op.drop_table("links")
