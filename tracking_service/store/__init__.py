"""Persistence of the tracking service (SQLAlchemy 2.0 on SQLite, MySQL/MariaDB, PostgreSQL).

`interface.TrackingStore` is what the servicer needs; `sql_store.SqlTrackingStore` implements
it: for each hot call the rules (`rules.py`: validation, run assembly, system tags; no SQL), then
the fast path of the database if `dialects/` has one, else the portable method. The portable
store (`portable/`) is one concern per module: `experiments`, `runs`, `run_data` (log_batch, the
hot path), `metric_history`, `run_search`, `run_inputs`, `logged_models`, `logged_model_search`,
`batch_ids`, `upserts` (writes meeting existing rows, one `ConflictWrites` per database),
`tables`/`logged_model_tables` (the typed tables) and `search/`, the filter language (tokenizer →
parser → AST → SQL). `portable/` never imports `dialects/` (one module per database's fast
paths, found by the dialect's name).
"""

from tracking_service.store.interface import TrackingStore

__all__ = ["TrackingStore"]
