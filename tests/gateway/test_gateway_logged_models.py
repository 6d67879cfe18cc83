"""MLflow 3's logged-models endpoints, runs/log-inputs, runs/outputs and runs/log-model through
the gateway, and the artifact proxy under `<experiment>/models/<model id>/artifacts`."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from gateway_helpers import Gateway

MODELS = "/api/2.0/mlflow/logged-models"


@pytest.fixture(scope="module")
def experiment_id(gateway: Gateway) -> str:
    name = f"models-{uuid.uuid4().hex[:8]}"
    return str(gateway.post("experiments/create", {"name": name}).body["experiment_id"])


@pytest.fixture
def run_id(gateway: Gateway, experiment_id: str) -> str:
    answer = gateway.post("runs/create", {"experiment_id": experiment_id, "start_time": 1})
    return str(answer.body["run"]["info"]["run_id"])


def _create(gateway: Gateway, experiment_id: str, **fields: Any) -> dict[str, Any]:
    answer = gateway.post("logged-models", {"experiment_id": experiment_id, **fields})
    assert answer.status == 200, answer.body
    return dict(answer.body["model"])


def test_create_answers_mlflows_shape(gateway: Gateway, experiment_id: str, run_id: str) -> None:
    model = _create(
        gateway,
        experiment_id,
        name="model",
        source_run_id=run_id,
        params=[{"key": "alpha", "value": "0.5"}],
        tags=[{"key": "mlflow.source.name", "value": "train.py"}],
    )
    info = model["info"]
    assert info["status"] == "LOGGED_MODEL_PENDING" and info["name"] == "model"
    assert info["artifact_uri"] == (
        f"mlflow-artifacts:/{experiment_id}/models/{info['model_id']}/artifacts"
    )
    assert info["tags"] == [{"key": "mlflow.source.name", "value": "train.py"}]
    assert model["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    got = gateway.call("GET", f"{MODELS}/{info['model_id']}")
    assert got.status == 200 and got.body["model"] == model


def test_finalize_params_tags_and_delete(gateway: Gateway, experiment_id: str) -> None:
    model_id = _create(gateway, experiment_id)["info"]["model_id"]
    ready = gateway.call(
        "PATCH", f"{MODELS}/{model_id}", {"model_id": model_id, "status": "LOGGED_MODEL_READY"}
    )
    assert ready.status == 200 and ready.body["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    params = {"model_id": model_id, "params": [{"key": "depth", "value": "3"}]}
    assert gateway.call("POST", f"{MODELS}/{model_id}/params", params).status == 200
    tags = {"tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]}
    assert gateway.call("PATCH", f"{MODELS}/{model_id}/tags", tags).status == 200
    assert gateway.call("DELETE", f"{MODELS}/{model_id}/tags/a").status == 200
    model = gateway.call("GET", f"{MODELS}/{model_id}").body["model"]
    assert model["info"]["tags"] == [{"key": "b", "value": "2"}]
    assert model["data"]["params"] == [{"key": "depth", "value": "3"}]
    assert gateway.call("DELETE", f"{MODELS}/{model_id}", {"model_id": model_id}).status == 200
    gone = gateway.call("GET", f"{MODELS}/{model_id}")
    assert gone.status == 404 and gone.body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    kept = gateway.call("GET", f"{MODELS}/{model_id}", query={"allow_deleted": "true"})
    assert kept.status == 200


def test_search_filters_orders_and_pages(gateway: Gateway, experiment_id: str) -> None:
    batch = uuid.uuid4().hex[:6]
    names = [f"s{i}-{batch}" for i in range(3)]
    for name in names:
        _create(gateway, experiment_id, name=name, tags=[{"key": "batch", "value": names[0]}])
    body = {
        "experiment_ids": [experiment_id],
        "filter": f"tags.batch = '{names[0]}'",
        "order_by": [{"field_name": "name", "ascending": True}],
        "max_results": 2,
    }
    first = gateway.post("logged-models/search", body)
    assert first.status == 200, first.body
    assert [m["info"]["name"] for m in first.body["models"]] == names[:2]
    second = gateway.post(
        "logged-models/search", body | {"page_token": first.body["next_page_token"]}
    )
    assert [m["info"]["name"] for m in second.body["models"]] == names[2:]
    assert "next_page_token" not in second.body


def test_log_inputs_and_outputs_come_back_with_the_run(
    gateway: Gateway, experiment_id: str, run_id: str
) -> None:
    model_id = _create(gateway, experiment_id, source_run_id=run_id)["info"]["model_id"]
    dataset = {
        "name": "wine",
        "digest": "1234abcd",
        "source_type": "local",
        "source": '{"uri": "wine.csv"}',
        "schema": '{"mlflow_colspec": []}',
    }
    tags = [{"key": "mlflow.data.context", "value": "training"}]
    answer = gateway.post(
        "runs/log-inputs", {"run_id": run_id, "datasets": [{"tags": tags, "dataset": dataset}]}
    )
    assert answer.status == 200, answer.body
    outputs = {"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]}
    assert gateway.post("runs/outputs", outputs).status == 200
    run = gateway.get("runs/get", run_id=run_id).body["run"]
    assert run["inputs"] == {"dataset_inputs": [{"tags": tags, "dataset": dataset}]}
    assert run["outputs"] == {"model_outputs": [{"model_id": model_id, "step": 0}]}
    found = gateway.post(
        "runs/search",
        {"experiment_ids": [experiment_id], "filter": "datasets.context = 'training'"},
    )
    assert [r["info"]["run_id"] for r in found.body["runs"]] == [run_id]


def test_metrics_with_model_id_are_linked(
    gateway: Gateway, experiment_id: str, run_id: str
) -> None:
    model_id = _create(gateway, experiment_id, source_run_id=run_id)["info"]["model_id"]
    metric = {"key": "rmse", "value": 0.5, "timestamp": 7, "step": 0, "model_id": model_id}
    assert gateway.post("runs/log-batch", {"run_id": run_id, "metrics": [metric]}).status == 200
    model = gateway.call("GET", f"{MODELS}/{model_id}").body["model"]
    assert model["data"]["metrics"] == [metric | {"run_id": run_id}]


def test_search_with_datasets_compares_only_their_metrics(gateway: Gateway, run_id: str) -> None:
    experiment = gateway.post("experiments/create", {"name": f"ds-{uuid.uuid4().hex[:8]}"})
    experiment_id = experiment.body["experiment_id"]
    ids = {}
    for name, train, test in (("a", 0.9, 0.2), ("b", 0.3, 0.8)):
        model_id = _create(gateway, experiment_id, name=name)["info"]["model_id"]
        metrics = [
            {"key": "acc", "value": value, "timestamp": 1, "step": 0, "model_id": model_id,
             "dataset_name": dataset, "dataset_digest": "d"}
            for value, dataset in ((train, "train"), (test, "test"))
        ]  # fmt: skip
        assert gateway.post("runs/log-batch", {"run_id": run_id, "metrics": metrics}).status == 200
        ids[name] = model_id

    def found(datasets: list[dict[str, str]]) -> Any:
        body = {"experiment_ids": [experiment_id], "filter": "metrics.acc > 0.5",
                "datasets": datasets}  # fmt: skip
        return gateway.post("logged-models/search", body)

    assert [m["info"]["name"] for m in found([{"dataset_name": "test"}]).body["models"]] == ["b"]
    train = found([{"dataset_name": "train", "dataset_digest": "d"}]).body["models"]
    assert [m["info"]["model_id"] for m in train] == [ids["a"]]
    unnamed = found([{"dataset_digest": "d"}])
    assert (unnamed.status, unnamed.body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    ("model_id", "status", "error_code"),
    [(f"m-{'0' * 32}", 404, "RESOURCE_DOES_NOT_EXIST"), ("m-bad", 400, "INVALID_PARAMETER_VALUE")],
)
def test_a_metric_linked_to_a_model_that_is_not_there_is_refused_and_not_logged(
    gateway: Gateway, run_id: str, model_id: str, status: int, error_code: str
) -> None:
    linked = {"key": "rmse", "value": 0.5, "timestamp": 7, "step": 0, "model_id": model_id}
    plain = {"key": "plain", "value": 1.0, "timestamp": 7, "step": 0}
    for endpoint, body in (
        ("runs/log-metric", {"run_id": run_id, **linked}),
        ("runs/log-batch", {"run_id": run_id, "metrics": [plain, linked]}),
    ):
        answer = gateway.post(endpoint, body)
        assert (answer.status, answer.body["error_code"]) == (status, error_code), answer.body
    run = gateway.get("runs/get", run_id=run_id).body["run"]
    assert "metrics" not in run["data"] or run["data"]["metrics"] == []


def _model_json(run_id: str, artifact_path: str) -> str:
    """An MLmodel description with the fields MLflow's server requires."""
    model = {"artifact_path": artifact_path, "flavors": {}, "utc_time_created": "2026-01-01",
             "run_id": run_id}  # fmt: skip
    return json.dumps(model)


def test_log_model_appends_to_the_history_tag(gateway: Gateway, run_id: str) -> None:
    for path in ("model", "other"):
        body = {"run_id": run_id, "model_json": _model_json(run_id, path)}
        assert gateway.post("runs/log-model", body).status == 200
    tags = gateway.get("runs/get", run_id=run_id).body["run"]["data"]["tags"]
    history = next(t["value"] for t in tags if t["key"] == "mlflow.log-model.history")
    assert [entry["artifact_path"] for entry in json.loads(history)] == ["model", "other"]


def test_concurrent_log_model_calls_on_one_run_lose_no_entry(gateway: Gateway, run_id: str) -> None:
    calls = 20

    def log_model(index: int) -> int:
        body = {"run_id": run_id, "model_json": _model_json(run_id, f"m{index}")}
        return gateway.post("runs/log-model", body).status

    with ThreadPoolExecutor(calls) as pool:
        assert list(pool.map(log_model, range(calls))) == [200] * calls
    tags = gateway.get("runs/get", run_id=run_id).body["run"]["data"]["tags"]
    history = next(t["value"] for t in tags if t["key"] == "mlflow.log-model.history")
    paths = sorted(entry["artifact_path"] for entry in json.loads(history))
    assert paths == sorted(f"m{index}" for index in range(calls))


@pytest.mark.parametrize(
    ("model_json", "run_id_of", "status", "error_code"),
    [
        ("not json", "run", 400, "INVALID_PARAMETER_VALUE"),
        ("[1]", "run", 400, "INVALID_PARAMETER_VALUE"),
        ('{"artifact_path": "m"}', "run", 400, "INVALID_PARAMETER_VALUE"),
        ("complete", "missing", 404, "RESOURCE_DOES_NOT_EXIST"),
    ],
)
def test_log_model_bad_requests(
    gateway: Gateway, run_id: str, model_json: str, run_id_of: str, status: int, error_code: str
) -> None:
    target = run_id if run_id_of == "run" else "f" * 32
    if model_json == "complete":
        model_json = _model_json(target, "m")
    answer = gateway.post("runs/log-model", {"run_id": target, "model_json": model_json})
    assert (answer.status, answer.body["error_code"]) == (status, error_code), answer.body


def test_model_artifacts_through_the_proxy(gateway: Gateway, experiment_id: str) -> None:
    model_id = _create(gateway, experiment_id)["info"]["model_id"]
    base = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/models/{model_id}/artifacts"
    assert gateway.call("PUT", f"{base}/MLmodel", b"flavors: {}\n").status == 200
    assert gateway.raw("GET", f"{base}/MLmodel") == b"flavors: {}\n"
    listing = gateway.call(
        "GET",
        "/api/2.0/mlflow-artifacts/artifacts",
        query={"path": f"{experiment_id}/models/{model_id}/artifacts"},
    )
    assert listing.body["files"] == [{"path": "MLmodel", "is_dir": False, "file_size": 12}]
    assert gateway.call("DELETE", f"{base}/MLmodel").status == 200
    gone = gateway.call(
        "GET",
        "/api/2.0/mlflow-artifacts/artifacts",
        query={"path": f"{experiment_id}/models/{model_id}/artifacts"},
    )
    assert "files" not in gone.body
    elsewhere = gateway.call(
        "PUT", f"/api/2.0/mlflow-artifacts/artifacts/999999/models/{model_id}/artifacts/x", b"x"
    )
    assert elsewhere.status == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "error_code"),
    [
        ("GET", f"{MODELS}/not-an-id", None, 400, "INVALID_PARAMETER_VALUE"),
        ("GET", f"{MODELS}/m-{'0' * 32}", None, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("PATCH", f"{MODELS}/m-{'0' * 32}", {"status": "NOPE"}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", MODELS, {}, 400, "INVALID_PARAMETER_VALUE"),
        ("PUT", f"{MODELS}/m-{'0' * 32}", {}, 405, "BAD_REQUEST"),
        (
            "POST",
            "/api/2.0/mlflow/runs/log-inputs",
            {"run_id": "f" * 32},
            404,
            "RESOURCE_DOES_NOT_EXIST",
        ),
    ],
)
def test_bad_requests_answer_mlflows_errors(
    gateway: Gateway, method: str, path: str, body: Any, status: int, error_code: str
) -> None:
    answer = gateway.call(method, path, body)
    assert (answer.status, answer.body["error_code"]) == (status, error_code), answer.body


def test_a_logged_models_proxied_root_registers_it(registry_gateway: Gateway) -> None:
    experiment = registry_gateway.post(
        "experiments/create", {"name": f"reg-{uuid.uuid4().hex[:8]}"}
    )
    experiment_id = experiment.body["experiment_id"]
    run = registry_gateway.post("runs/create", {"experiment_id": experiment_id, "start_time": 1})
    run_id = run.body["run"]["info"]["run_id"]
    model = _create(registry_gateway, experiment_id, source_run_id=run_id)["info"]
    name = f"logged-{uuid.uuid4().hex[:8]}"
    assert registry_gateway.post("registered-models/create", {"name": name}).status == 200
    answer = registry_gateway.post(
        "model-versions/create",
        {
            "name": name,
            "source": model["artifact_uri"],
            "run_id": run_id,
            "model_id": model["model_id"],
        },
    )
    assert answer.status == 200, answer.body
    version = answer.body["model_version"]
    assert version["model_id"] == model["model_id"] and version["run_id"] == run_id
    below = registry_gateway.post(
        "model-versions/create", {"name": name, "source": model["artifact_uri"] + "/MLmodel"}
    )
    assert below.status == 400
