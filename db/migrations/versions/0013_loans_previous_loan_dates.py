"""loans' product type, enterprise classification and previous loans: each loan keeps the type of its product
when it was granted, a copy of its enterprise's region, size class and industry section
(matchmaker.classification_copies), and the grant dates of its enterprise's previous loans (overall, at its bank,
of its type, at its bank of its type), by which the regulators' statistics count distinct enterprises
(matchmaker.previous_loans); an enterprise has at most one first loan. Filled here from the products, the
enterprises and the loans. Before this revision two grants to one enterprise at the same moment could both be
declared its first loan; the later ones (by id) become new loans, which is what they were.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 14:33:03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRODUCT_TYPES = """
UPDATE loans SET product_type = (SELECT type FROM loan_products WHERE loan_products.id = loans.product_id)
"""
CLASSIFICATION = """
UPDATE loans SET
    enterprise_region = enterprises.region,
    enterprise_size_class = enterprises.size_class,
    enterprise_industry = substr(enterprises.industry, 1, 1)
FROM enterprises
WHERE enterprises.id = loans.enterprise_id
"""
COPIES = (
    ("product_type", sa.String(length=40)),
    ("enterprise_region", sa.String(length=100)),
    ("enterprise_size_class", sa.String(length=8)),
    ("enterprise_industry", sa.String(length=1)),
)
# The previous loan in (grant date, id) order within each scope (matchmaker.previous_loans.SCOPES).
PREVIOUS_LOANS = """
UPDATE loans SET
    previous_loan_on = previous.any_loan,
    previous_loan_at_bank_on = previous.at_bank,
    previous_loan_of_type_on = previous.of_type,
    previous_loan_at_bank_of_type_on = previous.at_bank_of_type
FROM (
    SELECT id,
        lag(granted_on) OVER (PARTITION BY enterprise_id ORDER BY granted_on, id) AS any_loan,
        lag(granted_on) OVER (PARTITION BY enterprise_id, bank_id ORDER BY granted_on, id) AS at_bank,
        lag(granted_on) OVER (PARTITION BY enterprise_id, product_type ORDER BY granted_on, id) AS of_type,
        lag(granted_on) OVER (PARTITION BY enterprise_id, bank_id, product_type ORDER BY granted_on, id)
            AS at_bank_of_type
    FROM loans
) AS previous
WHERE previous.id = loans.id
"""
FIRST_LOAN_WHERE = sa.text("kind = 'first_loan'")
ONE_FIRST_LOAN = """
UPDATE loans SET kind = 'new_loan'
WHERE kind = 'first_loan'
    AND id NOT IN (SELECT min(id) FROM loans WHERE kind = 'first_loan' GROUP BY enterprise_id)
"""


def upgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        for name, type_ in COPIES:
            batch_op.add_column(sa.Column(name, type_, nullable=True))
        batch_op.add_column(sa.Column("previous_loan_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("previous_loan_at_bank_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("previous_loan_of_type_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("previous_loan_at_bank_of_type_on", sa.Date(), nullable=True))
    op.execute(PRODUCT_TYPES)
    op.execute(CLASSIFICATION)
    op.execute(PREVIOUS_LOANS)
    op.execute(ONE_FIRST_LOAN)
    with op.batch_alter_table("loans", schema=None) as batch_op:
        for name, type_ in COPIES:
            batch_op.alter_column(name, existing_type=type_, nullable=False)
        batch_op.create_index(
            "uq_loans_one_first_loan_per_enterprise",
            ["enterprise_id"],
            unique=True,
            sqlite_where=FIRST_LOAN_WHERE,
            postgresql_where=FIRST_LOAN_WHERE,
        )


def downgrade() -> None:
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_loans_one_first_loan_per_enterprise", sqlite_where=FIRST_LOAN_WHERE, postgresql_where=FIRST_LOAN_WHERE
        )
        for name in (
            "previous_loan_at_bank_of_type_on",
            "previous_loan_of_type_on",
            "previous_loan_at_bank_on",
            "previous_loan_on",
            *(name for name, _ in reversed(COPIES)),
        ):
            batch_op.drop_column(name)
