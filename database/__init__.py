"""Database schema (Alembic migrations with raw SQL) and helpers shared by the services."""
