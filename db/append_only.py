"""Append-only tables: the triggers that make the database itself refuse UPDATE and DELETE on a table, on SQLite
and PostgreSQL alike, whoever connects. The migrations of the credit ledger (``credit_events``) and of the audit
log (``audit_log``) create them; the refusal's message is "<table> is append-only".

PostgreSQL's TRUNCATE fires no row trigger, and the tests empty tables with it; on SQLite the tests drop the
triggers around their DELETE and create them again (tests/conftest.py)."""


def message(table: str) -> str:
    return f"{table} is append-only"


def create_statements(table: str, dialect: str) -> list[str]:
    """The SQL creating the triggers of ``table`` for ``dialect`` ("sqlite" or "postgresql")."""
    if dialect == "sqlite":
        return [
            f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
    BEGIN SELECT RAISE(ABORT, '{message(table)}'); END"""
            for verb in ("UPDATE", "DELETE")
        ]
    return [
        f"""CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{message(table)}' USING ERRCODE = 'restrict_violation'; END $$""",
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {table}_append_only()""",
    ]


def drop_statements(table: str, dialect: str) -> list[str]:
    """The SQL dropping what ``create_statements`` created."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER {table}_no_update", f"DROP TRIGGER {table}_no_delete"]
    return [f"DROP TRIGGER {table}_append_only ON {table}", f"DROP FUNCTION {table}_append_only()"]
