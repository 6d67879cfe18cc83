"""Model versions: creation with gap-free numbers, tags, stages, search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from mlgrpc_server.errors import FailedPrecondition, NotFound
from mlgrpc_server.paging import (
    after_row,
    decode_token,
    encode_token,
    page_size,
    query_fingerprint,
)
from registry_service.domain import (
    ARCHIVING_STAGES,
    STAGE_ARCHIVED,
    STAGE_NONE,
    STATUS_READY,
    ModelVersion,
    Page,
)
from registry_service.store import validation as v
from registry_service.store.base import RegistryStoreBase, affected_rows, now_ms, ordering
from registry_service.store.filters import parse_filter, parse_order_by
from registry_service.store.loading import load_versions
from registry_service.store.models import (
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelAliasRow,
    RegisteredModelRow,
)
from registry_service.store.search import (
    VERSION_ORDER_KEYS,
    version_conditions,
)

VERSIONS_DEFAULT_RESULTS, VERSIONS_MAX_RESULTS = 10_000, 200_000


class ModelVersionOps(RegistryStoreBase):
    # --- model versions --------------------------------------------------------------------

    def create_model_version(
        self,
        name: str,
        source: str,
        *,
        run_id: str = "",
        storage_location: str = "",
        artifact_path: str = "",
        tags: Mapping[str, str] = {},
        run_link: str = "",
        description: str = "",
        model_id: str = "",
    ) -> ModelVersion:
        """A new version; `storage_location` is already resolved (defaults to `source`)."""
        v.validate_model_name(name)
        v.validate_tags(tags)
        v.validate_text(description, v.MAX_DESCRIPTION_LENGTH, field="description")
        v.validate_text(run_link, v.MAX_RUN_LINK_LENGTH, field="run_link")

        def work(session: Session) -> ModelVersion:
            model = self._model(session, name, lock=True)
            now = now_ms()
            number = model.next_version
            model.next_version = number + 1
            self._touch(model, now)
            row = ModelVersionRow(
                model_id=model.id,
                version=number,
                creation_timestamp=now,
                last_updated_timestamp=now,
                current_stage=STAGE_NONE,
                description=description,
                source=source,
                storage_location=storage_location or source,
                artifact_path=artifact_path,
                run_id=run_id,
                run_link=run_link,
                status=STATUS_READY,
                status_message="",
                logged_model_id=model_id or None,
            )
            session.add(row)
            session.flush()
            session.add_all(
                ModelVersionTagRow(model_id=model.id, version=number, key=k, value=val)
                for k, val in tags.items()
            )
            return self._version_entity(session, model, row)

        return self._write("create_model_version", work)

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        v.validate_model_name(name)
        v.validate_version(version)

        def work(session: Session) -> ModelVersion:
            model = self._model(session, name)
            return self._version_entity(session, model, self._version(session, model, version))

        return self._read(work)

    def update_model_version(self, name: str, version: int, description: str) -> ModelVersion:
        v.validate_model_name(name)
        v.validate_version(version)
        v.validate_text(description, v.MAX_DESCRIPTION_LENGTH, field="description")

        def work(session: Session) -> ModelVersion:
            model = self._model(session, name, lock=True)
            row = self._version(session, model, version)
            now = now_ms()
            row.description = description
            row.last_updated_timestamp = now
            self._touch(model, now)
            return self._version_entity(session, model, row)

        return self._write("update_model_version", work)

    def delete_model_version(self, name: str, version: int) -> None:
        v.validate_model_name(name)
        v.validate_version(version)

        def work(session: Session) -> None:
            model = self._model(session, name, lock=True)
            row = self._version(session, model, version)
            for table in (RegisteredModelAliasRow, ModelVersionTagRow):
                affected_rows(
                    session,
                    delete(table).where(table.model_id == model.id, table.version == version),
                )
            session.delete(row)
            self._touch(model, now_ms())

        self._write("delete_model_version", work)

    def search_model_versions(
        self,
        filter_string: str = "",
        max_results: int = 0,
        order_by: Sequence[str] = (),
        page_token: str = "",
    ) -> Page[ModelVersion]:
        size = page_size(
            max_results, default=VERSIONS_DEFAULT_RESULTS, maximum=VERSIONS_MAX_RESULTS
        )
        conditions = version_conditions(parse_filter(filter_string))
        keys = parse_order_by(order_by, VERSION_ORDER_KEYS)
        present = {key.key for key in keys}
        keys += [
            k
            for k in parse_order_by(["name ASC", "version_number DESC"], VERSION_ORDER_KEYS)
            if k.key not in present
        ]
        column_of: dict[str, Any] = {
            "name": RegisteredModelRow.name,
            "version_number": ModelVersionRow.version,
            "creation_timestamp": ModelVersionRow.creation_timestamp,
            "last_updated_timestamp": ModelVersionRow.last_updated_timestamp,
        }
        columns = [column_of[key.key] for key in keys]
        descending = [key.descending for key in keys]
        fingerprint = query_fingerprint(
            "versions", filter_string, [(k.key, k.descending) for k in keys]
        )
        if page_token:
            after = decode_token(page_token, fingerprint, len(columns))
            conditions.append(after_row(columns, descending, after))
        query = (
            select(ModelVersionRow, RegisteredModelRow.name)
            .join(RegisteredModelRow, RegisteredModelRow.id == ModelVersionRow.model_id)
            .where(*conditions)
            .order_by(*ordering(columns, descending))
            .limit(size + 1)
        )

        def work(session: Session) -> Page[ModelVersion]:
            results = session.execute(query).all()
            token = ""
            if len(results) > size:
                results = results[:size]
                last_row, last_name = results[-1]
                values = {
                    "name": last_name,
                    "version_number": last_row.version,
                    "creation_timestamp": last_row.creation_timestamp,
                    "last_updated_timestamp": last_row.last_updated_timestamp,
                }
                token = encode_token(fingerprint, [values[k.key] for k in keys])
            names = {row.model_id: model_name for row, model_name in results}
            return Page(load_versions(session, [row for row, _ in results], names), token)

        return self._read(work)

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        v.validate_model_name(name)
        v.validate_version(version)
        v.validate_no_control_characters(key, field="key")
        v.validate_tag(
            key, value, field="key" if len(key) > v.MAX_TAG_KEY_LENGTH or not key else "value"
        )

        def work(session: Session) -> None:
            model = self._model(session, name, lock=True)
            row = self._version(session, model, version)
            session.merge(
                ModelVersionTagRow(model_id=model.id, version=version, key=key, value=value)
            )
            now = now_ms()
            row.last_updated_timestamp = now
            self._touch(model, now)

        self._write("set_model_version_tag", work)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        v.validate_model_name(name)
        v.validate_version(version)

        def work(session: Session) -> None:
            model = self._model(session, name, lock=True)
            self._version(session, model, version)
            deleted = affected_rows(
                session,
                delete(ModelVersionTagRow).where(
                    ModelVersionTagRow.model_id == model.id,
                    ModelVersionTagRow.version == version,
                    ModelVersionTagRow.key == key,
                ),
            )
            if not deleted:
                raise NotFound(
                    f"model version {version} of {name!r} has no tag {key!r}", field="key"
                )
            self._touch(model, now_ms())

        self._write("delete_model_version_tag", work)

    def transition_model_version_stage(
        self, name: str, version: int, stage: str, archive_existing_versions: bool = False
    ) -> ModelVersion:
        v.validate_model_name(name)
        v.validate_version(version)
        target = v.canonical_stage(stage)
        if archive_existing_versions and target not in ARCHIVING_STAGES:
            raise FailedPrecondition(
                f"archive_existing_versions is only allowed when moving to "
                f"{' or '.join(ARCHIVING_STAGES)}, not to {target}",
                field="archive_existing_versions",
            )

        def work(session: Session) -> ModelVersion:
            model = self._model(session, name, lock=True)
            row = self._version(session, model, version)
            now = now_ms()
            if archive_existing_versions:
                session.execute(
                    update(ModelVersionRow)
                    .where(
                        ModelVersionRow.model_id == model.id,
                        ModelVersionRow.current_stage == target,
                        ModelVersionRow.version != version,
                    )
                    .values(current_stage=STAGE_ARCHIVED, last_updated_timestamp=now)
                )
            row.current_stage = target
            row.last_updated_timestamp = now
            self._touch(model, now)
            return self._version_entity(session, model, row)

        return self._write("transition_model_version_stage", work)
