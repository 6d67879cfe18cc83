"""`SqlRegistryStore`: the registry on SQLAlchemy 2.0, one transaction per method.

Version numbers: the registered model's row is locked (`SELECT … FOR UPDATE` on MySQL; on
SQLite every write transaction starts with BEGIN IMMEDIATE, which serialises writers) and its
`next_version` is read and bumped in the same transaction as the insert, so concurrent
creations get 1, 2, 3… each exactly once. Deadlock victims are retried (`with_retry`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mlgrpc.uris import ModelsUri
from mlgrpc_server.errors import AlreadyExists, NotFound
from mlgrpc_server.paging import (
    after_row,
    decode_token,
    encode_token,
    page_size,
    query_fingerprint,
)
from registry_service.domain import (
    ALL_STAGES,
    ModelVersion,
    Page,
    RegisteredModel,
)
from registry_service.store import validation as v
from registry_service.store.base import affected_rows, now_ms, ordering
from registry_service.store.filters import parse_filter, parse_order_by
from registry_service.store.loading import load_models
from registry_service.store.models import (
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelAliasRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
)
from registry_service.store.search import (
    MODEL_ORDER_KEYS,
    model_conditions,
)
from registry_service.store.versions import ModelVersionOps

MODELS_DEFAULT_RESULTS, MODELS_MAX_RESULTS = 100, 1000


class SqlRegistryStore(ModelVersionOps):
    """The registry on SQLAlchemy 2.0: registered models, aliases and URIs here, versions in
    `ModelVersionOps`, plumbing in `RegistryStoreBase`."""

    # --- registered models --------------------------------------------------------------------

    def create_registered_model(
        self, name: str, tags: Mapping[str, str] = {}, description: str = ""
    ) -> RegisteredModel:
        v.validate_new_model_name(name)
        v.validate_tags(tags)
        v.validate_text(description, v.MAX_DESCRIPTION_LENGTH, field="description")

        def work(session: Session) -> RegisteredModel:
            now = now_ms()
            row = RegisteredModelRow(
                name=name,
                description=description,
                creation_timestamp=now,
                last_updated_timestamp=now,
                next_version=1,
                revision=0,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:
                raise AlreadyExists(
                    f"registered model {name!r} already exists", field="name"
                ) from None
            session.add_all(
                RegisteredModelTagRow(model_id=row.id, key=k, value=val) for k, val in tags.items()
            )
            session.flush()
            return load_models(session, [row])[0]

        return self._write("create_registered_model", work)

    def get_registered_model(self, name: str) -> RegisteredModel:
        v.validate_model_name(name)
        return self._read(lambda s: load_models(s, [self._model(s, name)])[0])

    def model_revision(self, name: str) -> int | None:
        """The change counter of a model (None if it does not exist): one indexed read."""
        with self._sessions() as session:
            return session.scalar(
                select(RegisteredModelRow.revision).where(RegisteredModelRow.name == name)
            )

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        v.validate_model_name(name)
        v.validate_new_model_name(new_name, field="new_name")

        def work(session: Session) -> RegisteredModel:
            row = self._model(session, name, lock=True)
            row.name = new_name
            self._touch(row, now_ms())
            try:
                session.flush()
            except IntegrityError:
                raise AlreadyExists(
                    f"registered model {new_name!r} already exists", field="new_name"
                ) from None
            return load_models(session, [row])[0]

        return self._write("rename_registered_model", work)

    def update_registered_model(self, name: str, description: str) -> RegisteredModel:
        v.validate_model_name(name)
        v.validate_text(description, v.MAX_DESCRIPTION_LENGTH, field="description")

        def work(session: Session) -> RegisteredModel:
            row = self._model(session, name, lock=True)
            row.description = description
            self._touch(row, now_ms())
            return load_models(session, [row])[0]

        return self._write("update_registered_model", work)

    def delete_registered_model(self, name: str) -> None:
        v.validate_model_name(name)

        def work(session: Session) -> None:
            row = self._model(session, name, lock=True)
            # Children explicitly, child-first: no reliance on ON DELETE CASCADE being enabled.
            for table in (
                RegisteredModelAliasRow,
                ModelVersionTagRow,
                ModelVersionRow,
                RegisteredModelTagRow,
            ):
                session.execute(delete(table).where(table.model_id == row.id))
            session.delete(row)

        self._write("delete_registered_model", work)

    def search_registered_models(
        self,
        filter_string: str = "",
        max_results: int = 0,
        order_by: Sequence[str] = (),
        page_token: str = "",
    ) -> Page[RegisteredModel]:
        size = page_size(max_results, default=MODELS_DEFAULT_RESULTS, maximum=MODELS_MAX_RESULTS)
        conditions = model_conditions(parse_filter(filter_string))
        keys = parse_order_by(order_by, MODEL_ORDER_KEYS)
        if not any(key.key == "name" for key in keys):
            keys.append(parse_order_by(["name"], MODEL_ORDER_KEYS)[0])
        columns = [getattr(RegisteredModelRow, key.key) for key in keys]
        descending = [key.descending for key in keys]
        fingerprint = query_fingerprint(
            "models", filter_string, [(k.key, k.descending) for k in keys]
        )
        if page_token:
            after = decode_token(page_token, fingerprint, len(columns))
            conditions.append(after_row(columns, descending, after))
        query = (
            select(RegisteredModelRow)
            .where(*conditions)
            .order_by(*ordering(columns, descending))
            .limit(size + 1)
        )

        def work(session: Session) -> Page[RegisteredModel]:
            rows = list(session.scalars(query))
            token = ""
            if len(rows) > size:
                rows = rows[:size]
                token = encode_token(fingerprint, [getattr(rows[-1], k.key) for k in keys])
            return Page(load_models(session, rows), token)

        return self._read(work)

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        v.validate_model_name(name)
        v.validate_no_control_characters(key, field="key")
        v.validate_tag(
            key, value, field="key" if len(key) > v.MAX_TAG_KEY_LENGTH or not key else "value"
        )

        def work(session: Session) -> None:
            row = self._model(session, name, lock=True)
            session.merge(RegisteredModelTagRow(model_id=row.id, key=key, value=value))
            self._touch(row, now_ms())

        self._write("set_registered_model_tag", work)

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        v.validate_model_name(name)

        def work(session: Session) -> None:
            row = self._model(session, name, lock=True)
            deleted = affected_rows(
                session,
                delete(RegisteredModelTagRow).where(
                    RegisteredModelTagRow.model_id == row.id, RegisteredModelTagRow.key == key
                ),
            )
            if not deleted:
                raise NotFound(f"registered model {name!r} has no tag {key!r}", field="key")
            self._touch(row, now_ms())

        self._write("delete_registered_model_tag", work)

    def get_latest_versions(self, name: str, stages: Sequence[str] = ()) -> list[ModelVersion]:
        """The highest version in each stage; no stages means every stage (as MLflow)."""
        v.validate_model_name(name)
        wanted = {v.canonical_stage(s, field="stages") for s in stages} or set(ALL_STAGES)
        model = self.get_registered_model(name)
        return [mv for mv in model.latest_versions if mv.current_stage in wanted]

    # --- aliases and URIs -------------------------------------------------------------------

    def set_registered_model_alias(self, name: str, alias: str, version: int) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias)
        v.validate_version(version)

        def work(session: Session) -> None:
            model = self._model(session, name, lock=True)
            self._version(session, model, version)
            session.merge(RegisteredModelAliasRow(model_id=model.id, alias=alias, version=version))
            self._touch(model, now_ms())

        self._write("set_registered_model_alias", work)

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        v.validate_model_name(name)
        v.validate_alias(alias)

        def work(session: Session) -> None:
            model = self._model(session, name, lock=True)
            deleted = affected_rows(
                session,
                delete(RegisteredModelAliasRow).where(
                    RegisteredModelAliasRow.model_id == model.id,
                    RegisteredModelAliasRow.alias == alias,
                ),
            )
            if not deleted:
                raise NotFound(f"registered model {name!r} has no alias {alias!r}", field="alias")
            self._touch(model, now_ms())

        self._write("delete_registered_model_alias", work)

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        v.validate_model_name(name)
        v.validate_alias(alias)

        def work(session: Session) -> ModelVersion:
            model = self._model(session, name)
            target = session.get(RegisteredModelAliasRow, (model.id, alias))
            if target is None:
                raise NotFound(f"registered model {name!r} has no alias {alias!r}", field="alias")
            return self._version_entity(
                session, model, self._version(session, model, target.version)
            )

        return self._read(work)

    def resolve(self, uri: ModelsUri) -> ModelVersion:
        """The version a parsed `models:/` URI names; NotFound naming the URI's part."""
        if uri.alias is not None:
            return self.get_model_version_by_alias(uri.name, uri.alias)
        if uri.version is not None:
            return self.get_model_version(uri.name, uri.version)

        def work(session: Session) -> ModelVersion:
            model = self._model(session, uri.name)
            query = select(func.max(ModelVersionRow.version)).where(
                ModelVersionRow.model_id == model.id
            )
            if uri.stage is not None:
                query = query.where(ModelVersionRow.current_stage == uri.stage)
            number = session.scalar(query)
            if number is None:
                where = f"in stage {uri.stage}" if uri.stage else "at all"
                raise NotFound(
                    f"registered model {uri.name!r} has no version {where}", field="model_uri"
                )
            return self._version_entity(session, model, self._version(session, model, number))

        return self._read(work)
