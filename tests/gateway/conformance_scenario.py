"""The calls of the differential conformance scenario (test_gateway_conformance.py): MLflow's
REST API over every endpoint family the gateway serves, with good and bad inputs.

A call's strings may hold `{name}` placeholders: ids an earlier call answered, read from its
body by the call's `save` paths, one set per server. Names of experiments and models are fixed:
each server starts empty."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


@dataclass(frozen=True)
class Call:
    method: str
    #: Under /api/2.0/mlflow/, or absolute when it starts with "/".
    path: str
    body: Any = None
    query: dict[str, Any] | None = None
    #: placeholder name → path of keys into the answer's body.
    save: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: Names the call for the allow-list when its endpoint alone would say too little.
    label: str = ""

    @property
    def endpoint(self) -> str:
        """`METHOD path (label)` with placeholders left in: what the allow-list matches."""
        return f"{self.method} {self.path}" + (f" ({self.label})" if self.label else "")


def post(path: str, body: Any, **save: tuple[str, ...]) -> Call:
    return Call("POST", path, body=body, save=save)


def get(endpoint: str, **query: Any) -> Call:
    return Call("GET", endpoint, query=query)


def patch(path: str, body: Any) -> Call:
    return Call("PATCH", path, body=body)


def delete(path: str, body: Any) -> Call:
    return Call("DELETE", path, body=body)


def _metric(key: str, value: Any, step: int) -> dict[str, Any]:
    return {"key": key, "value": value, "timestamp": 1_700_000_000_100 + step, "step": step}


EXPERIMENTS = [
    post(
        "experiments/create",
        {"name": "conf-a", "tags": [{"key": "team", "value": "ml"}]},
        exp_a=("experiment_id",),
    ),
    post("experiments/create", {}),  # name missing
    post("experiments/create", {"name": "conf-a"}),  # exists
    Call("POST", "experiments/create", body={"name": 7}, label="number for a string"),
    post("experiments/create", {"name": "conf-b"}, exp_b=("experiment_id",)),
    get("experiments/get", experiment_id="{exp_a}"),
    get("experiments/get", experiment_id="999999"),
    get("experiments/get"),
    get("experiments/get-by-name", experiment_name="conf-a"),
    get("experiments/get-by-name", experiment_name="no-such-experiment"),
    post("experiments/update", {"experiment_id": "{exp_b}", "new_name": "conf-b2"}),
    Call(
        "POST",
        "experiments/update",
        body={"experiment_id": "{exp_b}", "new_name": "conf-a"},
        label="name in use",
    ),
    post("experiments/set-experiment-tag", {"experiment_id": "{exp_a}", "key": "s", "value": "d"}),
    post("experiments/set-experiment-tag", {"experiment_id": "{exp_a}", "value": "d"}),
    post(
        "experiments/search",
        {"max_results": 10, "filter": "name LIKE 'conf-%'", "order_by": ["name ASC"]},
    ),
    post("experiments/search", {"max_results": 10, "filter": "name ="}),
    post("experiments/search", {"max_results": 10, "order_by": ["bogus ASC"]}),
    post("experiments/delete", {"experiment_id": "{exp_b}"}),
    post("experiments/search", {"max_results": 10, "view_type": "DELETED_ONLY"}),
    post("experiments/restore", {"experiment_id": "{exp_b}"}),
    post("experiments/delete", {"experiment_id": "999999"}),
    get("experiments/get", experiment_id="{exp_b}"),
    get("experiments/search", max_results="5", filter="name = 'conf-a'"),
]

RUNS = [
    post(
        "runs/create",
        {
            "experiment_id": "{exp_a}",
            "start_time": 1_700_000_000_000,
            "run_name": "r1",
            "tags": [{"key": "t", "value": "v"}],
        },
        run1=("run", "info", "run_id"),
    ),
    post("runs/create", {"experiment_id": "999999"}),
    post(
        "runs/create",
        {"experiment_id": "{exp_a}", "run_name": "r2", "start_time": 1_700_000_000_001},
        run2=("run", "info", "run_id"),
    ),
    post("runs/create", {"experiment_id": "{exp_a}", "start_time": "yesterday"}),
    get("runs/get", run_id="{run1}"),
    get("runs/get", run_id=UNKNOWN_RUN),
    get("runs/get"),
    post("runs/log-metric", {"run_id": "{run1}", **_metric("loss", 0.5, 0)}),
    post("runs/log-metric", {"run_id": "{run1}", **_metric("loss", 0.25, 1)}),
    post("runs/log-metric", {"run_id": "{run1}", "key": "loss", "timestamp": 1}),
    post("runs/log-metric", {"run_id": "{run1}", **_metric("loss", "abc", 2)}),
    post("runs/log-metric", {"run_id": UNKNOWN_RUN, **_metric("loss", 1.0, 0)}),
    post("runs/log-parameter", {"run_id": "{run1}", "key": "alpha", "value": "0.1"}),
    post("runs/log-parameter", {"run_id": "{run1}", "key": "alpha", "value": "0.2"}),
    post("runs/log-parameter", {"run_id": "{run1}", "value": "0.2"}),
    post("runs/set-tag", {"run_id": "{run1}", "key": "note", "value": "hi"}),
    post("runs/set-tag", {"key": "note", "value": "hi"}),
    post("runs/delete-tag", {"run_id": "{run1}", "key": "note"}),
    post("runs/delete-tag", {"run_id": "{run1}", "key": "never-set"}),
    post(
        "runs/log-batch",
        {
            "run_id": "{run1}",
            "metrics": [_metric("acc", 0.9, 0), _metric("acc", 0.95, 1)],
            "params": [{"key": "depth", "value": "3"}],
            "tags": [{"key": "phase", "value": "train"}],
        },
    ),
    post("runs/log-batch", {"run_id": "{run1}", "metrics": [{"key": "acc", "value": 1.0}]}),
    post("runs/log-batch", {"run_id": "{run1}", "params": "depth=3"}),
    get("metrics/get-history", run_id="{run1}", metric_key="loss"),
    get("metrics/get-history", run_id="{run1}", metric_key="never-logged"),
    get("metrics/get-history", run_id="{run1}"),
    get("metrics/get-history-bulk-interval", run_ids="{run1}", metric_key="loss", max_results="5"),
    get("metrics/get-history-bulk-interval", run_ids="{run1}", max_results="5"),
    get("runs/get", run_uuid="{run1}"),
    post(
        "runs/log-inputs",
        {
            "run_id": "{run1}",
            "datasets": [
                {
                    "tags": [{"key": "mlflow.data.context", "value": "training"}],
                    "dataset": {
                        "name": "wine",
                        "digest": "abc123",
                        "source_type": "local",
                        "source": '{"uri": "/data/wine.csv"}',
                        "schema": '{"mlflow_colspec": []}',
                        "profile": '{"num_rows": 10}',
                    },
                }
            ],
        },
    ),
    post("runs/log-inputs", {"datasets": []}),
    post("runs/update", {"run_id": "{run1}", "status": "FINISHED", "end_time": 1_700_000_001_000}),
    Call("POST", "runs/update", body={"run_id": "{run1}", "status": "BOGUS"}, label="bad status"),
    post("runs/update", {"run_id": UNKNOWN_RUN, "status": "FINISHED"}),
    get("runs/get", run_id="{run1}"),
    post(
        "runs/search",
        {
            "experiment_ids": ["{exp_a}"],
            "filter": "metrics.loss < 1",
            "order_by": ["start_time DESC"],
            "max_results": 10,
        },
    ),
    post(
        "runs/search",
        {"experiment_ids": ["{exp_a}"], "filter": "params.alpha = '0.1'", "max_results": 10},
    ),
    post(
        "runs/search",
        {
            "experiment_ids": ["{exp_a}"],
            "filter": "datasets.context = 'training'",
            "max_results": 10,
        },
    ),
    post(
        "runs/search",
        {"experiment_ids": ["{exp_a}"], "filter": "metrics.loss <<< 1", "max_results": 10},
    ),
    post(
        "runs/search",
        {"experiment_ids": ["{exp_a}"], "order_by": ["start_time ASC"], "max_results": 1},
        page=("next_page_token",),
    ),
    post(
        "runs/search",
        {
            "experiment_ids": ["{exp_a}"],
            "order_by": ["start_time ASC"],
            "max_results": 1,
            "page_token": "{page}",
        },
    ),
    post("runs/delete", {"run_id": "{run2}"}),
    post(
        "runs/search",
        {"experiment_ids": ["{exp_a}"], "run_view_type": "DELETED_ONLY", "max_results": 10},
    ),
    post("runs/restore", {"run_id": "{run2}"}),
    post("runs/delete", {"run_id": UNKNOWN_RUN}),
    post("runs/restore", {}),
]

ARTIFACT_CALLS = [
    Call("PUT", ARTIFACTS + "/{exp_a}/{run1}/artifacts/notes/a.txt", body=b"hello"),
    get("artifacts/list", run_id="{run1}"),
    get("artifacts/list", run_id="{run1}", path="notes"),
    get("artifacts/list", run_id=UNKNOWN_RUN),
    Call("GET", ARTIFACTS, query={"path": "{exp_a}/{run1}/artifacts/notes"}),
]

REGISTRY = [
    post(
        "registered-models/create",
        {"name": "conf-model", "description": "d", "tags": [{"key": "k", "value": "v"}]},
    ),
    post("registered-models/create", {"name": "conf-model"}),
    post("registered-models/create", {}),
    get("registered-models/get", name="conf-model"),
    get("registered-models/get", name="no-such-model"),
    patch("registered-models/update", {"name": "conf-model", "description": "d2"}),
    post("registered-models/set-tag", {"name": "conf-model", "key": "k2", "value": "v2"}),
    delete("registered-models/delete-tag", {"name": "conf-model", "key": "k2"}),
    get("registered-models/search", filter="name LIKE 'conf%'"),
    get("registered-models/search", filter="name LIKE"),
    post(
        "model-versions/create",
        {"name": "conf-model", "source": "runs:/{run1}/model", "run_id": "{run1}"},
    ),
    post(
        "model-versions/create",
        {"name": "conf-model", "source": "runs:/{run1}/model", "run_id": "{run1}"},
    ),
    post(
        "model-versions/create",
        {"name": "no-such-model", "source": "runs:/{run1}/model", "run_id": "{run1}"},
    ),
    post("model-versions/create", {"name": "conf-model"}),
    get("model-versions/get", name="conf-model", version="1"),
    get("model-versions/get", name="conf-model", version="99"),
    get("model-versions/get", name="conf-model", version="one"),
    patch("model-versions/update", {"name": "conf-model", "version": "1", "description": "v1"}),
    post(
        "model-versions/set-tag", {"name": "conf-model", "version": "1", "key": "q", "value": "y"}
    ),
    delete("model-versions/delete-tag", {"name": "conf-model", "version": "1", "key": "q"}),
    post(
        "model-versions/transition-stage",
        {
            "name": "conf-model",
            "version": "1",
            "stage": "Staging",
            "archive_existing_versions": False,
        },
    ),
    post(
        "model-versions/transition-stage",
        {
            "name": "conf-model",
            "version": "1",
            "stage": "Bogus",
            "archive_existing_versions": False,
        },
    ),
    post("registered-models/get-latest-versions", {"name": "conf-model", "stages": ["Staging"]}),
    post("registered-models/alias", {"name": "conf-model", "alias": "champion", "version": "1"}),
    post("registered-models/alias", {"name": "conf-model", "alias": "champion", "version": "99"}),
    get("registered-models/alias", name="conf-model", alias="champion"),
    get("registered-models/alias", name="conf-model", alias="never-set"),
    get("registered-models/get", name="conf-model"),
    delete("registered-models/alias", {"name": "conf-model", "alias": "champion"}),
    get("model-versions/search", filter="name='conf-model'"),
    get("model-versions/search", filter="name=="),
    get("model-versions/get-download-uri", name="conf-model", version="2"),
    get("model-versions/get-download-uri", name="conf-model", version="99"),
    post("registered-models/rename", {"name": "conf-model", "new_name": "conf-model-2"}),
    post("registered-models/rename", {"name": "no-such-model", "new_name": "x"}),
    delete("model-versions/delete", {"name": "conf-model-2", "version": "2"}),
    get("model-versions/get", name="conf-model-2", version="2"),
    delete("registered-models/delete", {"name": "conf-model-2"}),
    delete("registered-models/delete", {"name": "conf-model-2"}),
]

LOGGED_MODELS = [
    post(
        "logged-models",
        {
            "experiment_id": "{exp_a}",
            "name": "lm",
            "source_run_id": "{run1}",
            "model_type": "sklearn",
            "params": [{"key": "p", "value": "1"}],
            "tags": [{"key": "k", "value": "v"}],
        },
        lm1=("model", "info", "model_id"),
    ),
    post("logged-models", {"name": "lm"}),
    post("logged-models", {"experiment_id": "999999", "name": "lm"}),
    get("logged-models/{lm1}"),
    get("logged-models/m-0123456789abcdef0123456789abcdef"),
    # MLflow's server wants the path's model_id in the body too (its client sends both).
    post(
        "logged-models/{lm1}/params",
        {"model_id": "{lm1}", "params": [{"key": "p2", "value": "2"}]},
    ),
    patch(
        "logged-models/{lm1}/tags", {"model_id": "{lm1}", "tags": [{"key": "k2", "value": "v2"}]}
    ),
    patch("logged-models/{lm1}", {"model_id": "{lm1}", "status": "LOGGED_MODEL_READY"}),
    get("logged-models/{lm1}"),
    post(
        "logged-models/search",
        {"experiment_ids": ["{exp_a}"], "filter": "name = 'lm'", "max_results": 10},
    ),
    post(
        "logged-models/search",
        {"experiment_ids": ["{exp_a}"], "filter": "name === 'lm'", "max_results": 10},
    ),
    post("runs/outputs", {"run_id": "{run1}", "models": [{"model_id": "{lm1}", "step": 0}]}),
    post("runs/outputs", {"models": [{"model_id": "{lm1}", "step": 0}]}),
    get("runs/get", run_id="{run1}"),
    delete("logged-models/{lm1}", None),
    get("logged-models/{lm1}"),
]

SCENARIO: list[Call] = EXPERIMENTS + RUNS + ARTIFACT_CALLS + REGISTRY + LOGGED_MODELS
