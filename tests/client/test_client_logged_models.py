"""Our client's LoggedModel calls (MlflowClient's names) against a real tracking service:
create, get, finalize, search, tags, params, delete, inputs/outputs, and a model's artifacts."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

import mlgrpc
from mlgrpc.entities import Dataset, DatasetInput
from mlgrpc.exceptions import InvalidArgumentError, NotFoundError


@pytest.fixture
def client(tracking_uri: str) -> mlgrpc.MlgrpcClient:
    return mlgrpc.MlgrpcClient(tracking_uri)


@pytest.fixture
def experiment_id(client: mlgrpc.MlgrpcClient) -> str:
    return client.create_experiment(f"logged-{uuid.uuid4().hex[:8]}")


def test_create_finalize_and_get(client: mlgrpc.MlgrpcClient, experiment_id: str) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    model = client.create_logged_model(
        experiment_id, name="model", source_run_id=run_id, params={"alpha": 0.5}, tags={"t": 1}
    )
    assert model.status == "PENDING" and model.model_uri == f"models:/{model.model_id}"
    assert model.params == {"alpha": "0.5"} and model.tags == {"t": "1"}
    assert client.finalize_logged_model(model.model_id, "READY").status == "READY"
    got = client.get_logged_model(model.model_id)
    assert got.status == "READY" and got.source_run_id == run_id


def test_search_tags_params_and_delete(client: mlgrpc.MlgrpcClient, experiment_id: str) -> None:
    first = client.create_logged_model(experiment_id, name="a")
    second = client.create_logged_model(experiment_id, name="b")
    client.set_logged_model_tags(second.model_id, {"stage": "best"})
    client.log_model_params(second.model_id, {"depth": 3})
    found = client.search_logged_models(experiment_id, filter_string="tags.stage = 'best'")
    assert [m.model_id for m in found] == [second.model_id]
    assert found[0].params == {"depth": "3"}
    ordered = client.search_logged_models([experiment_id], order_by=["name DESC"], max_results=1)
    assert [m.name for m in ordered] == ["b"] and ordered.token
    client.delete_logged_model_tag(second.model_id, "stage")
    client.delete_logged_model(first.model_id)
    with pytest.raises(NotFoundError):
        client.get_logged_model(first.model_id)
    with pytest.raises(InvalidArgumentError):
        client.finalize_logged_model(second.model_id, "SOMETIME")


def test_inputs_outputs_and_model_artifacts(
    client: mlgrpc.MlgrpcClient, experiment_id: str, tmp_path: Path
) -> None:
    run_id = client.create_run(experiment_id).info.run_id
    model = client.create_logged_model(experiment_id, source_run_id=run_id)
    wine = Dataset(name="wine", digest="d1", source_type="local", source="{}")
    client.log_inputs(run_id, [DatasetInput(wine, {"mlflow.data.context": "training"})])
    client.log_outputs(run_id, [model.model_id])
    runs = client.search_runs([experiment_id], "datasets.context = 'training'")
    assert [run.info.run_id for run in runs] == [run_id]
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    client.log_artifact(model.model_id, str(tmp_path / "MLmodel"))
    assert [f.path for f in client.list_artifacts(model.model_id)] == ["MLmodel"]
    local = client.download_artifacts(model.model_id, "MLmodel", str(tmp_path / "dl"))
    assert Path(local).read_text() == "flavors: {}\n"
