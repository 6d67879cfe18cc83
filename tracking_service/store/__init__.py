"""Persistence of the tracking service (SQLAlchemy 2.0 typed ORM on MySQL/MariaDB and SQLite)."""

from tracking_service.store.interface import TrackingStore

__all__ = ["TrackingStore"]
