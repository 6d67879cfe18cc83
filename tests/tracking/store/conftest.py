"""A `SqlTrackingStore` on each backend (SQLite file, fresh MariaDB and PostgreSQL databases)
per test module: the store suite runs on every supported database, whatever MLGRPC_TEST_BACKENDS
says for the service suites."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tracking_service.store.sql_store import SqlTrackingStore

#: Every supported database, and MariaDB once more with the store's MySQL fast paths off: the
#: portable SQLAlchemy paths must behave exactly as the fast ones.
STORE_BACKENDS = ("sqlite", "mysql", "mysql-portable", "postgresql")


@pytest.fixture(scope="module", params=STORE_BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def db_uri(store_backend: str, new_database: Callable[[str], str]) -> str:
    """An empty database of every supported backend, shared by the tests of one module."""
    return new_database(store_backend.removesuffix("-portable"))


@pytest.fixture(scope="module")
def store(db_uri: str, store_backend: str, artifact_root: Path) -> Iterator[SqlTrackingStore]:
    fast_paths = not store_backend.endswith("-portable")
    tracking = SqlTrackingStore(db_uri, str(artifact_root), fast_paths=fast_paths)
    yield tracking
    tracking.dispose()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """unique("exp") → "exp-1a2b3c4d": names that never collide inside a shared database."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def experiment_id(store: SqlTrackingStore, unique: Callable[[str], str]) -> str:
    return store.create_experiment(unique("exp"))


@pytest.fixture
def run_id(store: SqlTrackingStore, experiment_id: str) -> str:
    return store.create_run(experiment_id, run_name="r", start_time=1000).info.run_id
