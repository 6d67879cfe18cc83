"""Experiments: create, read, rename, soft delete/restore (with their runs), tags, search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from mlgrpc_server.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from mlgrpc_server.paging import after_row, decode_token, encode_token, query_fingerprint
from tracking_service.domain import (
    ACTIVE,
    DEFAULT_EXPERIMENT_ID,
    DELETED,
    Experiment,
    Page,
    ViewType,
)
from tracking_service.store import rules
from tracking_service.store.portable.base import StoreBase
from tracking_service.store.portable.search import (
    Identifier,
    OrderTerm,
    parse_filter,
    parse_order_by,
)
from tracking_service.store.portable.search.ast import ATTRIBUTE
from tracking_service.store.portable.search.experiment_query import (
    experiment_filter,
    experiment_order,
)
from tracking_service.store.portable.tables import ExperimentRow, ExperimentTagRow, RunRow
from tracking_service.store.portable.upserts import upsert_rows
from tracking_service.store.rules import now_ms

MAX_EXPERIMENTS_PER_PAGE = 50000
_DEFAULT_ORDER = OrderTerm(Identifier(ATTRIBUTE, "creation_time", 0, "creation_time"), True)


class ExperimentStore(StoreBase):
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] = {}
    ) -> str:
        rules.check_string(name, "name", rules.MAX_EXPERIMENT_NAME_LENGTH, allow_empty=False)
        if artifact_location:
            rules.check_string(
                artifact_location, "artifact_location", rules.MAX_ARTIFACT_LOCATION_LENGTH
            )
        checked_tags = rules.check_experiment_tags(tags)

        def work(connection: Connection) -> str:
            self._refuse_taken_name(connection, name)
            now = now_ms()
            result = connection.execute(
                insert(ExperimentRow).values(
                    name=name,
                    artifact_location=artifact_location or "",
                    lifecycle_stage=ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
            )
            primary_key = result.inserted_primary_key
            assert primary_key is not None
            experiment_id = int(primary_key[0])
            if not artifact_location:
                connection.execute(
                    update(ExperimentRow)
                    .where(ExperimentRow.experiment_id == experiment_id)
                    .values(artifact_location=self.experiment_location(experiment_id, ""))
                )
            self._set_tags(connection, experiment_id, checked_tags)
            return str(experiment_id)

        try:
            return self.write("create_experiment", work)
        except IntegrityError as error:  # a concurrent create of the same name won
            raise AlreadyExists(f"experiment {name!r} already exists", field="name") from error

    def get_experiment(self, experiment_id: str) -> Experiment:
        number = rules.parse_experiment_id(experiment_id)
        return self.read(lambda c: self._experiment(c, self.fetch_experiment_row(c, number)))

    def get_experiment_by_name(self, name: str) -> Experiment:
        rules.check_string(name, "name", rules.MAX_EXPERIMENT_NAME_LENGTH, allow_empty=False)

        def work(connection: Connection) -> Experiment:
            table = ExperimentRow.__table__
            row = connection.execute(select(table).where(table.c.name == name)).first()
            if row is None:
                raise NotFound(f"no experiment is named {name!r}", field="name")
            return self._experiment(connection, row)

        return self.read(work)

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        number = rules.parse_experiment_id(experiment_id)
        rules.check_string(
            new_name, "new_name", rules.MAX_EXPERIMENT_NAME_LENGTH, allow_empty=False
        )

        def work(connection: Connection) -> None:
            row = self._active_experiment(connection, number, "renamed")
            if row.name == new_name:
                return
            self._refuse_taken_name(connection, new_name, field="new_name")
            connection.execute(
                update(ExperimentRow)
                .where(ExperimentRow.experiment_id == number)
                .values(name=new_name, last_update_time=now_ms())
            )

        try:
            self.write("rename_experiment", work)
        except IntegrityError as error:
            raise AlreadyExists(f"experiment {new_name!r} already exists", field="new_name") from (
                error
            )

    def delete_experiment(self, experiment_id: str) -> None:
        """Soft-delete the experiment and its active runs (all marked with one time)."""
        if str(experiment_id).strip() == DEFAULT_EXPERIMENT_ID:
            raise InvalidArgument("the default experiment (id 0) cannot be deleted",
                                  field="experiment_id")  # fmt: skip
        number = rules.parse_experiment_id(experiment_id)

        def work(connection: Connection) -> None:
            if self.fetch_experiment_row(connection, number).lifecycle_stage == DELETED:
                return  # again: a no-op, which keeps the time restore_experiment relies on
            now = now_ms()
            connection.execute(
                update(ExperimentRow)
                .where(ExperimentRow.experiment_id == number)
                .values(lifecycle_stage=DELETED, last_update_time=now)
            )
            connection.execute(
                update(RunRow)
                .where(RunRow.experiment_id == number, RunRow.lifecycle_stage == ACTIVE)
                .values(lifecycle_stage=DELETED, deleted_time=now)
            )

        self.write("delete_experiment", work)

    def restore_experiment(self, experiment_id: str) -> None:
        """Restore the experiment and the runs its deletion deleted (not those deleted before)."""
        number = rules.parse_experiment_id(experiment_id)

        def work(connection: Connection) -> None:
            row = self.fetch_experiment_row(connection, number)
            if row.lifecycle_stage != DELETED:
                raise FailedPrecondition(
                    f"experiment {number} is not deleted; only a deleted experiment can be "
                    "restored",
                    field="experiment_id",
                )
            connection.execute(
                update(RunRow)
                .where(
                    RunRow.experiment_id == number,
                    RunRow.lifecycle_stage == DELETED,
                    RunRow.deleted_time >= row.last_update_time,
                )
                .values(lifecycle_stage=ACTIVE, deleted_time=None)
            )
            connection.execute(
                update(ExperimentRow)
                .where(ExperimentRow.experiment_id == number)
                .values(lifecycle_stage=ACTIVE, last_update_time=now_ms())
            )

        self.write("restore_experiment", work)

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        number = rules.parse_experiment_id(experiment_id)
        tags = rules.check_experiment_tags({key: value}, "tag")

        def work(connection: Connection) -> None:
            self._active_experiment(connection, number, "tagged")
            self._set_tags(connection, number, tags)

        self.write("set_experiment_tag", work)

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        number = rules.parse_experiment_id(experiment_id)
        rules.check_key(key, "key")

        def work(connection: Connection) -> None:
            self._active_experiment(connection, number, "changed")
            result = connection.execute(
                delete(ExperimentTagRow).where(
                    ExperimentTagRow.experiment_id == number, ExperimentTagRow.key == key
                )
            )
            if result.rowcount == 0:
                raise NotFound(f"experiment {number} has no tag {key!r}", field="key")

        self.write("delete_experiment_tag", work)

    def search_experiments(
        self,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str = "",
    ) -> Page[Experiment]:
        limit = rules.check_max_results(max_results, 1000, MAX_EXPERIMENTS_PER_PAGE)
        conditions = experiment_filter(parse_filter(filter_string), filter_string)
        terms = [
            (parse_order_by(text, f"order_by[{i}]"), text) for i, text in enumerate(order_by)
        ] or [(_DEFAULT_ORDER, "creation_time DESC")]
        keys = experiment_order(terms)
        fingerprint = query_fingerprint(
            "experiments", filter_string, list(order_by), view_type.name
        )
        table = ExperimentRow.__table__
        sort_labels = [key.expression.label(f"sort_{i}") for i, key in enumerate(keys)]
        statement = select(table, *sort_labels).where(
            table.c.lifecycle_stage.in_(view_type.stages()), *conditions
        )
        columns = [key.expression for key in keys]
        descending = [key.descending for key in keys]
        if page_token:
            values = decode_token(page_token, fingerprint, len(keys))
            statement = statement.where(after_row(columns, descending, values))
        statement = statement.order_by(
            *(c.desc() if d else c.asc() for c, d in zip(columns, descending, strict=True))
        ).limit(limit + 1)

        def work(connection: Connection) -> Page[Experiment]:
            rows = connection.execute(statement).all()
            page, more = rows[:limit], len(rows) > limit
            tags = self._tags_of(connection, [row.experiment_id for row in page])
            items = [self._experiment(connection, row, tags.get(row.experiment_id, {}))
                     for row in page]  # fmt: skip
            token = ""
            if more:
                last = page[-1]
                token = encode_token(fingerprint, list(last[-len(keys) :]))
            return Page(items, token)

        return self.read(work)

    # helpers

    def _experiment(
        self, connection: Connection, row: Row[Any], tags: dict[str, str] | None = None
    ) -> Experiment:
        if tags is None:
            tags = self._tags_of(connection, [row.experiment_id]).get(row.experiment_id, {})
        return Experiment(
            experiment_id=str(row.experiment_id),
            name=row.name,
            artifact_location=self.experiment_location(row.experiment_id, row.artifact_location),
            lifecycle_stage=row.lifecycle_stage,
            creation_time=row.creation_time,
            last_update_time=row.last_update_time,
            tags=tags,
        )

    @staticmethod
    def _tags_of(connection: Connection, ids: list[int]) -> dict[int, dict[str, str]]:
        out: dict[int, dict[str, str]] = {}
        if not ids:
            return out
        rows = connection.execute(
            select(ExperimentTagRow.experiment_id, ExperimentTagRow.key, ExperimentTagRow.value)
            .where(ExperimentTagRow.experiment_id.in_(ids))
        )  # fmt: skip
        for experiment_id, key, value in rows:
            out.setdefault(experiment_id, {})[key] = value
        return out

    def _set_tags(
        self, connection: Connection, experiment_id: int, tags: Mapping[str, str]
    ) -> None:
        rows = [
            {"experiment_id": experiment_id, "key": key, "value": value}
            for key, value in sorted(tags.items())
        ]
        table = ExperimentTagRow.__table__
        upsert_rows(connection, self.writes, table, rows, ("experiment_id", "key"), ("value",))  # type: ignore[arg-type]

    def _active_experiment(self, connection: Connection, number: int, verb: str) -> Row[Any]:
        row = self.fetch_experiment_row(connection, number)
        if row.lifecycle_stage == DELETED:
            raise FailedPrecondition(
                f"experiment {number} is deleted and cannot be {verb}; restore it first",
                field="experiment_id",
            )
        return row

    @staticmethod
    def _refuse_taken_name(connection: Connection, name: str, field: str = "name") -> None:
        taken = connection.execute(
            select(ExperimentRow.experiment_id).where(ExperimentRow.name == name)
        ).first()
        if taken is not None:
            raise AlreadyExists(
                f"experiment {name!r} already exists (id {taken[0]}); choose another name",
                field=field,
            )
