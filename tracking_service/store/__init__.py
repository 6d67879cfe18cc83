"""Persistence of the tracking service (SQLAlchemy 2.0 typed ORM on MySQL/MariaDB and SQLite).

`interface.TrackingStore` is what the servicer needs; `sql_store.SqlTrackingStore` implements
it, one concern per module: `experiments`, `runs`, `run_data` (log_batch, the hot path, and
metric history), `run_search`, with `search/` (the filter language: tokenizer → parser → AST →
SQL), `paging` (opaque keyset tokens), `validation` (MLflow's limits), `upserts` (dialect bulk
writes) and `models` (the tables of migration 0001_tracking).
"""

from tracking_service.store.interface import TrackingStore

__all__ = ["TrackingStore"]
