"""audit events append-only: database triggers refuse UPDATE and DELETE

Revision ID: b41f0c2d9a10
Revises: 7e0572792927
Create Date: 2026-11-28 16:10:00
"""

from alembic import op

from marketplace.audit.models import POSTGRESQL_APPEND_ONLY, SQLITE_APPEND_ONLY

revision = "b41f0c2d9a10"
down_revision = "7e0572792927"
branch_labels = None
depends_on = None


def upgrade():
    dialect = op.get_bind().dialect.name
    statements = {"sqlite": SQLITE_APPEND_ONLY, "postgresql": POSTGRESQL_APPEND_ONLY}
    for statement in statements.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
