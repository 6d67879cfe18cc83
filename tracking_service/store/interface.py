"""What the servicer needs from storage. `SqlTrackingStore` is the implementation.

Every method is one transaction. Domain rules live behind this interface: validation of keys,
values and limits (InvalidArgument naming the field), existence (NotFound), lifecycle
(FailedPrecondition for writes to deleted runs), uniqueness (AlreadyExists) — all raised as
`mlgrpc_server.errors.ServiceError` subclasses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from tracking_service.domain import (
    Experiment,
    Metric,
    MetricSeries,
    Page,
    Param,
    Run,
    RunInfo,
    RunTag,
    ViewType,
)

if TYPE_CHECKING:
    from tracking_service.logged_model_domain import (
        DatasetInput,
        LoggedModel,
        LoggedModelDatasetFilter,
        LoggedModelOrder,
        ModelIo,
        RunIo,
    )
    from tracking_service.store.rules import BatchOutcome, KeyValueLike


class TrackingStore(Protocol):
    # Experiments
    def create_experiment(
        self, name: str, artifact_location: str | None = None, tags: Mapping[str, str] = {}
    ) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment: ...
    def search_experiments(
        self,
        filter_string: str = "",
        order_by: Sequence[str] = (),
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        page_token: str = "",
    ) -> Page[Experiment]: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # Runs
    def create_run(
        self,
        experiment_id: str,
        run_name: str = "",
        user_id: str = "",
        start_time: int | None = None,
        tags: Mapping[str, str] = {},
        parent_run_id: str = "",
        status: str = "RUNNING",
        params: Sequence[Param] = (),
    ) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def get_run_info(self, run_id: str) -> RunInfo: ...
    def update_run(
        self,
        run_id: str,
        status: str | None = None,
        end_time: int | None = None,
        run_name: str | None = None,
    ) -> RunInfo: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...

    # Logging: one transaction, all or nothing. LogMetric/LogParam/SetTag are batches of one.
    # A metric carrying a `model_id` (a protobuf Metric) is also linked to that LoggedModel.
    def log_batch(
        self,
        run_id: str,
        metrics: Sequence[Metric] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        *,
        max_metrics: int = 1000,
        batch_id: str = "",
    ) -> BatchOutcome: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_model(self, run_id: str, model_json: str) -> None:
        """Append an MLmodel description (JSON object) to the run's log-model history tag,
        atomically: concurrent calls on one run lose no entry."""
        ...

    def get_metric_history(
        self, run_id: str, key: str, max_results: int = 25000, page_token: str = ""
    ) -> Page[Metric]: ...
    def get_metric_history_points(
        self, run_id: str, key: str, max_results: int = 25000, page_token: str = ""
    ) -> Page[tuple[float, int, int]]:
        """get_metric_history as (value, timestamp, step) tuples: no object per point."""
        ...

    def get_metric_history_series(
        self, run_id: str, key: str, max_results: int = 25000, page_token: str = ""
    ) -> tuple[MetricSeries, str]:
        """A page of get_metric_history as parallel lists, and the next page's token."""
        ...

    # Search
    def search_runs(
        self,
        experiment_ids: Sequence[str],
        filter_string: str = "",
        view_type: ViewType = ViewType.ACTIVE_ONLY,
        max_results: int = 1000,
        order_by: Sequence[str] = (),
        page_token: str = "",
    ) -> Page[Run]: ...

    # LoggedModels (MLflow 3)
    def create_logged_model(
        self,
        experiment_id: str,
        name: str = "",
        model_type: str = "",
        source_run_id: str = "",
        params: Sequence[KeyValueLike] = (),
        tags: Sequence[KeyValueLike] = (),
    ) -> LoggedModel: ...
    def get_logged_model(self, model_id: str, allow_deleted: bool = False) -> LoggedModel: ...
    def finalize_logged_model(
        self, model_id: str, status: str, status_message: str = ""
    ) -> LoggedModel: ...
    def delete_logged_model(self, model_id: str) -> None: ...
    def set_logged_model_tags(self, model_id: str, tags: Sequence[KeyValueLike]) -> None: ...
    def delete_logged_model_tag(self, model_id: str, key: str) -> None: ...
    def log_logged_model_params(self, model_id: str, params: Sequence[KeyValueLike]) -> None: ...
    def logged_model_artifact_location(self, model_id: str, *, writing: bool) -> str: ...
    def search_logged_models(
        self,
        experiment_ids: Sequence[str] = (),
        filter_string: str = "",
        order_by: Sequence[LoggedModelOrder] = (),
        max_results: int = 100,
        page_token: str = "",
        datasets: Sequence[LoggedModelDatasetFilter] = (),
    ) -> Page[LoggedModel]: ...

    # Run inputs and outputs (MLflow 3)
    def log_inputs(
        self, run_id: str, datasets: Sequence[DatasetInput] = (), models: Sequence[ModelIo] = ()
    ) -> None: ...
    def log_outputs(self, run_id: str, models: Sequence[ModelIo]) -> None: ...
    def get_run_io(self, run_id: str) -> RunIo: ...
    def get_runs_io(self, run_ids: Sequence[str]) -> dict[str, RunIo]: ...
