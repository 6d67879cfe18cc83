"""The portable tracking store: SQLAlchemy Core/ORM only, correct on every supported database
(SQLite, MySQL/MariaDB, PostgreSQL), and the reference the fast paths of `dialects/` must agree
with. Nothing here imports `dialects/` (tests/tracking/store/test_store_layers.py checks it)."""
