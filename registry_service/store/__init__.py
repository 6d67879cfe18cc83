"""Storage of the registry: typed ORM tables, `SqlRegistryStore`, the search language."""

from registry_service.store.sql_store import SqlRegistryStore

__all__ = ["SqlRegistryStore"]
