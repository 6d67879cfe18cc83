"""Persistence of the tracking service (SQLAlchemy 2.0 on SQLite, MySQL/MariaDB, PostgreSQL).

`interface.TrackingStore` is what the servicer needs; `sql_store.SqlTrackingStore` implements
it: for each hot call the rules (validation, system tags, the SQL of a page), then the fast
path of the database if `dialects/` has one, else the portable method. The portable store is
one concern per module: `experiments`, `runs`, `run_data` (log_batch, the hot path),
`metric_history`, `run_search`, with `search/` (the filter language: tokenizer → parser → AST →
SQL), `validation` (MLflow's limits), `upserts` (bulk writes) and `models` (the tables); it
never imports `dialects/` (one module per database's fast paths, found by the dialect's name).
"""

from tracking_service.store.interface import TrackingStore

__all__ = ["TrackingStore"]
