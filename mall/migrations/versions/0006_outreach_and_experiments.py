"""Proactive messages (one job per customer, rule and cause) and A/B test exposures.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outreach_jobs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('rule_id', sa.String(length=64), nullable=False),
    sa.Column('cause', sa.String(length=128), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'claimed', 'sent', 'skipped')", name=op.f('ck_outreach_jobs_known_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_outreach_jobs_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outreach_jobs')),
    sa.UniqueConstraint('customer_id', 'rule_id', 'cause', name='uq_outreach_jobs_cause')
    )
    with op.batch_alter_table('outreach_jobs', schema=None) as batch_op:
        batch_op.create_index('ix_outreach_jobs_status_due', ['status', 'due_at'], unique=False)

    op.create_table('experiment_exposures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('experiment_id', sa.String(length=64), nullable=False),
    sa.Column('variant_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('exposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_experiment_exposures_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_experiment_exposures')),
    sa.UniqueConstraint('experiment_id', 'customer_id', name='uq_experiment_exposures_customer')
    )
    with op.batch_alter_table('experiment_exposures', schema=None) as batch_op:
        batch_op.create_index('ix_experiment_exposures_variant', ['experiment_id', 'variant_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('experiment_exposures', schema=None) as batch_op:
        batch_op.drop_index('ix_experiment_exposures_variant')
    op.drop_table('experiment_exposures')
    with op.batch_alter_table('outreach_jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_outreach_jobs_status_due')
    op.drop_table('outreach_jobs')
