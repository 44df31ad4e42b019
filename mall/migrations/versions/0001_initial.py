"""Initial schema: catalogue, customers, behaviour, coupons, orders and logistics.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('categories',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_categories'))
    )
    op.create_table('coupon_templates',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('per_user_limit', sa.Integer(), nullable=False),
    sa.Column('total_stock', sa.Integer(), nullable=False),
    sa.Column('issued_count', sa.Integer(), nullable=False),
    sa.Column('segments', sa.JSON(), nullable=False),
    sa.Column('product_ids', sa.JSON(), nullable=False),
    sa.Column('category_ids', sa.JSON(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.CheckConstraint("kind IN ('instant', 'threshold')", name=op.f('ck_coupon_templates_known_kind')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_coupon_templates_amount_positive')),
    sa.CheckConstraint('issued_count >= 0 AND issued_count <= total_stock', name=op.f('ck_coupon_templates_within_stock')),
    sa.CheckConstraint('per_user_limit >= 1', name=op.f('ck_coupon_templates_per_user_limit_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_templates'))
    )
    op.create_table('distributor_cards',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('owner_name', sa.String(length=64), nullable=False),
    sa.Column('shop_name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distributor_cards'))
    )
    op.create_table('suppliers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppliers'))
    )
    op.create_table('customers',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('display_name', sa.String(length=64), nullable=False),
    sa.Column('interests', sa.JSON(), nullable=False),
    sa.Column('card_id', sa.String(length=64), nullable=True),
    sa.Column('segment', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_visit_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['card_id'], ['distributor_cards.id'], name=op.f('fk_customers_card_id_distributor_cards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customers'))
    )
    op.create_table('products',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('category_id', sa.String(length=32), nullable=False),
    sa.Column('supplier_id', sa.String(length=64), nullable=False),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('list_price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('specs', sa.JSON(), nullable=False),
    sa.Column('image_url', sa.String(length=512), nullable=True),
    sa.CheckConstraint('list_price >= 0', name=op.f('ck_products_list_price_not_negative')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_products_price_not_negative')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_products_category_id_categories')),
    sa.ForeignKeyConstraint(['supplier_id'], ['suppliers.id'], name=op.f('fk_products_supplier_id_suppliers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('name', name=op.f('uq_products_name'))
    )
    op.create_index('ix_products_category_id', 'products', ['category_id'], unique=False)

    op.create_table('behaviour_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('product_id', sa.String(length=32), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("type IN ('card_view', 'product_view', 'add_to_cart', 'consult', 'order')", name=op.f('ck_behaviour_events_known_type')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_behaviour_events_customer_id_customers')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_behaviour_events_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_behaviour_events'))
    )
    op.create_index('ix_behaviour_events_customer_time', 'behaviour_events', ['customer_id', 'occurred_at'], unique=False)

    op.create_table('coupons',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('template_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('threshold', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('order_id', sa.String(length=32), nullable=True),
    sa.Column('idempotency_key', sa.String(length=128), nullable=False),
    sa.CheckConstraint("status IN ('issued', 'used', 'expired')", name=op.f('ck_coupons_known_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_coupons_customer_id_customers')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_templates.id'], name=op.f('fk_coupons_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_coupons')),
    sa.UniqueConstraint('customer_id', 'idempotency_key', name='uq_coupons_customer_key')
    )
    op.create_index('ix_coupons_customer_template', 'coupons', ['customer_id', 'template_id'], unique=False)

    op.create_table('orders',
    sa.Column('id', sa.String(length=20), nullable=False),
    sa.Column('customer_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('goods_amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('shipping_fee', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('discount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.Column('recipient_name', sa.String(length=64), nullable=False),
    sa.Column('recipient_phone', sa.String(length=32), nullable=False),
    sa.Column('region', sa.String(length=128), nullable=False),
    sa.Column('address_detail', sa.String(length=256), nullable=False),
    sa.CheckConstraint("status IN ('pending_payment', 'paid', 'shipped', 'delivered', 'completed', 'cancelled', 'refunding', 'refunded')", name=op.f('ck_orders_known_status')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_orders_customer_id_customers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders'))
    )
    op.create_index('ix_orders_customer_created', 'orders', ['customer_id', 'created_at'], unique=False)

    op.create_table('skus',
    sa.Column('id', sa.String(length=48), nullable=False),
    sa.Column('product_id', sa.String(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('color', sa.String(length=32), nullable=True),
    sa.Column('size', sa.String(length=32), nullable=True),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_skus_stock_not_negative')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_skus_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_skus'))
    )
    op.create_index('ix_skus_product_id', 'skus', ['product_id'], unique=False)

    op.create_table('logistics',
    sa.Column('order_id', sa.String(length=20), nullable=False),
    sa.Column('courier', sa.String(length=32), nullable=False),
    sa.Column('tracking_no', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_logistics_order_id_orders')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_logistics'))
    )
    op.create_table('order_items',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=20), nullable=False),
    sa.Column('product_id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('color', sa.String(length=32), nullable=True),
    sa.Column('size', sa.String(length=32), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('price', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_items_quantity_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_order_items_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items'))
    )
    op.create_index('ix_order_items_order_id', 'order_items', ['order_id'], unique=False)

    op.create_table('logistics_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('order_id', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('description', sa.String(length=256), nullable=False),
    sa.Column('location', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['order_id'], ['logistics.order_id'], name=op.f('fk_logistics_events_order_id_logistics')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_logistics_events'))
    )
    op.create_index('ix_logistics_events_order_id', 'logistics_events', ['order_id'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_logistics_events_order_id', table_name='logistics_events')

    op.drop_table('logistics_events')
    op.drop_index('ix_order_items_order_id', table_name='order_items')

    op.drop_table('order_items')
    op.drop_table('logistics')
    op.drop_index('ix_skus_product_id', table_name='skus')

    op.drop_table('skus')
    op.drop_index('ix_orders_customer_created', table_name='orders')

    op.drop_table('orders')
    op.drop_index('ix_coupons_customer_template', table_name='coupons')

    op.drop_table('coupons')
    op.drop_index('ix_behaviour_events_customer_time', table_name='behaviour_events')

    op.drop_table('behaviour_events')
    op.drop_index('ix_products_category_id', table_name='products')

    op.drop_table('products')
    op.drop_table('customers')
    op.drop_table('suppliers')
    op.drop_table('distributor_cards')
    op.drop_table('coupon_templates')
    op.drop_table('categories')
