"""Rows → domain entities, loading tags, aliases and latest versions of many rows at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from registry_service.domain import ModelVersion, RegisteredModel
from registry_service.store.models import (
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelAliasRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
)


def load_versions(
    session: Session, rows: Sequence[ModelVersionRow], names: dict[int, str]
) -> list[ModelVersion]:
    """Versions with their tags and aliases; `names` maps model id → model name."""
    if not rows:
        return []
    keys = [(row.model_id, row.version) for row in rows]
    tags: dict[tuple[int, int], dict[str, str]] = defaultdict(dict)
    for tag in session.scalars(
        select(ModelVersionTagRow).where(
            tuple_(ModelVersionTagRow.model_id, ModelVersionTagRow.version).in_(keys)
        )
    ):
        tags[(tag.model_id, tag.version)][tag.key] = tag.value
    aliases: dict[tuple[int, int], list[str]] = defaultdict(list)
    model_ids = {row.model_id for row in rows}
    for alias in session.scalars(
        select(RegisteredModelAliasRow)
        .where(RegisteredModelAliasRow.model_id.in_(model_ids))
        .order_by(RegisteredModelAliasRow.alias)
    ):
        aliases[(alias.model_id, alias.version)].append(alias.alias)
    return [
        ModelVersion(
            name=names[row.model_id],
            version=row.version,
            creation_timestamp=row.creation_timestamp,
            last_updated_timestamp=row.last_updated_timestamp,
            current_stage=row.current_stage,
            description=row.description,
            source=row.source,
            run_id=row.run_id,
            run_link=row.run_link,
            storage_location=row.storage_location,
            artifact_path=row.artifact_path,
            status=row.status,
            status_message=row.status_message,
            tags=tags.get((row.model_id, row.version), {}),
            aliases=tuple(aliases.get((row.model_id, row.version), ())),
            model_id=row.logged_model_id or "",
        )
        for row in rows
    ]


def load_models(session: Session, rows: Sequence[RegisteredModelRow]) -> list[RegisteredModel]:
    """Registered models with tags, aliases and the latest version of every stage."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    names = {row.id: row.name for row in rows}
    tags: dict[int, dict[str, str]] = defaultdict(dict)
    for tag in session.scalars(
        select(RegisteredModelTagRow).where(RegisteredModelTagRow.model_id.in_(ids))
    ):
        tags[tag.model_id][tag.key] = tag.value
    aliases: dict[int, dict[str, int]] = defaultdict(dict)
    for alias in session.scalars(
        select(RegisteredModelAliasRow)
        .where(RegisteredModelAliasRow.model_id.in_(ids))
        .order_by(RegisteredModelAliasRow.alias)
    ):
        aliases[alias.model_id][alias.alias] = alias.version
    latest_keys = (
        select(ModelVersionRow.model_id, func.max(ModelVersionRow.version))
        .where(ModelVersionRow.model_id.in_(ids))
        .group_by(ModelVersionRow.model_id, ModelVersionRow.current_stage)
    )
    latest_rows = session.scalars(
        select(ModelVersionRow)
        .where(tuple_(ModelVersionRow.model_id, ModelVersionRow.version).in_(latest_keys))
        .order_by(ModelVersionRow.current_stage)
    ).all()
    latest: dict[int, list[ModelVersion]] = defaultdict(list)
    for row, version in zip(latest_rows, load_versions(session, latest_rows, names), strict=True):
        latest[row.model_id].append(version)
    return [
        RegisteredModel(
            name=row.name,
            creation_timestamp=row.creation_timestamp,
            last_updated_timestamp=row.last_updated_timestamp,
            description=row.description,
            tags=tags.get(row.id, {}),
            aliases=aliases.get(row.id, {}),
            latest_versions=tuple(latest.get(row.id, ())),
        )
        for row in rows
    ]
