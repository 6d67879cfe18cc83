"""MLflow 3's LoggedModel endpoints (`/api/2.0/mlflow/logged-models/*`) and the run endpoints
that go with them (`runs/log-inputs`, `runs/outputs`, `runs/log-model`): MLflow's JSON → one
call to the tracking service → MLflow's JSON.

Paths with the model id in them (`logged-models/{model_id}`, `…/tags/{key}`) are matched by
`match`; the id (and tag key) join the request's fields as MLflow's server reads them.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from gateway import convert as c
from gateway import logged_model_convert as lc
from gateway.errors import RequestError
from gateway.tracking_calls import TrackingCalls
from mlgrpc.tracking.v1 import logged_models_pb2 as lm
from mlgrpc.tracking.v1 import tracking_service_pb2 as pb

Body = Mapping[str, Any]
Handler = Callable[[TrackingCalls, Body], c.Json]

#: MLflow's server's page size of SearchLoggedModels when the request gives none.
SEARCH_LOGGED_MODELS_DEFAULT = 100
#: What MLflow's server requires of runs/log-model's `model_json` (its client sends them all).
LOG_MODEL_FIELDS = frozenset({"artifact_path", "flavors", "utc_time_created", "run_id"})


def _params(body: Body) -> list[lm.LoggedModelParam]:
    return [
        lm.LoggedModelParam(key=c.required_str(item, "key"), value=c.optional_str(item, "value"))
        for item in c.object_list(body, "params")
    ]


def _tags(body: Body) -> list[lm.LoggedModelTag]:
    return c.tags_of(body, lm.LoggedModelTag)


def _model(response: Any) -> c.Json:
    return {"model": lc.logged_model_json(response.model)}


def create_logged_model(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.CreateLoggedModelRequest(
        experiment_id=c.required_str(body, "experiment_id"),
        name=c.optional_str(body, "name"),
        model_type=c.optional_str(body, "model_type"),
        source_run_id=c.optional_str(body, "source_run_id"),
        params=_params(body),
        tags=_tags(body),
    )
    return _model(tracking.call("CreateLoggedModel", request))


def get_logged_model(tracking: TrackingCalls, body: Body) -> c.Json:
    allow_deleted = str(body.get("allow_deleted", "")).lower() == "true"
    request = lm.GetLoggedModelRequest(
        model_id=c.required_str(body, "model_id"), allow_deleted=allow_deleted
    )
    return _model(tracking.call("GetLoggedModel", request))


def finalize_logged_model(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.FinalizeLoggedModelRequest(
        model_id=c.required_str(body, "model_id"), status=lc.status_of(body)
    )
    return _model(tracking.call("FinalizeLoggedModel", request))


def delete_logged_model(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.DeleteLoggedModelRequest(model_id=c.required_str(body, "model_id"))
    tracking.call("DeleteLoggedModel", request)
    return {}


def _order_of(item: Body) -> lm.LoggedModelOrderBy:
    ascending = item.get("ascending", True)  # MLflow's OrderBy defaults to ascending
    if not isinstance(ascending, bool):
        raise RequestError(f"Invalid value {ascending!r} for parameter 'ascending' supplied.")
    return lm.LoggedModelOrderBy(
        field_name=c.required_str(item, "field_name"),
        ascending=ascending,
        dataset_name=c.optional_str(item, "dataset_name"),
        dataset_digest=c.optional_str(item, "dataset_digest"),
    )


def search_logged_models(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.SearchLoggedModelsRequest(
        experiment_ids=c.string_list(body, "experiment_ids"),
        filter=c.optional_str(body, "filter"),
        max_results=c.optional_int(body, "max_results", bits=32) or SEARCH_LOGGED_MODELS_DEFAULT,
        order_by=[_order_of(item) for item in c.object_list(body, "order_by")],
        page_token=c.optional_str(body, "page_token"),
        datasets=[
            lm.LoggedModelDatasetFilter(
                dataset_name=c.optional_str(item, "dataset_name"),
                dataset_digest=c.optional_str(item, "dataset_digest"),
            )
            for item in c.object_list(body, "datasets")
        ],
    )
    response = tracking.call("SearchLoggedModels", request)
    models = [lc.logged_model_json(model) for model in response.models]
    return c.page_json("models", models, response.next_page_token)


def log_logged_model_params(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.LogLoggedModelParamsRequest(
        model_id=c.required_str(body, "model_id"), params=_params(body)
    )
    tracking.call("LogLoggedModelParams", request)
    return {}


def set_logged_model_tags(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.SetLoggedModelTagsRequest(
        model_id=c.required_str(body, "model_id"), tags=_tags(body)
    )
    tracking.call("SetLoggedModelTags", request)
    return {}


def delete_logged_model_tag(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.DeleteLoggedModelTagRequest(
        model_id=c.required_str(body, "model_id"), tag_key=c.required_str(body, "tag_key")
    )
    tracking.call("DeleteLoggedModelTag", request)
    return {}


def _dataset_input(item: Body) -> lm.DatasetInput:
    dataset = item.get("dataset")
    if not isinstance(dataset, dict):
        raise c.missing("dataset")
    return lm.DatasetInput(
        dataset=lm.Dataset(
            name=c.required_str(dataset, "name"),
            digest=c.required_str(dataset, "digest"),
            source_type=c.required_str(dataset, "source_type"),
            source=c.required_str(dataset, "source"),
            schema=c.optional_str(dataset, "schema"),
            profile=c.optional_str(dataset, "profile"),
        ),
        tags=c.tags_of(item, lm.InputTag),
    )


def log_inputs(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.LogInputsRequest(
        run_id=c.required_str(body, "run_id"),
        datasets=[_dataset_input(item) for item in c.object_list(body, "datasets")],
        models=[
            lm.ModelInput(model_id=c.required_str(item, "model_id"))
            for item in c.object_list(body, "models")
        ],
    )
    tracking.call("LogInputs", request)
    return {}


def log_outputs(tracking: TrackingCalls, body: Body) -> c.Json:
    request = lm.LogOutputsRequest(
        run_id=c.required_str(body, "run_id"),
        models=[
            lm.ModelOutput(
                model_id=c.required_str(item, "model_id"), step=c.optional_int(item, "step") or 0
            )
            for item in c.object_list(body, "models")
        ],
    )
    tracking.call("LogOutputs", request)
    return {}


def log_model(tracking: TrackingCalls, body: Body) -> c.Json:
    """MLflow's runs/log-model: the MLmodel's JSON appended to the run's history tag by the
    tracking service, atomically (a read here and a SetTag after would lose one of two
    concurrent calls' entries)."""
    run_id = c.required_str(body, "run_id")
    model_json = c.required_str(body, "model_json")
    try:
        model = json.loads(model_json)
    except ValueError:
        raise RequestError("Invalid value for parameter 'model_json': not JSON.") from None
    missing = sorted(LOG_MODEL_FIELDS - set(model)) if isinstance(model, dict) else []
    if missing:  # as MLflow's server; a JSON value that is no object is the service's 400
        raise RequestError(f"Model json is missing mandatory fields: {missing}")
    tracking.call("LogModel", pb.LogModelRequest(run_id=run_id, model_json=model_json))
    return {}


#: (method, path under /api/2.0/mlflow/) → handler, for paths without ids in them.
ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "logged-models"): create_logged_model,
    ("POST", "logged-models/search"): search_logged_models,
    ("POST", "runs/log-inputs"): log_inputs,
    ("POST", "runs/outputs"): log_outputs,
    ("POST", "runs/log-model"): log_model,
}

_MODEL_PATH = re.compile(r"^logged-models/(?P<model_id>[^/]+)(?P<rest>/.*)?$")
_BY_ID: dict[tuple[str, str], Handler] = {
    ("GET", ""): get_logged_model,
    ("PATCH", ""): finalize_logged_model,
    ("DELETE", ""): delete_logged_model,
    ("POST", "/params"): log_logged_model_params,
    ("PATCH", "/tags"): set_logged_model_tags,
}


#: The id paths as OpenAPI templates, for /openapi.json: (method, path, handler).
TEMPLATED: list[tuple[str, str, Handler]] = [
    (method, "logged-models/{model_id}" + rest, handler)
    for (method, rest), handler in _BY_ID.items()
] + [("DELETE", "logged-models/{model_id}/tags/{tag_key}", delete_logged_model_tag)]


def match(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    """The handler of `logged-models/{model_id}…` and the fields the path carries; None for
    another path (or a method the path does not take)."""
    found = _MODEL_PATH.match(path)
    if found is None or found["model_id"] == "search":
        return None
    fields = {"model_id": urllib.parse.unquote(found["model_id"])}
    rest = found["rest"] or ""
    if method == "DELETE" and rest.startswith("/tags/") and len(rest) > len("/tags/"):
        fields["tag_key"] = urllib.parse.unquote(rest[len("/tags/") :])
        return delete_logged_model_tag, fields
    handler = _BY_ID.get((method, rest))
    return (handler, fields) if handler is not None else None


def is_model_path(path: str) -> bool:
    """Whether `path` is one of the id paths (for a 405 rather than a 404 on another method)."""
    found = _MODEL_PATH.match(path)
    if found is None:
        return False
    rest = found["rest"] or ""
    return rest in ("", "/params", "/tags") or rest.startswith("/tags/")
