"""The fluent API (`import mlgrpc as mlflow`) against the real tracking service."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

import mlgrpc as mlflow
from mlgrpc.exceptions import FailedPreconditionError, MlgrpcException


def unique(prefix: str = "fluent") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def experiment(tracking_uri: str) -> mlflow.Experiment:
    return mlflow.set_experiment(unique())


def test_set_experiment_creates_a_missing_experiment(tracking_uri: str) -> None:
    name = unique()
    experiment = mlflow.set_experiment(name)
    assert experiment.name == name
    assert mlflow.get_experiment_by_name(name) == experiment


def test_set_experiment_by_id_makes_it_active(tracking_uri: str) -> None:
    experiment_id = mlflow.create_experiment(unique())
    mlflow.set_experiment(experiment_id=experiment_id)
    with mlflow.start_run() as run:
        assert run.info.experiment_id == experiment_id


def test_set_experiment_refuses_a_deleted_one(tracking_uri: str) -> None:
    name = unique()
    experiment_id = mlflow.create_experiment(name)
    mlflow.delete_experiment(experiment_id)
    with pytest.raises(FailedPreconditionError):
        mlflow.set_experiment(name)


def test_run_of_with_block_is_finished(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run(run_name="ok") as run:
        assert mlflow.active_run().info.run_id == run.info.run_id
    info = mlflow.get_run(run.info.run_id).info
    assert (info.status, info.run_name, info.experiment_id) == (
        "FINISHED",
        "ok",
        experiment.experiment_id,
    )
    assert info.end_time is not None
    assert mlflow.active_run() is None


def test_exception_inside_with_block_marks_run_failed(experiment: mlflow.Experiment) -> None:
    with pytest.raises(ZeroDivisionError), mlflow.start_run() as run:
        1 / 0  # noqa: B018
    assert mlflow.get_run(run.info.run_id).info.status == "FAILED"


def test_second_top_level_run_while_one_is_active_raises(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run():
        with pytest.raises(MlgrpcException, match="already active"):
            mlflow.start_run()


def test_nested_run_records_its_parent(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run() as parent:
        with mlflow.start_run(nested=True) as child:
            assert mlflow.active_run().info.run_id == child.info.run_id
        assert mlflow.active_run().info.run_id == parent.info.run_id
    tags = mlflow.get_run(child.info.run_id).data.tags
    assert tags["mlflow.parentRunId"] == parent.info.run_id


def test_resume_by_run_id_sets_running_again(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run() as run:
        mlflow.log_param("a", 1)
    assert mlflow.get_run(run.info.run_id).info.status == "FINISHED"
    with mlflow.start_run(run_id=run.info.run_id) as resumed:
        assert mlflow.get_run(resumed.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("after_resume", 1.0)
    data = mlflow.get_run(run.info.run_id).data
    assert data.params == {"a": "1"} and data.metrics == {"after_resume": 1.0}


def test_tags_and_description_are_stored(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run(tags={"team": "ml"}, description="first try") as run:
        pass
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert tags["team"] == "ml"
    assert tags["mlflow.note.content"] == "first try"
    assert tags["mlflow.source.type"] == "LOCAL"


def test_end_run_with_status(experiment: mlflow.Experiment) -> None:
    run = mlflow.start_run()
    mlflow.end_run(status="KILLED")
    assert mlflow.get_run(run.info.run_id).info.status == "KILLED"
    assert mlflow.last_active_run().info.run_id == run.info.run_id


def test_log_calls_without_a_run_start_one(experiment: mlflow.Experiment) -> None:
    mlflow.log_metric("m", 1.0)
    run = mlflow.active_run()
    assert run is not None
    mlflow.end_run()
    assert mlflow.get_run(run.info.run_id).data.metrics == {"m": 1.0}


def test_params_metrics_and_tags_are_logged(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run() as run:
        assert mlflow.log_param("alpha", 0.5) == 0.5
        mlflow.log_params({"l1_ratio": 0.1, "seed": 42})
        mlflow.log_metric("rmse", 0.8, step=3)
        mlflow.log_metrics({"mae": 0.6, "r2": 0.2}, step=3)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"owner": "alice", "tmp": "x"})
        mlflow.delete_tag("tmp")
    data = mlflow.get_run(run.info.run_id).data
    assert data.params == {"alpha": "0.5", "l1_ratio": "0.1", "seed": "42"}
    assert data.metrics == {"rmse": 0.8, "mae": 0.6, "r2": 0.2}
    assert data.tags["stage"] == "dev" and data.tags["owner"] == "alice"
    assert "tmp" not in data.tags


def test_metric_for_explicit_run_id(experiment: mlflow.Experiment) -> None:
    run_id = mlflow.MlgrpcClient().create_run(experiment.experiment_id).info.run_id
    mlflow.log_metric("m", 2.0, run_id=run_id)
    assert mlflow.active_run() is None
    assert mlflow.get_run(run_id).data.metrics == {"m": 2.0}


def test_log_dict_json_and_yaml_and_log_text(experiment: mlflow.Experiment, tmp_path: Path) -> None:
    with mlflow.start_run() as run:
        mlflow.log_dict({"a": [1, 2]}, "config/params.json")
        mlflow.log_dict({"b": {"c": 3}}, "config/params.yaml")
        mlflow.log_text("hello", "notes.txt")
    client = mlflow.MlgrpcClient()
    local = Path(client.download_artifacts(run.info.run_id, "", tmp_path))
    assert json.loads((local / "config" / "params.json").read_text()) == {"a": [1, 2]}
    assert yaml.safe_load((local / "config" / "params.yaml").read_text()) == {"b": {"c": 3}}
    assert (local / "notes.txt").read_text() == "hello"


def test_log_artifacts_and_log_artifact(experiment: mlflow.Experiment, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(tmp_path / "src", "inputs")
        mlflow.log_artifact(tmp_path / "b.txt")
        assert mlflow.get_artifact_uri("inputs").endswith("/inputs")
    paths = {f.path for f in mlflow.MlgrpcClient().list_artifacts(run.info.run_id)}
    assert paths == {"inputs", "b.txt"}


def test_log_figure_stores_a_png(experiment: mlflow.Experiment, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    with mlflow.start_run() as run:
        mlflow.log_figure(figure, "plots/curve.png")
    plt.close(figure)
    local = mlflow.MlgrpcClient().download_artifacts(run.info.run_id, "plots/curve.png", tmp_path)
    assert Path(local).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_search_runs_dataframe_has_mlflow_columns(experiment: mlflow.Experiment) -> None:
    import pandas as pd

    for alpha in (0.1, 0.2):
        with mlflow.start_run():
            mlflow.log_param("alpha", alpha)
            mlflow.log_metric("rmse", alpha * 2)
            mlflow.set_tag("kind", "grid")
    frame = mlflow.search_runs(order_by=["metrics.rmse ASC"])
    for column in (
        "run_id",
        "experiment_id",
        "status",
        "artifact_uri",
        "start_time",
        "end_time",
        "metrics.rmse",
        "params.alpha",
        "tags.kind",
    ):
        assert column in frame.columns
    assert list(frame["params.alpha"]) == ["0.1", "0.2"]
    assert pd.api.types.is_datetime64_any_dtype(frame["start_time"])
    assert set(frame["status"]) == {"FINISHED"}


def test_search_runs_list_output_and_filter(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run():
        mlflow.log_metric("score", 1.0)
    with mlflow.start_run() as best:
        mlflow.log_metric("score", 5.0)
    runs = mlflow.search_runs(filter_string="metrics.score > 2", output_format="list")
    assert [r.info.run_id for r in runs] == [best.info.run_id]


def test_delete_run(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run() as run:
        pass
    mlflow.delete_run(run.info.run_id)
    assert mlflow.get_run(run.info.run_id).info.lifecycle_stage == "deleted"


def test_experiment_name_from_environment(
    tracking_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique("env")
    monkeypatch.setenv("MLGRPC_EXPERIMENT_NAME", name)
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == mlflow.get_experiment_by_name(name).experiment_id


def test_search_experiments_follows_pages(tracking_uri: str) -> None:
    prefix = unique("search")
    ids = {mlflow.create_experiment(f"{prefix}-{i}") for i in range(3)}
    found = mlflow.search_experiments(filter_string=f"name LIKE '{prefix}%'")
    assert {e.experiment_id for e in found} == ids
    assert (
        len(mlflow.search_experiments(max_results=2, filter_string=f"name LIKE '{prefix}%'")) == 2
    )


def test_experiment_tags_on_the_active_experiment(experiment: mlflow.Experiment) -> None:
    mlflow.set_experiment_tag("owner", "alice")
    mlflow.set_experiment_tags({"team": "ml", "tier": 1})
    tags = mlflow.get_experiment(experiment.experiment_id).tags
    assert (tags["owner"], tags["team"], tags["tier"]) == ("alice", "ml", "1")


def test_fluent_log_batch(experiment: mlflow.Experiment) -> None:
    with mlflow.start_run() as run:
        mlflow.log_batch(
            metrics=[mlflow.Metric("m", 1.0, 1000, 0), mlflow.Metric("m", 2.0, 1001, 1)],
            params=[mlflow.Param("p", "v")],
            tags=[mlflow.RunTag("t", "x")],
        )
    data = mlflow.get_run(run.info.run_id).data
    assert (data.metrics, data.params, data.tags["t"]) == ({"m": 2.0}, {"p": "v"}, "x")
