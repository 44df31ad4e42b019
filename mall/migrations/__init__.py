"""Alembic schema migrations for the mall database (run with `python -m mall init-db`)."""
