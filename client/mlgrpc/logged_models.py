"""MLflow 3's LoggedModels and dataset inputs in our client: the entities (as MLflow names them)
and the calls, mixed into `MlgrpcClient` (`MlgrpcClient().search_logged_models(...)`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlgrpc.entities import Dataset as Dataset  # re-exported: it was defined here
from mlgrpc.entities import DatasetInput, PagedList
from mlgrpc.tracking.v1 import logged_models_pb2 as lm

#: Our LoggedModelStatus values by MLflow's names (its FAILED is UPLOAD_FAILED).
_STATUS_BY_NAME = {
    "PENDING": lm.LOGGED_MODEL_STATUS_PENDING,
    "READY": lm.LOGGED_MODEL_STATUS_READY,
    "FAILED": lm.LOGGED_MODEL_STATUS_FAILED,
    "UPLOAD_FAILED": lm.LOGGED_MODEL_STATUS_FAILED,
}
_NAME_BY_STATUS = {
    lm.LOGGED_MODEL_STATUS_PENDING: "PENDING",
    lm.LOGGED_MODEL_STATUS_READY: "READY",
    lm.LOGGED_MODEL_STATUS_FAILED: "FAILED",
}


@dataclass(frozen=True)
class LoggedModelMetric:
    key: str
    value: float
    timestamp: int  # ms since the Unix epoch
    step: int
    run_id: str
    dataset_name: str = ""
    dataset_digest: str = ""


@dataclass(frozen=True)
class LoggedModel:
    """A model logged as an entity of its own (MLflow 3); `models:/<model_id>` names it."""

    model_id: str
    experiment_id: str
    name: str
    artifact_location: str
    status: str  # "PENDING", "READY" or "FAILED"
    creation_timestamp: int  # ms since the Unix epoch
    last_updated_timestamp: int  # ms since the Unix epoch
    source_run_id: str | None = None
    model_type: str | None = None
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[LoggedModelMetric] = field(default_factory=list)

    @property
    def model_uri(self) -> str:
        return f"models:/{self.model_id}"

    @classmethod
    def from_proto(cls, model: lm.LoggedModel) -> LoggedModel:
        return cls(
            model_id=model.model_id,
            experiment_id=model.experiment_id,
            name=model.name,
            artifact_location=model.artifact_location,
            status=_NAME_BY_STATUS.get(model.status, "PENDING"),
            creation_timestamp=model.creation_timestamp_ms,
            last_updated_timestamp=model.last_updated_timestamp_ms,
            source_run_id=model.source_run_id or None,
            model_type=model.model_type or None,
            status_message=model.status_message or None,
            tags={tag.key: tag.value for tag in model.tags},
            params={param.key: param.value for param in model.params},
            metrics=[
                LoggedModelMetric(
                    m.key, m.value, m.timestamp, m.step, m.run_id, m.dataset_name, m.dataset_digest
                )
                for m in model.metrics
            ],
        )


def _key_values(message: Any, items: Mapping[str, Any] | None) -> list[Any]:
    return [message(key=key, value=str(value)) for key, value in (items or {}).items()]


def _order_by(item: str | Mapping[str, Any]) -> lm.LoggedModelOrderBy:
    """MLflow's order dicts (`{"field_name": …, "ascending": …}`) or a clause `"name ASC"`."""
    if isinstance(item, str):
        field_name, _, direction = item.strip().partition(" ")
        return lm.LoggedModelOrderBy(
            field_name=field_name, ascending=direction.strip().upper() != "DESC"
        )
    return lm.LoggedModelOrderBy(
        field_name=str(item.get("field_name", "")),
        ascending=bool(item.get("ascending", True)),
        dataset_name=str(item.get("dataset_name") or ""),
        dataset_digest=str(item.get("dataset_digest") or ""),
    )


class CallsTrackingService(Protocol):
    """What `LoggedModelCalls` needs of the class it is mixed into: one unary call of the
    tracking service by method name (`MlgrpcClient._call`: auth, retries, error mapping)."""

    def _call(self, name: str, request: Any) -> Any: ...


class LoggedModelCalls:
    """The LoggedModel and run input/output calls of `MlgrpcClient` (MlflowClient's names).

    Each method's `self` is typed `CallsTrackingService`: mixed into a class without `_call`,
    a type checker says so where the method is used."""

    def create_logged_model(
        self: CallsTrackingService,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        request = lm.CreateLoggedModelRequest(
            experiment_id=str(experiment_id),
            name=name or "",
            source_run_id=source_run_id or "",
            model_type=model_type or "",
            params=_key_values(lm.LoggedModelParam, params),
            tags=_key_values(lm.LoggedModelTag, tags),
        )
        return LoggedModel.from_proto(self._call("CreateLoggedModel", request).model)

    def get_logged_model(
        self: CallsTrackingService, model_id: str, allow_deleted: bool = False
    ) -> LoggedModel:
        request = lm.GetLoggedModelRequest(model_id=model_id, allow_deleted=allow_deleted)
        return LoggedModel.from_proto(self._call("GetLoggedModel", request).model)

    def finalize_logged_model(
        self: CallsTrackingService, model_id: str, status: str, status_message: str = ""
    ) -> LoggedModel:
        """`status`: "READY" or "FAILED" (MLflow's LoggedModelStatus names work too)."""
        name = str(status).upper().removeprefix("LOGGEDMODELSTATUS.").removeprefix("LOGGED_MODEL_")
        request = lm.FinalizeLoggedModelRequest(
            model_id=model_id,
            status=_STATUS_BY_NAME.get(name, lm.LOGGED_MODEL_STATUS_UNSPECIFIED),
            status_message=status_message,
        )
        return LoggedModel.from_proto(self._call("FinalizeLoggedModel", request).model)

    def search_logged_models(
        self: CallsTrackingService,
        experiment_ids: str | Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int | None = None,
        order_by: Sequence[str | Mapping[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """One page of LoggedModels (no experiment ids: every active experiment)."""
        ids = [experiment_ids] if isinstance(experiment_ids, str) else list(experiment_ids or [])
        request = lm.SearchLoggedModelsRequest(
            experiment_ids=[str(i) for i in ids],
            filter=filter_string or "",
            max_results=max_results or 0,
            order_by=[_order_by(item) for item in order_by or []],
            page_token=page_token or "",
        )
        response = self._call("SearchLoggedModels", request)
        models = [LoggedModel.from_proto(model) for model in response.models]
        return PagedList(models, response.next_page_token)

    def delete_logged_model(self: CallsTrackingService, model_id: str) -> None:
        self._call("DeleteLoggedModel", lm.DeleteLoggedModelRequest(model_id=model_id))

    def set_logged_model_tags(
        self: CallsTrackingService, model_id: str, tags: Mapping[str, Any]
    ) -> None:
        request = lm.SetLoggedModelTagsRequest(
            model_id=model_id, tags=_key_values(lm.LoggedModelTag, tags)
        )
        self._call("SetLoggedModelTags", request)

    def delete_logged_model_tag(self: CallsTrackingService, model_id: str, key: str) -> None:
        request = lm.DeleteLoggedModelTagRequest(model_id=model_id, tag_key=key)
        self._call("DeleteLoggedModelTag", request)

    def log_model_params(
        self: CallsTrackingService, model_id: str, params: Mapping[str, Any]
    ) -> None:
        request = lm.LogLoggedModelParamsRequest(
            model_id=model_id, params=_key_values(lm.LoggedModelParam, params)
        )
        self._call("LogLoggedModelParams", request)

    def log_inputs(
        self: CallsTrackingService,
        run_id: str,
        datasets: Sequence[DatasetInput] | None = None,
        models: Sequence[str] | None = None,
    ) -> None:
        """Record the datasets (and LoggedModels, by id) the run used."""
        request = lm.LogInputsRequest(
            run_id=run_id,
            datasets=[
                lm.DatasetInput(
                    dataset=lm.Dataset(
                        name=item.dataset.name,
                        digest=item.dataset.digest,
                        source_type=item.dataset.source_type,
                        source=item.dataset.source,
                        schema=item.dataset.schema,
                        profile=item.dataset.profile,
                    ),
                    tags=_key_values(lm.InputTag, item.tags),
                )
                for item in datasets or []
            ],
            models=[lm.ModelInput(model_id=model_id) for model_id in models or []],
        )
        self._call("LogInputs", request)

    def log_outputs(
        self: CallsTrackingService, run_id: str, models: Mapping[str, int] | Sequence[str]
    ) -> None:
        """Record the LoggedModels the run produced: ids, or id → step."""
        steps = dict(models) if isinstance(models, Mapping) else dict.fromkeys(models, 0)
        request = lm.LogOutputsRequest(
            run_id=run_id,
            models=[lm.ModelOutput(model_id=key, step=step) for key, step in steps.items()],
        )
        self._call("LogOutputs", request)
