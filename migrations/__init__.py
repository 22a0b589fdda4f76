"""Alembic migrations for the spotsel store (run them with ``spotsel db upgrade``)."""
