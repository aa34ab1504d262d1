"""order lists filtered by status: (buyer, status, id) and (producer, status, id) indexes

Without them a status filter on a buyer's or a producer's order list made SQLite (which keeps
no statistics unless told to) walk every order of that status in the whole platform: ~100 ms
at a million order lines. Seen with bench/orders.py.

Revision ID: 5c1e0d7a9b42
Revises: 2fa30d8a4659
Create Date: 2026-11-29 23:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '5c1e0d7a9b42'
down_revision = '2fa30d8a4659'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.create_index('ix_purchase_orders_buyer_status',
                              ['buyer_org_id', 'status', 'id'], unique=False)
    with op.batch_alter_table('sub_orders', schema=None) as batch_op:
        batch_op.create_index('ix_sub_orders_producer_status',
                              ['producer_org_id', 'status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('sub_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_sub_orders_producer_status')
    with op.batch_alter_table('purchase_orders', schema=None) as batch_op:
        batch_op.drop_index('ix_purchase_orders_buyer_status')
