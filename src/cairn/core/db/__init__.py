"""SQLAlchemy 2 models, engine setup and Alembic migrations (SQLite and PostgreSQL)."""
