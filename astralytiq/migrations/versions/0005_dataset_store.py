"""Dataset store: datasets added at run time (spec, contract, data file)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 23:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "datasets",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("spec_yaml", sa.Text(), nullable=False),
        sa.Column("contract_yaml", sa.Text(), nullable=False),
        sa.Column("data_file", sa.String(length=128), nullable=False),
        sa.Column("data_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("datasets")
