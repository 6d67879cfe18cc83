"""Plumbing shared by the parts of `SqlRegistryStore`: sessions, retries, row lookups.

Every write locks the registered model's row first (`SELECT … FOR UPDATE` on MySQL; on SQLite
every write transaction starts with BEGIN IMMEDIATE), so that writes to one model are serialised
in one lock order and its `revision` counter grows once per committed change.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Engine, Executable, event, select
from sqlalchemy.orm import Session, sessionmaker

from mlgrpc_server.db import is_sqlite, make_session_factory, transaction, with_retry
from mlgrpc_server.errors import NotFound
from registry_service.domain import (
    ModelVersion,
)
from registry_service.store.loading import load_versions
from registry_service.store.models import (
    ModelVersionRow,
    RegisteredModelRow,
)

T = TypeVar("T")


def ordering(columns: Sequence[Any], descending: Sequence[bool]) -> list[Any]:
    return [c.desc() if d else c.asc() for c, d in zip(columns, descending, strict=True)]


def affected_rows(session: Session, statement: Executable) -> int:
    """Rows a DELETE or UPDATE statement touched."""
    result = cast("CursorResult[Any]", session.execute(statement))
    return result.rowcount


def now_ms() -> int:
    return int(time.time() * 1000)


class RegistryStoreBase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if is_sqlite(engine):
            # SQLite's LIKE ignores ASCII case by default; MLflow's LIKE is case-sensitive.
            @event.listens_for(engine, "connect")
            def _case_sensitive_like(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.execute("PRAGMA case_sensitive_like=ON")

            engine.dispose()  # connections opened before the listener lack the pragma
        self._sessions: sessionmaker[Session] = make_session_factory(engine)

    # --- plumbing ---------------------------------------------------------------------------

    def _write(self, what: str, work: Callable[[Session], T]) -> T:
        def attempt() -> T:
            with transaction(self._sessions) as session:
                return work(session)

        return with_retry(attempt, what=what)

    def _read(self, work: Callable[[Session], T]) -> T:
        with transaction(self._sessions) as session:
            return work(session)

    @staticmethod
    def _model(session: Session, name: str, *, lock: bool = False) -> RegisteredModelRow:
        query = select(RegisteredModelRow).where(RegisteredModelRow.name == name)
        if lock:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise NotFound(f"registered model {name!r} does not exist", field="name")
        return row

    @staticmethod
    def _version(session: Session, model: RegisteredModelRow, version: int) -> ModelVersionRow:
        row = session.get(ModelVersionRow, (model.id, version))
        if row is None:
            raise NotFound(
                f"model version {version} of registered model {model.name!r} does not exist",
                field="version",
            )
        return row

    @staticmethod
    def _touch(model: RegisteredModelRow, now: int) -> None:
        model.last_updated_timestamp = now
        model.revision += 1

    @staticmethod
    def _version_entity(
        session: Session, model: RegisteredModelRow, row: ModelVersionRow
    ) -> ModelVersion:
        session.flush()
        return load_versions(session, [row], {model.id: model.name})[0]
