"""Alembic migrations, run by `smallfavor migrate` (see migrate.py)."""
