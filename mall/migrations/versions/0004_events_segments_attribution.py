"""Behaviour events from the channels (source, event id, card, properties; the new types),
clustering runs behind each customer's segment (and their churn score, opt-outs), attribution of coupons and orders to a
distributor card, distributor and supplier accounts.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD_TYPES = "type IN ('card_view', 'product_view', 'add_to_cart', 'consult', 'order')"
NEW_TYPES = (
    "type IN ('product_view', 'add_to_cart', 'remove_from_cart', 'search', 'compare', 'share',"
    " 'card_view', 'consult', 'coupon_claim', 'order', 'stock_inquiry', 'complaint',"
    " 'return_request')"
)
SOURCES = "source IN ('mall', 'shop', 'widget', 'wechat')"


def upgrade() -> None:
    op.create_table('segment_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('customers', sa.Integer(), nullable=False),
    sa.Column('k', sa.Integer(), nullable=False),
    sa.Column('silhouette', sa.Float(), nullable=True),
    sa.Column('clusters', sa.JSON(), nullable=False),
    sa.Column('churn_auc', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_runs'))
    )
    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), server_default='agent', nullable=False))
        batch_op.add_column(sa.Column('scope_id', sa.String(length=64), nullable=True))
        batch_op.create_check_constraint(
            'known_role', "role IN ('agent', 'distributor', 'supplier')"
        )

    with op.batch_alter_table('behaviour_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_behaviour_events_known_type'), type_='check')
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='mall', nullable=False))
        batch_op.add_column(sa.Column('event_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('card_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('properties', sa.JSON(), nullable=True))
        batch_op.create_index('ix_behaviour_events_card_type', ['card_id', 'type'], unique=False)
        batch_op.create_index('ix_behaviour_events_product_type', ['product_id', 'type'], unique=False)
        batch_op.create_unique_constraint('uq_behaviour_events_source_event_id', ['source', 'event_id'])
        batch_op.create_foreign_key(batch_op.f('fk_behaviour_events_card_id_distributor_cards'), 'distributor_cards', ['card_id'], ['id'])
        batch_op.create_check_constraint('known_type', NEW_TYPES)
        batch_op.create_check_constraint('known_source', SOURCES)

    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_coupons_card_id'), ['card_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_coupons_card_id_distributor_cards'), 'distributor_cards', ['card_id'], ['id'])

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segment_run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('segment_computed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('segment_features', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('churn_probability', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('opt_outs', sa.JSON(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_customers_segment_run_id_segment_runs'), 'segment_runs', ['segment_run_id'], ['id'])

    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('card_id', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_orders_card_id'), ['card_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_orders_card_id_distributor_cards'), 'distributor_cards', ['card_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_orders_card_id_distributor_cards'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_orders_card_id'))
        batch_op.drop_column('card_id')

    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_customers_segment_run_id_segment_runs'), type_='foreignkey')
        batch_op.drop_column('opt_outs')
        batch_op.drop_column('churn_probability')
        batch_op.drop_column('segment_features')
        batch_op.drop_column('segment_computed_at')
        batch_op.drop_column('segment_run_id')

    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_coupons_card_id_distributor_cards'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_coupons_card_id'))
        batch_op.drop_column('card_id')

    # Events of the new types cannot live in the old table.
    op.execute(
        "DELETE FROM behaviour_events WHERE type NOT IN "
        "('card_view', 'product_view', 'add_to_cart', 'consult', 'order')"
    )
    with op.batch_alter_table('behaviour_events', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_behaviour_events_known_source'), type_='check')
        batch_op.drop_constraint(op.f('ck_behaviour_events_known_type'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_behaviour_events_card_id_distributor_cards'), type_='foreignkey')
        batch_op.drop_constraint('uq_behaviour_events_source_event_id', type_='unique')
        batch_op.drop_index('ix_behaviour_events_product_type')
        batch_op.drop_index('ix_behaviour_events_card_type')
        batch_op.drop_column('properties')
        batch_op.drop_column('card_id')
        batch_op.drop_column('event_id')
        batch_op.drop_column('source')
        batch_op.create_check_constraint('known_type', OLD_TYPES)

    with op.batch_alter_table('agents', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_agents_known_role'), type_='check')
        batch_op.drop_column('scope_id')
        batch_op.drop_column('role')

    op.drop_table('segment_runs')
