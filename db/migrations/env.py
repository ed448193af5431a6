"""Alembic environment. This file is run by Alembic as a script (db/migrations is not a package), so the
imports of the domain models below do not make the db package depend on them."""

from alembic import context
from sqlalchemy import engine_from_config, pool

import accounts.audit
import accounts.idempotency
import accounts.models  # noqa: F401  (these imports register the tables on Base.metadata)
import enterprises.models  # noqa: F401
import matchmaker.models  # noqa: F401
import products.models  # noqa: F401
from db.base import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
