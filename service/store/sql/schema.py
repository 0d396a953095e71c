"""The MetaData every table belongs to, and the column types tables share: its own module so
each area's *_tables.py module builds on it without importing the others."""

from __future__ import annotations

from sqlalchemy import MetaData, String

# Explicit constraint names keep migrations reproducible on both backends.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

VISITOR = String(64)
KEY = String(64)
